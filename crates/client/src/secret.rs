//! A password typed at the masked prompt.
//!
//! The only way out of a [`Secret`] is into a request frame (serialised as
//! the plain string the protocol wants). `Debug` and `Display` print a fixed
//! mask, so a secret cannot reach the screen, a log or a panic message by
//! accident, and it is never stored in input history or scrollback.

use serde::{Serialize, Serializer};

/// What a secret prints as, whatever its length.
const MASK: &str = "(hidden)";

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many characters were typed, for drawing the mask.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }

    pub fn push(&mut self, c: char) {
        self.0.push(c);
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_prints_as_a_mask_and_serialises_as_itself() {
        let secret = Secret::from("rook takes");
        assert_eq!(format!("{secret:?} {secret}"), "(hidden) (hidden)");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"rook takes\"");
        assert_eq!(secret.chars(), 10);
    }
}
