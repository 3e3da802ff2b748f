//! Local delivery: a room's traffic to the members connected to this server.
//!
//! This is the seam between a room's rules (`room`: hosts, password, topic,
//! who may enter) and getting its events to people. Today every member is
//! local, so publishing means offering one shared [`Delivery`] to each
//! member's outbox under the room lock, which gives every member the same
//! order and never waits (see `outbox`). Scale-out over a broker (several
//! banterd nodes sharing rooms through Redis or NATS) would add a second
//! audience here: publish to the broker's subject for the room, and let each
//! node's subscriber offer what arrives to its own local audience. The room
//! rules would not change; see ARCHITECTURE.md ("Fan-out and scale-out").

use std::sync::Arc;

use banter_proto::Event;

use crate::core::delivery::Delivery;
use crate::core::outbox::Outbox;
use crate::core::session_id::SessionId;

/// The outboxes of a room's local members, in order of arrival.
#[derive(Debug, Default)]
pub(super) struct LocalAudience {
    members: Vec<(SessionId, Arc<Outbox>)>,
}

impl LocalAudience {
    pub(super) fn add(&mut self, id: SessionId, outbox: Arc<Outbox>) {
        self.members.push((id, outbox));
    }

    pub(super) fn remove(&mut self, id: SessionId) {
        self.members.retain(|(member, _)| *member != id);
    }

    pub(super) fn clear(&mut self) {
        self.members.clear();
    }

    /// Offers `event` to every member but `except`; returns how many.
    pub(super) fn publish(&self, event: Event, except: Option<SessionId>) -> usize {
        let delivery = Delivery::new(event);
        let mut offered = 0;
        for (_, outbox) in self.members.iter().filter(|(id, _)| Some(*id) != except) {
            outbox.offer(Arc::clone(&delivery));
            offered += 1;
        }
        offered
    }
}
