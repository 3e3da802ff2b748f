//! One chat room: its members, hosts, topic and password, and the fan-out of
//! its traffic.
//!
//! The room's lock is the only lock on the message path. Holding it while
//! offering a delivery to every member gives each room a single order that all
//! members see; offering never waits (see `outbox`), so a slow member cannot
//! hold the lock. Host rights belong to a session (a connection), never to a
//! name: whoever later takes a former host's name gets nothing from it.
//!
//! Messages are handed to the [`Store`] under the same lock, so the stored
//! order is the order members saw, and the room's in-memory tail of recent
//! messages (shown to whoever enters) never overlaps the live feed. Room
//! changes that must be durable (password, topic) are serialised by an async
//! `changes` lock held while the store commits them, then applied.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::event::{LeaveReason, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Event, Nick, RoomName};

use crate::outbox::Outbox;
use crate::render::Delivery;
use crate::store::{MessageKind, Millis, Store, StoreError, StoredMessage, StoredRoom};

/// A session's identity for its whole connection; names can change, this cannot.
pub type SessionId = u64;

/// A member as the room knows it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: SessionId,
    pub nick: Nick,
    pub outbox: Arc<Outbox>,
}

#[derive(Debug)]
struct Seat {
    member: Member,
    host: bool,
}

#[derive(Debug, Default)]
struct RoomState {
    /// Deleted with `:close`: nobody may enter, nothing said is kept.
    closed: bool,
    /// A `:close` is deleting the room from the store: what is said meanwhile
    /// is delivered but not stored, so no message outlives the delete.
    closing: bool,
    /// The last messages, oldest first, at most `recent_max`.
    recent: VecDeque<StoredMessage>,
    /// In order of arrival: the first is the longest present.
    seats: Vec<Seat>,
    topic: Option<String>,
    /// Argon2id PHC string of the room password.
    password_hash: Option<String>,
    /// Bumped by every password change, so earlier grants and invites lapse.
    password_epoch: u64,
}

/// Why a host action was refused; shown after `error: `.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomError {
    #[error("only a host of {0} can do that (see :who)")]
    NotHost(String),
    #[error("{0} is the default room: it has no hosts and cannot be locked")]
    DefaultRoom(String),
    #[error("nobody named {name} is in {room}")]
    NoSuchMember { name: String, room: String },
    #[error("{name} is already a host of {room}")]
    AlreadyHost { name: String, room: String },
    #[error("{name} is not a host of {room}")]
    NotAHost { name: String, room: String },
    #[error("{0} would be left without a host; make someone else a host first")]
    LastHost(String),
    #[error("{0} is a host; take their host rights first with :hostrm {0}")]
    KickHost(String),
    #[error("you cannot kick yourself; use :cr to leave")]
    KickSelf,
    #[error("{0} was just closed")]
    Closed(String),
    #[error("the password of {0} was changed by someone else meanwhile; nothing changed")]
    PasswordChanged(String),
    #[error("{0}")]
    Store(String),
}

/// What a new member learns on entering.
#[derive(Debug)]
pub struct Entry {
    pub others: usize,
    pub topic: Option<String>,
    /// The room's recent messages, oldest first.
    pub recent: Vec<StoredMessage>,
}

/// How a room starts: new, or as the store remembered it.
#[derive(Debug, Default)]
pub struct RoomSetup {
    /// The server's default room: no hosts, never locked.
    pub is_default: bool,
    pub created_at: Millis,
    pub topic: Option<String>,
    pub password_hash: Option<String>,
    pub recent: Vec<StoredMessage>,
}

pub struct Room {
    name: RoomName,
    is_default: bool,
    created_at: Millis,
    store: Arc<dyn Store>,
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
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as Millis)
}

impl Room {
    /// A room whose messages go to `store`; it remembers its last `recent_max` in memory.
    pub fn new(name: RoomName, setup: RoomSetup, store: Arc<dyn Store>, recent_max: usize) -> Self {
        let mut recent: VecDeque<StoredMessage> = setup.recent.into();
        while recent.len() > recent_max {
            recent.pop_front();
        }
        Self {
            name,
            is_default: setup.is_default,
            created_at: setup.created_at,
            store,
            recent_max,
            state: Mutex::new(RoomState {
                recent,
                topic: setup.topic,
                password_hash: setup.password_hash,
                ..RoomState::default()
            }),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// The room as the store keeps it.
    pub fn snapshot(&self) -> StoredRoom {
        let state = self.lock();
        StoredRoom {
            name: self.name.to_string(),
            created_at: self.created_at,
            password_hash: state.password_hash.clone(),
            topic: state.topic.clone(),
        }
    }

    /// Commits the room as it is now (after creating it).
    pub async fn persist(&self) -> Result<(), RoomError> {
        let _change = self.changes.lock().await;
        self.commit(self.snapshot()).await
    }

    async fn commit(&self, room: StoredRoom) -> Result<(), RoomError> {
        let saved = self
            .store
            .save_room(room)
            .await
            .map_err(|_| RoomError::Store("the room store has stopped".into()))?;
        saved.map_err(|err| RoomError::Store(format!("the change could not be saved: {err}")))
    }

    pub fn name(&self) -> &RoomName {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn offer_all(state: &RoomState, event: Event, except: Option<SessionId>) -> usize {
        let delivery = Delivery::new(event);
        let mut offered = 0;
        for seat in state.seats.iter().filter(|s| Some(s.member.id) != except) {
            seat.member.outbox.offer(Arc::clone(&delivery));
            offered += 1;
        }
        offered
    }

    /// Says a room message (chat, emote, extra-room): offers it to every
    /// member but `except`, remembers it, and hands it to the store. Returns
    /// how many it was offered to.
    pub fn say(&self, message: StoredMessage, except: Option<SessionId>) -> usize {
        let room = self.name.to_string();
        let event = match message.kind {
            MessageKind::Emote => Event::Emote {
                room,
                from: message.sender.clone(),
                text: message.text.clone(),
            },
            MessageKind::ExtraRoom => Event::ExtraRoom {
                to_room: room,
                from_room: message.from_room.clone().unwrap_or_default(),
                from: message.sender.clone(),
                text: message.text.clone(),
            },
            MessageKind::Chat | MessageKind::Private => Event::Chat {
                room,
                from: message.sender.clone(),
                text: message.text.clone(),
            },
        };
        let mut state = self.lock();
        if state.closed {
            return 0;
        }
        let offered = Self::offer_all(&state, event, except);
        if state.closing {
            return offered;
        }
        if self.recent_max > 0 {
            if state.recent.len() == self.recent_max {
                state.recent.pop_front();
            }
            state.recent.push_back(message.clone());
        }
        self.store.append(message);
        offered
    }

    /// Adds a member and tells the others. The first into an empty room
    /// (other than the default room) becomes its host.
    pub fn join(&self, member: Member) -> Result<Entry, RoomError> {
        let mut state = self.lock();
        if state.closed {
            return Err(RoomError::Closed(self.name.to_string()));
        }
        let joined = Event::Joined {
            room: self.name.to_string(),
            nick: member.nick.to_string(),
        };
        Self::offer_all(&state, joined, None);
        let host = state.seats.is_empty() && !self.is_default;
        state.seats.push(Seat { member, host });
        Ok(Entry {
            others: state.seats.len() - 1,
            topic: state.topic.clone(),
            recent: state.recent.iter().cloned().collect(),
        })
    }

    /// Removes a member and tells the others why, if there is a `reason` to
    /// tell. If the last host left, the longest-present member becomes host.
    pub fn leave(&self, id: SessionId, reason: Option<LeaveReason>) {
        let mut state = self.lock();
        let Some(at) = state.seats.iter().position(|s| s.member.id == id) else {
            return;
        };
        let seat = state.seats.remove(at);
        if let Some(reason) = reason {
            let left = Event::Left {
                room: self.name.to_string(),
                nick: seat.member.nick.to_string(),
                reason,
            };
            Self::offer_all(&state, left, None);
        }
        if seat.host && !state.seats.iter().any(|s| s.host) {
            if let Some(heir) = state.seats.first_mut() {
                heir.host = true;
                let nick = heir.member.nick.to_string();
                let promoted = Event::HostAdded {
                    room: self.name.to_string(),
                    nick,
                    by: None,
                };
                Self::offer_all(&state, promoted, None);
            }
        }
    }

    /// Renames a member and tells the others.
    pub fn rename(&self, id: SessionId, new: &Nick) {
        let mut state = self.lock();
        let Some(seat) = state.seats.iter_mut().find(|s| s.member.id == id) else {
            return;
        };
        let old = std::mem::replace(&mut seat.member.nick, new.clone());
        let changed = Event::NickChanged {
            room: self.name.to_string(),
            old: old.to_string(),
            new: new.to_string(),
        };
        Self::offer_all(&state, changed, Some(id));
    }

    pub fn member_count(&self) -> usize {
        self.lock().seats.len()
    }

    pub fn is_member(&self, id: SessionId) -> bool {
        self.lock().seats.iter().any(|s| s.member.id == id)
    }

    /// Members in order of arrival, with their host marks.
    pub fn who(&self) -> Vec<WhoEntry> {
        self.lock()
            .seats
            .iter()
            .map(|s| WhoEntry {
                nick: s.member.nick.to_string(),
                host: s.host,
            })
            .collect()
    }

    pub fn topic(&self) -> Option<String> {
        self.lock().topic.clone()
    }

    /// The password hash (if locked) and the password epoch.
    pub fn lock_state(&self) -> (Option<String>, u64) {
        let state = self.lock();
        (state.password_hash.clone(), state.password_epoch)
    }

    pub fn is_locked(&self) -> bool {
        self.lock().password_hash.is_some()
    }

    /// Checks that `actor` is a host here.
    fn require_host(&self, state: &RoomState, actor: SessionId) -> Result<(), RoomError> {
        if self.is_default {
            return Err(RoomError::DefaultRoom(self.name.to_string()));
        }
        if state.closed {
            return Err(RoomError::Closed(self.name.to_string()));
        }
        if state.seats.iter().any(|s| s.member.id == actor && s.host) {
            Ok(())
        } else {
            Err(RoomError::NotHost(self.name.to_string()))
        }
    }

    fn seat_named<'a>(
        &self,
        state: &'a mut RoomState,
        name: &str,
    ) -> Result<&'a mut Seat, RoomError> {
        let key = fold(name);
        state
            .seats
            .iter_mut()
            .find(|s| s.member.nick.key() == key)
            .ok_or_else(|| RoomError::NoSuchMember {
                name: name.to_owned(),
                room: self.name.to_string(),
            })
    }

    pub fn add_host(&self, actor: SessionId, by: &Nick, name: &str) -> Result<(), RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.host {
            return Err(RoomError::AlreadyHost {
                name: seat.member.nick.to_string(),
                room: self.name.to_string(),
            });
        }
        seat.host = true;
        let nick = seat.member.nick.to_string();
        let added = Event::HostAdded {
            room: self.name.to_string(),
            nick,
            by: Some(by.to_string()),
        };
        Self::offer_all(&state, added, None);
        Ok(())
    }

    pub fn remove_host(&self, actor: SessionId, by: &Nick, name: &str) -> Result<(), RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let room = self.name.to_string();
        let hosts = state.seats.iter().filter(|s| s.host).count();
        let seat = self.seat_named(&mut state, name)?;
        if !seat.host {
            return Err(RoomError::NotAHost {
                name: seat.member.nick.to_string(),
                room,
            });
        }
        if hosts == 1 {
            return Err(RoomError::LastHost(room));
        }
        seat.host = false;
        let removed = Event::HostRemoved {
            room,
            nick: seat.member.nick.to_string(),
            by: by.to_string(),
        };
        Self::offer_all(&state, removed, None);
        Ok(())
    }

    /// Sets the topic once the store has it.
    pub async fn set_topic(
        &self,
        actor: SessionId,
        by: &Nick,
        topic: String,
    ) -> Result<(), RoomError> {
        let _change = self.changes.lock().await;
        self.check_host(actor)?;
        let mut stored = self.snapshot();
        stored.topic = Some(topic.clone());
        self.commit(stored).await?;
        let mut state = self.lock();
        state.topic = Some(topic.clone());
        let changed = Event::TopicChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            topic,
        };
        Self::offer_all(&state, changed, None);
        Ok(())
    }

    /// Checks that `actor` may change the password (host, not the default room).
    pub fn check_host(&self, actor: SessionId) -> Result<(), RoomError> {
        self.require_host(&self.lock(), actor)
    }

    /// Sets (`Some`) or removes (`None`) the password once the store has it,
    /// if it is still the one of `if_epoch` (another host may have changed it
    /// while this one typed); returns the new epoch.
    pub async fn set_password(
        &self,
        actor: SessionId,
        by: &Nick,
        hash: Option<String>,
        if_epoch: u64,
    ) -> Result<u64, RoomError> {
        let _change = self.changes.lock().await;
        self.check_host(actor)?;
        if self.lock().password_epoch != if_epoch {
            return Err(RoomError::PasswordChanged(self.name.to_string()));
        }
        let mut stored = self.snapshot();
        stored.password_hash = hash.clone();
        self.commit(stored).await?;
        let mut state = self.lock();
        let locked = hash.is_some();
        state.password_hash = hash;
        state.password_epoch += 1;
        let changed = Event::LockChanged {
            room: self.name.to_string(),
            by: by.to_string(),
            locked,
        };
        Self::offer_all(&state, changed, None);
        Ok(state.password_epoch)
    }

    /// Closes the room for good, store first: deletes it and its history from
    /// the store, then refuses new members and forgets the current ones
    /// (without notices; the caller moves them) and returns their ids. If the
    /// store cannot delete it, the room stays exactly as it was. Holds the
    /// `changes` lock, so a topic or password change that already passed its
    /// host check cannot save the room again after the delete.
    pub async fn close(&self, actor: SessionId) -> Result<Vec<SessionId>, RoomError> {
        let _change = self.changes.lock().await;
        {
            let mut state = self.lock();
            self.require_host(&state, actor)?;
            state.closing = true;
        }
        let deleted = match self.store.delete_room(self.name.as_str()).await {
            Ok(deleted) => deleted,
            Err(_) => Err(StoreError::Closed),
        };
        let mut state = self.lock();
        state.closing = false;
        if let Err(err) = deleted {
            return Err(RoomError::Store(format!(
                "{} could not be closed: {err}; nothing changed",
                self.name
            )));
        }
        state.closed = true;
        state.recent.clear();
        Ok(state.seats.drain(..).map(|seat| seat.member.id).collect())
    }

    /// Finds the member a host wants to kick; the kick itself is carried out
    /// by the member's own session.
    pub fn kick_target(&self, actor: SessionId, name: &str) -> Result<SessionId, RoomError> {
        let mut state = self.lock();
        self.require_host(&state, actor)?;
        let seat = self.seat_named(&mut state, name)?;
        if seat.member.id == actor {
            return Err(RoomError::KickSelf);
        }
        if seat.host {
            return Err(RoomError::KickHost(seat.member.nick.to_string()));
        }
        Ok(seat.member.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: SessionId, name: &str) -> Member {
        Member {
            id,
            nick: Nick::parse(name).unwrap(),
            outbox: Arc::new(Outbox::new(64 * 1024)),
        }
    }

    fn store() -> Arc<dyn Store> {
        Arc::new(crate::store::memory::MemoryStore::new(100))
    }

    fn room() -> Room {
        Room::new(
            RoomName::parse("games").unwrap(),
            RoomSetup::default(),
            store(),
            3,
        )
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
        games.join(member(1, "ann")).unwrap();
        for text in ["one", "two", "three", "four"] {
            games.say(said(text), Some(1));
        }
        let entry = games.join(member(2, "bob")).unwrap();
        let texts: Vec<_> = entry.recent.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["two", "three", "four"]);
        assert_eq!(
            games.close(2).await,
            Err(RoomError::NotHost("games".into()))
        );
        assert_eq!(games.close(1).await, Ok(vec![1, 2]));
        assert_eq!(games.say(said("late"), None), 0);
        assert!(matches!(
            games.join(member(3, "cid")),
            Err(RoomError::Closed(_))
        ));
    }

    fn hosts(room: &Room) -> Vec<String> {
        room.who()
            .into_iter()
            .filter(|w| w.host)
            .map(|w| w.nick)
            .collect()
    }

    #[test]
    fn the_first_into_an_empty_room_is_host_but_not_in_the_default_room() {
        let games = room();
        games.join(member(1, "ann")).unwrap();
        games.join(member(2, "bob")).unwrap();
        assert_eq!(hosts(&games), ["ann"]);
        let setup = RoomSetup {
            is_default: true,
            ..RoomSetup::default()
        };
        let lobby = Room::new(RoomName::parse("lobby").unwrap(), setup, store(), 3);
        lobby.join(member(1, "ann")).unwrap();
        assert!(hosts(&lobby).is_empty());
        assert!(matches!(
            lobby.check_host(1),
            Err(RoomError::DefaultRoom(_))
        ));
    }

    #[test]
    fn the_longest_present_member_succeeds_the_last_host() {
        let games = room();
        games.join(member(1, "ann")).unwrap();
        games.join(member(2, "bob")).unwrap();
        games.join(member(3, "cid")).unwrap();
        games.leave(1, Some(LeaveReason::Quit));
        assert_eq!(hosts(&games), ["bob"]);
        games.leave(3, None);
        games.leave(2, None);
        games.join(member(4, "dee")).unwrap();
        assert_eq!(hosts(&games), ["dee"]);
    }

    #[test]
    fn a_room_with_members_always_keeps_a_host() {
        let games = room();
        let ann = Nick::parse("ann").unwrap();
        games.join(member(1, "ann")).unwrap();
        games.join(member(2, "bob")).unwrap();
        assert_eq!(
            games.remove_host(1, &ann, "ann"),
            Err(RoomError::LastHost("games".into()))
        );
        assert_eq!(hosts(&games), ["ann"]);
        games.add_host(1, &ann, "BOB").unwrap();
        games.remove_host(1, &ann, "ann").unwrap();
        assert_eq!(hosts(&games), ["bob"]);
        assert_eq!(
            games.add_host(1, &ann, "ann"),
            Err(RoomError::NotHost("games".into()))
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
    }

    #[tokio::test]
    async fn a_topic_change_in_flight_cannot_bring_a_closed_room_back() {
        let store = Arc::new(SlowSaves::new());
        let games = Arc::new(Room::new(
            RoomName::parse("games").unwrap(),
            RoomSetup::default(),
            Arc::clone(&store) as Arc<dyn Store>,
            3,
        ));
        games.join(member(1, "ann")).unwrap();
        let ann = Nick::parse("ann").unwrap();
        let setting = tokio::spawn({
            let games = Arc::clone(&games);
            async move { games.set_topic(1, &ann, "late".into()).await }
        });
        // The topic passed its host check and is being saved...
        while store.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // ...when the host closes the room.
        let closing = tokio::spawn({
            let games = Arc::clone(&games);
            async move { games.close(1).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        store.finish_saves();
        assert_eq!(setting.await.unwrap(), Ok(()));
        assert_eq!(closing.await.unwrap(), Ok(vec![1]));
        // Deleted after the topic's save, so nothing brings it back at restart.
        assert!(store.load(0).unwrap().is_empty());
    }
}
