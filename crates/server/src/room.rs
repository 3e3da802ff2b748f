//! One chat room: its members and the fan-out of its traffic.
//!
//! The room's lock is the only lock on the message path. Holding it while
//! offering a delivery to every member gives each room a single order that all
//! members see; offering never waits (see `outbox`), so a slow member cannot
//! hold the lock.

use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::LeaveReason;
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

#[derive(Debug, Default)]
struct RoomState {
    /// In order of arrival.
    members: Vec<Member>,
}

#[derive(Debug)]
pub struct Room {
    name: RoomName,
    state: Mutex<RoomState>,
}

impl Room {
    pub fn new(name: RoomName) -> Self {
        Self {
            name,
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

    /// Offers `event` to every member but `except`; returns how many it was offered to.
    pub fn broadcast(&self, event: Event, except: Option<SessionId>) -> usize {
        let delivery = Delivery::new(event);
        let state = self.lock();
        let mut offered = 0;
        for member in state.members.iter().filter(|m| Some(m.id) != except) {
            member.outbox.offer(Arc::clone(&delivery));
            offered += 1;
        }
        offered
    }

    /// Adds a member and tells the others; returns how many others there are.
    pub fn join(&self, member: Member) -> usize {
        let joined = Delivery::new(Event::Joined {
            room: self.name.to_string(),
            nick: member.nick.to_string(),
        });
        let mut state = self.lock();
        for other in &state.members {
            other.outbox.offer(Arc::clone(&joined));
        }
        state.members.push(member);
        state.members.len() - 1
    }

    /// Removes a member and tells the others why, if there is a `reason` to tell.
    pub fn leave(&self, id: SessionId, reason: Option<LeaveReason>) {
        let mut state = self.lock();
        let Some(at) = state.members.iter().position(|m| m.id == id) else {
            return;
        };
        let member = state.members.remove(at);
        let Some(reason) = reason else {
            return;
        };
        let left = Delivery::new(Event::Left {
            room: self.name.to_string(),
            nick: member.nick.to_string(),
            reason,
        });
        for other in &state.members {
            other.outbox.offer(Arc::clone(&left));
        }
    }

    /// Renames a member and tells the others.
    pub fn rename(&self, id: SessionId, new: &Nick) {
        let mut state = self.lock();
        let Some(member) = state.members.iter_mut().find(|m| m.id == id) else {
            return;
        };
        let old = std::mem::replace(&mut member.nick, new.clone());
        let changed = Delivery::new(Event::NickChanged {
            room: self.name.to_string(),
            old: old.to_string(),
            new: new.to_string(),
        });
        for other in state.members.iter().filter(|m| m.id != id) {
            other.outbox.offer(Arc::clone(&changed));
        }
    }

    pub fn member_count(&self) -> usize {
        self.lock().members.len()
    }

    /// Member names in order of arrival.
    pub fn member_names(&self) -> Vec<String> {
        self.lock()
            .members
            .iter()
            .map(|m| m.nick.to_string())
            .collect()
    }
}
