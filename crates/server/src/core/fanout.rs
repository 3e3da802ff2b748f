//! Room traffic: how a room's events reach its members, and where its
//! messages get their ids.
//!
//! This is the seam between a room's rules (`room`: hosts, password, topic,
//! who may enter) and getting its events to people. A room calls its
//! [`Audience`] under the room lock for every event and every message id, so
//! the calls for one room come in one order. The audience decides how the
//! event reaches the members: the in-process one (`seams::InProcessBroker`)
//! offers one shared [`Delivery`] to each member's outbox at once, which
//! never waits (see `outbox`); on a cluster node (`cluster`) every room
//! change comes back from the cluster's log, in its order, and the room
//! offers it to the members on this node. Either way the members on this node are a
//! [`LocalAudience`], which the room keeps with its seats. See
//! ARCHITECTURE.md ("Fan-out and scale-out").

use std::sync::Arc;

use banter_proto::{Event, RoomName};

use crate::core::delivery::Delivery;
use crate::core::outbox::Outbox;
use crate::core::session_id::SessionId;
use crate::store::StoredMessage;

/// Where a room's events and message ids come from; see the module docs.
///
/// A room calls these under its lock, so for one room the calls are made
/// one at a time and in the order the room decided things. An
/// implementation must keep that order: every member, on every node, sees a
/// room's events in the order of the calls, and message ids grow in it.
/// Both calls are on the message path: they must not wait (no I/O, no lock
/// held for longer than a push).
pub trait Audience: Send + Sync + 'static {
    /// The id of a room message about to be published: positive, unique, and
    /// strictly increasing in the order of the calls for one room (a room
    /// may have gaps). The in-process broker asks the store
    /// ([`Store::append`](crate::store::Store::append)), which also queues
    /// the message for saving. A cluster node numbers messages by its log
    /// instead (the publish acknowledgement's sequence) and hands the room
    /// messages already numbered (`Room::deliver`), so it never asks this.
    fn message_id(&self, room: &RoomName, message: &StoredMessage) -> i64;

    /// Gives `event` to every member of `room` but `except`. `local` are the
    /// members on this node, which this node's deliveries go to. Returns how
    /// many members it was offered to on this node.
    fn publish(
        &self,
        room: &RoomName,
        local: &LocalAudience,
        event: Event,
        except: Option<SessionId>,
    ) -> usize;
}

/// The outboxes of a room's members on this node, in order of arrival.
#[derive(Debug, Default)]
pub struct LocalAudience {
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

    /// Offers `event` to every member but `except`, one [`Delivery`] shared
    /// by all of them; returns how many.
    pub(super) fn offer(&self, event: Event, except: Option<SessionId>) -> usize {
        let delivery = Delivery::new(event);
        let mut offered = 0;
        for (_, outbox) in self.members.iter().filter(|(id, _)| Some(*id) != except) {
            outbox.offer(Arc::clone(&delivery));
            offered += 1;
        }
        offered
    }
}
