//! The server's shared chat state: who is connected and which rooms exist.
//!
//! `Hub` is a cheap-to-clone handle (`Arc`). It holds two maps, each behind its
//! own short std `Mutex`: the name registry and the room directory. Lock order:
//! a thread holds at most one of them, and never takes a room's lock while
//! holding either; room traffic never touches them (a session keeps an `Arc`
//! of its room), so there is no global lock on the message path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{MemberInfo, Membership, Profile, RoomSummary, UserInfo, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Nick, Refusal, RoomName};

use crate::config::Config;
use crate::core::control::Mailbox;
use crate::core::outbox::Outbox;
use crate::core::password::Passwords;
use crate::core::room::{now_millis, Room, RoomSetup};
use crate::core::room_quota::RoomQuota;
use crate::core::session_id::SessionId;
use crate::metrics::{Live, Metrics};
use crate::store::{Store, StoredRoom};

/// A connected, named user as others can reach them.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) id: SessionId,
    pub(super) nick: Nick,
    pub(super) outbox: Arc<Outbox>,
    /// Requests another session carries out on this one (kick, invite).
    pub(super) control: Arc<Mailbox>,
    /// What the user said about themselves at login, if their door asks.
    pub(super) profile: Option<Arc<Profile>>,
    /// Set while the user says they are away, with what they said.
    pub(super) away: Option<Arc<str>>,
}

impl User {
    /// What queries show of this user.
    pub(super) fn info(&self) -> UserInfo {
        UserInfo {
            nick: self.nick.to_string(),
            profile: self.profile.clone(),
            away: self.away.clone(),
        }
    }
}

pub struct Hub {
    pub config: Arc<Config>,
    pub passwords: Passwords,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// How fast each address may make rooms.
    pub(super) room_quota: RoomQuota,
    default_room: Arc<Room>,
    /// By case-folded name; the key shares the name's text.
    users: Mutex<HashMap<Arc<str>, User>>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_id: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// The hub with every room `store` remembers. Blocks on the store: call it
    /// before serving (or on a blocking thread).
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Arc<Self>> {
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
                recent: loaded.recent,
            };
            let room = Arc::new(Room::new(name, setup, Arc::clone(&store), recent_max));
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
                    Arc::clone(&store),
                    recent_max,
                ));
                rooms.insert(room.name().key().to_owned(), Arc::clone(&room));
                room
            }
        };
        tracing::info!(rooms = rooms.len(), "rooms loaded");
        Ok(Arc::new(Self {
            room_quota: RoomQuota::new(config.max_new_rooms_per_minute),
            config,
            passwords: Passwords::default(),
            store,
            metrics,
            default_room,
            users: Mutex::default(),
            rooms: Mutex::new(rooms),
            next_id: AtomicU64::new(1),
        }))
    }

    /// What `/metrics` reads at scrape time.
    pub fn live(&self) -> Live {
        Live {
            users: lock(&self.users).len(),
            rooms: lock(&self.rooms).len(),
            store_queue: self.store.queued(),
            store_dropped: self.store.dropped(),
        }
    }

    pub(super) fn next_session_id(&self) -> SessionId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn default_room(&self) -> &Arc<Room> {
        &self.default_room
    }

    /// Claims a name for a session; fails if anyone else holds it in any case.
    pub(super) fn register(&self, user: User) -> Result<(), Refusal> {
        let mut users = lock(&self.users);
        if users.contains_key(user.nick.key()) {
            return Err(Refusal::NameTaken {
                name: user.nick.to_string(),
            });
        }
        users.insert(user.nick.shared_key(), user);
        Ok(())
    }

    /// Moves a session's claim from `old` to `new` in one step.
    pub(super) fn rename(&self, id: SessionId, old: &Nick, new: &Nick) -> Result<(), Refusal> {
        let mut users = lock(&self.users);
        if let Some(holder) = users.get(new.key()) {
            if holder.id != id {
                return Err(Refusal::NameTaken {
                    name: new.to_string(),
                });
            }
        }
        let mut user = users
            .remove(old.key())
            .expect("a session renames only the name it holds");
        user.nick = new.clone();
        users.insert(new.shared_key(), user);
        Ok(())
    }

    /// Marks session `id`, named `nick`, away with `message`, or back (`None`).
    pub(super) fn set_away(&self, id: SessionId, nick: &Nick, message: Option<&str>) {
        let mut users = lock(&self.users);
        if let Some(user) = users.get_mut(nick.key()).filter(|user| user.id == id) {
            user.away = message.map(Arc::from);
        }
    }

    /// Releases a session's name (only if that session still holds it).
    pub(super) fn unregister(&self, id: SessionId, nick: &Nick) {
        let mut users = lock(&self.users);
        if users.get(nick.key()).is_some_and(|user| user.id == id) {
            users.remove(nick.key());
        }
    }

    pub(super) fn user(&self, name: &str) -> Option<User> {
        lock(&self.users).get(fold(name).as_str()).cloned()
    }

    /// Everyone's name, sorted ignoring case.
    pub(super) fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = lock(&self.users)
            .values()
            .map(|user| user.nick.to_string())
            .collect();
        nicks.sort_by_key(|nick| fold(nick));
        nicks
    }

    /// The users whose names `matches` accepts (given case-folded), sorted
    /// ignoring case, at most `limit`.
    pub(super) fn users_matching(
        &self,
        mut matches: impl FnMut(&str) -> bool,
        limit: usize,
    ) -> Vec<UserInfo> {
        let mut found: Vec<UserInfo> = lock(&self.users)
            .iter()
            .filter(|(key, _)| matches(key))
            .map(|(_, user)| user.info())
            .collect();
        found.sort_by_key(|user| fold(&user.nick));
        found.truncate(limit);
        found
    }

    /// Each listed member with what queries show of them, in one look at
    /// the registry (a member who just left shows their name alone).
    pub(super) fn member_infos(&self, members: Vec<WhoEntry>) -> Vec<MemberInfo> {
        let users = lock(&self.users);
        members
            .into_iter()
            .map(|member| {
                let user = match users.get(fold(&member.nick).as_str()) {
                    Some(user) => user.info(),
                    None => UserInfo {
                        nick: member.nick,
                        profile: None,
                        away: None,
                    },
                };
                MemberInfo {
                    user,
                    host: member.host,
                }
            })
            .collect()
    }

    /// The user a session is, while it holds a name.
    pub(super) fn user_by_id(&self, id: SessionId) -> Option<User> {
        lock(&self.users)
            .values()
            .find(|user| user.id == id)
            .cloned()
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
        if rooms.len() >= self.config.max_rooms {
            return Err(Refusal::ServerRoomLimit {
                max: self.config.max_rooms,
            });
        }
        let setup = RoomSetup {
            created_at: now_millis(),
            ..RoomSetup::default()
        };
        let room = Arc::new(Room::new(
            name,
            setup,
            Arc::clone(&self.store),
            self.config.history_on_join,
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
    pub(super) fn rooms_of(&self, id: SessionId) -> Vec<Membership> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut found: Vec<Membership> = rooms
            .iter()
            .filter_map(|room| {
                Some(Membership {
                    room: room.name().to_string(),
                    host: room.membership(id)?,
                })
            })
            .collect();
        found.sort_by_key(|membership| fold(&membership.room));
        found
    }

    /// Every room with its member count, sorted by name; `joined` marks the
    /// listener's own rooms. Topics are cut to [`LISTED_TOPIC_CHARS`].
    pub(super) fn room_summaries(&self, joined: &[Arc<Room>]) -> Vec<RoomSummary> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut summaries: Vec<RoomSummary> = rooms
            .iter()
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

    fn hub() -> Arc<Hub> {
        let store = Arc::new(crate::store::memory::MemoryStore::new(100));
        Hub::new(Arc::new(Config::defaults()), store, Arc::default()).unwrap()
    }

    fn user(id: SessionId, name: &str) -> User {
        User {
            id,
            nick: Nick::parse(name).unwrap(),
            outbox: Arc::new(Outbox::new(1024)),
            control: Arc::default(),
            profile: None,
            away: None,
        }
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        let hub = hub();
        hub.register(user(1, "Alice")).unwrap();
        assert_eq!(
            hub.register(user(2, "alice")),
            Err(Refusal::NameTaken {
                name: "alice".into()
            })
        );
        hub.unregister(1, &Nick::parse("ALICE").unwrap());
        hub.register(user(2, "alice")).unwrap();
    }

    #[test]
    fn unregister_by_a_former_holder_keeps_the_new_claim() {
        let hub = hub();
        let nick = Nick::parse("bob").unwrap();
        hub.register(user(1, "bob")).unwrap();
        hub.unregister(1, &nick);
        hub.register(user(2, "bob")).unwrap();
        hub.unregister(1, &nick);
        assert_eq!(hub.user("bob").unwrap().id, 2);
    }

    #[test]
    fn rename_may_change_case_of_own_name() {
        let hub = hub();
        hub.register(user(1, "carol")).unwrap();
        let old = Nick::parse("carol").unwrap();
        let new = Nick::parse("Carol").unwrap();
        hub.rename(1, &old, &new).unwrap();
        assert_eq!(hub.user("CAROL").unwrap().nick.as_str(), "Carol");
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
        assert_eq!(hub.room_summaries(&[]).len(), 2);
    }
}
