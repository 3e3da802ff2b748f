//! The chat as the rest of the server holds it: the services it uses, its
//! seams (broker and registry), and the room directory.
//!
//! `Hub` is shared as an `Arc`. The services ([`Services`]: config, store,
//! passwords, metrics) are passed in and held here once; names and sessions
//! are the [`Registry`]'s and reaching another session is the broker's, both
//! behind traits (see `seams`) so a cluster can plug in. The room directory
//! is a map behind a short std `Mutex`. Lock order: a thread holds at most
//! one of the directory's, the registry's and the broker's locks, and never
//! takes a room's lock while holding any of them; room traffic never
//! touches them (a session keeps an `Arc` of its room), so there is no
//! global lock on the message path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{LeaveReason, MemberInfo, Membership, RoomSummary, UserInfo, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Nick, Refusal, RoomModes, RoomName};

use crate::core::cluster::Cluster;
use crate::core::control::Mailbox;
use crate::core::fanout::Audience;
use crate::core::outbox::Outbox;
use crate::core::registry::{Registry, User};
use crate::core::resume::ResumeKey;
use crate::core::room::{now_millis, Room, RoomSetup};
use crate::core::seams::{Broker, Seams};
use crate::core::server_bans::ServerBans;
use crate::core::services::Services;
use crate::core::session_id::SessionId;
use crate::metrics::Live;
use crate::store::StoredRoom;

pub(crate) struct Hub {
    pub services: Services,
    broker: Arc<dyn Broker>,
    registry: Arc<dyn Registry>,
    /// This node's part of a cluster (`--cluster`); `None` for a node alone.
    cluster: Option<Arc<Cluster>>,
    default_room: Arc<Room>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// The server bans in force (operators'), checked at registration.
    pub(super) server_bans: ServerBans,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// The hub with every room the store remembers. Blocks on the store:
    /// call it before serving (or on a blocking thread).
    pub(crate) fn new(services: Services, seams: Seams) -> anyhow::Result<Arc<Self>> {
        let Seams {
            broker,
            registry,
            cluster,
        } = seams;
        let config = &services.config;
        let store = &services.store;
        let audience: Arc<dyn Audience> = Arc::clone(&broker) as Arc<dyn Audience>;
        let default_name = RoomName::parse(&config.default_room)
            .map_err(|err| anyhow::anyhow!("--default-room: {err}"))?;
        let recent_max = config.history_on_join;
        let mut rooms = HashMap::new();
        let mut default_room = None;
        for loaded in store.load(recent_max)? {
            let Ok(name) = RoomName::parse(&loaded.room.name) else {
                tracing::warn!(room = %loaded.room.name, "skipping a stored room with an invalid name");
                continue;
            };
            let is_default = name.key() == default_name.key();
            let setup = RoomSetup {
                is_default,
                created_at: loaded.room.created_at,
                // The default room is never locked and has no topic.
                topic: loaded.room.topic.filter(|_| !is_default),
                password_hash: loaded.room.password_hash.filter(|_| !is_default),
                // Nor does it change its modes or ban anyone: it has no hosts.
                modes: match is_default {
                    true => RoomModes::default(),
                    false => loaded.room.modes,
                },
                bans: match is_default {
                    true => Vec::new(),
                    false => loaded.room.bans,
                },
                recent: loaded.recent,
            };
            let room = Arc::new(Room::new(
                name,
                setup,
                Arc::clone(store),
                Arc::clone(&audience),
                recent_max,
            ));
            if is_default {
                default_room = Some(Arc::clone(&room));
            }
            rooms.insert(room.name().key().to_owned(), room);
        }
        let default_room = match default_room {
            Some(room) => room,
            None => {
                // Stored like any room, so its history comes back after a restart.
                let created_at = now_millis();
                let saved = store.save_room(StoredRoom {
                    name: default_name.to_string(),
                    created_at,
                    password_hash: None,
                    topic: None,
                    modes: RoomModes::default(),
                    bans: Vec::new(),
                });
                saved.blocking_recv()??;
                let setup = RoomSetup {
                    is_default: true,
                    created_at,
                    ..RoomSetup::default()
                };
                let room = Arc::new(Room::new(
                    default_name,
                    setup,
                    Arc::clone(store),
                    audience,
                    recent_max,
                ));
                rooms.insert(room.name().key().to_owned(), Arc::clone(&room));
                room
            }
        };
        tracing::info!(rooms = rooms.len(), "rooms loaded");
        let server_bans = ServerBans::new(store.load_server_bans()?, now_millis());
        Ok(Arc::new(Self {
            services,
            broker,
            registry,
            cluster,
            default_room,
            rooms: Mutex::new(rooms),
            server_bans,
        }))
    }

    /// What `/metrics` reads at scrape time.
    pub(crate) fn live(&self) -> Live {
        Live {
            users: self.registry.count(),
            parked: self.registry.parked(),
            rooms: lock(&self.rooms).len(),
            store_queue: self.services.store.queued(),
            store_dropped: self.services.store.dropped(),
        }
    }

    /// How to reach other sessions (private messages, kicks, invitations, closes).
    pub(super) fn broker(&self) -> &dyn Broker {
        &*self.broker
    }

    /// This node's part of a cluster, if it is in one.
    pub(super) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Why this node cannot do its part of its cluster now (it cannot reach
    /// the broker), for `/readyz`; `None` when it can, or on a node alone.
    pub(crate) fn cluster_problem(&self) -> Option<String> {
        self.cluster.as_ref()?.problem()
    }

    /// Every room in the directory.
    pub(super) fn rooms(&self) -> Vec<Arc<Room>> {
        lock(&self.rooms).values().cloned().collect()
    }

    /// Takes session `id` out of `room`, telling the members why if `reason`.
    pub(super) fn leave(&self, room: &Room, id: SessionId, reason: Option<LeaveReason>) {
        match &self.cluster {
            None => room.leave(id, reason),
            Some(cluster) => cluster.leave(room, id, reason),
        }
    }

    pub(super) fn new_session_id(&self) -> SessionId {
        self.registry.new_session()
    }

    pub(super) fn default_room(&self) -> &Arc<Room> {
        &self.default_room
    }

    /// Makes a session reachable through the broker and claims its name;
    /// fails if anyone else holds the name in any case. Reachable first, so
    /// whoever finds the name can reach the session.
    pub(super) async fn register(
        &self,
        user: User,
        outbox: Arc<Outbox>,
        mailbox: Arc<Mailbox>,
    ) -> Result<(), Refusal> {
        if let Some(cluster) = &self.cluster {
            Box::pin(cluster.claim(&user.nick, user.id)).await?;
        }
        let id = user.id;
        self.broker.attach(id, outbox, mailbox);
        let claimed = self.registry.claim(user);
        if claimed.is_err() {
            self.broker.detach(id);
        }
        claimed
    }

    /// Moves a session's claim from `old` to `new` in one step.
    pub(super) async fn rename(
        &self,
        id: SessionId,
        old: &Nick,
        new: &Nick,
    ) -> Result<(), Refusal> {
        if let Some(cluster) = &self.cluster {
            Box::pin(cluster.rename(id, old, new)).await?;
        }
        self.registry.rename(id, old, new)
    }

    /// Marks session `id`, named `nick`, away with `message`, or back (`None`).
    pub(super) fn set_away(&self, id: SessionId, nick: &Nick, message: Option<&str>) {
        self.registry.set_away(id, nick, message);
    }

    /// Marks session `id`, named `nick`, as a server operator.
    pub(super) fn set_operator(&self, id: SessionId, nick: &Nick) {
        self.registry.set_operator(id, nick);
    }

    /// Every user `keep` accepts, in no order.
    pub(super) fn users_where(&self, mut keep: impl FnMut(&User) -> bool) -> Vec<User> {
        self.registry.users_where(&mut keep)
    }

    /// Releases a session's name (only if that session still holds it),
    /// then makes the session unreachable.
    pub(super) fn unregister(&self, id: SessionId, nick: &Nick) {
        self.registry.release(id, nick);
        self.broker.detach(id);
    }

    /// Records a resumable session as live under its token's key.
    pub(super) fn open_session(&self, key: ResumeKey, id: SessionId) {
        self.registry.open_session(key, id);
    }

    /// A resumable session's connection ended.
    pub(super) fn park(&self, key: ResumeKey, id: SessionId) {
        self.registry.park(key, id);
    }

    /// The parked session under `key`, claimed for the caller.
    pub(super) fn take_over(&self, key: &ResumeKey) -> Option<SessionId> {
        self.registry.take_over(key)
    }

    /// A resumable session quit or ended: its token resumes nothing more.
    pub(super) fn end_session(&self, key: &ResumeKey, id: SessionId) {
        self.registry.end_session(key, id);
    }

    pub(super) fn user(&self, name: &str) -> Option<User> {
        self.registry.user(name)
    }

    /// Everyone's name, sorted ignoring case.
    pub(super) fn nicks(&self) -> Vec<String> {
        self.registry.nicks()
    }

    /// The users whose names `matches` accepts (given case-folded), sorted
    /// ignoring case, at most `limit`.
    pub(super) fn users_matching(
        &self,
        mut matches: impl FnMut(&str) -> bool,
        limit: usize,
    ) -> Vec<UserInfo> {
        self.registry.users_matching(&mut matches, limit)
    }

    /// Each listed member with what queries show of them, in one look at
    /// the registry (a member who just left shows their name alone).
    pub(super) fn member_infos(&self, members: Vec<WhoEntry>) -> Vec<MemberInfo> {
        self.registry.member_infos(members)
    }

    pub(super) fn room(&self, name: &str) -> Option<Arc<Room>> {
        lock(&self.rooms).get(&fold(name)).cloned()
    }

    /// Creates a room atomically: of two racing creators one wins, one gets `RoomExists`.
    pub(super) fn create_room(&self, name: RoomName) -> Result<Arc<Room>, Refusal> {
        let mut rooms = lock(&self.rooms);
        if let Some(existing) = rooms.get(name.key()) {
            return Err(Refusal::RoomExists {
                room: existing.name().to_string(),
            });
        }
        let config = &self.services.config;
        if rooms.len() >= config.max_rooms {
            return Err(Refusal::ServerRoomLimit {
                max: config.max_rooms,
            });
        }
        let setup = RoomSetup {
            created_at: now_millis(),
            ..RoomSetup::default()
        };
        let room = Arc::new(Room::new(
            name,
            setup,
            Arc::clone(&self.services.store),
            Arc::clone(&self.broker) as Arc<dyn Audience>,
            config.history_on_join,
        ));
        rooms.insert(room.name().key().to_owned(), Arc::clone(&room));
        Ok(room)
    }

    /// Takes a room out of the directory (`:close`, or a creation the store refused).
    pub(super) fn remove_room(&self, room: &Arc<Room>) {
        let mut rooms = lock(&self.rooms);
        if rooms
            .get(room.name().key())
            .is_some_and(|listed| Arc::ptr_eq(listed, room))
        {
            rooms.remove(room.name().key());
        }
    }

    /// The room with this name, created if it does not exist yet (for
    /// `name:room`); `true` when it was created.
    pub(super) fn room_or_create(&self, name: RoomName) -> Result<(Arc<Room>, bool), Refusal> {
        match self.create_room(name.clone()) {
            Err(Refusal::RoomExists { room }) => self
                .room(name.as_str())
                .map(|found| (found, false))
                .ok_or(Refusal::RoomExists { room }),
            other => other.map(|room| (room, true)),
        }
    }

    /// The rooms session `id` is in, sorted by name, each with whether it is
    /// a host there.
    pub(super) fn rooms_of(&self, id: SessionId, asker: SessionId) -> Vec<Membership> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut found: Vec<Membership> = rooms
            .iter()
            .filter(|room| !room.hidden_from(asker))
            .filter_map(|room| {
                let (host, voice) = room.membership(id)?;
                Some(Membership {
                    room: room.name().to_string(),
                    host,
                    voice,
                })
            })
            .collect();
        found.sort_by_key(|membership| fold(&membership.room));
        found
    }

    /// Every room with its member count, sorted by name; `joined` marks the
    /// listener's own rooms, and secret rooms (`+s`) are listed only to
    /// their members (`asker`). Topics are cut to [`LISTED_TOPIC_CHARS`].
    pub(super) fn room_summaries(
        &self,
        joined: &[Arc<Room>],
        asker: SessionId,
    ) -> Vec<RoomSummary> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut summaries: Vec<RoomSummary> = rooms
            .iter()
            .filter(|room| !room.hidden_from(asker))
            .map(|room| RoomSummary {
                name: room.name().to_string(),
                members: room.member_count(),
                joined: joined.iter().any(|j| Arc::ptr_eq(j, room)),
                locked: room.is_locked(),
                topic: room.topic().map(|topic| listed_topic(&topic)),
                default: Arc::ptr_eq(room, &self.default_room),
            })
            .collect();
        summaries.sort_by_key(|summary| fold(&summary.name));
        summaries
    }
}

/// Characters of a topic shown in a listing of rooms; the whole topic is
/// shown on entering the room. Keeps a listing's size to its room count.
const LISTED_TOPIC_CHARS: usize = 120;

fn listed_topic(topic: &str) -> String {
    match topic.char_indices().nth(LISTED_TOPIC_CHARS) {
        None => topic.to_owned(),
        Some((end, _)) => format!("{}…", &topic[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn hub() -> Arc<Hub> {
        let store: Arc<dyn crate::store::Store> =
            Arc::new(crate::store::memory::MemoryStore::new(100));
        let services = Services::new(
            Arc::new(Config::defaults()),
            Arc::clone(&store),
            Arc::default(),
        );
        Hub::new(services, Seams::in_process(store)).unwrap()
    }

    #[test]
    fn racing_creators_get_one_room_and_one_error() {
        let hub = hub();
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let hub = &hub;
                    scope.spawn(move || hub.create_room(RoomName::parse("Games").unwrap()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert_eq!(hub.room_summaries(&[], hub.new_session_id()).len(), 2);
    }
}
