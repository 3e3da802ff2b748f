//! The log's consumer: every op, in stream order, applied to this node's
//! replica of the rooms with the same `Room` methods a node alone uses.
//!
//! One task per node, over an ordered consumer of the whole stream from its
//! first message: a node starting up replays the log (rooms, seats, hosts,
//! topics, passwords; messages it already stored are not stored twice)
//! before it serves. Rooms deliver to this node's members only, so each
//! node feeds its own members in log order. An op this node published is
//! answered to the session waiting for it with what it came to here.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::time::Duration;

use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::stream::Stream;
use banter_proto::event::{LeaveReason, ServerBanEntry};
use banter_proto::modes::ModeError;
use banter_proto::{BanMask, Nick, Refusal, RoomMode, RoomName};
use futures::StreamExt;

use super::op::{Envelope, Op, Sid};
use super::{Cluster, Outcome};
use crate::core::control::Control;
use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::room::{now_millis, Room};
use crate::core::server_bans::{BanTarget, ServerBan};
use crate::core::session_id::{NodeId, SessionId};
use crate::store::{MessageKind, StoredMessage};

/// Room traffic a member's outbox may hold while its session answers its join.
const HELD_BYTES: usize = 1024 * 1024;

/// Starts the consumer task over `stream`.
pub(super) async fn start(
    cluster: Arc<Cluster>,
    hub: Arc<Hub>,
    stream: &Stream,
) -> anyhow::Result<()> {
    let mut messages = consume(stream, 1)
        .await
        .map_err(|err| anyhow::anyhow!("cannot read the cluster's log: {err}"))?;
    cluster.reading.store(true, Ordering::Relaxed);
    let stream = stream.clone();
    let mut loaded = Loaded(
        hub.rooms()
            .iter()
            .map(|room| room.name().key().to_owned())
            .collect(),
    );
    tokio::spawn(async move {
        loop {
            apply_all(&cluster, &hub, &mut messages, &mut loaded).await;
            cluster.reading.store(false, Ordering::Relaxed);
            // The consumer failed (the broker restarted, say): a new one
            // goes on after the last op applied, at once (what was said
            // meanwhile on other nodes is the gap it fills), then every
            // RECONSUME until the broker answers.
            loop {
                let next = *cluster.applied.borrow() + 1;
                match consume(&stream, next).await {
                    Ok(more) => {
                        tracing::info!(from = next, "cluster: reading the log again");
                        cluster.reading.store(true, Ordering::Relaxed);
                        messages = more;
                        break;
                    }
                    Err(err) => tracing::debug!(%err, "cluster: the log cannot be read yet"),
                }
                tokio::time::sleep(RECONSUME).await;
            }
        }
    });
    Ok(())
}

/// How long to wait before reading the log again after its consumer failed.
const RECONSUME: Duration = Duration::from_millis(250);

/// An ordered consumer of the whole stream from `sequence` on.
async fn consume(stream: &Stream, sequence: u64) -> Result<Ordered, async_nats::Error> {
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: sequence,
            },
            ..Default::default()
        })
        .await?;
    Ok(consumer.messages().await?)
}

/// The keys of the rooms this node loaded from its store whose `Create`
/// it has not applied yet. When it does (replaying the log as it starts),
/// the room's modes and bans go back to a new room's, so the ops that follow
/// set them as on every other node: a replica is the log's alone (a ban
/// loaded from the store would otherwise find, when replayed, nobody to
/// remove). A room the log never created (one this node had before it
/// joined the cluster) keeps what its store says.
struct Loaded(HashSet<String>);

/// Applies what `messages` brings until it fails.
async fn apply_all(cluster: &Cluster, hub: &Hub, messages: &mut Ordered, loaded: &mut Loaded) {
    // A broker that restarted has forgotten the consumer, which would take
    // its 30 s request expiry to notice: each reconnect starts a new one.
    let mut connections = cluster.connections.subscribe();
    connections.mark_unchanged();
    loop {
        let message = tokio::select! {
            message = messages.next() => message,
            _ = connections.changed() => return,
        };
        let Some(message) = message else {
            return;
        };
        let message = match message {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(%err, "cluster: reading the log");
                return;
            }
        };
        let Ok(info) = message.info() else {
            continue;
        };
        let sequence = info.stream_sequence;
        let stored = (info.published.unix_timestamp_nanos() / 1_000_000) as i64;
        match serde_json::from_slice::<Envelope>(&message.payload) {
            Ok(envelope) if envelope.deadline.is_some_and(|deadline| stored > deadline) => {
                tracing::debug!(
                    sequence,
                    "cluster: skipping an op stored after its session gave up"
                );
            }
            Ok(envelope) => {
                let own = envelope.node == cluster.node.0;
                let outcome = apply(cluster, hub, sequence, envelope.op, own, loaded).await;
                if envelope.node == cluster.node.0 {
                    if let Some(outcome) = outcome {
                        cluster.decided(envelope.serial, outcome);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(sequence, %err, "cluster: skipping an op this node cannot read")
            }
        }
        cluster.applied.send_replace(sequence);
    }
}

fn no_room(room: &str) -> Refusal {
    Refusal::RoomGone {
        room: room.to_owned(),
    }
}

/// Applies one op; what it came to, for the session that asked.
async fn apply(
    cluster: &Cluster,
    hub: &Hub,
    sequence: u64,
    op: Op,
    own: bool,
    loaded: &mut Loaded,
) -> Option<Outcome> {
    let room_of = |name: &str| hub.room(name).ok_or_else(|| no_room(name));
    Some(match op {
        Op::Create { room, at: _ } => {
            let Ok(name) = RoomName::parse(&room) else {
                return Some(Outcome::Done(Err(no_room(&room))));
            };
            if loaded.0.remove(name.key()) {
                if let Some(room) = hub.room(name.as_str()) {
                    room.forget_rules();
                }
            }
            let created = match hub.create_room(name) {
                Ok(room) => match room.persist().await {
                    Ok(()) => Ok(()),
                    Err(refusal) => {
                        // Kept: the other nodes have it, and so must this one.
                        tracing::warn!(room = %room.name(), %refusal, "cluster: a new room was not saved here");
                        Ok(())
                    }
                },
                Err(refusal) => Err(refusal),
            };
            Outcome::Done(created)
        }
        Op::Join {
            room,
            session,
            nick,
            list,
            invited,
        } => {
            let id = SessionId::from(session);
            let entered = room_of(&room).and_then(|room| {
                let nick = Nick::parse(&nick)?;
                // What this node delivers to the member waits in `held`
                // until its session has answered the join (`Room::adopt`).
                let held = Arc::new(Outbox::new(HELD_BYTES));
                let local = id.node == cluster.node;
                if local && cluster.broker.outbox(id).is_none() {
                    // The session went while its join was on the way:
                    // it leaves again, after it is seated everywhere.
                    cluster.leave(&room, id, Some(LeaveReason::Disconnected));
                }
                let outbox = local.then(|| Arc::clone(&held));
                // Bans and invite-only, checked where the join was asked
                // (`Room::check_entry`), are checked again here: a ban or
                // `+i` applied first refuses it on every node alike. No
                // address is given, so every node decides the same: address
                // bans are not set on a cluster (`UserState::ban`).
                room.seat(id, nick, None, outbox, list, invited)
                    .map(|entry| (entry, held))
            });
            Outcome::Entered(entered)
        }
        Op::Leave {
            room,
            session,
            reason,
        } => {
            if let Some(room) = hub.room(&room) {
                room.leave(session.into(), reason.map(Into::into));
            }
            return None;
        }
        Op::Say {
            room,
            session,
            skip_sender,
            kind,
            sender,
            text,
            at,
            from_room,
        } => {
            let room = hub.room(&room)?;
            let kind = MessageKind::from(kind);
            if kind != MessageKind::ExtraRoom && !room.is_member(session.into()) {
                // Its sender left (or its node was declared gone) first.
                return None;
            }
            let message = StoredMessage {
                id: sequence as i64,
                room: room.name().shared(),
                sender: sender.into(),
                text: text.into(),
                kind,
                at,
                from_room,
                recipient: None,
            };
            hub.services.store.append_with_id(message.clone());
            room.deliver(message, skip_sender.then(|| session.into()));
            return None;
        }
        Op::Rename {
            session,
            nick,
            rooms,
        } => {
            if let Ok(nick) = Nick::parse(&nick) {
                for room in rooms.iter().filter_map(|name| hub.room(name)) {
                    room.rename(session.into(), &nick);
                }
            }
            return None;
        }
        Op::Away {
            session,
            nick,
            message,
            rooms,
        } => {
            if let Ok(nick) = Nick::parse(&nick) {
                for room in rooms.iter().filter_map(|name| hub.room(name)) {
                    room.away_changed(session.into(), &nick, message.as_deref());
                }
            }
            return None;
        }
        Op::HostAdd {
            room,
            session,
            by,
            name,
        } => Outcome::Done(room_of(&room).and_then(|room| {
            let by = Nick::parse(&by)?;
            room.add_host(session.into(), &by, &name, false)
        })),
        Op::HostRemove {
            room,
            session,
            by,
            name,
        } => Outcome::Done(room_of(&room).and_then(|room| {
            let by = Nick::parse(&by)?;
            room.remove_host(session.into(), &by, &name)
        })),
        Op::Topic {
            room,
            session,
            by,
            topic,
        } => Outcome::Done(match (room_of(&room), Nick::parse(&by)) {
            (Ok(room), Ok(by)) => room.set_topic(session.into(), &by, topic).await,
            (Err(refusal), _) => Err(refusal),
            (_, Err(err)) => Err(err.into()),
        }),
        Op::Password {
            room,
            session,
            by,
            hash,
            if_epoch,
        } => Outcome::Epoch(match (room_of(&room), Nick::parse(&by)) {
            (Ok(room), Ok(by)) => room.set_password(session.into(), &by, hash, if_epoch).await,
            (Err(refusal), _) => Err(refusal),
            (_, Err(err)) => Err(err.into()),
        }),
        Op::Kick {
            room,
            session,
            by,
            name,
            reason,
        } => Outcome::Done(
            room_of(&room).and_then(|room| kick(cluster, &room, session.into(), by, &name, reason)),
        ),
        Op::Close { room, session, by } => Outcome::Closed(match room_of(&room) {
            Ok(room) => close(cluster, hub, room, session.into(), by).await,
            Err(refusal) => Err(refusal),
        }),
        Op::Mode {
            room,
            session,
            by,
            mode,
            on,
        } => Outcome::Done(set_modes(room_of(&room), session, &by, &[(mode, on)]).await),
        Op::Modes {
            room,
            session,
            by,
            changes,
        } => Outcome::Done(set_modes(room_of(&room), session, &by, &changes).await),
        Op::Voice {
            room,
            session,
            by,
            name,
            on,
        } => Outcome::Done(room_of(&room).and_then(|room| {
            let by = Nick::parse(&by)?;
            room.set_voice(session.into(), &by, &name, on)
        })),
        Op::Ban {
            room,
            session,
            by,
            mask,
            on,
            at,
        } => Outcome::Done(match room_of(&room) {
            Ok(room) => ban(cluster, &room, session.into(), by, &mask, on, at).await,
            Err(refusal) => Err(refusal),
        }),
        Op::NodeGone { node } => {
            node_gone(cluster, hub, NodeId(node));
            return None;
        }
        // The node that published it has already done it.
        Op::ServerBan { .. } | Op::ServerUnban { .. } if own => return None,
        Op::ServerBan {
            mask,
            reason,
            by,
            at,
            until,
        } => {
            let entry = ServerBanEntry {
                mask,
                reason,
                by,
                at,
                until,
            };
            server_ban(hub, entry).await;
            return None;
        }
        Op::ServerUnban { mask } => {
            let deleted = hub.services.store.delete_server_ban(&mask).await;
            if !matches!(deleted, Ok(Ok(_))) {
                tracing::warn!(%mask, "cluster: a lifted server ban was not deleted here");
            }
            hub.server_bans.remove(&mask, now_millis());
            return None;
        }
    })
}

/// A host removes a member: the seat goes on every node, and the member's
/// own node tells its session.
/// Applies a host's mode changes, by their letters, as one change.
async fn set_modes(
    room: Result<Arc<Room>, Refusal>,
    session: Sid,
    by: &str,
    changes: &[(char, bool)],
) -> Result<(), Refusal> {
    let room = room?;
    let by = Nick::parse(by)?;
    let changes = changes
        .iter()
        .map(|&(letter, on)| match RoomMode::from_letter(letter) {
            Some(mode) => Ok((mode, on)),
            None => Err(Refusal::BadModes(ModeError::Unknown { found: letter })),
        })
        .collect::<Result<Vec<_>, _>>()?;
    room.set_modes(session.into(), &by, &changes).await
}

fn kick(
    cluster: &Cluster,
    room: &Arc<Room>,
    actor: SessionId,
    by: String,
    name: &str,
    reason: Option<String>,
) -> Result<(), Refusal> {
    let target = room.kick_target(actor, name)?;
    remove(cluster, room, target, by, reason);
    Ok(())
}

/// A host bans `mask` (`on`) or lifts its ban: the members a new ban
/// matches (other than hosts) leave on every node, as if kicked, and their
/// own nodes tell their sessions.
async fn ban(
    cluster: &Cluster,
    room: &Arc<Room>,
    actor: SessionId,
    by: String,
    mask: &str,
    on: bool,
    at: i64,
) -> Result<(), Refusal> {
    let mask = BanMask::parse(mask).map_err(Refusal::BadMask)?;
    let shown = mask.to_string();
    let nick = Nick::parse(&by)?;
    let victims = room.set_ban(actor, &nick, mask, on, at).await?;
    for victim in victims {
        remove(
            cluster,
            room,
            victim,
            by.clone(),
            Some(format!("banned ({shown})")),
        );
    }
    Ok(())
}

/// Takes `target` out of `room` here, as kicked by `by`; if the member is
/// on this node, its session is told.
fn remove(
    cluster: &Cluster,
    room: &Arc<Room>,
    target: SessionId,
    by: String,
    reason: Option<String>,
) {
    room.leave(
        target,
        Some(LeaveReason::Kicked {
            by: by.clone(),
            reason: reason.clone(),
        }),
    );
    if target.node == cluster.node {
        if let Some(mailbox) = cluster.broker.mailbox(target) {
            let request = Control::Kicked {
                room: Arc::clone(room),
                by,
                reason,
            };
            if mailbox.try_send(request).is_err() {
                tracing::warn!(room = %room.name(), "cluster: a kicked member's mailbox is full");
            }
        }
    }
}

/// Keeps a server ban set on another node (in this node's store too, as
/// there) and disconnects this node's users it matches.
async fn server_ban(hub: &Hub, entry: ServerBanEntry) {
    let target = match BanTarget::parse(&entry.mask) {
        Ok(target) => target,
        Err(refusal) => {
            tracing::warn!(mask = %entry.mask, %refusal, "cluster: skipping a server ban");
            return;
        }
    };
    let ban = ServerBan { entry, target };
    let saved = hub.services.store.save_server_ban(ban.stored()).await;
    if !matches!(saved, Ok(Ok(_))) {
        tracing::warn!(mask = %ban.entry.mask, "cluster: a server ban was not saved here");
    }
    hub.server_bans.insert(ban.clone(), now_millis());
    let matched = hub.users_where(|user| ban.matches(user.nick.as_str(), user.address));
    for user in matched {
        let request = Control::Killed {
            by: ban.entry.by.clone(),
            reason: Some(format!("banned: {}", ban.entry.reason)),
        };
        if hub.broker().send(user.id, request).is_err() {
            tracing::warn!(mask = %ban.entry.mask, "cluster: a server-banned user was not disconnected");
        }
    }
}

/// Closes a room here: out of the store and the directory, and this node's
/// members (but the closer) told.
async fn close(
    cluster: &Cluster,
    hub: &Hub,
    room: Arc<Room>,
    actor: SessionId,
    by: String,
) -> Result<Vec<SessionId>, Refusal> {
    let members = room.close(actor, false).await?;
    hub.remove_room(&room);
    for &id in members
        .iter()
        .filter(|id| id.node == cluster.node && **id != actor)
    {
        if let Some(mailbox) = cluster.broker.mailbox(id) {
            mailbox.room_closed(Arc::clone(&room), by.clone());
        }
    }
    Ok(members)
}

/// A node stopped answering: its sessions leave every room, and its names
/// are freed. If it is this one, it was cut off and must not go on serving.
fn node_gone(cluster: &Cluster, hub: &Hub, node: NodeId) {
    if node == cluster.node {
        tracing::error!(
            "cluster: the other nodes declared this node gone (it was cut off); exiting so that it restarts with a new incarnation"
        );
        std::process::exit(3);
    }
    let mut left = 0;
    for room in hub.rooms() {
        for id in room.sessions_of(node) {
            room.leave(id, Some(LeaveReason::Disconnected));
            left += 1;
        }
    }
    cluster.registry.forget_node(node);
    tracing::info!(
        node = format!("{:08x}", node.0),
        seats = left,
        "cluster: a node is gone"
    );
}
