//! The broker of a cluster node: room events to this node's members (the
//! rooms are fed in log order by `apply`), and what one session sends
//! another: straight to a session here, over core NATS to the subject of
//! the node of a session elsewhere (`banter.node.<node id>`), where
//! [`start_mail`] hands it on (private messages, invitations, operators'
//! kills).

use std::sync::Arc;

use banter_proto::{Event, RoomName};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::op::Mail;
use super::{Cluster, Outgoing};
use crate::core::control::{Control, Courier, Mailbox, Undelivered};
use crate::core::fanout::{Audience, LocalAudience};
use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::room::Room;
use crate::core::seams::InProcessBroker;
use crate::core::session_id::{NodeId, SessionId};
use crate::store::{Store, StoredMessage};

fn node_subject(node: NodeId) -> String {
    format!("banter.node.{:08x}", node.0)
}

/// See the module docs.
pub(super) struct ClusterBroker {
    node: NodeId,
    /// This node's sessions.
    local: InProcessBroker,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

impl ClusterBroker {
    pub(super) fn new(
        node: NodeId,
        store: Arc<dyn Store>,
        outgoing: mpsc::UnboundedSender<Outgoing>,
    ) -> Self {
        Self {
            node,
            local: InProcessBroker::new(store),
            outgoing,
        }
    }

    /// The outbox of session `id`, on this node, while it is attached.
    pub(super) fn outbox(&self, id: SessionId) -> Option<Arc<Outbox>> {
        self.local.endpoint(id).map(|(outbox, _)| outbox)
    }

    /// The mailbox of session `id`, on this node, while it is attached.
    pub(super) fn mailbox(&self, id: SessionId) -> Option<Arc<Mailbox>> {
        self.local.endpoint(id).map(|(_, mailbox)| mailbox)
    }

    fn mail(&self, to: NodeId, mail: &Mail) {
        let Ok(payload) = serde_json::to_vec(mail) else {
            return;
        };
        let _ = self.outgoing.send(Outgoing::Core {
            subject: node_subject(to),
            payload: Bytes::from(payload),
        });
    }
}

impl Audience for ClusterBroker {
    /// Not asked on a cluster node: its rooms' messages are numbered by the
    /// log (`Cluster::say`) and delivered with `Room::deliver`. Answers as a
    /// node alone would, so a room never goes without an id.
    fn message_id(&self, room: &RoomName, message: &StoredMessage) -> i64 {
        self.local.message_id(room, message)
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

impl Courier for ClusterBroker {
    fn attach(&self, id: SessionId, outbox: Arc<Outbox>, mailbox: Arc<Mailbox>) {
        self.local.attach(id, outbox, mailbox);
    }

    fn detach(&self, id: SessionId) {
        self.local.detach(id);
    }

    fn private(&self, to: SessionId, event: Event) -> bool {
        if to.node == self.node {
            return self.local.private(to, event);
        }
        let Event::Private {
            from,
            text,
            at,
            notice,
        } = event
        else {
            return false;
        };
        let mail = Mail::Private {
            to: to.serial,
            from,
            text,
            at,
            notice,
        };
        self.mail(to.node, &mail);
        true
    }

    fn send(&self, to: SessionId, request: Control) -> Result<(), Undelivered> {
        if to.node == self.node {
            return self.local.send(to, request);
        }
        match request {
            Control::Invited { room, by, epoch } => {
                let mail = Mail::Invited {
                    to: to.serial,
                    room: room.name().to_string(),
                    by,
                    epoch,
                };
                self.mail(to.node, &mail);
                Ok(())
            }
            Control::Killed { by, reason } => {
                let mail = Mail::Killed {
                    to: to.serial,
                    by,
                    reason,
                };
                self.mail(to.node, &mail);
                Ok(())
            }
            // Kicks and closes are ops of the log, applied on every node;
            // a session is taken over only on its own node.
            Control::Kicked { .. } | Control::RoomClosed { .. } | Control::TakeOver(_) => {
                Err(Undelivered::Gone)
            }
        }
    }

    fn take_over(&self, to: SessionId, request: Control) {
        if to.node == self.node {
            self.local.take_over(to, request);
        }
    }

    fn room_closed(&self, to: SessionId, room: Arc<Room>, by: String) {
        if to.node == self.node {
            self.local.room_closed(to, room, by);
        }
    }
}

/// Hands what other nodes send this node's sessions to them.
pub(super) async fn start_mail(cluster: Arc<Cluster>, hub: Arc<Hub>) -> anyhow::Result<()> {
    let mut inbox = cluster
        .client
        .subscribe(node_subject(cluster.node))
        .await
        .map_err(|err| anyhow::anyhow!("cannot receive from other nodes: {err}"))?;
    tokio::spawn(async move {
        while let Some(message) = inbox.next().await {
            let Ok(mail) = serde_json::from_slice::<Mail>(&message.payload) else {
                continue;
            };
            let local = &cluster.broker.local;
            match mail {
                Mail::Private {
                    to,
                    from,
                    text,
                    at,
                    notice,
                } => {
                    let to = SessionId::new(cluster.node, to);
                    let private = Event::Private {
                        from,
                        text,
                        at,
                        notice,
                    };
                    local.private(to, private);
                }
                Mail::Invited {
                    to,
                    room,
                    by,
                    epoch,
                } => {
                    let Some(room) = hub.room(&room) else {
                        continue;
                    };
                    let to = SessionId::new(cluster.node, to);
                    let _ = local.send(to, Control::Invited { room, by, epoch });
                }
                Mail::Killed { to, by, reason } => {
                    let to = SessionId::new(cluster.node, to);
                    if local.send(to, Control::Killed { by, reason }).is_err() {
                        tracing::debug!("cluster: a killed session had gone or was busy");
                    }
                }
            }
        }
    });
    Ok(())
}
