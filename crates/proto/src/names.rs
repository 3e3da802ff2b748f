//! Screen names and room names: validated newtypes with a case-folded key.
//!
//! A name is shown as the user typed it but compared by its key (ASCII
//! lowercase), so `Alice` and `alice` can never both be taken.

use std::fmt;
use std::sync::Arc;

/// Longest screen name, in characters.
pub const MAX_NICK_LEN: usize = 24;
/// Longest room name, in characters.
pub const MAX_ROOM_LEN: usize = 32;

/// Why a proposed name was refused; the text is shown to the user after `error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was given.
    #[error("{kind} cannot be empty")]
    Empty {
        /// What kind of name, as the sentence starts ("a room name").
        kind: &'static str,
    },
    /// Longer than names of its kind may be.
    #[error("{kind} is too long ({len} characters, at most {max})")]
    TooLong {
        /// What kind of name, as the sentence starts.
        kind: &'static str,
        /// Its length, in characters.
        len: usize,
        /// The most characters allowed.
        max: usize,
    },
    /// A character names of its kind may not hold.
    #[error("{kind} may only contain {allowed} (found {found:?})")]
    BadChar {
        /// What kind of name, as the sentence starts.
        kind: &'static str,
        /// The characters allowed, in words.
        allowed: &'static str,
        /// The first character not allowed.
        found: char,
    },
    /// Only punctuation (`-`, `_`, `.`).
    #[error("{kind} needs at least one letter or digit")]
    NoLetterOrDigit {
        /// What kind of name, as the sentence starts.
        kind: &'static str,
    },
}

fn validate(
    text: &str,
    kind: &'static str,
    max: usize,
    allowed: &'static str,
    extra: &[char],
) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if let Some(found) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)))
    {
        return Err(NameError::BadChar {
            kind,
            allowed,
            found,
        });
    }
    // Only ASCII is left, so bytes are characters.
    if text.len() > max {
        return Err(NameError::TooLong {
            kind,
            len: text.len(),
            max,
        });
    }
    Ok(())
}

macro_rules! folded_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Cloning is cheap: the texts are shared, since one name is held by
        /// the session, the registry and the room at once.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name {
            display: Arc<str>,
            key: Arc<str>,
        }

        impl $name {
            /// The name as the user typed it.
            pub fn as_str(&self) -> &str {
                &self.display
            }

            /// The case-folded form used for uniqueness and look-ups.
            pub fn key(&self) -> &str {
                &self.key
            }

            /// The name as typed, shared rather than copied (for listings
            /// of many members, made on every join of a big room).
            pub fn shared(&self) -> Arc<str> {
                Arc::clone(&self.display)
            }

            /// The key, shared rather than copied (for map keys).
            pub fn shared_key(&self) -> Arc<str> {
                Arc::clone(&self.key)
            }

            fn from_valid(text: &str) -> Self {
                Self {
                    display: text.into(),
                    key: text.to_ascii_lowercase().into(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.display)
            }
        }
    };
}

folded_name!(
    /// A screen name: 1-24 ASCII letters, digits, `_` and `-`.
    Nick
);
folded_name!(
    /// A room name: 1-32 ASCII letters, digits, `_`, `-` and `.`.
    RoomName
);

impl Nick {
    /// A valid screen name, or why `text` is not one.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        validate(
            text,
            "a name",
            MAX_NICK_LEN,
            "letters, digits, '_' and '-'",
            &['_', '-'],
        )?;
        Ok(Self::from_valid(text))
    }
}

impl RoomName {
    /// A valid room name, or why `text` is not one.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        validate(
            text,
            "a room name",
            MAX_ROOM_LEN,
            "letters, digits, '_', '-' and '.'",
            &['_', '-', '.'],
        )?;
        // `.` and `..` read like paths, and `---` like nothing at all.
        if !text.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(NameError::NoLetterOrDigit {
                kind: "a room name",
            });
        }
        Ok(Self::from_valid(text))
    }
}

/// Case-folds a name someone typed so it can be looked up without validating it.
pub fn fold(text: &str) -> String {
    text.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks_accept_letters_digits_underscore_dash() {
        for ok in ["a", "Alice", "bob_42", "x-y", &"n".repeat(24)] {
            assert_eq!(Nick::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn nicks_reject_empty_long_and_odd_characters() {
        assert!(matches!(Nick::parse(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            Nick::parse(&"n".repeat(25)),
            Err(NameError::TooLong { len: 25, .. })
        ));
        for bad in ["a b", "a.b", "é", "a:b", "\x1b[31m", "名前"] {
            assert!(
                matches!(Nick::parse(bad), Err(NameError::BadChar { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rooms_allow_dots_and_32_characters() {
        assert!(RoomName::parse("v1.2-rc_3").is_ok());
        assert!(RoomName::parse(&"r".repeat(32)).is_ok());
        assert!(RoomName::parse(&"r".repeat(33)).is_err());
        assert!(RoomName::parse("a/b").is_err());
        for punctuation in [".", "..", "-_."] {
            assert_eq!(
                RoomName::parse(punctuation).unwrap_err().to_string(),
                "a room name needs at least one letter or digit"
            );
        }
    }

    #[test]
    fn keys_fold_case_but_display_keeps_it() {
        let a = Nick::parse("Alice").unwrap();
        let b = Nick::parse("aLICE").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(RoomName::parse("Lobby").unwrap().key(), "lobby");
    }

    #[test]
    fn errors_read_as_sentences() {
        let err = Nick::parse("a b").unwrap_err().to_string();
        assert_eq!(
            err,
            "a name may only contain letters, digits, '_' and '-' (found ' ')"
        );
    }
}
