//! Server-wide bans, set by operators: a screen-name pattern or an address,
//! for a while or for good, checked whenever a name is taken.
//!
//! The bans in force are a short list behind a std `Mutex` (an operator sets
//! a handful; registration reads them once), kept in the store so they
//! outlive a restart. A mask is a name pattern (`troll*`: `*` any run, `?`
//! any one character, case ignored) or an address (`203.0.113.7`, or a
//! pattern over its written form, `203.0.113.*`; IRC's `*@203.0.113.7` and
//! `*!*@203.0.113.7` mean the same). A ban that has ended is dropped the
//! next time the list is read.

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use banter_proto::event::ServerBanEntry;
use banter_proto::names::{fold, MAX_NICK_LEN};
use banter_proto::Refusal;

use crate::store::{Millis, StoredServerBan};
use banter_proto::modes::glob;

/// Most bans in force at once: each registration reads them all.
pub(super) const MAX_SERVER_BANS: usize = 1000;

/// What a mask matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BanTarget {
    /// Screen names matching this pattern, case-folded.
    Name(String),
    /// Addresses whose written form matches this pattern (lowercase).
    Address(String),
}

impl BanTarget {
    /// What `mask` bans, or why it is no mask.
    pub(super) fn parse(mask: &str) -> Result<Self, Refusal> {
        let bad = |detail: String| Refusal::BadServerBan { detail };
        let mask = mask.trim();
        // IRC's user@host forms: only the host part means anything here.
        let address_part = mask
            .strip_prefix("*!*@")
            .or_else(|| mask.strip_prefix("*@"));
        let looks_like_address = |text: &str| {
            text.contains(['.', ':'])
                && text.chars().any(|c| c.is_ascii_digit())
                && text
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || ".:*?".contains(c))
        };
        if let Some(host) = address_part {
            if !looks_like_address(host) {
                return Err(bad(format!(
                    "{mask}: the part after @ must be an address such as 203.0.113.7 or 203.0.113.*"
                )));
            }
            return Ok(Self::Address(host.to_ascii_lowercase()));
        }
        if looks_like_address(mask) {
            return Ok(Self::Address(mask.to_ascii_lowercase()));
        }
        let name_char = |c: char| c.is_ascii_alphanumeric() || "_-*?".contains(c);
        if mask.is_empty() || mask.len() > MAX_NICK_LEN * 2 || !mask.chars().all(name_char) {
            return Err(bad(format!(
                "{mask} is neither a name pattern (letters, digits, _ and - with * and ?) \
                 nor an address"
            )));
        }
        if mask.chars().all(|c| c == '*' || c == '?') {
            return Err(bad(format!(
                "{mask} would match every name; name a pattern with at least one letter or digit"
            )));
        }
        Ok(Self::Name(fold(mask)))
    }

    fn matches(&self, nick: &str, address: IpAddr) -> bool {
        match self {
            Self::Name(pattern) => glob(pattern, &fold(nick)),
            Self::Address(pattern) => glob(pattern, &address.to_string().to_ascii_lowercase()),
        }
    }
}

/// One ban in force.
#[derive(Debug, Clone)]
pub(super) struct ServerBan {
    pub entry: ServerBanEntry,
    pub target: BanTarget,
}

impl ServerBan {
    pub(super) fn matches(&self, nick: &str, address: IpAddr) -> bool {
        self.target.matches(nick, address)
    }

    fn over(&self, now: Millis) -> bool {
        self.entry.until.is_some_and(|until| until <= now)
    }

    pub(super) fn stored(&self) -> StoredServerBan {
        StoredServerBan {
            mask: self.entry.mask.clone(),
            reason: self.entry.reason.clone(),
            by: self.entry.by.clone(),
            at: self.entry.at,
            until: self.entry.until,
        }
    }
}

/// The bans in force; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct ServerBans {
    bans: Mutex<Vec<ServerBan>>,
}

impl ServerBans {
    /// The bans the store kept that have not ended by `now` (a mask that no
    /// longer reads as one is logged and skipped).
    pub(super) fn new(stored: Vec<StoredServerBan>, now: Millis) -> Self {
        let bans = stored
            .into_iter()
            .filter_map(|ban| match BanTarget::parse(&ban.mask) {
                Ok(target) => Some(ServerBan {
                    entry: ServerBanEntry {
                        mask: ban.mask,
                        reason: ban.reason,
                        by: ban.by,
                        at: ban.at,
                        until: ban.until,
                    },
                    target,
                }),
                Err(refusal) => {
                    tracing::warn!(mask = %ban.mask, %refusal, "skipping a stored server ban");
                    None
                }
            })
            .filter(|ban| !ban.over(now))
            .collect::<Vec<_>>();
        if !bans.is_empty() {
            tracing::info!(bans = bans.len(), "server bans loaded");
        }
        Self {
            bans: Mutex::new(bans),
        }
    }

    fn lock(&self, now: Millis) -> MutexGuard<'_, Vec<ServerBan>> {
        let mut bans = self
            .bans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        bans.retain(|ban| !ban.over(now));
        bans
    }

    /// Refuses `nick` from `address` if a ban in force matches either.
    pub(super) fn check(&self, nick: &str, address: IpAddr, now: Millis) -> Result<(), Refusal> {
        match self.lock(now).iter().find(|ban| ban.matches(nick, address)) {
            Some(ban) => Err(Refusal::ServerBanned {
                reason: ban.entry.reason.clone(),
                until: ban.entry.until,
            }),
            None => Ok(()),
        }
    }

    /// Whether another ban could be added now (one with `mask` replaces
    /// its namesake and always can).
    pub(super) fn has_room_for(&self, mask: &str, now: Millis) -> bool {
        let bans = self.lock(now);
        bans.len() < MAX_SERVER_BANS
            || bans
                .iter()
                .any(|ban| ban.entry.mask.eq_ignore_ascii_case(mask))
    }

    /// Adds `ban`, replacing one with the same mask (ignoring case).
    pub(super) fn insert(&self, ban: ServerBan, now: Millis) {
        let mut bans = self.lock(now);
        bans.retain(|old| !old.entry.mask.eq_ignore_ascii_case(&ban.entry.mask));
        bans.push(ban);
    }

    /// The ban on `mask` (ignoring case), if one is in force.
    pub(super) fn find(&self, mask: &str, now: Millis) -> Option<ServerBanEntry> {
        self.lock(now)
            .iter()
            .find(|ban| ban.entry.mask.eq_ignore_ascii_case(mask))
            .map(|ban| ban.entry.clone())
    }

    /// Lifts the ban on `mask` (ignoring case).
    pub(super) fn remove(&self, mask: &str, now: Millis) {
        self.lock(now)
            .retain(|ban| !ban.entry.mask.eq_ignore_ascii_case(mask));
    }

    /// The bans in force, oldest first.
    pub(super) fn list(&self, now: Millis) -> Vec<ServerBanEntry> {
        let mut list: Vec<ServerBanEntry> =
            self.lock(now).iter().map(|ban| ban.entry.clone()).collect();
        list.sort_by_key(|ban| ban.at);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(mask: &str, until: Option<Millis>) -> StoredServerBan {
        StoredServerBan {
            mask: mask.into(),
            reason: "spam".into(),
            by: "root".into(),
            at: 1,
            until,
        }
    }

    #[test]
    fn masks_are_name_patterns_or_addresses() {
        assert_eq!(
            BanTarget::parse("Troll*"),
            Ok(BanTarget::Name("troll*".into()))
        );
        assert_eq!(
            BanTarget::parse("203.0.113.*"),
            Ok(BanTarget::Address("203.0.113.*".into()))
        );
        assert_eq!(
            BanTarget::parse("*!*@10.0.0.1"),
            Ok(BanTarget::Address("10.0.0.1".into()))
        );
        assert_eq!(
            BanTarget::parse("*@::1"),
            Ok(BanTarget::Address("::1".into()))
        );
        assert!(BanTarget::parse("*").is_err());
        assert!(BanTarget::parse("a b").is_err());
        assert!(BanTarget::parse("*@host.example").is_err());
    }

    #[test]
    fn a_ban_refuses_its_names_and_addresses_until_it_ends() {
        let bans = ServerBans::new(
            vec![
                ban("troll*", Some(100)),
                ban("203.0.113.*", None),
                ban("old", Some(5)),
            ],
            10,
        );
        let home = IpAddr::from([192, 0, 2, 1]);
        let banned = IpAddr::from([203, 0, 113, 9]);
        assert!(bans.check("TrollFace", home, 50).is_err());
        assert!(bans.check("alice", banned, 50).is_err());
        assert!(bans.check("alice", home, 50).is_ok());
        assert!(bans.check("old", home, 50).is_ok());
        assert_eq!(
            bans.check("troll", home, 99),
            Err(Refusal::ServerBanned {
                reason: "spam".into(),
                until: Some(100)
            })
        );
        // Ended: dropped when next read.
        assert!(bans.check("troll", home, 100).is_ok());
        assert_eq!(bans.list(100).len(), 1);
    }
}
