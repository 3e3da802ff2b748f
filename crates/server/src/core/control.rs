//! Requests one session makes of another: a kick, an invitation, a closed
//! room, an operator's kill.
//!
//! Only a user's own session changes that user's state; a host's session
//! checks the rules and leaves a request in the target's [`Mailbox`]. A mailbox
//! is a short queue behind a std `Mutex` plus a `Notify`: it allocates nothing
//! until a request arrives, which matters with thousands of idle connections.
//!
//! Such requests, and private messages, are addressed to a [`SessionId`],
//! not to a mailbox or an outbox: a [`Courier`] carries them to the session
//! wherever it lives. The in-process courier (`seams::InProcessBroker`) finds
//! the session's mailbox and outbox on this node; a cluster node's
//! (`cluster::broker`) sends what is for another node's session to that
//! node, naming the room by its name, which that node resolves in its own
//! directory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::Event;
use tokio::sync::Notify;

use crate::core::outbox::Outbox;
use crate::core::resume::Handoff;
use crate::core::room::Room;
use crate::core::session_id::SessionId;

/// Requests waiting in one mailbox; they are rare, and a full mailbox makes
/// the requester say "try again".
const MAILBOX_CAPACITY: usize = 8;

/// What another session asks this one to do to itself.
#[derive(Debug)]
pub(crate) enum Control {
    /// A host moved us out of `room` (if we are still in it).
    Kicked {
        room: Arc<Room>,
        by: String,
        reason: Option<String>,
    },
    /// A host closed `room` (we were in it when it closed).
    RoomClosed { room: Arc<Room>, by: String },
    /// A host let us into `room` once without its password, while the
    /// password stays the one of `epoch`.
    Invited {
        room: Arc<Room>,
        by: String,
        epoch: u64,
    },
    /// A new connection takes this parked session over: the session hands
    /// itself over (`core::resume`). A live session drops it, which the
    /// asker sees as a failed resume.
    TakeOver(Handoff),
    /// A server operator disconnects us.
    Killed { by: String, reason: Option<String> },
}

/// Carries what one session sends another, to wherever the other lives;
/// see the module docs. Nothing here waits: a full mailbox or a full outbox
/// is the sender's answer, never a reason to block.
pub(super) trait Courier: Send + Sync + 'static {
    /// Makes session `id`, on this node, reachable: from now on what is sent
    /// to `id` lands in `outbox` (private messages) or `mailbox` (requests).
    fn attach(&self, id: SessionId, outbox: Arc<Outbox>, mailbox: Arc<Mailbox>);
    /// Session `id` is going: nothing more is sent to it.
    fn detach(&self, id: SessionId);
    /// Offers a private message to session `to` (dropped and counted, like
    /// room traffic, when its outbox is full); `false` when it has gone.
    fn private(&self, to: SessionId, event: Event) -> bool;
    /// Leaves a kick or an invitation for session `to`.
    fn send(&self, to: SessionId, request: Control) -> Result<(), Undelivered>;
    /// Hands session `to` a take-over (`Control::TakeOver`). Never refused
    /// for a full mailbox; the registry lets one connection at a time take
    /// a session over. Nothing to do if it has gone (the asker then hears
    /// nothing back, which fails its resume).
    fn take_over(&self, to: SessionId, request: Control);
    /// Tells session `to` that `room` was closed. Never refused for a full
    /// mailbox (see [`Mailbox::room_closed`]); nothing to do if it has gone.
    fn room_closed(&self, to: SessionId, room: Arc<Room>, by: String);
}

/// Why a request did not reach a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undelivered {
    /// Its mailbox is full: the sender says "try again".
    Busy,
    /// The session has gone (it left as the request was made).
    Gone,
}

/// One session's incoming requests.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    queue: Mutex<VecDeque<Control>>,
    ready: Notify,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Control>> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Leaves a request; gives it back if the mailbox is full.
    pub(super) fn try_send(&self, request: Control) -> Result<(), Control> {
        let mut queue = self.lock();
        if queue.len() >= MAILBOX_CAPACITY {
            return Err(request);
        }
        queue.push_back(request);
        drop(queue);
        self.ready.notify_one();
        Ok(())
    }

    /// Tells the session its room was closed. Never refused, even when the
    /// mailbox is full: a member left attached to a deleted room would lose
    /// every line it says. It cannot grow without bound: a session gets at
    /// most one such request per room it is in.
    pub(super) fn room_closed(&self, room: Arc<Room>, by: String) {
        self.lock().push_back(Control::RoomClosed { room, by });
        self.ready.notify_one();
    }

    /// Leaves a take-over; never refused (see [`Courier::take_over`]).
    pub(super) fn take_over(&self, request: Control) {
        self.lock().push_back(request);
        self.ready.notify_one();
    }

    /// The next request, waiting for one. Cancel-safe.
    pub(crate) async fn recv(&self) -> Control {
        loop {
            if let Some(request) = self.lock().pop_front() {
                return request;
            }
            self.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use banter_proto::RoomName;

    #[tokio::test]
    async fn requests_arrive_in_order_and_a_full_mailbox_refuses() {
        let store: Arc<dyn crate::store::Store> =
            Arc::new(crate::store::memory::MemoryStore::new(10));
        let broker = Arc::new(crate::core::seams::InProcessBroker::new(Arc::clone(&store)));
        let room = Arc::new(Room::new(
            RoomName::parse("games").unwrap(),
            crate::core::room::RoomSetup::default(),
            store,
            broker,
            0,
        ));
        let mailbox = Mailbox::default();
        for n in 0..MAILBOX_CAPACITY {
            let by = format!("host{n}");
            assert!(mailbox
                .try_send(Control::RoomClosed {
                    room: Arc::clone(&room),
                    by
                })
                .is_ok());
        }
        let extra = Control::RoomClosed {
            room: Arc::clone(&room),
            by: "late".into(),
        };
        assert!(mailbox.try_send(extra).is_err());
        // A closed room always gets through.
        mailbox.room_closed(Arc::clone(&room), "closer".into());
        for n in 0..MAILBOX_CAPACITY {
            let Control::RoomClosed { by, .. } = mailbox.recv().await else {
                panic!("wrong request");
            };
            assert_eq!(by, format!("host{n}"));
        }
        let Control::RoomClosed { by, .. } = mailbox.recv().await else {
            panic!("wrong request");
        };
        assert_eq!(by, "closer");
    }
}
