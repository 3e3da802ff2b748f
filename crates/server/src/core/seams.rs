//! The seams a cluster of banterd nodes plugs into (issue 20), and the
//! in-process implementation a server that runs alone uses.
//!
//! Two traits make a cluster: a [`Broker`] (room traffic and message ids,
//! [`Audience`]; what one session sends another, [`Courier`]) and a
//! [`Registry`] (names and sessions). The room rules, the commands and the
//! doors reach other sessions only through them; a cluster node (`cluster`)
//! implements them over NATS JetStream and adds itself to the seams, for
//! the steps that change a room or a name to go through its log.
//! [`InProcessBroker`] is
//! today's single node: ids from the store, events straight into the local
//! members' outboxes, requests into the local sessions' mailboxes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::{Event, RoomName};

use crate::core::cluster::Cluster;
use crate::core::control::{Control, Courier, Mailbox, Undelivered};
use crate::core::delivery::Delivery;
use crate::core::fanout::{Audience, LocalAudience};
use crate::core::outbox::Outbox;
use crate::core::registry::{LocalRegistry, Registry};
use crate::core::room::Room;
use crate::core::session_id::{NodeId, SessionId};
use crate::store::{Store, StoredMessage};

/// Everything that crosses sessions: a room's events and ids, and what one
/// session sends another.
pub(super) trait Broker: Audience + Courier {}

impl<T: Audience + Courier> Broker for T {}

/// The seams a hub is built with.
pub(crate) struct Seams {
    pub(super) broker: Arc<dyn Broker>,
    pub(super) registry: Arc<dyn Registry>,
    /// The cluster this node is part of (`--cluster`); `None` alone.
    pub(super) cluster: Option<Arc<Cluster>>,
}

impl Seams {
    /// A server that runs alone: message ids from `store`, everyone local.
    pub(crate) fn in_process(store: Arc<dyn Store>) -> Self {
        Self {
            broker: Arc::new(InProcessBroker::new(store)),
            registry: Arc::new(LocalRegistry::new(NodeId::SINGLE)),
            cluster: None,
        }
    }
}

/// How to reach a session on this node.
#[derive(Debug)]
struct Endpoint {
    outbox: Arc<Outbox>,
    mailbox: Arc<Mailbox>,
}

/// The broker of a server that runs alone; see the module docs.
pub struct InProcessBroker {
    store: Arc<dyn Store>,
    /// The named sessions, by id. Taken for a private message, a kick, an
    /// invitation or a close, and when a session takes or gives up its name;
    /// never on the room message path, and never while taking another lock.
    sessions: Mutex<HashMap<SessionId, Endpoint>>,
}

impl InProcessBroker {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            sessions: Mutex::default(),
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Endpoint>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The outbox and mailbox of session `id`, while it is attached.
    pub(super) fn endpoint(&self, id: SessionId) -> Option<(Arc<Outbox>, Arc<Mailbox>)> {
        self.sessions()
            .get(&id)
            .map(|endpoint| (Arc::clone(&endpoint.outbox), Arc::clone(&endpoint.mailbox)))
    }

    fn mailbox(&self, id: SessionId) -> Option<Arc<Mailbox>> {
        self.sessions()
            .get(&id)
            .map(|endpoint| Arc::clone(&endpoint.mailbox))
    }
}

impl Audience for InProcessBroker {
    fn message_id(&self, _room: &RoomName, message: &StoredMessage) -> i64 {
        self.store.append(message.clone())
    }

    fn publish(
        &self,
        _room: &RoomName,
        local: &LocalAudience,
        event: Event,
        except: Option<SessionId>,
    ) -> usize {
        local.offer(event, except)
    }
}

impl Courier for InProcessBroker {
    fn attach(&self, id: SessionId, outbox: Arc<Outbox>, mailbox: Arc<Mailbox>) {
        self.sessions().insert(id, Endpoint { outbox, mailbox });
    }

    fn detach(&self, id: SessionId) {
        self.sessions().remove(&id);
    }

    fn private(&self, to: SessionId, event: Event) -> bool {
        let Some(outbox) = self
            .sessions()
            .get(&to)
            .map(|endpoint| Arc::clone(&endpoint.outbox))
        else {
            return false;
        };
        outbox.offer(Delivery::new(event));
        true
    }

    fn send(&self, to: SessionId, request: Control) -> Result<(), Undelivered> {
        let mailbox = self.mailbox(to).ok_or(Undelivered::Gone)?;
        mailbox.try_send(request).map_err(|_| Undelivered::Busy)
    }

    fn take_over(&self, to: SessionId, request: Control) {
        if let Some(mailbox) = self.mailbox(to) {
            mailbox.take_over(request);
        }
    }

    fn room_closed(&self, to: SessionId, room: Arc<Room>, by: String) {
        if let Some(mailbox) = self.mailbox(to) {
            mailbox.room_closed(room, by);
        }
    }
}
