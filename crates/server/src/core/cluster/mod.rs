//! Several banterd nodes as one chat, over NATS JetStream (issue 20).
//!
//! Replicated room state by a deterministic log: every change to a room
//! (create, join, leave, say, rename, away, hosts, topic, password, kick,
//! close, modes, voices, bans) is an [`Op`] published to the stream
//! `BANTER`, on the room's subject `banter.room.<hex of its key>` (a node
//! declared gone, and server bans, on `banter.nodes`). JetStream gives the one total order; every node runs one
//! consumer ([`apply`]) over the whole stream that applies each op in that
//! order with today's `Room` methods, whose audience delivers to the node's
//! own members only. So every member on every node sees one order, and a
//! room message's id is its op's stream sequence. Checks that depend on the
//! room are made again when an op is applied, from each node's replica, so
//! two nodes racing can never both win: the session that published an op is
//! answered with its outcome as applied on its own node (a map of pending op
//! serials to oneshots, registered before publishing). A `say` needs only
//! the publish acknowledgement (its sequence is the id).
//!
//! Names live in the KV bucket `banter_names` ([`names`]), private messages,
//! invitations and operators' kills for another node's session go to that
//! node's subject `banter.node.<node id>` over core NATS ([`broker`]), and
//! every node
//! publishes a heartbeat each second on `banter.heartbeat` ([`liveness`]): a
//! node silent for 3 s is declared gone by the others, which removes its
//! sessions from every room and frees its names. A node that sees itself
//! declared gone exits (status 3) for its supervisor to restart it with a
//! new incarnation; it never serves with stale state.
//!
//! Everything else (sockets, doors, outboxes, flood control, password
//! hashing, lockouts, prompts) stays on the node. See ARCHITECTURE.md
//! ("Running as a cluster").

mod apply;
mod broker;
mod liveness;
mod names;
mod op;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv, stream};
use banter_proto::event::{LeaveReason, ServerBanEntry};
use banter_proto::{Nick, Refusal, RoomMode, RoomName};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::room::{Entry, Room, Said};
use crate::core::seams::Seams;
use crate::core::session_id::{NodeId, SessionId};
use crate::store::StoredMessage;

use broker::ClusterBroker;
use names::ClusterRegistry;
use op::{Envelope, Op, Sid};

/// The stream holding every op.
const STREAM: &str = "BANTER";
/// The bucket of names.
const NAMES: &str = "banter_names";
/// Subject of ops that concern the whole cluster.
const NODES_SUBJECT: &str = "banter.nodes";
/// How long a publish (or a name claim) may take before the user is told
/// the chat is unreachable.
const PUBLISH_TIMEOUT: Duration = Duration::from_millis(2500);
/// The longest wait between two tries to reach the broker again: the client
/// library's own backoff grows to 4 s, so a node would be back up to 4 s
/// after the broker (over a second after a 3 s outage). A few nodes trying
/// four times a second is nothing to a NATS server.
const RECONNECT_DELAY_MAX: Duration = Duration::from_millis(250);

/// The wait before the `attempts`th try to reconnect: none for the first,
/// then doubling from 2 ms up to [`RECONNECT_DELAY_MAX`].
fn reconnect_delay(attempts: usize) -> Duration {
    let doubled = 1u64 << attempts.saturating_sub(1).min(16);
    match attempts {
        0 | 1 => Duration::ZERO,
        _ => Duration::from_millis(doubled).min(RECONNECT_DELAY_MAX),
    }
}

/// How long a session waits for its op to come back applied.
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a user is told when the broker cannot be reached in time.
pub(super) fn unreachable() -> Refusal {
    Refusal::NotSaved {
        detail: "the chat is unreachable; not sent".into(),
    }
}

/// The subject of a room's ops: its key in hex (any key is a valid token).
fn room_subject(key: &str) -> String {
    format!("banter.room.{}", hex(key))
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

/// What an op came to when its node applied it.
#[derive(Debug)]
enum Outcome {
    Done(Result<(), Refusal>),
    /// The entry, and where the member's deliveries wait until the session
    /// has told it so (`Room::adopt`).
    Entered(Result<(Entry, Arc<Outbox>), Refusal>),
    Epoch(Result<u64, Refusal>),
    Closed(Result<Vec<SessionId>, Refusal>),
}

/// What the publisher task sends, in the order it was asked to.
enum Outgoing {
    /// An op for the stream; its sequence (or failure) to `acked`, if anyone waits.
    Op {
        subject: String,
        envelope: Envelope,
        acked: Option<oneshot::Sender<Option<u64>>>,
    },
    /// Core NATS, no answer.
    Core { subject: String, payload: Bytes },
    /// Releases a name, if `session` still holds it.
    Release { nick: String, session: Sid },
}

/// This node's part of the cluster; see the module docs.
pub(crate) struct Cluster {
    node: NodeId,
    name: String,
    url: String,
    client: async_nats::Client,
    js: jetstream::Context,
    names: kv::Store,
    serial: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    /// Taken by [`Cluster::start`].
    publisher: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    broker: Arc<ClusterBroker>,
    registry: Arc<ClusterRegistry>,
    /// The last stream sequence applied.
    applied: watch::Sender<u64>,
    /// Counts the client's connections to the broker (each reconnect).
    connections: watch::Sender<u64>,
    /// When this node last heard its own heartbeat back from the broker.
    heard_self: Mutex<Instant>,
    /// The log's consumer is running (false from its failure until a new
    /// one is made).
    reading: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.name)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to the NATS server at `url` and makes sure the stream and
    /// the names bucket exist (created with `replicas` copies if they do
    /// not); this node is `name`, under a new random incarnation.
    pub(crate) async fn connect(
        url: &str,
        name: &str,
        replicas: usize,
        store: Arc<dyn crate::store::Store>,
    ) -> anyhow::Result<Arc<Self>> {
        let connections = watch::Sender::new(0u64);
        let counter = connections.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("banterd {name}"))
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Connected) {
                    counter.send_modify(|count| *count += 1);
                }
                std::future::ready(())
            })
            .reconnect_delay_callback(reconnect_delay)
            .connection_timeout(PUBLISH_TIMEOUT)
            .request_timeout(Some(PUBLISH_TIMEOUT))
            .connect(url)
            .await
            .with_context(|| format!("cannot reach the cluster's NATS server at {url}"))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(PUBLISH_TIMEOUT);
        js.get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["banter.room.>".into(), NODES_SUBJECT.into()],
            storage: stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .map_err(|err| {
            anyhow::anyhow!("cannot set up the stream {STREAM} (is JetStream on?): {err}")
        })?;
        // The bucket's stream made by hand, as `create_key_value` would
        // (which first asks for account details a 2.9 server words differently).
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{NAMES}"),
            subjects: vec![format!("$KV.{NAMES}.>")],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|err| anyhow::anyhow!("cannot set up the bucket {NAMES}: {err}"))?;
        let names = js
            .get_key_value(NAMES)
            .await
            .map_err(|err| anyhow::anyhow!("cannot open the bucket {NAMES}: {err}"))?;
        let node = NodeId(incarnation());
        let (outgoing, publisher) = mpsc::unbounded_channel();
        Ok(Arc::new(Self {
            node,
            name: name.to_owned(),
            url: url.to_owned(),
            client,
            js,
            names,
            serial: AtomicU64::new(1),
            pending: Mutex::default(),
            broker: Arc::new(ClusterBroker::new(node, store, outgoing.clone())),
            registry: Arc::new(ClusterRegistry::new(node, outgoing.clone())),
            outgoing,
            publisher: Mutex::new(Some(publisher)),
            applied: watch::Sender::new(0),
            connections,
            heard_self: Mutex::new(Instant::now()),
            reading: AtomicBool::new(false),
        }))
    }

    /// The seams of a hub on this node.
    pub(crate) fn seams(self: &Arc<Self>) -> Seams {
        Seams {
            broker: Arc::clone(&self.broker) as _,
            registry: Arc::clone(&self.registry) as _,
            cluster: Some(Arc::clone(self)),
        }
    }

    /// Starts this node's tasks (publisher, the log's consumer, its mail,
    /// the names' watch, heartbeats) and returns once the log is applied up
    /// to where it was when this was called, so the node serves nobody from
    /// a stale replica.
    pub(crate) async fn start(self: &Arc<Self>, hub: &Arc<Hub>) -> anyhow::Result<()> {
        let publisher = lock(&self.publisher)
            .take()
            .context("the cluster is started once")?;
        tokio::spawn(Arc::clone(self).publish_all(publisher));
        let mut stream = self
            .js
            .get_stream(STREAM)
            .await
            .map_err(|err| anyhow::anyhow!("stream {STREAM}: {err}"))?;
        let last = stream
            .info()
            .await
            .map_err(|err| anyhow::anyhow!("stream {STREAM}: {err}"))?
            .state
            .last_sequence;
        apply::start(Arc::clone(self), Arc::clone(hub), &stream).await?;
        broker::start_mail(Arc::clone(self), Arc::clone(hub)).await?;
        names::start_watch(Arc::clone(self)).await?;
        liveness::start(Arc::clone(self), Arc::clone(hub)).await?;
        let mut applied = self.applied.subscribe();
        applied
            .wait_for(|seq| *seq >= last)
            .await
            .context("the cluster's log stopped while catching up")?;
        tracing::info!(
            "cluster: node {} joined via {} (incarnation {:08x}, log at {last})",
            self.name,
            self.url,
            self.node.0
        );
        Ok(())
    }

    /// Why this node cannot do its part now, if so: it is not connected to
    /// the broker, has not heard its own heartbeat come back for
    /// [`liveness::SILENCE`] (a link that is silently gone, or a stalled
    /// broker), or is not reading the log (JetStream not answering yet).
    pub(super) fn problem(&self) -> Option<String> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Some(format!("cannot reach the cluster's broker at {}", self.url));
        }
        let silent = lock(&self.heard_self).elapsed();
        if silent > liveness::SILENCE {
            return Some(format!(
                "has not heard from the cluster's broker for {} s",
                silent.as_secs()
            ));
        }
        if !self.reading.load(Ordering::Relaxed) {
            return Some("not reading the cluster's log yet".into());
        }
        None
    }

    /// Sends what the sessions asked for, in the order they asked.
    async fn publish_all(self: Arc<Self>, mut jobs: mpsc::UnboundedReceiver<Outgoing>) {
        while let Some(job) = jobs.recv().await {
            match job {
                Outgoing::Op {
                    subject,
                    envelope,
                    acked,
                } => self.publish_op(subject, envelope, acked).await,
                Outgoing::Core { subject, payload } => {
                    if let Err(err) = self.client.publish(subject, payload).await {
                        tracing::warn!(%err, "cluster: a message for another node was lost");
                    }
                }
                Outgoing::Release { nick, session } => {
                    tokio::spawn(names::release(self.names.clone(), nick, session));
                }
            }
        }
    }

    async fn publish_op(
        &self,
        subject: String,
        envelope: Envelope,
        acked: Option<oneshot::Sender<Option<u64>>>,
    ) {
        let payload = match serde_json::to_vec(&envelope) {
            Ok(payload) => Bytes::from(payload),
            Err(err) => {
                tracing::error!(%err, "cluster: an op could not be written");
                return;
            }
        };
        let mut headers = async_nats::HeaderMap::new();
        let id = format!("{:08x}-{}", envelope.node, envelope.serial);
        headers.insert("Nats-Msg-Id", id.as_str());
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            self.js.publish_with_headers(subject, headers, payload),
        )
        .await;
        let ack = match sent {
            Ok(Ok(ack)) => ack,
            _ => {
                tracing::warn!(op = %id, "cluster: an op could not be published");
                if let Some(acked) = acked {
                    let _ = acked.send(None);
                }
                return;
            }
        };
        tokio::spawn(async move {
            let sequence = match tokio::time::timeout(PUBLISH_TIMEOUT, ack).await {
                Ok(Ok(ack)) => Some(ack.sequence),
                _ => {
                    tracing::warn!(op = %id, "cluster: an op was not acknowledged");
                    None
                }
            };
            if let Some(acked) = acked {
                let _ = acked.send(sequence);
            }
        });
    }

    /// `op` as this node's next entry; `waited` if a session waits for it
    /// (at most [`PUBLISH_TIMEOUT`] for the stream to have it).
    fn envelope(&self, op: Op, waited: bool) -> Envelope {
        let timeout = PUBLISH_TIMEOUT.as_millis() as i64;
        Envelope {
            node: self.node.0,
            serial: self.serial.fetch_add(1, Ordering::Relaxed),
            deadline: waited.then(|| crate::core::room::now_millis() + timeout),
            op,
        }
    }

    /// Publishes `op` and returns its sequence once the stream has it.
    async fn append(&self, subject: String, op: Op) -> Result<u64, Refusal> {
        let (acked, ack) = oneshot::channel();
        // Given up on before the envelope's deadline, so an op acknowledged in
        // time is one the log keeps (see `Envelope::deadline`).
        let until = tokio::time::Instant::now() + PUBLISH_TIMEOUT;
        let envelope = self.envelope(op, true);
        self.outgoing
            .send(Outgoing::Op {
                subject,
                envelope,
                acked: Some(acked),
            })
            .map_err(|_| unreachable())?;
        let sequence = tokio::time::timeout_at(until, ack).await;
        sequence
            .ok()
            .and_then(Result::ok)
            .flatten()
            .ok_or_else(unreachable)
    }

    /// Publishes `op` without waiting: after every op this node published
    /// before it, before every op it publishes after.
    fn tell(&self, subject: String, op: Op) {
        let envelope = self.envelope(op, false);
        let _ = self.outgoing.send(Outgoing::Op {
            subject,
            envelope,
            acked: None,
        });
    }

    /// Publishes `op` and waits for what it came to when applied here.
    async fn decide(&self, subject: String, op: Op) -> Result<Outcome, Refusal> {
        let until = tokio::time::Instant::now() + PUBLISH_TIMEOUT;
        let envelope = self.envelope(op, true);
        let serial = envelope.serial;
        let (decided, outcome) = oneshot::channel();
        lock(&self.pending).insert(serial, decided);
        let (acked, ack) = oneshot::channel();
        let sent = self.outgoing.send(Outgoing::Op {
            subject,
            envelope,
            acked: Some(acked),
        });
        let acked = tokio::time::timeout_at(until, ack).await;
        let published = sent.is_ok() && acked.ok().and_then(Result::ok).flatten().is_some();
        let outcome = if published {
            tokio::time::timeout(APPLY_TIMEOUT, outcome)
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        lock(&self.pending).remove(&serial);
        outcome.ok_or_else(unreachable)
    }

    /// Hands an applied op's outcome to the session waiting for it.
    fn decided(&self, serial: u64, outcome: Outcome) {
        if let Some(waiting) = lock(&self.pending).remove(&serial) {
            let _ = waiting.send(outcome);
        }
    }

    // What sessions ask of the cluster, one method per kind of op.

    /// Creates a room for everyone; `RoomExists` if another node was first.
    pub(super) async fn create(&self, hub: &Hub, name: RoomName) -> Result<Arc<Room>, Refusal> {
        let subject = room_subject(name.key());
        let op = Op::Create {
            room: name.to_string(),
            at: crate::core::room::now_millis(),
        };
        match self.decide(subject, op).await? {
            Outcome::Done(Ok(())) => hub.room(name.as_str()).ok_or(Refusal::RoomGone {
                room: name.to_string(),
            }),
            Outcome::Done(Err(refusal)) => Err(refusal),
            _ => Err(unreachable()),
        }
    }

    /// Seats session `id` in `room` on every node; `invited`: it holds an
    /// invitation to the room.
    pub(super) async fn join(
        &self,
        room: &Room,
        id: SessionId,
        nick: &Nick,
        list: bool,
        invited: bool,
    ) -> Result<(Entry, Arc<Outbox>), Refusal> {
        let op = Op::Join {
            room: room.name().to_string(),
            session: id.into(),
            nick: nick.to_string(),
            list,
            invited,
        };
        match self.decide(room_subject(room.name().key()), op).await {
            Ok(Outcome::Entered(entered)) => entered,
            _ => {
                // If the join is applied after all, it is undone right after.
                let op = Op::Leave {
                    room: room.name().to_string(),
                    session: id.into(),
                    reason: None,
                };
                self.tell(room_subject(room.name().key()), op);
                Err(unreachable())
            }
        }
    }

    /// Takes session `id` out of `room` on every node; this node stops
    /// delivering to it at once.
    pub(super) fn leave(&self, room: &Room, id: SessionId, reason: Option<LeaveReason>) {
        room.mute(id);
        let op = Op::Leave {
            room: room.name().to_string(),
            session: id.into(),
            reason: reason.map(Into::into),
        };
        self.tell(room_subject(room.name().key()), op);
    }

    /// Says a message in `room`: its id is the op's stream sequence. Whether
    /// the sender may speak (bans, `+m`, `+n`) is asked here, from this
    /// node's replica; once acknowledged, the message is delivered as applied.
    pub(super) async fn say(
        &self,
        room: &Room,
        message: StoredMessage,
        except: Option<SessionId>,
        sender: SessionId,
    ) -> Result<Said, Refusal> {
        let labelled = message.kind == crate::store::MessageKind::ExtraRoom;
        room.check_speak(sender, &message.sender, labelled)?;
        let at = message.at;
        let op = Op::Say {
            room: room.name().to_string(),
            session: sender.into(),
            skip_sender: except.is_some(),
            kind: message.kind.into(),
            sender: message.sender.to_string(),
            text: message.text.to_string(),
            at,
            from_room: message.from_room,
        };
        let id = self.append(room_subject(room.name().key()), op).await?;
        Ok(Said {
            id: id as i64,
            at,
            offered: room.member_count(),
        })
    }

    /// Tells the rooms `rooms` that session `id` is now `nick`.
    pub(super) fn renamed(&self, id: SessionId, nick: &Nick, rooms: Vec<String>) {
        let op = Op::Rename {
            session: id.into(),
            nick: nick.to_string(),
            rooms,
        };
        self.tell(NODES_SUBJECT.into(), op);
    }

    /// Tells the rooms `rooms` that session `id` is away, or back.
    pub(super) fn away(
        &self,
        id: SessionId,
        nick: &Nick,
        message: Option<&str>,
        rooms: Vec<String>,
    ) {
        let op = Op::Away {
            session: id.into(),
            nick: nick.to_string(),
            message: message.map(str::to_owned),
            rooms,
        };
        self.tell(NODES_SUBJECT.into(), op);
    }

    /// A host's change to `room` (hosts, topic, kick): done as applied.
    pub(super) async fn host_change(&self, room: &Room, op: HostChange) -> Result<(), Refusal> {
        let room_name = room.name().to_string();
        let op = match op {
            HostChange::Add { session, by, name } => Op::HostAdd {
                room: room_name,
                session: session.into(),
                by,
                name,
            },
            HostChange::Remove { session, by, name } => Op::HostRemove {
                room: room_name,
                session: session.into(),
                by,
                name,
            },
            HostChange::Topic { session, by, topic } => Op::Topic {
                room: room_name,
                session: session.into(),
                by,
                topic,
            },
            HostChange::Kick {
                session,
                by,
                name,
                reason,
            } => Op::Kick {
                room: room_name,
                session: session.into(),
                by,
                name,
                reason,
            },
            HostChange::Modes {
                session,
                by,
                changes,
            } => Op::Modes {
                room: room_name,
                session: session.into(),
                by,
                changes: changes
                    .into_iter()
                    .map(|(mode, on)| (mode.letter(), on))
                    .collect(),
            },
            HostChange::Voice {
                session,
                by,
                name,
                on,
            } => Op::Voice {
                room: room_name,
                session: session.into(),
                by,
                name,
                on,
            },
            HostChange::Ban {
                session,
                by,
                mask,
                on,
            } => Op::Ban {
                room: room_name,
                session: session.into(),
                by,
                mask,
                on,
                at: crate::core::room::now_millis(),
            },
        };
        match self.decide(room_subject(room.name().key()), op).await? {
            Outcome::Done(done) => done,
            _ => Err(unreachable()),
        }
    }

    /// Sets or removes `room`'s password if it is still the one of
    /// `if_epoch`; the new epoch.
    pub(super) async fn set_password(
        &self,
        room: &Room,
        session: SessionId,
        by: &Nick,
        hash: Option<String>,
        if_epoch: u64,
    ) -> Result<u64, Refusal> {
        let op = Op::Password {
            room: room.name().to_string(),
            session: session.into(),
            by: by.to_string(),
            hash,
            if_epoch,
        };
        match self.decide(room_subject(room.name().key()), op).await? {
            Outcome::Epoch(epoch) => epoch,
            _ => Err(unreachable()),
        }
    }

    /// Closes `room` on every node; its members as it closed.
    pub(super) async fn close(
        &self,
        room: &Room,
        session: SessionId,
        by: &Nick,
    ) -> Result<Vec<SessionId>, Refusal> {
        let op = Op::Close {
            room: room.name().to_string(),
            session: session.into(),
            by: by.to_string(),
        };
        match self.decide(room_subject(room.name().key()), op).await? {
            Outcome::Closed(closed) => closed,
            _ => Err(unreachable()),
        }
    }

    /// Tells every other node of a server ban this node is setting: each
    /// keeps it and disconnects its own users it matches (a node that starts
    /// later replays it). Once the stream has it; refused (and never applied)
    /// if it does not within [`PUBLISH_TIMEOUT`], so the caller sets it here
    /// only after this.
    pub(super) async fn server_ban(&self, ban: &ServerBanEntry) -> Result<(), Refusal> {
        let op = Op::ServerBan {
            mask: ban.mask.clone(),
            reason: ban.reason.clone(),
            by: ban.by.clone(),
            at: ban.at,
            until: ban.until,
        };
        self.append(NODES_SUBJECT.into(), op).await.map(drop)
    }

    /// Tells every other node that the server ban on `mask` is being lifted
    /// here; as [`Cluster::server_ban`].
    pub(super) async fn server_unban(&self, mask: &str) -> Result<(), Refusal> {
        let op = Op::ServerUnban {
            mask: mask.to_owned(),
        };
        self.append(NODES_SUBJECT.into(), op).await.map(drop)
    }

    /// Claims `nick` for session `id` across the cluster.
    pub(super) async fn claim(&self, nick: &Nick, id: SessionId) -> Result<(), Refusal> {
        names::claim(&self.names, nick, id).await
    }

    /// Moves session `id`'s name from `old` to `new` across the cluster.
    pub(super) async fn rename(
        &self,
        id: SessionId,
        old: &Nick,
        new: &Nick,
    ) -> Result<(), Refusal> {
        names::rename(&self.names, id, old, new).await?;
        if old.key() != new.key() {
            let _ = self.outgoing.send(Outgoing::Release {
                nick: old.to_string(),
                session: id.into(),
            });
        }
        Ok(())
    }
}

/// A host's change to a room, as a session asks for it.
pub(super) enum HostChange {
    Add {
        session: SessionId,
        by: String,
        name: String,
    },
    Remove {
        session: SessionId,
        by: String,
        name: String,
    },
    Topic {
        session: SessionId,
        by: String,
        topic: String,
    },
    Kick {
        session: SessionId,
        by: String,
        name: String,
        reason: Option<String>,
    },
    Modes {
        session: SessionId,
        by: String,
        changes: Vec<(RoomMode, bool)>,
    },
    Voice {
        session: SessionId,
        by: String,
        name: String,
        on: bool,
    },
    /// `mask` as parsed and shown (`BanMask`'s display).
    Ban {
        session: SessionId,
        by: String,
        mask: String,
        on: bool,
    },
}

/// A random, non-zero incarnation: a node's id for this run only.
fn incarnation() -> u32 {
    loop {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        let id = hasher.finish() as u32;
        if id != 0 {
            return id;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_tries_at_once_then_backs_off_to_a_quarter_second() {
        let delays: Vec<u64> = (1..=12)
            .map(|attempts| reconnect_delay(attempts).as_millis() as u64)
            .collect();
        assert_eq!(delays, [0, 2, 4, 8, 16, 32, 64, 128, 250, 250, 250, 250]);
        assert_eq!(reconnect_delay(usize::MAX), RECONNECT_DELAY_MAX);
    }
}
