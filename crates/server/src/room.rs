//! One chat room: its members, hosts, topic and password, and the fan-out of
//! its traffic.
//!
//! The room's lock is the only lock on the message path. Holding it while
//! offering a delivery to every member gives each room a single order that all
//! members see; offering never waits (see `outbox`), so a slow member cannot
//! hold the lock. Host rights belong to a session (a connection), never to a
//! name: whoever later takes a former host's name gets nothing from it.

use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{LeaveReason, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Event, Nick, RoomName};

use crate::outbox::Outbox;
use crate::render::Delivery;

/// A session's identity for its whole connection; names can change, this cannot.
pub type SessionId = u64;

/// A member as the room knows it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: SessionId,
    pub nick: Nick,
    pub outbox: Arc<Outbox>,
}

#[derive(Debug)]
struct Seat {
    member: Member,
    host: bool,
}

#[derive(Debug, Default)]
struct RoomState {
    /// In order of arrival: the first is the longest present.
    seats: Vec<Seat>,
    topic: Option<String>,
    /// Argon2id PHC string of the room password.
    password_hash: Option<String>,
    /// Bumped by every password change, so earlier grants and invites lapse.
    password_epoch: u64,
}

/// Why a host action was refused; shown after `error: `.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomError {
    #[error("only a host of {0} can do that (see :who)")]
    NotHost(String),
    #[error("{0} is the default room: it has no hosts and cannot be locked")]
    DefaultRoom(String),
    #[error("nobody named {name} is in {room}")]
    NoSuchMember { name: String, room: String },
    #[error("{name} is already a host of {room}")]
    AlreadyHost { name: String, room: String },
    #[error("{name} is not a host of {room}")]
    NotAHost { name: String, room: String },
    #[error("{0} would be left without a host; make someone else a host first")]
    LastHost(String),
    #[error("{0} is a host; take their host rights first with :hostrm {0}")]
    KickHost(String),
    #[error("you cannot kick yourself; use :cr to leave")]
    KickSelf,
}

/// What a new member learns on entering.
#[derive(Debug)]
pub struct Entry {
    pub others: usize,
    pub topic: Option<String>,
}

#[derive(Debug)]
pub struct Room {
    name: RoomName,
    /// The server's default room: no hosts, never locked.
    is_default: bool,
    state: Mutex<RoomState>,
}

impl Room {
    pub fn new(name: RoomName, is_default: bool) -> Self {
        Self {
            name,
            is_default,
            state: Mutex::default(),
        }
    }

    pub fn name(&self) -> &RoomName {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn offer_all(state: &RoomState, event: Event, except: Option<SessionId>) -> usize {
        let delivery = Delivery::new(event);
        let mut offered = 0;
        for seat in state.seats.iter().filter(|s| Some(s.member.id) != except) {
            seat.member.outbox.offer(Arc::clone(&delivery));
            offered += 1;
        }
        offered
    }

    /// Offers `event` to every member but `except`; returns how many it was offered to.
    pub fn broadcast(&self, event: Event, except: Option<SessionId>) -> usize {
        Self::offer_all(&self.lock(), event, except)
    }

    /// Adds a member and tells the others. The first into an empty room
    /// (other than the default room) becomes its host.
    pub fn join(&self, member: Member) -> Entry {
        let mut state = self.lock();
        let joined = Event::Joined {
            room: self.name.to_string(),
            nick: member.nick.to_string(),
        };
        Self::offer_all(&state, joined, None);
        let host = state.seats.is_empty() && !self.is_default;
        state.seats.push(Seat { member, host });
        Entry {
            others: state.seats.len() - 1,
            topic: state.topic.clone(),
        }
    }

    /// Removes a member and tells the others why, if there is a `reason` to
    /// tell. If the last host left, the longest-present member becomes host.
    pub fn leave(&self, id: SessionId, reason: Option<LeaveReason>) {
        let mut state = self.lock();
        let Some(at) = state.seats.iter().position(|s| s.member.id == id) else {
            return;
        };
        let seat = state.seats.remove(at);
        if let Some(reason) = reason {
            let left = Event::Left {
                room: self.name.to_string(),
                nick: seat.member.nick.to_string(),
                reason,
            };
            Self::offer_all(&state, left, None);
        }
        if seat.host && !state.seats.iter().any(|s| s.host) {
            if let Some(heir) = state.seats.first_mut() {
                heir.host = true;
                let nick = heir.member.nick.to_string();
                let promoted = Event::HostAdded {
                    room: self.name.to_string(),
                    nick,
                    by: None,
                };
                Self::offer_all(&state, promoted, None);
            }
        }
    }

    /// Renames a member and tells the others.
    pub fn rename(&self, id: SessionId, new: &Nick) {
        let mut state = self.lock();
        let Some(seat) = state.seats.iter_mut().find(|s| s.member.id == id) else {
            return;
        };
        let old = std::mem::replace(&mut seat.member.nick, new.clone());
        let changed = Event::NickChanged {
            room: self.name.to_string(),
            old: old.to_string(),
            new: new.to_string(),
        };
        Self::offer_all(&state, changed, Some(id));
    }

    pub fn member_count(&self) -> usize {
        self.lock().seats.len()
    }

    pub fn is_member(&self, id: SessionId) -> bool {
        self.lock().seats.iter().any(|s| s.member.id == id)
    }

    /// Members in order of arrival, with their host marks.
    pub fn who(&self) -> Vec<WhoEntry> {
        self.lock()
            .seats
            .iter()
            .map(|s| WhoEntry {
                nick: s.member.nick.to_string(),
                host: s.host,
            })
            .collect()
    }

    pub fn topic(&self) -> Option<String> {
        self.lock().topic.clone()
    }

    /// The password hash (if locked) and the password epoch.
    pub fn lock_state(&self) -> (Option<String>, u64) {
        let state = self.lock();
        (state.password_hash.clone(), state.password_epoch)
    }

    pub fn is_locked(&self) -> bool {
        self.lock().password_hash.is_some()
    }

    /// Checks that `actor` is a host here.
    fn require_host(&self, state: &RoomState, actor: SessionId) -> Result<(), RoomError> {
        if self.is_default {
            return Err(RoomError::DefaultRoom(self.name.to_string()));
        }
        if state.seats.iter().any(|s| s.member.id == actor && s.host) {
            Ok(())
        } else {
            Err(RoomError::NotHost(self.name.to_string()))
        }
    }

    fn seat_named<'a>(
        &self,
        state: &'a mut RoomState,
        name: &str,
    ) -> Result<&'a mut Seat, RoomError> {
        let key = fold(name);
        state
            .seats
            .iter_mut()
            .find(|s| s.member.nick.key() == key)
            .ok_or_else(|| RoomError::NoSuchMember {
                name: name.to_owned(),
                room: self.name.to_string(),
            })
    }

    pub fn add_host(&self, actor: SessionId, by: &Nick, name: &str) -> Result<(), RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.host {
            return Err(RoomError::AlreadyHost {
                name: seat.member.nick.to_string(),
                room: self.name.to_string(),
            });
        }
        seat.host = true;
        let nick = seat.member.nick.to_string();
        let added = Event::HostAdded {
            room: self.name.to_string(),
            nick,
            by: Some(by.to_string()),
        };
        Self::offer_all(&state, added, None);
        Ok(())
    }

    pub fn remove_host(&self, actor: SessionId, by: &Nick, name: &str) -> Result<(), RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let room = self.name.to_string();
        let hosts = state.seats.iter().filter(|s| s.host).count();
        let seat = self.seat_named(&mut state, name)?;
        if !seat.host {
            return Err(RoomError::NotAHost {
                name: seat.member.nick.to_string(),
                room,
            });
        }
        if hosts == 1 {
            return Err(RoomError::LastHost(room));
        }
        seat.host = false;
        let removed = Event::HostRemoved {
            room,
            nick: seat.member.nick.to_string(),
            by: by.to_string(),
        };
        Self::offer_all(&state, removed, None);
        Ok(())
    }

    pub fn set_topic(&self, actor: SessionId, by: &Nick, topic: String) -> Result<(), RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        state.topic = Some(topic.clone());
        let changed = Event::TopicChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            topic,
        };
        Self::offer_all(&state, changed, None);
        Ok(())
    }

    /// Checks that `actor` may change the password (host, not the default room).
    pub fn check_host(&self, actor: SessionId) -> Result<(), RoomError> {
        self.require_host(&self.lock(), actor)
    }

    /// Sets (`Some`) or removes (`None`) the password; returns the new epoch.
    pub fn set_password(
        &self,
        actor: SessionId,
        by: &Nick,
        hash: Option<String>,
    ) -> Result<u64, RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let locked = hash.is_some();
        state.password_hash = hash;
        state.password_epoch += 1;
        let changed = Event::LockChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            locked,
        };
        Self::offer_all(&state, changed, None);
        Ok(state.password_epoch)
    }

    /// Finds the member a host wants to kick; the kick itself is carried out
    /// by the member's own session.
    pub fn kick_target(&self, actor: SessionId, name: &str) -> Result<SessionId, RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.member.id == actor {
            return Err(RoomError::KickSelf);
        }
        if seat.host {
            return Err(RoomError::KickHost(seat.member.nick.to_string()));
        }
        Ok(seat.member.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: SessionId, name: &str) -> Member {
        Member {
            id,
            nick: Nick::parse(name).unwrap(),
            outbox: Arc::new(Outbox::new(64 * 1024)),
        }
    }

    fn room() -> Room {
        Room::new(RoomName::parse("games").unwrap(), false)
    }

    fn hosts(room: &Room) -> Vec<String> {
        room.who()
            .into_iter()
            .filter(|w| w.host)
            .map(|w| w.nick)
            .collect()
    }

    #[test]
    fn the_first_into_an_empty_room_is_host_but_not_in_the_default_room() {
        let games = room();
        games.join(member(1, "ann"));
        games.join(member(2, "bob"));
        assert_eq!(hosts(&games), ["ann"]);
        let lobby = Room::new(RoomName::parse("lobby").unwrap(), true);
        lobby.join(member(1, "ann"));
        assert!(hosts(&lobby).is_empty());
        assert!(matches!(
            lobby.set_password(1, &Nick::parse("ann").unwrap(), Some("h".into())),
            Err(RoomError::DefaultRoom(_))
        ));
    }

    #[test]
    fn the_longest_present_member_succeeds_the_last_host() {
        let games = room();
        games.join(member(1, "ann"));
        games.join(member(2, "bob"));
        games.join(member(3, "cid"));
        games.leave(1, Some(LeaveReason::Quit));
        assert_eq!(hosts(&games), ["bob"]);
        games.leave(3, None);
        games.leave(2, None);
        games.join(member(4, "dee"));
        assert_eq!(hosts(&games), ["dee"]);
    }

    #[test]
    fn a_room_with_members_always_keeps_a_host() {
        let games = room();
        let ann = Nick::parse("ann").unwrap();
        games.join(member(1, "ann"));
        games.join(member(2, "bob"));
        assert_eq!(
            games.remove_host(1, &ann, "ann"),
            Err(RoomError::LastHost("games".into()))
        );
        assert_eq!(hosts(&games), ["ann"]);
        games.add_host(1, &ann, "BOB").unwrap();
        games.remove_host(1, &ann, "ann").unwrap();
        assert_eq!(hosts(&games), ["bob"]);
        assert_eq!(
            games.add_host(1, &ann, "ann"),
            Err(RoomError::NotHost("games".into()))
        );
    }
}
