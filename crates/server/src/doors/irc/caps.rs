//! IRCv3 capabilities: what this door offers and what one connection has
//! taken.
//!
//! - `server-time`: messages carry the time they were said (`@time=`), so
//!   history replayed on JOIN shows when it was said, not when it arrived.
//! - `echo-message`: a user's own PRIVMSG and NOTICE come back to them as
//!   the others got them (same text, same time), which is how weechat and
//!   The Lounge show what one said.
//! - `multi-prefix`: NAMES, WHO and WHOIS list every prefix of a member
//!   (`@+` for a voiced host) rather than the highest only.
//! - `userhost-in-names`: NAMES lists `nick!user@host` masks.
//! - `away-notify`: a user sharing a channel with this client who goes away
//!   or comes back is announced with `AWAY`, once whatever rooms are shared.
//! - `invite-notify`: a channel operator of a channel this client is in
//!   inviting someone into it is shown as the `INVITE` line.
//!
//! The session negotiates the set; the writer's renderer (which tags what
//! it writes) gets each new set through the outbox ([`CapsTaken`]), so
//! what was queued before a `CAP REQ` is written as it was meant, and the
//! connection holds no shared allocation for eight bits.

use crate::core::DoorItem;

pub(super) const SERVER_TIME: u8 = 1;
pub(super) const ECHO_MESSAGE: u8 = 2;
pub(super) const MULTI_PREFIX: u8 = 4;
pub(super) const USERHOST_IN_NAMES: u8 = 8;
pub(super) const AWAY_NOTIFY: u8 = 16;
pub(super) const INVITE_NOTIFY: u8 = 32;

/// Every capability offered, by name, as `CAP LS` lists them.
const OFFERED: [(&str, u8); 6] = [
    ("away-notify", AWAY_NOTIFY),
    ("echo-message", ECHO_MESSAGE),
    ("invite-notify", INVITE_NOTIFY),
    ("multi-prefix", MULTI_PREFIX),
    ("server-time", SERVER_TIME),
    ("userhost-in-names", USERHOST_IN_NAMES),
];

/// The `CAP LS` list.
pub(super) fn offered() -> String {
    OFFERED.map(|(name, _)| name).join(" ")
}

/// One connection's capabilities; see the module docs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps(u8);

/// The capabilities from here on, for the renderer.
#[derive(Debug)]
pub(super) struct CapsTaken(pub Caps);

impl DoorItem for CapsTaken {
    fn weight(&self) -> usize {
        32
    }
}

impl Caps {
    pub(crate) fn has(&self, cap: u8) -> bool {
        self.0 & cap != 0
    }

    /// The names of the capabilities taken, for `CAP LIST`.
    pub(crate) fn list(&self) -> String {
        OFFERED
            .iter()
            .filter(|(_, bit)| self.has(*bit))
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Applies a `CAP REQ` list (`a -b c`): all of it, or nothing if any
    /// name is not offered. Returns whether it was applied.
    pub(crate) fn request(&mut self, list: &str) -> bool {
        let mut add = 0;
        let mut remove = 0;
        for word in list.split_whitespace() {
            let (name, off) = match word.strip_prefix('-') {
                Some(name) => (name, true),
                None => (word, false),
            };
            let Some((_, bit)) = OFFERED.iter().find(|(offered, _)| *offered == name) else {
                return false;
            };
            if off {
                remove |= bit;
            } else {
                add |= bit;
            }
        }
        self.0 = (self.0 | add) & !remove;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_taken_whole_or_not_at_all() {
        let mut caps = Caps::default();
        assert!(caps.request("server-time echo-message"));
        assert!(caps.has(SERVER_TIME) && caps.has(ECHO_MESSAGE));
        assert!(!caps.request("multi-prefix sasl"));
        assert!(!caps.has(MULTI_PREFIX));
        assert!(caps.request("-echo-message multi-prefix"));
        assert_eq!(caps.list(), "multi-prefix server-time");
    }
}
