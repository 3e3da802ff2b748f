//! Who is connected: the names users hold and the sessions holding them.
//!
//! A seam: the core asks a [`Registry`], and the in-process one
//! ([`LocalRegistry`]) is a map behind a short std `Mutex`. A cluster node
//! keeps names where every node sees them (a JetStream KV bucket: create to
//! claim, delete to release; `cluster::names`), so one name has one holder
//! across nodes. The registry knows names and sessions only; how to reach a session
//! is the courier's business (`control::Courier`), and the services (config,
//! store, metrics) are the hub's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{MemberInfo, Profile, UserInfo, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Nick, Refusal};

use crate::core::resume::ResumeKey;
use crate::core::session_id::{NodeId, SessionId};

/// A connected, named user as others can see them.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: SessionId,
    pub nick: Nick,
    /// What the user said about themselves, if their door asks (IRC's USER).
    pub profile: Option<Arc<Profile>>,
    /// Set while the user says they are away, with their message (IRC's AWAY).
    pub away: Option<Arc<str>>,
    /// Where they connect from: server bans match it, and operators see it.
    pub address: IpAddr,
    /// They authenticated as a server operator.
    pub operator: bool,
}

impl User {
    /// What queries show of this user (without their address, which only
    /// operators are shown: see `UserState::user_details`).
    pub(super) fn info(&self) -> UserInfo {
        UserInfo {
            nick: self.nick.to_string(),
            profile: self.profile.clone(),
            away: self.away.clone(),
            operator: self.operator,
            address: None,
        }
    }
}

/// Names and sessions; see the module docs. Each call is one atomic step:
/// of two sessions claiming one name (in any case) at once, one wins.
pub(super) trait Registry: Send + Sync + 'static {
    /// A new session's id, never given before by any node.
    fn new_session(&self) -> SessionId;
    /// Claims `user.nick` for session `user.id`; refused if anyone else
    /// holds it in any case.
    fn claim(&self, user: User) -> Result<(), Refusal>;
    /// Moves session `id`'s claim from `old` to `new` in one step (a change
    /// of case of one's own name included).
    fn rename(&self, id: SessionId, old: &Nick, new: &Nick) -> Result<(), Refusal>;
    /// Releases `nick`, if session `id` still holds it.
    fn release(&self, id: SessionId, nick: &Nick);
    /// Marks session `id`, named `nick`, away with `message`, or back (`None`).
    fn set_away(&self, id: SessionId, nick: &Nick, message: Option<&str>);
    /// Marks session `id`, named `nick`, as a server operator.
    fn set_operator(&self, id: SessionId, nick: &Nick);
    /// The user holding `name`, in any case.
    fn user(&self, name: &str) -> Option<User>;
    /// Every user `keep` accepts, in no order.
    fn users_where(&self, keep: &mut dyn FnMut(&User) -> bool) -> Vec<User>;
    /// Everyone's name, sorted ignoring case.
    fn nicks(&self) -> Vec<String>;
    /// The users whose names `matches` accepts (given case-folded), sorted
    /// ignoring case, at most `limit`.
    fn users_matching(&self, matches: &mut dyn FnMut(&str) -> bool, limit: usize) -> Vec<UserInfo>;
    /// Each listed member with what queries show of them, in one look (a
    /// member who just left shows their name alone).
    fn member_infos(&self, members: Vec<WhoEntry>) -> Vec<MemberInfo>;
    /// How many users hold a name.
    fn count(&self) -> usize;

    // Resumable sessions (`core::resume`), by their token's key. A cluster
    // keeps these where every node sees them, so a resume on any node finds
    // the session; each call is one atomic step.

    /// Records session `id`, whose connection is live, under `key`.
    fn open_session(&self, key: ResumeKey, id: SessionId);
    /// Session `id`'s connection ended: it may be taken over until it ends.
    fn park(&self, key: ResumeKey, id: SessionId);
    /// The parked session recorded under `key`, now live again for whoever
    /// asked; of two asking at once, one gets it. `None` for an unknown key
    /// or a session whose connection is live.
    fn take_over(&self, key: &ResumeKey) -> Option<SessionId>;
    /// Forgets the record under `key`, if it is still session `id`'s: the
    /// session quit or ended.
    fn end_session(&self, key: &ResumeKey, id: SessionId);
    /// How many sessions are parked.
    fn parked(&self) -> usize;
}

/// A resumable session as the registry records it.
#[derive(Debug, Clone, Copy)]
struct SessionRecord {
    id: SessionId,
    parked: bool,
}

/// The resumable sessions of a server that runs alone.
#[derive(Debug, Default)]
struct Sessions {
    by_key: HashMap<ResumeKey, SessionRecord>,
    parked: usize,
}

/// The registry of a server that runs alone.
#[derive(Debug)]
pub(super) struct LocalRegistry {
    node: NodeId,
    /// By case-folded name; the key shares the name's text.
    users: Mutex<HashMap<Arc<str>, User>>,
    /// Never held with `users`.
    resumable: Mutex<Sessions>,
    next_serial: AtomicU64,
}

impl LocalRegistry {
    pub(super) fn new(node: NodeId) -> Self {
        Self {
            node,
            users: Mutex::default(),
            resumable: Mutex::default(),
            next_serial: AtomicU64::new(1),
        }
    }

    fn users(&self) -> MutexGuard<'_, HashMap<Arc<str>, User>> {
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn resumable(&self) -> MutexGuard<'_, Sessions> {
        self.resumable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registry for LocalRegistry {
    fn new_session(&self) -> SessionId {
        SessionId::new(self.node, self.next_serial.fetch_add(1, Ordering::Relaxed))
    }

    fn claim(&self, user: User) -> Result<(), Refusal> {
        let mut users = self.users();
        if users.contains_key(user.nick.key()) {
            return Err(Refusal::NameTaken {
                name: user.nick.to_string(),
            });
        }
        users.insert(user.nick.shared_key(), user);
        Ok(())
    }

    fn rename(&self, id: SessionId, old: &Nick, new: &Nick) -> Result<(), Refusal> {
        let mut users = self.users();
        if let Some(holder) = users.get(new.key()) {
            if holder.id != id {
                return Err(Refusal::NameTaken {
                    name: new.to_string(),
                });
            }
        }
        let mut user = users
            .remove(old.key())
            .expect("a session renames only the name it holds");
        user.nick = new.clone();
        users.insert(new.shared_key(), user);
        Ok(())
    }

    fn release(&self, id: SessionId, nick: &Nick) {
        let mut users = self.users();
        if users.get(nick.key()).is_some_and(|user| user.id == id) {
            users.remove(nick.key());
        }
    }

    fn set_away(&self, id: SessionId, nick: &Nick, message: Option<&str>) {
        let mut users = self.users();
        if let Some(user) = users.get_mut(nick.key()).filter(|user| user.id == id) {
            user.away = message.map(Arc::from);
        }
    }

    fn set_operator(&self, id: SessionId, nick: &Nick) {
        let mut users = self.users();
        if let Some(user) = users.get_mut(nick.key()).filter(|user| user.id == id) {
            user.operator = true;
        }
    }

    fn user(&self, name: &str) -> Option<User> {
        self.users().get(fold(name).as_str()).cloned()
    }

    fn users_where(&self, keep: &mut dyn FnMut(&User) -> bool) -> Vec<User> {
        self.users()
            .values()
            .filter(|user| keep(user))
            .cloned()
            .collect()
    }

    fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self
            .users()
            .values()
            .map(|user| user.nick.to_string())
            .collect();
        nicks.sort_by_key(|nick| fold(nick));
        nicks
    }

    fn users_matching(&self, matches: &mut dyn FnMut(&str) -> bool, limit: usize) -> Vec<UserInfo> {
        let mut found: Vec<UserInfo> = self
            .users()
            .iter()
            .filter(|(key, _)| matches(key))
            .map(|(_, user)| user.info())
            .collect();
        found.sort_by_key(|user| fold(&user.nick));
        found.truncate(limit);
        found
    }

    fn member_infos(&self, members: Vec<WhoEntry>) -> Vec<MemberInfo> {
        let users = self.users();
        members
            .into_iter()
            .map(|member| {
                let user = match users.get(fold(&member.nick).as_str()) {
                    Some(user) => user.info(),
                    None => UserInfo {
                        nick: member.nick.to_string(),
                        profile: None,
                        away: None,
                        operator: false,
                        address: None,
                    },
                };
                MemberInfo {
                    user,
                    host: member.host,
                    voice: member.voice,
                }
            })
            .collect()
    }

    fn count(&self) -> usize {
        self.users().len()
    }

    fn open_session(&self, key: ResumeKey, id: SessionId) {
        let mut sessions = self.resumable();
        let record = SessionRecord { id, parked: false };
        if let Some(old) = sessions.by_key.insert(key, record) {
            // 192 random bits do not collide; kept exact regardless.
            if old.parked {
                sessions.parked -= 1;
            }
        }
    }

    fn park(&self, key: ResumeKey, id: SessionId) {
        let mut sessions = self.resumable();
        let Some(record) = sessions.by_key.get_mut(&key).filter(|r| r.id == id) else {
            return;
        };
        if !std::mem::replace(&mut record.parked, true) {
            sessions.parked += 1;
        }
    }

    fn take_over(&self, key: &ResumeKey) -> Option<SessionId> {
        let mut sessions = self.resumable();
        let record = sessions.by_key.get_mut(key).filter(|r| r.parked)?;
        record.parked = false;
        let id = record.id;
        sessions.parked -= 1;
        Some(id)
    }

    fn end_session(&self, key: &ResumeKey, id: SessionId) {
        let mut sessions = self.resumable();
        if sessions.by_key.get(key).is_some_and(|r| r.id == id) {
            if let Some(SessionRecord { parked: true, .. }) = sessions.by_key.remove(key) {
                sessions.parked -= 1;
            }
        }
    }

    fn parked(&self) -> usize {
        self.resumable().parked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(serial: u64) -> SessionId {
        SessionId::new(NodeId::SINGLE, serial)
    }

    fn user(serial: u64, name: &str) -> User {
        User {
            id: id(serial),
            nick: Nick::parse(name).unwrap(),
            profile: None,
            away: None,
            address: IpAddr::from([127, 0, 0, 1]),
            operator: false,
        }
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        let registry = LocalRegistry::new(NodeId::SINGLE);
        registry.claim(user(1, "Alice")).unwrap();
        assert_eq!(
            registry.claim(user(2, "alice")),
            Err(Refusal::NameTaken {
                name: "alice".into()
            })
        );
        registry.release(id(1), &Nick::parse("ALICE").unwrap());
        registry.claim(user(2, "alice")).unwrap();
    }

    #[test]
    fn unregister_by_a_former_holder_keeps_the_new_claim() {
        let registry = LocalRegistry::new(NodeId::SINGLE);
        let nick = Nick::parse("bob").unwrap();
        registry.claim(user(1, "bob")).unwrap();
        registry.release(id(1), &nick);
        registry.claim(user(2, "bob")).unwrap();
        registry.release(id(1), &nick);
        assert_eq!(registry.user("bob").unwrap().id, id(2));
    }

    #[test]
    fn rename_may_change_case_of_own_name() {
        let registry = LocalRegistry::new(NodeId::SINGLE);
        registry.claim(user(1, "carol")).unwrap();
        let old = Nick::parse("carol").unwrap();
        let new = Nick::parse("Carol").unwrap();
        registry.rename(id(1), &old, &new).unwrap();
        assert_eq!(registry.user("CAROL").unwrap().nick.as_str(), "Carol");
    }

    #[test]
    fn a_parked_session_is_taken_over_once_and_ended_for_good() {
        let registry = LocalRegistry::new(NodeId::SINGLE);
        let (_, key) = ResumeKey::issue();
        registry.open_session(key, id(1));
        assert_eq!(registry.take_over(&key), None, "live: not to be taken");
        registry.park(key, id(1));
        assert_eq!(registry.parked(), 1);
        assert_eq!(registry.take_over(&key), Some(id(1)));
        assert_eq!(registry.take_over(&key), None, "one winner");
        assert_eq!(registry.parked(), 0);
        registry.park(key, id(1));
        // Another session's end leaves the record alone; its own removes it.
        registry.end_session(&key, id(2));
        assert_eq!(registry.parked(), 1);
        registry.end_session(&key, id(1));
        assert_eq!((registry.parked(), registry.take_over(&key)), (0, None));
        registry.park(key, id(1));
        assert_eq!(registry.parked(), 0, "an ended session parks no more");
    }

    #[test]
    fn session_ids_carry_the_node_and_are_never_given_twice() {
        let registry = LocalRegistry::new(NodeId(7));
        let first = registry.new_session();
        let second = registry.new_session();
        assert_eq!((first.node, second.node), (NodeId(7), NodeId(7)));
        assert_ne!(first, second);
    }
}
