//! A [`Store`] that keeps everything in memory: for the no-disk mode and for
//! tests that need a store but no files.
//!
//! Same semantics as the SQLite store, except that nothing outlives the
//! process: writes are "committed" the moment they are made, so every reply
//! is ready at once and there is never a problem to report. One std `Mutex`
//! guards the state; each critical section is a map lookup and a push.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use banter_proto::names::fold;
use tokio::sync::oneshot;

use super::{
    history_key, Ack, LoadedRoom, Reply, Store, StoreError, StoredMessage, StoredRoom,
    StoredServerBan,
};

#[derive(Debug, Default)]
struct State {
    /// By key, so `load` lists rooms sorted like the SQLite store does.
    rooms: BTreeMap<String, StoredRoom>,
    /// By [`history_key`]; each holds at most `history_max`, oldest first
    /// (so in id order).
    histories: HashMap<String, VecDeque<StoredMessage>>,
    last_id: i64,
    /// By mask, lowercased.
    server_bans: BTreeMap<String, StoredServerBan>,
}

/// See the module docs.
#[derive(Debug)]
pub struct MemoryStore {
    history_max: usize,
    state: Mutex<State>,
}

/// Files `message` in its history (made if new), which keeps the newest
/// `max`. One lookup for a history that exists, the usual case (the key is
/// hashed once); its key is copied only when it is new.
fn file(
    histories: &mut HashMap<String, VecDeque<StoredMessage>>,
    message: StoredMessage,
    max: usize,
) {
    let key = history_key(&message);
    if let Some(history) = histories.get_mut(&*key) {
        drop(key);
        keep_newest(history, message, max);
        return;
    }
    let history = histories.entry(key.into_owned()).or_default();
    keep_newest(history, message, max);
}

/// Adds `message` to `history`, which keeps the newest `max`. The history
/// grows by doubling, but never past `max`, and not at all while full (the
/// oldest goes first): left to double, a full history of the default
/// 10,000 would hold 16,384 slots, 60% more than it uses.
fn keep_newest(history: &mut VecDeque<StoredMessage>, message: StoredMessage, max: usize) {
    if max == 0 {
        return;
    }
    if history.len() >= max {
        history.pop_front();
    }
    if history.len() == history.capacity() {
        let grown = (history.capacity() * 2).max(4).min(max);
        history.reserve_exact(grown - history.len());
    }
    history.push_back(message);
}

/// A reply that is already known.
fn ready<T>(result: Result<T, StoreError>) -> Reply<T> {
    let (tx, rx) = oneshot::channel();
    // The receiver is in hand, so the send cannot fail.
    let _ = tx.send(result);
    rx
}

impl MemoryStore {
    /// A store whose histories keep at most `history_max` messages each.
    pub fn new(history_max: usize) -> Self {
        Self {
            history_max,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change below is a single insert or remove, so poison is ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest `limit` messages of a history with ids below `before`
    /// (all when `None`), oldest first. A history is in id order, so that is
    /// one range of it.
    fn page(state: &State, key: &str, limit: usize, before: Option<i64>) -> Vec<StoredMessage> {
        let Some(history) = state.histories.get(key) else {
            return Vec::new();
        };
        let end = before.map_or(history.len(), |before| {
            history.partition_point(|message| message.id < before)
        });
        history
            .range(end.saturating_sub(limit)..end)
            .cloned()
            .collect()
    }
}

impl Store for MemoryStore {
    fn load(&self, recent: usize) -> Result<Vec<LoadedRoom>, StoreError> {
        let state = self.lock();
        Ok(state
            .rooms
            .iter()
            .map(|(key, room)| LoadedRoom {
                room: room.clone(),
                recent: Self::page(&state, key, recent, None),
            })
            .collect())
    }

    fn save_room(&self, room: StoredRoom) -> Ack {
        self.lock().rooms.insert(fold(&room.name), room);
        ready(Ok(()))
    }

    fn delete_room(&self, name: &str) -> Ack {
        let key = fold(name);
        let mut state = self.lock();
        state.rooms.remove(&key);
        state.histories.remove(&key);
        ready(Ok(()))
    }

    fn append(&self, mut message: StoredMessage) -> i64 {
        let mut state = self.lock();
        state.last_id += 1;
        let id = state.last_id;
        message.id = id;
        file(&mut state.histories, message, self.history_max);
        id
    }

    fn append_with_id(&self, message: StoredMessage) {
        let mut state = self.lock();
        if message.id <= state.last_id {
            return;
        }
        state.last_id = message.id;
        file(&mut state.histories, message, self.history_max);
    }

    fn history(&self, room: &str, limit: usize, before: Option<i64>) -> Reply<Vec<StoredMessage>> {
        ready(Ok(Self::page(&self.lock(), &fold(room), limit, before)))
    }

    fn flush(&self) -> Ack {
        ready(Ok(()))
    }

    fn problem(&self) -> Option<String> {
        None
    }

    fn probe(&self) -> Ack {
        ready(Ok(()))
    }

    fn queued(&self) -> usize {
        0
    }

    fn dropped(&self) -> u64 {
        0
    }

    fn load_server_bans(&self) -> Result<Vec<StoredServerBan>, StoreError> {
        Ok(self.lock().server_bans.values().cloned().collect())
    }

    fn save_server_ban(&self, ban: StoredServerBan) -> Ack {
        let key = ban.mask.to_ascii_lowercase();
        self.lock().server_bans.insert(key, ban);
        ready(Ok(()))
    }

    fn delete_server_ban(&self, mask: &str) -> Ack {
        self.lock().server_bans.remove(&mask.to_ascii_lowercase());
        ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::checks;
    use super::*;

    #[test]
    fn a_full_history_keeps_the_newest_in_exactly_its_slots() {
        let store = MemoryStore::new(100);
        for i in 0..1_000 {
            store.append(checks::chat("Lobby", "ann", &i.to_string(), 0));
        }
        let state = store.lock();
        let history = &state.histories["lobby"];
        assert_eq!(history.len(), 100);
        assert_eq!(history.capacity(), 100);
        assert_eq!(&*history[0].text, "900");
        assert_eq!(&*history[99].text, "999");
    }

    #[test]
    fn a_store_that_keeps_no_history_keeps_none() {
        let store = MemoryStore::new(0);
        store.append(checks::chat("lobby", "ann", "gone", 0));
        assert!(checks::wait(store.history("lobby", 10, None)).is_empty());
    }

    #[test]
    fn rooms_are_saved_updated_and_deleted() {
        checks::rooms_are_saved_updated_and_deleted(&MemoryStore::new(100));
    }

    #[test]
    fn a_room_is_matched_by_key_and_keeps_its_latest_name() {
        checks::a_room_is_matched_by_key_and_keeps_its_latest_name(&MemoryStore::new(100));
    }

    #[test]
    fn history_is_chronological_and_limited() {
        checks::history_is_chronological_and_limited(&MemoryStore::new(100));
    }

    #[test]
    fn every_kind_round_trips() {
        checks::every_kind_round_trips(&MemoryStore::new(100));
    }

    #[test]
    fn history_keeps_at_most_history_max() {
        checks::history_keeps_at_most_history_max(&MemoryStore::new(5));
    }

    #[test]
    fn paging_stops_at_history_max() {
        checks::paging_stops_at_history_max(&MemoryStore::new(5));
    }

    #[test]
    fn append_returns_increasing_ids_that_history_returns() {
        checks::append_returns_increasing_ids_that_history_returns(&MemoryStore::new(100));
    }

    #[test]
    fn append_with_id_keeps_the_given_ids_once() {
        checks::append_with_id_keeps_the_given_ids_once(&MemoryStore::new(100));
    }

    #[test]
    fn paging_by_id_returns_every_message_once() {
        checks::paging_by_id_returns_every_message_once(&MemoryStore::new(1_000));
    }

    #[test]
    fn a_healthy_store_has_no_problem() {
        checks::a_healthy_store_has_no_problem(&MemoryStore::new(5));
    }

    #[test]
    fn server_bans_are_saved_replaced_and_deleted_by_mask() {
        checks::server_bans_are_saved_replaced_and_deleted_by_mask(&MemoryStore::new(5));
    }
}
