//! A room's modes and ban masks: what a host may switch on or off in a room
//! (IRC's channel modes `i`, `m`, `n`, `s`, `t`) and the name patterns a
//! room bans.
//!
//! Pure and door-neutral: the core keeps a [`RoomModes`] and a list of
//! [`BanMask`]s per room; each door spells them its own way (IRC's letters,
//! banter/1's snake_case names, the text door's `:mode +m`), all through
//! this module so they agree.

use std::fmt;
use std::net::IpAddr;

/// One switch of a room; see [`RoomModes`] for what each means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomMode {
    /// `i`: only the invited may enter.
    InviteOnly,
    /// `m`: only hosts and voiced members may speak.
    Moderated,
    /// `n`: no unlabelled messages from outside (see [`RoomModes`]).
    NoExternal,
    /// `s`: not listed for, and its members not shown to, outsiders.
    Secret,
    /// `t`: only hosts set the topic.
    TopicLock,
}

impl RoomMode {
    /// Every mode, in the order of their letters.
    pub const ALL: [RoomMode; 5] = [
        RoomMode::InviteOnly,
        RoomMode::Moderated,
        RoomMode::NoExternal,
        RoomMode::Secret,
        RoomMode::TopicLock,
    ];

    /// IRC's letter for it.
    pub fn letter(self) -> char {
        match self {
            RoomMode::InviteOnly => 'i',
            RoomMode::Moderated => 'm',
            RoomMode::NoExternal => 'n',
            RoomMode::Secret => 's',
            RoomMode::TopicLock => 't',
        }
    }

    /// The mode IRC's `letter` names, if any.
    pub fn from_letter(letter: char) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.letter() == letter)
    }

    /// Its name in banter/1 (`"moderated"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RoomMode::InviteOnly => "invite_only",
            RoomMode::Moderated => "moderated",
            RoomMode::NoExternal => "no_external",
            RoomMode::Secret => "secret",
            RoomMode::TopicLock => "topic_lock",
        }
    }

    /// The mode banter/1 calls `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

/// The modes set on a room. The default is `n` and `t`, which is how every
/// room behaved before modes existed:
///
/// - `i` (invite-only): entering needs a host's invitation (one entry),
///   whatever the password; a password is asked for on top of it only when
///   the invitation was made under an older password.
/// - `m` (moderated): only hosts and voiced members speak; others are
///   refused, and so is every message from outside.
/// - `n` (no external messages): a non-member reaches the room only with a
///   labelled extra-room message (the text door's `:erm`, banter/1's
///   `say_elsewhere`, which show the room it came from); with `-n` an
///   unlabelled message from outside (IRC's PRIVMSG to a channel one is not
///   on) reaches it too. A banned name reaches it in neither case.
/// - `s` (secret): the room is listed, and its members shown, only to its
///   members.
/// - `t` (topic lock): only hosts set the topic; with `-t` any member does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomModes(u8);

impl Default for RoomModes {
    fn default() -> Self {
        Self::NONE
            .with(RoomMode::NoExternal, true)
            .with(RoomMode::TopicLock, true)
    }
}

impl RoomModes {
    /// No mode set.
    pub const NONE: RoomModes = RoomModes(0);

    fn bit(mode: RoomMode) -> u8 {
        1 << RoomMode::ALL
            .iter()
            .position(|m| *m == mode)
            .expect("every mode is in ALL")
    }

    /// Whether `mode` is set.
    pub fn has(self, mode: RoomMode) -> bool {
        self.0 & Self::bit(mode) != 0
    }

    /// These modes with `mode` set (`on`) or cleared.
    pub fn with(self, mode: RoomMode, on: bool) -> Self {
        if on {
            Self(self.0 | Self::bit(mode))
        } else {
            Self(self.0 & !Self::bit(mode))
        }
    }

    /// The letters of the modes set, in alphabetical order (`"nt"`).
    pub fn letters(self) -> String {
        RoomMode::ALL
            .into_iter()
            .filter(|mode| self.has(*mode))
            .map(RoomMode::letter)
            .collect()
    }

    /// The modes whose letters `letters` holds; other characters are
    /// ignored (what [`RoomModes::letters`] wrote reads back the same).
    pub fn from_letters(letters: &str) -> Self {
        letters
            .chars()
            .filter_map(RoomMode::from_letter)
            .fold(Self::NONE, |modes, mode| modes.with(mode, true))
    }
}

/// Why a mode change typed as letters (`+m`, `-nt`, `+i-s`) was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    /// Letters before any `+` or `-`.
    #[error("a mode change starts with + or - (for example +m)")]
    NoSign,
    /// Nothing but signs.
    #[error("no mode letter given (i, m, n, s or t)")]
    Empty,
    /// A letter that is no room mode.
    #[error("{found:?} is not a room mode; the modes are i, m, n, s and t")]
    Unknown {
        /// The letter found.
        found: char,
    },
}

/// Reads a mode change typed as letters: `+m`, `-nt`, `+i-s`. Each mode
/// comes out once, with its last sign.
pub fn parse_mode_changes(text: &str) -> Result<Vec<(RoomMode, bool)>, ModeError> {
    let mut sign = None;
    let mut changes: Vec<(RoomMode, bool)> = Vec::new();
    for c in text.chars() {
        match c {
            '+' => sign = Some(true),
            '-' => sign = Some(false),
            _ => {
                let on = sign.ok_or(ModeError::NoSign)?;
                let mode = RoomMode::from_letter(c).ok_or(ModeError::Unknown { found: c })?;
                changes.retain(|(m, _)| *m != mode);
                changes.push((mode, on));
            }
        }
    }
    if changes.is_empty() {
        return Err(ModeError::Empty);
    }
    Ok(changes)
}

/// Mode changes as IRC letters, a sign before each run of one sign:
/// `[(Moderated, true), (NoExternal, true), (TopicLock, false)]` is `+mn-t`.
pub fn mode_changes_letters(changes: &[(RoomMode, bool)]) -> String {
    let mut letters = String::with_capacity(changes.len() * 2);
    let mut sign = None;
    for &(mode, on) in changes {
        if sign != Some(on) {
            letters.push(if on { '+' } else { '-' });
            sign = Some(on);
        }
        letters.push(mode.letter());
    }
    letters
}

/// Longest ban pattern, in characters.
pub const MAX_MASK_LEN: usize = 48;

/// Why a ban mask was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    /// Nothing was given.
    #[error("a ban mask cannot be empty")]
    Empty,
    /// Longer than [`MAX_MASK_LEN`].
    #[error("a ban mask is at most {max} characters")]
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// A character no screen name holds and that is no wildcard.
    #[error("a ban mask may only contain letters, digits, '_', '-' and the wildcards '*' and '?' (found {found:?})")]
    BadChar {
        /// The first character not allowed.
        found: char,
    },
    /// An IRC mask whose user part is not `*`, whose host part is neither
    /// `*` nor an IP address pattern, or (refused by the core) an address
    /// ban asked for by someone who is not a server operator.
    #[error("a ban's user part must be * and its host part * or an IP address pattern, and only server operators may ban by address ({mask} has {part:?})")]
    Address {
        /// The mask as given.
        mask: String,
        /// The user or host part given.
        part: String,
    },
}

/// A room ban: a pattern over screen names, `*` any run of characters and
/// `?` any one, compared ignoring case as names are, and optionally over
/// network addresses. IRC's `nick!user@host` form is read too: its user
/// part must be `*`, and a host part other than `*` makes an address ban
/// (`*!*@203.0.113.7`, `*!*@203.0.113.*`), which only server operators may
/// set (the core checks that; any door may list it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanMask {
    pattern: String,
    /// The address pattern, lower-cased; `None` for a name ban.
    address: Option<String>,
    key: String,
}

/// Whether `c` may appear in an address pattern: IPv4 and IPv6 digits and
/// separators, and the wildcards.
fn address_char(c: char) -> bool {
    c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '*' | '?')
}

impl BanMask {
    /// A valid mask, or why `text` is not one.
    pub fn parse(text: &str) -> Result<Self, MaskError> {
        let (nick, parts) = match text.split_once('!') {
            Some((nick, rest)) => (nick, Some(rest.split_once('@').unwrap_or((rest, "*")))),
            None => match text.split_once('@') {
                Some((nick, host)) => (nick, Some(("*", host))),
                None => (text, None),
            },
        };
        let mut address = None;
        if let Some((user, host)) = parts {
            // Every user's IRC user part is their nick: it says nothing more.
            if user != "*" {
                return Err(MaskError::Address {
                    mask: text.to_owned(),
                    part: user.to_owned(),
                });
            }
            if host != "*" {
                if host.is_empty() || host.len() > MAX_MASK_LEN || !host.chars().all(address_char) {
                    return Err(MaskError::Address {
                        mask: text.to_owned(),
                        part: host.to_owned(),
                    });
                }
                address = Some(host.to_ascii_lowercase());
            }
        }
        // `!*@*` alone, as some clients send for "everyone".
        let nick = if nick.is_empty() && parts.is_some() {
            "*"
        } else {
            nick
        };
        if nick.is_empty() {
            return Err(MaskError::Empty);
        }
        if nick.chars().count() > MAX_MASK_LEN {
            return Err(MaskError::TooLong { max: MAX_MASK_LEN });
        }
        if let Some(found) = nick
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*' | '?')))
        {
            return Err(MaskError::BadChar { found });
        }
        let pattern = match &address {
            None => nick.to_owned(),
            Some(address) => format!("{nick}!*@{address}"),
        };
        Ok(Self {
            key: crate::names::fold(&pattern),
            pattern,
            address,
        })
    }

    /// The pattern as given (without `!*@*` for a name ban; with its
    /// address for an address ban: `*!*@203.0.113.7`).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The pattern case-folded: two masks with one key are the same ban.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether it bans by address too (only server operators set those).
    pub fn is_address(&self) -> bool {
        self.address.is_some()
    }

    /// Whether a user with the screen name `nick`, connected from
    /// `address` (unknown: `None`, which no address ban matches), matches.
    pub fn matches(&self, nick: &str, address: Option<IpAddr>) -> bool {
        let nick_part = self.key.split('!').next().unwrap_or(&self.key);
        glob(nick_part, &crate::names::fold(nick))
            && match &self.address {
                None => true,
                Some(pattern) => address.is_some_and(|address| {
                    glob(pattern, &address.to_string().to_ascii_lowercase())
                }),
            }
    }
}

impl fmt::Display for BanMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Whether `text` matches `pattern` (`*` any run, `?` any one character),
/// compared as given: fold both first to ignore case.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with one backtrack point: linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_with_stars_and_question_marks() {
        assert!(glob("*", "anyone"));
        assert!(glob("b?b", "bob"));
        assert!(glob("a*e*", "annette"));
        assert!(!glob("a*x", "annette"));
        assert!(!glob("b?b", "bobby"));
        assert!(glob("**?", "x"));
    }

    #[test]
    fn the_default_modes_are_n_and_t_and_letters_read_back() {
        assert_eq!(RoomModes::default().letters(), "nt");
        let modes = RoomModes::default()
            .with(RoomMode::Moderated, true)
            .with(RoomMode::TopicLock, false);
        assert_eq!(modes.letters(), "mn");
        assert_eq!(RoomModes::from_letters(&modes.letters()), modes);
        assert_eq!(RoomModes::from_letters(""), RoomModes::NONE);
        for mode in RoomMode::ALL {
            assert_eq!(RoomMode::from_letter(mode.letter()), Some(mode));
            assert_eq!(RoomMode::from_name(mode.name()), Some(mode));
        }
    }

    #[test]
    fn mode_changes_read_signs_and_letters() {
        use RoomMode::*;
        assert_eq!(parse_mode_changes("+m"), Ok(vec![(Moderated, true)]));
        assert_eq!(
            parse_mode_changes("-nt+i"),
            Ok(vec![
                (NoExternal, false),
                (TopicLock, false),
                (InviteOnly, true)
            ])
        );
        assert_eq!(parse_mode_changes("+m-m"), Ok(vec![(Moderated, false)]));
        assert_eq!(
            mode_changes_letters(&[
                (Moderated, true),
                (NoExternal, true),
                (TopicLock, false),
                (Secret, true)
            ]),
            "+mn-t+s"
        );
        let changes = parse_mode_changes("-nt+i").unwrap();
        assert_eq!(mode_changes_letters(&changes), "-nt+i");
        assert_eq!(parse_mode_changes("m"), Err(ModeError::NoSign));
        assert_eq!(parse_mode_changes("+-"), Err(ModeError::Empty));
        assert_eq!(
            parse_mode_changes("+b"),
            Err(ModeError::Unknown { found: 'b' })
        );
    }

    #[test]
    fn ban_masks_are_name_patterns_and_irc_masks_on_the_nick() {
        let mask = BanMask::parse("Troll*").unwrap();
        assert!(mask.matches("trollface", None));
        assert!(mask.matches("TROLL", Some([10, 0, 0, 7].into())));
        assert!(!mask.matches("atroll", None));
        let irc = BanMask::parse("b?b!*@*").unwrap();
        assert_eq!(irc.as_str(), "b?b");
        assert!(irc.matches("Bob", None));
        assert_eq!(BanMask::parse("*!*@*").unwrap().as_str(), "*");
        assert_eq!(BanMask::parse("bob@*").unwrap().as_str(), "bob");
        let address = BanMask::parse("*!*@10.0.0.*").unwrap();
        assert!(address.is_address());
        assert_eq!(address.as_str(), "*!*@10.0.0.*");
        assert!(address.matches("anyone", Some([10, 0, 0, 7].into())));
        assert!(!address.matches("anyone", Some([10, 0, 1, 7].into())));
        assert!(!address.matches("anyone", None));
        assert_eq!(BanMask::parse("bob@::1").unwrap().as_str(), "bob!*@::1");
        assert!(matches!(
            BanMask::parse("*!*@example.org"),
            Err(MaskError::Address { part, .. }) if part == "example.org"
        ));
        assert!(matches!(
            BanMask::parse("bob!~bob@*"),
            Err(MaskError::Address { .. })
        ));
        assert_eq!(BanMask::parse(""), Err(MaskError::Empty));
        assert_eq!(
            BanMask::parse("b:b"),
            Err(MaskError::BadChar { found: ':' })
        );
        assert_eq!(
            BanMask::parse(&"x".repeat(49)),
            Err(MaskError::TooLong { max: MAX_MASK_LEN })
        );
    }
}
