//! One chat room's rules: its members, hosts, voices, topic, password,
//! modes and bans.
//!
//! Delivery to members goes through the room's [`Audience`] (see `fanout`),
//! the seam a broker for scale-out plugs into; everything here is about who
//! may do what. The room's lock is the message path's one room-wide lock.
//! Holding it while publishing gives each room a single order that all
//! members see; publishing never waits (see `outbox`), so a slow member
//! cannot hold the lock. Host rights belong to a session (a connection),
//! never to a name: whoever later takes a former host's name gets nothing
//! from it.
//!
//! A message gets its id from the audience under the same lock (the
//! in-process one asks the [`Store`], which queues it for saving), so ids
//! and the stored order are the order members saw, and the room's in-memory
//! tail of recent messages (shown to whoever enters) never overlaps the live
//! feed. Room changes that must be durable (password,
//! topic, modes, bans, close) are serialised by an async `changes` lock held
//! while the store commits them, then applied. Everything a room is (seats,
//! modes, bans) lives in its [`RoomState`] and changes only through these
//! methods, so a cluster (issue 20) can replicate one struct.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{self, BanEntry, LeaveReason, RoomMessage, WhoEntry};
use banter_proto::names::fold;
use banter_proto::refusal::HostAction;
use banter_proto::{BanMask, Event, Nick, Refusal, RoomMode, RoomModes, RoomName};
use futures::FutureExt;

use crate::core::fanout::{Audience, LocalAudience};
use crate::core::outbox::Outbox;
use crate::core::session_id::{NodeId, SessionId};
use crate::store::{MessageKind, Millis, Store, StoreError, StoredBan, StoredMessage, StoredRoom};

/// Most bans one room keeps: a host cannot grow a room without bound, and a
/// message's ban check stays short.
pub(crate) const MAX_BANS: usize = 100;

/// A member as the room knows it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: SessionId,
    pub nick: Nick,
    pub outbox: Arc<Outbox>,
    /// Where they connect from, for address bans.
    pub address: IpAddr,
}

#[derive(Debug)]
struct Seat {
    id: SessionId,
    nick: Nick,
    /// Where they connect from; `None` for a member on another node.
    address: Option<IpAddr>,
    host: bool,
    /// May speak while the room is moderated (`+v`).
    voice: bool,
}

/// One ban: a name pattern, who set it and when.
#[derive(Debug, Clone)]
struct Ban {
    mask: BanMask,
    by: String,
    at: Millis,
}

impl Ban {
    fn stored(&self) -> StoredBan {
        StoredBan {
            mask: self.mask.to_string(),
            by: self.by.clone(),
            at: self.at,
        }
    }
}

#[derive(Debug, Default)]
struct RoomState {
    /// Deleted with `:close`: nobody may enter, nothing said is kept.
    closed: bool,
    /// A `:close` is deleting the room from the store: nothing may be said
    /// meanwhile, so no message outlives the delete.
    closing: bool,
    /// The last messages, oldest first, at most `recent_max`.
    recent: VecDeque<StoredMessage>,
    /// In order of arrival: the first is the longest present.
    seats: Vec<Seat>,
    /// The members on this node.
    local: LocalAudience,
    topic: Option<String>,
    /// Who set the topic and when, if it was set since the server started
    /// (the store keeps the topic only). Boxed, as most rooms never have
    /// one: a room is one allocation size class smaller for it.
    topic_set: Option<Box<(String, Millis)>>,
    /// Argon2id PHC string of the room password.
    password_hash: Option<Box<str>>,
    /// Bumped by every password change, so earlier grants and invites lapse.
    password_epoch: u64,
    /// `+i`, `+m`, `+n`, `+s`, `+t`; see [`RoomModes`].
    modes: RoomModes,
    /// Oldest first, at most [`MAX_BANS`], no two with one key.
    bans: Vec<Ban>,
}

impl RoomState {
    fn banned(&self, nick: &str, address: Option<IpAddr>) -> bool {
        self.bans.iter().any(|ban| ban.mask.matches(nick, address))
    }
}

/// What a new member learns on entering.
#[derive(Debug)]
pub struct Entry {
    /// Everyone in it, the new member included, if asked for.
    pub(super) members: Vec<WhoEntry>,
    /// How many are in it, the new member included.
    pub(super) count: usize,
    /// The new member became its host (first into it while empty).
    pub(super) host: bool,
    pub(super) locked: bool,
    /// The room is secret (`+s`).
    pub(super) secret: bool,
    pub(super) topic: Option<String>,
    /// The room's recent messages, oldest first.
    pub(super) recent: Vec<StoredMessage>,
}

/// A message as said: its id and time.
#[derive(Debug, Clone, Copy)]
pub struct Said {
    pub(super) id: i64,
    pub(super) at: Millis,
    /// Members it was offered to.
    pub(super) offered: usize,
}

/// How a room starts: new, or as the store remembered it.
#[derive(Debug, Default)]
pub struct RoomSetup {
    /// The server's default room: no hosts, never locked.
    pub(super) is_default: bool,
    pub(super) created_at: Millis,
    pub(super) topic: Option<String>,
    pub(super) password_hash: Option<String>,
    pub(super) modes: RoomModes,
    pub(super) bans: Vec<StoredBan>,
    pub(super) recent: Vec<StoredMessage>,
}

pub struct Room {
    name: RoomName,
    is_default: bool,
    created_at: Millis,
    store: Arc<dyn Store>,
    /// Where events go and message ids come from.
    audience: Arc<dyn Audience>,
    recent_max: usize,
    state: Mutex<RoomState>,
    /// Held while a change is committed to the store, so changes apply in order.
    changes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The current time as stored: Unix milliseconds, UTC.
pub(crate) fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as Millis)
}

/// A stored message as clients see it.
pub(super) fn room_message(message: &StoredMessage) -> RoomMessage {
    RoomMessage {
        id: message.id,
        at: message.at,
        room: message.room.clone(),
        from: message.sender.clone(),
        text: message.text.clone(),
        kind: match (message.kind, &message.from_room) {
            (MessageKind::Emote, _) => event::MessageKind::Emote,
            (MessageKind::Notice, _) => event::MessageKind::Notice,
            (MessageKind::ExtraRoom, Some(from)) => event::MessageKind::FromRoom(from.clone()),
            _ => event::MessageKind::Chat,
        },
    }
}

fn store_refusal(err: impl std::fmt::Display) -> Refusal {
    Refusal::NotSaved {
        detail: format!("the change could not be saved: {err}"),
    }
}

impl Room {
    /// A room kept in `store` whose events go through `audience`; it
    /// remembers its last `recent_max` messages in memory.
    pub fn new(
        name: RoomName,
        setup: RoomSetup,
        store: Arc<dyn Store>,
        audience: Arc<dyn Audience>,
        recent_max: usize,
    ) -> Self {
        let mut recent: VecDeque<StoredMessage> = setup.recent.into();
        while recent.len() > recent_max {
            recent.pop_front();
        }
        let bans = setup
            .bans
            .into_iter()
            .filter_map(|ban| match BanMask::parse(&ban.mask) {
                Ok(mask) => Some(Ban {
                    mask,
                    by: ban.by,
                    at: ban.at,
                }),
                Err(err) => {
                    tracing::warn!(room = %name, mask = %ban.mask, %err, "skipping a stored ban");
                    None
                }
            })
            .collect();
        Self {
            name,
            is_default: setup.is_default,
            created_at: setup.created_at,
            store,
            audience,
            recent_max,
            state: Mutex::new(RoomState {
                recent,
                topic: setup.topic,
                password_hash: setup.password_hash.map(String::into_boxed_str),
                modes: setup.modes,
                bans,
                ..RoomState::default()
            }),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// The room as the store keeps it.
    pub(super) fn snapshot(&self) -> StoredRoom {
        let state = self.lock();
        StoredRoom {
            name: self.name.to_string(),
            created_at: self.created_at,
            password_hash: state.password_hash.as_deref().map(str::to_owned),
            topic: state.topic.clone(),
            modes: state.modes,
            bans: state.bans.iter().map(Ban::stored).collect(),
        }
    }

    /// Commits the room as it is now (after creating it).
    pub(super) async fn persist(&self) -> Result<(), Refusal> {
        let _change = self.changes.lock().await;
        self.commit(self.snapshot()).await
    }

    async fn commit(&self, room: StoredRoom) -> Result<(), Refusal> {
        match self.store.save_room(room).await {
            Ok(saved) => saved.map_err(store_refusal),
            Err(_) => Err(store_refusal(StoreError::Closed)),
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

    /// Gives `event` to every member but `except`, through the audience;
    /// called with the room locked (`state`), so events keep one order.
    fn publish(&self, state: &RoomState, event: Event, except: Option<SessionId>) -> usize {
        self.audience
            .publish(&self.name, &state.local, event, except)
    }

    /// Says a room message (chat, emote, extra-room) from session `speaker`:
    /// checks that they may speak here (see [`Room::may_speak`]), gives it
    /// its id (which stores it), offers it to every member but `except`, and
    /// remembers it.
    pub fn say(
        &self,
        mut message: StoredMessage,
        except: Option<SessionId>,
        speaker: SessionId,
    ) -> Result<Said, Refusal> {
        let state = self.lock();
        if state.closed || state.closing {
            return Err(Refusal::RoomGone {
                room: self.name.to_string(),
            });
        }
        let labelled = message.kind == MessageKind::ExtraRoom;
        self.may_speak(&state, speaker, &message.sender, labelled)?;
        message.id = self.audience.message_id(&self.name, &message);
        self.said(state, message, except)
    }

    /// Offers a message that already has its id (a cluster's log numbered
    /// it) to every member here but `except`, and remembers it; `None` if the
    /// room is closed or already has it (a replay of the log).
    pub(super) fn deliver(
        &self,
        message: StoredMessage,
        except: Option<SessionId>,
    ) -> Option<Said> {
        let state = self.lock();
        let known = state
            .recent
            .back()
            .is_some_and(|newest| newest.id >= message.id);
        if state.closed || state.closing || known {
            return None;
        }
        self.said(state, message, except).ok()
    }

    /// Publishes a numbered message and keeps it in the recent tail.
    fn said(
        &self,
        mut state: MutexGuard<'_, RoomState>,
        message: StoredMessage,
        except: Option<SessionId>,
    ) -> Result<Said, Refusal> {
        let offered = self.publish(&state, Event::Message(room_message(&message)), except);
        let said = Said {
            id: message.id,
            at: message.at,
            offered,
        };
        if self.recent_max > 0 {
            if state.recent.len() == self.recent_max {
                state.recent.pop_front();
            }
            state.recent.push_back(message);
        }
        Ok(said)
    }

    /// Whether `speaker` (named `nick`) may say something here now (see
    /// [`Room::may_speak`]): asked by a cluster node before it publishes a
    /// message, from its replica (the message is then delivered as applied).
    pub(super) fn check_speak(
        &self,
        speaker: SessionId,
        nick: &str,
        labelled: bool,
    ) -> Result<(), Refusal> {
        let state = self.lock();
        if state.closed || state.closing {
            return Err(Refusal::RoomGone {
                room: self.name.to_string(),
            });
        }
        self.may_speak(&state, speaker, nick, labelled)
    }

    /// Whether `speaker` (named `nick`) may say something here now. Hosts
    /// and voiced members always may. A banned name may not (a member who
    /// took it after entering stays, silenced, as on IRC); in a moderated
    /// room nobody else may; from outside, only a labelled message
    /// (`labelled`: an extra-room message, which names its room) unless the
    /// room is `-n`.
    fn may_speak(
        &self,
        state: &RoomState,
        speaker: SessionId,
        nick: &str,
        labelled: bool,
    ) -> Result<(), Refusal> {
        let room = || self.name.to_string();
        let seat = state.seats.iter().find(|seat| seat.id == speaker);
        if seat.is_some_and(|seat| seat.host || seat.voice) {
            return Ok(());
        }
        if state.banned(nick, seat.and_then(|seat| seat.address)) {
            return Err(Refusal::Banned { room: room() });
        }
        if state.modes.has(RoomMode::Moderated) {
            return Err(Refusal::Moderated { room: room() });
        }
        if seat.is_none() && !labelled && state.modes.has(RoomMode::NoExternal) {
            return Err(Refusal::NotMember { room: room() });
        }
        Ok(())
    }

    /// Adds a member and tells the others. The first into an empty room
    /// (other than the default room) becomes its host. A banned name may not
    /// enter, nor anyone uninvited (`invited`) while the room is
    /// invite-only. The entry lists the members only if `list_members`: a
    /// door that shows just a count need not have a copy of every name made.
    pub fn join(
        &self,
        member: Member,
        list_members: bool,
        invited: bool,
    ) -> Result<Entry, Refusal> {
        let (id, nick, list) = (member.id, member.nick, list_members);
        let address = Some(member.address);
        self.seat(id, nick, address, Some(member.outbox), list, invited)
    }

    /// [`Room::join`] for a member on any node: `outbox` is the member's if
    /// it is on this node, `None` for a member elsewhere in a cluster (who
    /// holds a seat, but this node delivers nothing to it); `address` where
    /// they connect from, when known (address bans match it).
    pub(super) fn seat(
        &self,
        id: SessionId,
        nick: Nick,
        address: Option<IpAddr>,
        outbox: Option<Arc<Outbox>>,
        list_members: bool,
        invited: bool,
    ) -> Result<Entry, Refusal> {
        let member = (id, nick);
        let mut state = self.lock();
        if state.closed {
            return Err(Refusal::RoomGone {
                room: self.name.to_string(),
            });
        }
        self.admits(&state, member.1.as_str(), address, invited)?;
        let joined = Event::Joined {
            room: self.name.to_string(),
            nick: member.1.to_string(),
        };
        self.publish(&state, joined, None);
        let host = state.seats.is_empty() && !self.is_default;
        if let Some(outbox) = outbox {
            state.local.add(member.0, outbox);
        }
        state.seats.push(Seat {
            id: member.0,
            nick: member.1,
            address,
            host,
            voice: false,
        });
        Ok(Entry {
            members: if list_members {
                Self::who_of(&state)
            } else {
                Vec::new()
            },
            count: state.seats.len(),
            host,
            locked: state.password_hash.is_some(),
            secret: state.modes.has(RoomMode::Secret),
            topic: state.topic.clone(),
            recent: state.recent.iter().cloned().collect(),
        })
    }

    /// Whether `nick`, connected from `address`, may enter (not banned;
    /// invited, `invited`, if the room is invite-only), asked before a
    /// password is: nobody is asked for a password that would not let them
    /// in. [`Room::join`] asks again.
    pub(super) fn check_entry(
        &self,
        nick: &Nick,
        address: IpAddr,
        invited: bool,
    ) -> Result<(), Refusal> {
        self.admits(&self.lock(), nick.as_str(), Some(address), invited)
    }

    fn admits(
        &self,
        state: &RoomState,
        nick: &str,
        address: Option<IpAddr>,
        invited: bool,
    ) -> Result<(), Refusal> {
        if state.banned(nick, address) {
            return Err(Refusal::Banned {
                room: self.name.to_string(),
            });
        }
        if state.modes.has(RoomMode::InviteOnly) && !invited {
            return Err(Refusal::InviteOnly {
                room: self.name.to_string(),
            });
        }
        Ok(())
    }

    /// Removes a member and tells the others why, if there is a `reason` to
    /// tell. If the last host left, the longest-present member becomes host.
    pub(super) fn leave(&self, id: SessionId, reason: Option<LeaveReason>) {
        let mut state = self.lock();
        let Some(at) = state.seats.iter().position(|s| s.id == id) else {
            return;
        };
        let seat = state.seats.remove(at);
        state.local.remove(id);
        if let Some(reason) = reason {
            let left = Event::Left {
                room: self.name.to_string(),
                nick: seat.nick.to_string(),
                reason,
            };
            self.publish(&state, left, None);
        }
        if seat.host && !state.seats.iter().any(|s| s.host) {
            if let Some(heir) = state.seats.first_mut() {
                heir.host = true;
                let promoted = Event::HostAdded {
                    room: self.name.to_string(),
                    nick: heir.nick.to_string(),
                    by: None,
                };
                self.publish(&state, promoted, None);
            }
        }
    }

    /// Moves member `id`'s deliveries on this node from `held` (where a
    /// cluster's log queued them while the member's session was being told
    /// it entered) to `outbox`, in order, and delivers to `outbox` from now
    /// on, if it is still a member.
    pub(super) fn adopt(&self, id: SessionId, outbox: Arc<Outbox>, held: &Outbox) {
        let mut state = self.lock();
        if let Some(batch) = held.next_batch().now_or_never() {
            for delivery in batch.deliveries {
                outbox.offer(delivery);
            }
        }
        if state.seats.iter().any(|seat| seat.id == id) {
            state.local.remove(id);
            state.local.add(id, outbox);
        }
    }

    /// Stops delivering to member `id` on this node at once; its seat goes
    /// when its leave comes back from a cluster's log.
    pub(super) fn mute(&self, id: SessionId) {
        self.lock().local.remove(id);
    }

    /// The members who are sessions of `node`.
    pub(super) fn sessions_of(&self, node: NodeId) -> Vec<SessionId> {
        self.lock()
            .seats
            .iter()
            .map(|seat| seat.id)
            .filter(|id| id.node == node)
            .collect()
    }

    /// Every node with a member here.
    pub(super) fn nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.lock().seats.iter().map(|seat| seat.id.node).collect();
        nodes.dedup();
        nodes
    }

    /// Renames a member and tells the others.
    pub(super) fn rename(&self, id: SessionId, new: &Nick) {
        let mut state = self.lock();
        let Some(seat) = state.seats.iter_mut().find(|s| s.id == id) else {
            return;
        };
        let old = std::mem::replace(&mut seat.nick, new.clone());
        let changed = Event::NickChanged {
            room: self.name.to_string(),
            old: old.to_string(),
            new: new.to_string(),
        };
        self.publish(&state, changed, Some(id));
    }

    /// Tells the other members that member `id`, `nick`, is away with
    /// `message`, or back.
    pub(super) fn away_changed(&self, id: SessionId, nick: &Nick, message: Option<&str>) {
        let state = self.lock();
        if !state.seats.iter().any(|seat| seat.id == id) {
            return;
        }
        let changed = Event::AwayChanged {
            room: self.name.to_string(),
            nick: nick.to_string(),
            message: message.map(str::to_owned),
        };
        self.publish(&state, changed, Some(id));
    }

    /// Tells the members but the host `by_id` that `by` invited `nick`
    /// (IRC's `invite-notify`; other doors show nothing).
    pub(super) fn invited(&self, by_id: SessionId, by: &Nick, nick: &Nick) {
        let state = self.lock();
        let invited = Event::MemberInvited {
            room: self.name.to_string(),
            by: by.to_string(),
            nick: nick.to_string(),
        };
        self.publish(&state, invited, Some(by_id));
    }

    pub(super) fn member_count(&self) -> usize {
        self.lock().seats.len()
    }

    /// Whether `id` is a host here and whether voiced, if a member at all.
    pub(super) fn membership(&self, id: SessionId) -> Option<(bool, bool)> {
        self.lock()
            .seats
            .iter()
            .find(|s| s.id == id)
            .map(|seat| (seat.host, seat.voice))
    }

    /// The room's modes.
    pub(super) fn modes(&self) -> RoomModes {
        self.lock().modes
    }

    /// Whether the room is secret (`+s`) to `id`: secret, and `id` not in it.
    pub(super) fn hidden_from(&self, id: SessionId) -> bool {
        let state = self.lock();
        state.modes.has(RoomMode::Secret) && !state.seats.iter().any(|seat| seat.id == id)
    }

    /// When the room was made, in Unix milliseconds.
    pub fn created_at(&self) -> Millis {
        self.created_at
    }

    pub fn is_member(&self, id: SessionId) -> bool {
        self.lock().seats.iter().any(|s| s.id == id)
    }

    fn who_of(state: &RoomState) -> Vec<WhoEntry> {
        state
            .seats
            .iter()
            .map(|s| WhoEntry {
                nick: s.nick.shared(),
                host: s.host,
                voice: s.voice,
            })
            .collect()
    }

    /// Members in order of arrival, with their host marks.
    pub fn who(&self) -> Vec<WhoEntry> {
        Self::who_of(&self.lock())
    }

    /// The hosts' names, in order of arrival: without copying everyone
    /// else's (a status asked on every IRC join of a big room).
    pub fn host_nicks(&self) -> Vec<String> {
        let state = self.lock();
        let hosts = state.seats.iter().filter(|seat| seat.host);
        hosts.map(|seat| seat.nick.to_string()).collect()
    }

    pub fn topic(&self) -> Option<String> {
        self.lock().topic.clone()
    }

    /// Who set the topic and when (Unix milliseconds), if known.
    pub fn topic_set(&self) -> Option<(String, Millis)> {
        self.lock().topic_set.as_deref().cloned()
    }

    /// The password hash (if locked) and the password epoch.
    pub fn lock_state(&self) -> (Option<String>, u64) {
        let state = self.lock();
        (
            state.password_hash.as_deref().map(str::to_owned),
            state.password_epoch,
        )
    }

    pub fn is_locked(&self) -> bool {
        self.lock().password_hash.is_some()
    }

    /// Checks that `actor` is a host here, for `action`.
    fn require_host(
        &self,
        state: &RoomState,
        actor: SessionId,
        action: HostAction,
    ) -> Result<(), Refusal> {
        if self.is_default {
            return Err(Refusal::DefaultRoom {
                room: self.name.to_string(),
                action,
            });
        }
        if state.closed {
            return Err(Refusal::RoomGone {
                room: self.name.to_string(),
            });
        }
        if state.seats.iter().any(|s| s.id == actor && s.host) {
            Ok(())
        } else {
            Err(Refusal::NotHost {
                room: self.name.to_string(),
            })
        }
    }

    /// As [`Room::require_host`], but a server operator (`operator`) passes
    /// without being a host.
    fn require_host_or_operator(
        &self,
        state: &RoomState,
        actor: SessionId,
        action: HostAction,
        operator: bool,
    ) -> Result<(), Refusal> {
        match self.require_host(state, actor, action) {
            Err(Refusal::NotHost { .. }) if operator => Ok(()),
            other => other,
        }
    }

    /// Checks that `actor` may do `action` here (a host, not the default room).
    pub(super) fn check_host(&self, actor: SessionId, action: HostAction) -> Result<(), Refusal> {
        self.require_host(&self.lock(), actor, action)
    }

    fn seat_named<'a>(
        &self,
        state: &'a mut RoomState,
        name: &str,
    ) -> Result<&'a mut Seat, Refusal> {
        let key = fold(name);
        state
            .seats
            .iter_mut()
            .find(|s| s.nick.key() == key)
            .ok_or_else(|| Refusal::NoSuchMember {
                name: name.to_owned(),
                room: self.name.to_string(),
            })
    }

    /// Makes member `name` a host; `actor` must be one, or a server
    /// `operator`.
    pub(super) fn add_host(
        &self,
        actor: SessionId,
        by: &Nick,
        name: &str,
        operator: bool,
    ) -> Result<(), Refusal> {
        let mut state = self.lock();
        self.require_host_or_operator(&state, actor, HostAction::HostAdd, operator)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.host {
            return Err(Refusal::AlreadyHost {
                name: seat.nick.to_string(),
                room: self.name.to_string(),
            });
        }
        seat.host = true;
        let added = Event::HostAdded {
            room: self.name.to_string(),
            nick: seat.nick.to_string(),
            by: Some(by.to_string()),
        };
        self.publish(&state, added, None);
        Ok(())
    }

    pub(super) fn remove_host(
        &self,
        actor: SessionId,
        by: &Nick,
        name: &str,
    ) -> Result<(), Refusal> {
        let mut state = self.lock();
        self.require_host(&state, actor, HostAction::HostRemove)?;
        let room = self.name.to_string();
        let hosts = state.seats.iter().filter(|s| s.host).count();
        let seat = self.seat_named(&mut state, name)?;
        if !seat.host {
            return Err(Refusal::NotAHost {
                name: seat.nick.to_string(),
                room,
            });
        }
        if hosts == 1 {
            return Err(Refusal::LastHost { room });
        }
        seat.host = false;
        let removed = Event::HostRemoved {
            room,
            nick: seat.nick.to_string(),
            by: by.to_string(),
        };
        self.publish(&state, removed, None);
        Ok(())
    }

    /// Sets the topic once the store has it.
    pub(super) async fn set_topic(
        &self,
        actor: SessionId,
        by: &Nick,
        topic: String,
    ) -> Result<(), Refusal> {
        let _change = self.changes.lock().await;
        {
            let state = self.lock();
            if state.modes.has(RoomMode::TopicLock) || self.is_default {
                self.require_host(&state, actor, HostAction::Topic)?;
            } else if state.closed {
                return Err(Refusal::RoomGone {
                    room: self.name.to_string(),
                });
            }
        }
        let mut stored = self.snapshot();
        stored.topic = Some(topic.clone());
        self.commit(stored).await?;
        let mut state = self.lock();
        state.topic = Some(topic.clone());
        state.topic_set = Some(Box::new((by.to_string(), now_millis())));
        let changed = Event::TopicChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            topic,
        };
        self.publish(&state, changed, None);
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) the password once the store has it,
    /// if it is still the one of `if_epoch` (another host may have changed it
    /// while this one typed); returns the new epoch.
    pub(super) async fn set_password(
        &self,
        actor: SessionId,
        by: &Nick,
        hash: Option<String>,
        if_epoch: u64,
    ) -> Result<u64, Refusal> {
        let _change = self.changes.lock().await;
        self.check_host(actor, HostAction::Password)?;
        if self.lock().password_epoch != if_epoch {
            return Err(Refusal::PasswordChangedMeanwhile {
                room: self.name.to_string(),
            });
        }
        let mut stored = self.snapshot();
        stored.password_hash = hash.clone();
        self.commit(stored).await?;
        let mut state = self.lock();
        let locked = hash.is_some();
        state.password_hash = hash.map(String::into_boxed_str);
        state.password_epoch += 1;
        let changed = Event::LockChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            locked,
        };
        self.publish(&state, changed, None);
        Ok(state.password_epoch)
    }

    /// Sets (`true`) or clears each mode of `changes`, in order, once the
    /// store has them, and tells every member once, of the modes that
    /// changed; a mode already so changes nothing, and if none changed no
    /// one is told.
    pub(super) async fn set_modes(
        &self,
        actor: SessionId,
        by: &Nick,
        changes: &[(RoomMode, bool)],
    ) -> Result<(), Refusal> {
        let _change = self.changes.lock().await;
        let before = {
            let state = self.lock();
            self.require_host(&state, actor, HostAction::Mode)?;
            state.modes
        };
        let mut modes = before;
        let mut changed: Vec<(RoomMode, bool)> = Vec::with_capacity(changes.len());
        for &(mode, on) in changes {
            if modes.has(mode) == on {
                continue;
            }
            modes = modes.with(mode, on);
            // `+m-m` comes back to where it was: neither is a change.
            match changed.iter().position(|(m, _)| *m == mode) {
                Some(at) => {
                    changed.remove(at);
                }
                None => changed.push((mode, on)),
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let mut stored = self.snapshot();
        stored.modes = modes;
        self.commit(stored).await?;
        let mut state = self.lock();
        state.modes = changed
            .iter()
            .fold(state.modes, |modes, &(mode, on)| modes.with(mode, on));
        let changed = Event::ModesChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            changes: changed,
        };
        self.publish(&state, changed, None);
        Ok(())
    }

    /// Gives (`on`) or takes member `name`'s voice and tells every member;
    /// a voice already so changes nothing. A voice belongs to the seat, like
    /// host rights: it ends when the member leaves.
    pub(super) fn set_voice(
        &self,
        actor: SessionId,
        by: &Nick,
        name: &str,
        on: bool,
    ) -> Result<(), Refusal> {
        let mut state = self.lock();
        self.require_host(&state, actor, HostAction::Voice)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.voice == on {
            return Ok(());
        }
        seat.voice = on;
        let changed = Event::VoiceChanged {
            room: self.name.to_string(),
            nick: seat.nick.to_string(),
            by: by.to_string(),
            on,
        };
        self.publish(&state, changed, None);
        Ok(())
    }

    /// Bans `mask` (`on`) or lifts its ban, once the store has it, and tells
    /// every member; a new ban is dated `at`. Returns the members a new ban
    /// matches, other than hosts: the caller has them kicked (each by their
    /// own session).
    pub(super) async fn set_ban(
        &self,
        actor: SessionId,
        by: &Nick,
        mask: BanMask,
        on: bool,
        at: Millis,
    ) -> Result<Vec<SessionId>, Refusal> {
        let _change = self.changes.lock().await;
        let mut stored = {
            let state = self.lock();
            self.require_host(&state, actor, HostAction::Ban)?;
            let existing = state.bans.iter().find(|ban| ban.mask.key() == mask.key());
            match (on, existing) {
                (true, Some(ban)) => {
                    return Err(Refusal::AlreadyBanned {
                        mask: ban.mask.to_string(),
                        room: self.name.to_string(),
                    })
                }
                (true, None) if state.bans.len() >= MAX_BANS => {
                    return Err(Refusal::BanListFull {
                        room: self.name.to_string(),
                        max: MAX_BANS,
                    })
                }
                (false, None) => {
                    return Err(Refusal::NotBanned {
                        mask: mask.to_string(),
                        room: self.name.to_string(),
                    })
                }
                _ => {}
            }
            drop(state);
            self.snapshot()
        };
        let ban = Ban {
            mask,
            by: by.to_string(),
            at,
        };
        if on {
            stored.bans.push(ban.stored());
        } else {
            stored
                .bans
                .retain(|stored| fold(&stored.mask) != ban.mask.key());
        }
        self.commit(stored).await?;
        let mut state = self.lock();
        let mask = match on {
            true => ban.mask.to_string(),
            false => {
                let at = state
                    .bans
                    .iter()
                    .position(|b| b.mask.key() == ban.mask.key());
                // Lifted as it was set, in its own spelling.
                at.map_or(ban.mask.to_string(), |at| {
                    state.bans.remove(at).mask.to_string()
                })
            }
        };
        let victims = if on {
            let victims = state
                .seats
                .iter()
                .filter(|seat| !seat.host && ban.mask.matches(seat.nick.as_str(), seat.address))
                .map(|seat| seat.id)
                .collect();
            state.bans.push(ban);
            victims
        } else {
            Vec::new()
        };
        let changed = Event::BanChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            mask,
            on,
        };
        self.publish(&state, changed, None);
        Ok(victims)
    }

    /// Forgets the modes and bans loaded from the store (back to a new
    /// room's), in memory only: a cluster node replaying the log's creation
    /// of the room does, so the ops that follow set them as on every node.
    pub(super) fn forget_rules(&self) {
        let mut state = self.lock();
        state.modes = RoomModes::default();
        state.bans.clear();
    }

    /// The room's bans, oldest first, for its hosts.
    pub(super) fn bans(&self, actor: SessionId) -> Result<Vec<BanEntry>, Refusal> {
        let state = self.lock();
        self.require_host(&state, actor, HostAction::Ban)?;
        Ok(state
            .bans
            .iter()
            .map(|ban| BanEntry {
                mask: ban.mask.to_string(),
                by: ban.by.clone(),
                at: ban.at,
            })
            .collect())
    }

    /// Closes the room for good, store first: deletes it and its history from
    /// the store, then refuses new members and forgets the current ones
    /// (without notices; the caller tells them) and returns their ids. If the
    /// store cannot delete it, the room stays exactly as it was. Holds the
    /// `changes` lock, so a topic or password change that already passed its
    /// host check cannot save the room again after the delete.
    /// `actor` must be a host, or a server `operator`.
    pub(super) async fn close(
        &self,
        actor: SessionId,
        operator: bool,
    ) -> Result<Vec<SessionId>, Refusal> {
        let _change = self.changes.lock().await;
        {
            let mut state = self.lock();
            self.require_host_or_operator(&state, actor, HostAction::Close, operator)?;
            state.closing = true;
        }
        let deleted = match self.store.delete_room(self.name.as_str()).await {
            Ok(deleted) => deleted,
            Err(_) => Err(StoreError::Closed),
        };
        let mut state = self.lock();
        state.closing = false;
        if let Err(err) = deleted {
            return Err(Refusal::NotSaved {
                detail: format!("{} could not be closed: {err}; nothing changed", self.name),
            });
        }
        state.closed = true;
        state.recent.clear();
        state.local.clear();
        Ok(state.seats.drain(..).map(|seat| seat.id).collect())
    }

    /// Finds the member a host wants to kick; the kick itself is carried out
    /// by the member's own session.
    pub(super) fn kick_target(&self, actor: SessionId, name: &str) -> Result<SessionId, Refusal> {
        let mut state = self.lock();
        self.require_host(&state, actor, HostAction::Kick)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.id == actor {
            return Err(Refusal::KickSelf);
        }
        if seat.host {
            return Err(Refusal::KickHost {
                name: seat.nick.to_string(),
            });
        }
        Ok(seat.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::seams::InProcessBroker;
    use crate::core::session_id::NodeId;

    fn id(serial: u64) -> SessionId {
        SessionId::new(NodeId::SINGLE, serial)
    }

    fn member(serial: u64, name: &str) -> Member {
        Member {
            id: id(serial),
            nick: Nick::parse(name).unwrap(),
            outbox: Arc::new(Outbox::new(64 * 1024)),
            address: [127, 0, 0, 1].into(),
        }
    }

    fn store() -> Arc<dyn Store> {
        Arc::new(crate::store::memory::MemoryStore::new(100))
    }

    fn room_on(name: &str, setup: RoomSetup, store: Arc<dyn Store>) -> Room {
        let broker = Arc::new(InProcessBroker::new(Arc::clone(&store)));
        Room::new(RoomName::parse(name).unwrap(), setup, store, broker, 3)
    }

    fn room() -> Room {
        room_on("games", RoomSetup::default(), store())
    }

    fn said(text: &str) -> StoredMessage {
        StoredMessage {
            id: 0,
            room: "games".into(),
            sender: "ann".into(),
            text: text.into(),
            kind: MessageKind::Chat,
            at: 0,
            from_room: None,
            recipient: None,
        }
    }

    #[tokio::test]
    async fn entering_shows_the_last_messages_and_closing_ends_everything() {
        let games = room();
        games.join(member(1, "ann"), true, false).unwrap();
        let mut ids = Vec::new();
        for text in ["one", "two", "three", "four"] {
            ids.push(games.say(said(text), Some(id(1)), id(1)).unwrap().id);
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        let entry = games.join(member(2, "bob"), true, false).unwrap();
        let texts: Vec<_> = entry.recent.iter().map(|m| &*m.text).collect();
        assert_eq!(texts, ["two", "three", "four"]);
        assert_eq!(
            entry.recent.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[1..]
        );
        assert_eq!(
            games.close(id(2), false).await,
            Err(Refusal::NotHost {
                room: "games".into()
            })
        );
        assert_eq!(games.close(id(1), false).await, Ok(vec![id(1), id(2)]));
        assert!(matches!(
            games.say(said("late"), None, id(1)),
            Err(Refusal::RoomGone { .. })
        ));
        assert!(matches!(
            games.join(member(3, "cid"), true, false),
            Err(Refusal::RoomGone { .. })
        ));
    }

    fn hosts(room: &Room) -> Vec<String> {
        room.who()
            .into_iter()
            .filter(|w| w.host)
            .map(|w| w.nick.to_string())
            .collect()
    }

    #[test]
    fn a_joiner_s_member_list_shares_the_members_names_instead_of_copying_them() {
        let games = room();
        let ann = member(1, "ann");
        let name = ann.nick.shared();
        games.join(ann, true, false).unwrap();
        // Every IRC or JSON join of a big room lists everyone: copies of
        // thousands of names per join left the allocator fragmented.
        let entry = games.join(member(2, "bob"), true, false).unwrap();
        assert_eq!(entry.members.len(), 2);
        assert!(Arc::ptr_eq(&entry.members[0].nick, &name));
        assert!(Arc::ptr_eq(&games.who()[0].nick, &name));
    }

    #[test]
    fn the_first_into_an_empty_room_is_host_but_not_in_the_default_room() {
        let games = room();
        games.join(member(1, "ann"), true, false).unwrap();
        games.join(member(2, "bob"), true, false).unwrap();
        assert_eq!(hosts(&games), ["ann"]);
        let setup = RoomSetup {
            is_default: true,
            ..RoomSetup::default()
        };
        let lobby = room_on("lobby", setup, store());
        lobby.join(member(1, "ann"), true, false).unwrap();
        assert!(hosts(&lobby).is_empty());
        assert!(matches!(
            lobby.check_host(id(1), HostAction::Kick),
            Err(Refusal::DefaultRoom {
                action: HostAction::Kick,
                ..
            })
        ));
    }

    #[test]
    fn the_longest_present_member_succeeds_the_last_host() {
        let games = room();
        games.join(member(1, "ann"), true, false).unwrap();
        games.join(member(2, "bob"), true, false).unwrap();
        games.join(member(3, "cid"), true, false).unwrap();
        games.leave(id(1), Some(LeaveReason::Quit { message: None }));
        assert_eq!(hosts(&games), ["bob"]);
        games.leave(id(3), None);
        games.leave(id(2), None);
        games.join(member(4, "dee"), true, false).unwrap();
        assert_eq!(hosts(&games), ["dee"]);
    }

    #[test]
    fn a_room_with_members_always_keeps_a_host() {
        let games = room();
        let ann = Nick::parse("ann").unwrap();
        games.join(member(1, "ann"), true, false).unwrap();
        games.join(member(2, "bob"), true, false).unwrap();
        assert_eq!(
            games.remove_host(id(1), &ann, "ann"),
            Err(Refusal::LastHost {
                room: "games".into()
            })
        );
        assert_eq!(hosts(&games), ["ann"]);
        games.add_host(id(1), &ann, "BOB", false).unwrap();
        games.remove_host(id(1), &ann, "ann").unwrap();
        assert_eq!(hosts(&games), ["bob"]);
        assert_eq!(
            games.add_host(id(1), &ann, "ann", false),
            Err(Refusal::NotHost {
                room: "games".into()
            })
        );
    }

    /// A store whose room saves take effect only when the test lets them,
    /// as a slow disk would: to interleave a change with a `:close`.
    type SaveDone = tokio::sync::oneshot::Sender<Result<(), StoreError>>;

    struct SlowSaves {
        inner: crate::store::memory::MemoryStore,
        waiting: Mutex<Vec<(StoredRoom, SaveDone)>>,
    }

    impl SlowSaves {
        fn new() -> Self {
            Self {
                inner: crate::store::memory::MemoryStore::new(100),
                waiting: Mutex::default(),
            }
        }

        fn waiting(&self) -> usize {
            self.waiting.lock().unwrap().len()
        }

        fn finish_saves(&self) {
            for (room, done) in self.waiting.lock().unwrap().drain(..) {
                let saved = self.inner.save_room(room).try_recv();
                let _ = done.send(saved.expect("the memory store answers at once"));
            }
        }
    }

    impl Store for SlowSaves {
        fn load(&self, recent: usize) -> Result<Vec<crate::store::LoadedRoom>, StoreError> {
            self.inner.load(recent)
        }
        fn save_room(&self, room: StoredRoom) -> crate::store::Ack {
            let (done, ack) = tokio::sync::oneshot::channel();
            self.waiting.lock().unwrap().push((room, done));
            ack
        }
        fn delete_room(&self, name: &str) -> crate::store::Ack {
            self.inner.delete_room(name)
        }
        fn append(&self, message: StoredMessage) -> i64 {
            self.inner.append(message)
        }
        fn append_with_id(&self, message: StoredMessage) {
            self.inner.append_with_id(message);
        }
        fn history(
            &self,
            room: &str,
            limit: usize,
            before: Option<i64>,
        ) -> crate::store::Reply<Vec<StoredMessage>> {
            self.inner.history(room, limit, before)
        }
        fn flush(&self) -> crate::store::Ack {
            self.inner.flush()
        }
        fn problem(&self) -> Option<String> {
            None
        }
        fn probe(&self) -> crate::store::Ack {
            self.inner.probe()
        }
        fn queued(&self) -> usize {
            0
        }
        fn dropped(&self) -> u64 {
            0
        }
        fn load_server_bans(&self) -> Result<Vec<crate::store::StoredServerBan>, StoreError> {
            self.inner.load_server_bans()
        }
        fn save_server_ban(&self, ban: crate::store::StoredServerBan) -> crate::store::Ack {
            self.inner.save_server_ban(ban)
        }
        fn delete_server_ban(&self, mask: &str) -> crate::store::Ack {
            self.inner.delete_server_ban(mask)
        }
    }

    #[tokio::test]
    async fn a_topic_change_in_flight_cannot_bring_a_closed_room_back() {
        let store = Arc::new(SlowSaves::new());
        let games = Arc::new(room_on(
            "games",
            RoomSetup::default(),
            Arc::clone(&store) as Arc<dyn Store>,
        ));
        games.join(member(1, "ann"), true, false).unwrap();
        let ann = Nick::parse("ann").unwrap();
        let setting = tokio::spawn({
            let games = Arc::clone(&games);
            async move { games.set_topic(id(1), &ann, "late".into()).await }
        });
        // The topic passed its host check and is being saved...
        while store.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // ...when the host closes the room.
        let closing = tokio::spawn({
            let games = Arc::clone(&games);
            async move { games.close(id(1), false).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        store.finish_saves();
        assert_eq!(setting.await.unwrap(), Ok(()));
        assert_eq!(closing.await.unwrap(), Ok(vec![id(1)]));
        // Deleted after the topic's save, so nothing brings it back at restart.
        assert!(store.load(0).unwrap().is_empty());
    }
}
