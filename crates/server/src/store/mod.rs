//! Persistence behind a small [`Store`] trait: rooms and their message history.
//!
//! The chat core talks only to the trait, so it runs the same on disk
//! ([`sqlite::SqliteStore`]) and with no disk at all ([`memory::MemoryStore`],
//! also what state tests use). The contract every implementation keeps:
//!
//! - [`Store::append`] never blocks and never fails to the caller: it is on the
//!   fan-out path. A message is committed within the batch window, or counted
//!   and logged as dropped; never lost silently. It returns the message's id
//!   at once: ids grow strictly in the order of the calls, so a room that
//!   appends under its lock can send every message live with its stored id.
//! - Room changes ([`Store::save_room`], [`Store::delete_room`]) are durable
//!   when their [`Ack`] resolves `Ok`, so a command answers only after that.
//! - Reads ([`Store::history`], [`Store::load`]) see every message appended
//!   before them, committed or not. History pages back by id: the `before` of
//!   the next page is the id of the oldest message of the last one.
//! - Every history (one per room; see [`history_key`]) holds at most
//!   `history_max` messages as readers see it.

pub mod memory;
pub mod sqlite;

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use banter_proto::names::fold;
use banter_proto::RoomModes;
use tokio::sync::oneshot;

/// Unix milliseconds, UTC.
pub type Millis = i64;

/// Messages a history keeps unless configured otherwise.
pub const DEFAULT_HISTORY_MAX: usize = 10_000;

/// A room as stored; its key is `fold(name)`, so `Games` and `games` are one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    /// As created, e.g. "Games".
    pub name: String,
    pub created_at: Millis,
    /// An Argon2id PHC string, opaque to the store.
    pub password_hash: Option<String>,
    pub topic: Option<String>,
    /// Its modes (`n` and `t` for a room saved before modes existed).
    pub modes: RoomModes,
    /// Its bans, oldest first.
    pub bans: Vec<StoredBan>,
}

/// One ban of a room: a name pattern, who set it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBan {
    /// The pattern as set (`troll*`).
    pub mask: String,
    pub by: String,
    pub at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Chat,
    Emote,
    /// Said into a room the sender is not in (`name:room`).
    ExtraRoom,
    /// To one user; stored only when the server is configured to.
    Private,
    /// A notice to a room (IRC's NOTICE).
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Assigned by the store and returned by [`Store::append`], which ignores
    /// what the caller put here (pass 0).
    pub id: i64,
    /// Display name of the room it was said in: for `ExtraRoom` the target room,
    /// for `Private` empty.
    pub room: Arc<str>,
    pub sender: Arc<str>,
    pub text: Arc<str>,
    pub kind: MessageKind,
    pub at: Millis,
    /// `ExtraRoom`: the room the sender was in.
    pub from_room: Option<String>,
    /// `Private`: who it was for.
    pub recipient: Option<String>,
}

/// The history a message belongs to: its room's key, or for a private message
/// `@` and the recipient's key. Room names cannot contain `@`, so the two
/// never collide; `history("@bob", n, None)` reads what was said privately to bob.
/// A room already in folded form (the usual case) is its own key, not copied.
pub fn history_key(message: &StoredMessage) -> Cow<'_, str> {
    match message.kind {
        MessageKind::Private => {
            format!("@{}", fold(message.recipient.as_deref().unwrap_or(""))).into()
        }
        _ if message.room.bytes().any(|b| b.is_ascii_uppercase()) => fold(&message.room).into(),
        _ => Cow::Borrowed(&message.room),
    }
}

/// A server-wide ban as stored; its key is the mask lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredServerBan {
    /// A screen-name pattern or an address, as the operator wrote it.
    pub mask: String,
    pub reason: String,
    /// The operator's screen name.
    pub by: String,
    pub at: Millis,
    /// When it ends; `None` for never.
    pub until: Option<Millis>,
}

/// A room and the tail of its history, as [`Store::load`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRoom {
    pub room: StoredRoom,
    /// Chronological, at most the `recent` asked for.
    pub recent: Vec<StoredMessage>,
}

/// A store backend's own error (SQLite's, a broker client's), kept whole as
/// the source of a [`StoreError`] so the core depends on no backend's types.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in a store, whatever its backend: each implementation
/// maps its own errors into these (the SQLite store's into `Backend` and
/// `Open`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Backend(#[source] BackendError),
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: BackendError,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the database is at schema version {found}, but this banterd knows only up to \
         version {supported}; run a newer banterd on it"
    )]
    TooNew { found: i64, supported: i64 },
    #[error(
        "another banterd is using the data directory {} (it holds {}); stop it or use \
         another data directory",
        dir.display(), lock_file.display()
    )]
    Locked {
        dir: std::path::PathBuf,
        lock_file: std::path::PathBuf,
    },
    #[error(
        "the database {} stays in {mode} journal mode instead of WAL; put the data \
         directory on a local file system",
        path.display()
    )]
    NoWal {
        path: std::path::PathBuf,
        mode: String,
    },
    #[error("the store has shut down")]
    Closed,
    #[error("{0}")]
    NotWritable(String),
    #[error("too many checks of the store are waiting")]
    Busy,
}

/// An answer that arrives once the store has done the work.
pub type Reply<T> = oneshot::Receiver<Result<T, StoreError>>;

/// Acknowledgement of a write that must be durable before a command answers.
pub type Ack = Reply<()>;

/// Where the chat core keeps what must outlive the process; see the module docs.
///
/// Methods that return a [`Reply`] never block: the work happens elsewhere and
/// the receiver resolves when it is done (or fails with [`StoreError::Closed`]
/// if the store is gone).
pub trait Store: Send + Sync + 'static {
    /// Every saved room, sorted by key, with its last `recent` messages,
    /// chronological. Called once at start; it blocks the calling thread until
    /// the store answers, so call it before serving or from a blocking task.
    fn load(&self, recent: usize) -> Result<Vec<LoadedRoom>, StoreError>;
    /// Creates or updates a room (matched by key); durable when the Ack resolves Ok.
    fn save_room(&self, room: StoredRoom) -> Ack;
    /// Deletes a room and all its history; durable when the Ack resolves Ok.
    fn delete_room(&self, name: &str) -> Ack;
    /// Queues a message and returns the id it is stored under (the store sets
    /// `message.id`, whatever the caller put there). Never blocks; committed
    /// within the batch window.
    ///
    /// Ids are positive and strictly increasing in the order of the calls
    /// (calls made under one lock get ids in that lock's order), and are the
    /// ids [`Store::history`] and [`Store::load`] return. A message the store
    /// drops (its queue is full, or it has shut down) still gets an id, and
    /// uses it up: the next message gets a higher one, so ids can have gaps.
    ///
    /// Ids are never reused, across restarts too, with one exception on disk:
    /// after a crash (`kill -9`, power loss) ids handed out after the last
    /// commit (the messages the crash lost, and any dropped since that
    /// commit) may be handed out again. A clean close remembers every id
    /// handed out before it.
    fn append(&self, message: StoredMessage) -> i64;
    /// Queues a message under the id it carries: a cluster node's copy of a
    /// message the cluster's log numbered (see `core/cluster`). Skipped when
    /// an id at least as high was stored or handed out before, as when a
    /// node replays the log over messages it already has; so the ids given
    /// must grow, and a store filled this way takes no [`Store::append`].
    /// Never blocks, like `append`.
    fn append_with_id(&self, message: StoredMessage);
    /// The newest `limit` messages of a room (matched by key) whose ids are
    /// below `before` (all of them when `None`), chronological (oldest first),
    /// including ones not yet committed. Only the newest `history_max`
    /// messages of a history are ever returned, however far back `before` is.
    ///
    /// To page back through a history, pass the id of the oldest message of
    /// the previous page as `before`; every message comes once and none is
    /// skipped, and an empty page means the start was reached.
    fn history(&self, room: &str, limit: usize, before: Option<i64>) -> Reply<Vec<StoredMessage>>;
    /// Resolves once everything appended before the call is committed.
    fn flush(&self) -> Ack;
    /// The current disk problem while writes are failing, for telling users; None when healthy.
    fn problem(&self) -> Option<String>;
    /// Resolves `Ok` when a write could start now (no other program holds the
    /// database locked), for readiness checks. Probes that wait together are
    /// answered by one check.
    fn probe(&self) -> Ack;
    /// Messages appended and not yet committed.
    fn queued(&self) -> usize;
    /// Messages dropped since open because the queue was full.
    fn dropped(&self) -> u64;
    /// Every saved server ban, sorted by key (ended ones included: the
    /// caller drops them). Called once at start; blocks like [`Store::load`].
    fn load_server_bans(&self) -> Result<Vec<StoredServerBan>, StoreError>;
    /// Creates or replaces a server ban (matched by its mask, ignoring
    /// case); durable when the Ack resolves Ok.
    fn save_server_ban(&self, ban: StoredServerBan) -> Ack;
    /// Deletes a server ban (matched by its mask, ignoring case); durable
    /// when the Ack resolves Ok.
    fn delete_server_ban(&self, mask: &str) -> Ack;
}

/// Behavioural checks every implementation must pass, written once and run by
/// each implementation's tests.
#[cfg(test)]
pub(crate) mod checks {
    use super::*;

    pub(crate) fn room(name: &str, at: Millis) -> StoredRoom {
        StoredRoom {
            name: name.to_owned(),
            created_at: at,
            password_hash: None,
            topic: None,
            modes: RoomModes::default(),
            bans: Vec::new(),
        }
    }

    pub(crate) fn chat(room: &str, sender: &str, text: &str, at: Millis) -> StoredMessage {
        StoredMessage {
            id: 0,
            room: room.into(),
            sender: sender.into(),
            text: text.into(),
            kind: MessageKind::Chat,
            at,
            from_room: None,
            recipient: None,
        }
    }

    pub(crate) fn wait<T>(reply: Reply<T>) -> T {
        reply
            .blocking_recv()
            .expect("the store answers")
            .expect("the store succeeds")
    }

    pub(crate) fn texts(messages: &[StoredMessage]) -> Vec<&str> {
        messages.iter().map(|m| &*m.text).collect()
    }

    pub(crate) fn rooms_are_saved_updated_and_deleted(store: &dyn Store) {
        wait(store.save_room(room("Games", 1)));
        wait(store.save_room(room("Music", 2)));
        let mut games = room("Games", 1);
        games.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        games.topic = Some("board games".into());
        games.modes = RoomModes::from_letters("ims");
        games.bans = vec![
            StoredBan {
                mask: "old*".into(),
                by: "ann".into(),
                at: 2,
            },
            StoredBan {
                mask: "troll*".into(),
                by: "bo".into(),
                at: 3,
            },
        ];
        wait(store.save_room(games.clone()));
        // Saved again with one ban lifted: the other stays, the lifted one goes.
        games.bans.remove(0);
        wait(store.save_room(games.clone()));
        let mut music = room("Music", 2);
        music.bans = games.bans.clone();
        wait(store.save_room(music));
        store.append(chat("music", "ann", "la la", 3));
        wait(store.delete_room("MUSIC"));

        let loaded = store.load(10).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].room, games);
        assert!(wait(store.history("Music", 10, None)).is_empty());
    }

    pub(crate) fn a_room_is_matched_by_key_and_keeps_its_latest_name(store: &dyn Store) {
        wait(store.save_room(room("Games", 1)));
        wait(store.save_room(room("GAMES", 1)));
        let loaded = store.load(0).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].room.name, "GAMES");
    }

    pub(crate) fn history_is_chronological_and_limited(store: &dyn Store) {
        wait(store.save_room(room("Games", 1)));
        for i in 0..50 {
            store.append(chat(
                if i % 2 == 0 { "Games" } else { "lobby" },
                "bo",
                &i.to_string(),
                i,
            ));
        }
        let last = wait(store.history("GAMES", 3, None));
        assert_eq!(texts(&last), ["44", "46", "48"]);
        assert!(last.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(wait(store.history("lobby", 100, None)).len(), 25);

        let loaded = store.load(2).unwrap();
        assert_eq!(texts(&loaded[0].recent), ["46", "48"]);
        wait(store.flush());
        assert_eq!(texts(&wait(store.history("games", 2, None))), ["46", "48"]);
    }

    pub(crate) fn every_kind_round_trips(store: &dyn Store) {
        let emote = StoredMessage {
            kind: MessageKind::Emote,
            ..chat("Games", "ann", "waves", 1)
        };
        let extra = StoredMessage {
            kind: MessageKind::ExtraRoom,
            from_room: Some("lobby".into()),
            ..chat("Games", "bo", "hi from the lobby", 2)
        };
        let private = StoredMessage {
            kind: MessageKind::Private,
            recipient: Some("Cy".into()),
            ..chat("", "ann", "psst", 3)
        };
        for message in [&emote, &extra, &private] {
            store.append(message.clone());
        }
        let games = wait(store.history("games", 10, None));
        assert_eq!(games.len(), 2);
        assert_eq!((games[0].kind, &*games[0].text), (emote.kind, "waves"));
        assert_eq!(
            StoredMessage {
                id: 0,
                ..games[1].clone()
            },
            extra
        );
        let to_cy = wait(store.history("@cy", 10, None));
        assert_eq!(to_cy.len(), 1);
        assert_eq!(
            StoredMessage {
                id: 0,
                ..to_cy[0].clone()
            },
            private
        );
        assert!(wait(store.history("", 10, None)).is_empty());
    }

    /// `history_max` must be 5 for this check.
    pub(crate) fn history_keeps_at_most_history_max(store: &dyn Store) {
        for i in 0..40 {
            store.append(chat("Games", "bo", &i.to_string(), i));
        }
        store.append(chat("lobby", "bo", "quiet", 99));
        assert_eq!(
            texts(&wait(store.history("games", 100, None))),
            ["35", "36", "37", "38", "39"]
        );
        wait(store.flush());
        assert_eq!(wait(store.history("games", 100, None)).len(), 5);
        assert_eq!(texts(&wait(store.history("games", 2, None))), ["38", "39"]);
        assert_eq!(texts(&wait(store.history("lobby", 100, None))), ["quiet"]);
    }

    /// Paging never reaches past the newest `history_max` (5 for this check),
    /// before and after a flush.
    pub(crate) fn paging_stops_at_history_max(store: &dyn Store) {
        let ids: Vec<i64> = (0..12)
            .map(|i| store.append(chat("Games", "bo", &i.to_string(), i)))
            .collect();
        for _ in 0..2 {
            assert_eq!(
                texts(&wait(store.history("games", 100, Some(ids[9])))),
                ["7", "8"]
            );
            assert!(wait(store.history("games", 100, Some(ids[7]))).is_empty());
            assert!(wait(store.history("games", 100, Some(ids[3]))).is_empty());
            wait(store.flush());
        }
    }

    pub(crate) fn append_returns_increasing_ids_that_history_returns(store: &dyn Store) {
        let mut games = Vec::new();
        let mut lobby = Vec::new();
        for i in 0..60 {
            let (room, ids) = if i % 3 == 0 {
                ("Games", &mut games)
            } else {
                ("lobby", &mut lobby)
            };
            // Whatever id the caller passes is ignored.
            let message = StoredMessage {
                id: 7,
                ..chat(room, "bo", &i.to_string(), i)
            };
            ids.push(store.append(message));
        }
        let mut all: Vec<i64> = games.iter().chain(&lobby).copied().collect();
        all.sort_unstable();
        assert!(all[0] > 0);
        assert!(games.windows(2).all(|w| w[0] < w[1]));
        assert!(lobby.windows(2).all(|w| w[0] < w[1]));
        assert!(all.windows(2).all(|w| w[0] < w[1]), "an id given twice");
        let stored = |room| -> Vec<i64> {
            wait(store.history(room, 1_000, None))
                .iter()
                .map(|m| m.id)
                .collect()
        };
        for _ in 0..2 {
            assert_eq!(stored("games"), games);
            assert_eq!(stored("lobby"), lobby);
            wait(store.flush());
        }
        let next = store.append(chat("lobby", "bo", "last", 60));
        assert!(next > all[all.len() - 1]);
        assert_eq!(wait(store.history("lobby", 1, None))[0].id, next);
    }

    /// A cluster node's copy: messages kept under the ids they carry (with
    /// gaps), and a replay of ids already kept (or lower) stores nothing twice.
    pub(crate) fn append_with_id_keeps_the_given_ids_once(store: &dyn Store) {
        for id in [3, 5, 9] {
            store.append_with_id(StoredMessage {
                id,
                ..chat("Games", "bo", &id.to_string(), id)
            });
        }
        // A replay from the start of the log, and one id from before.
        for id in [1, 3, 5, 9] {
            store.append_with_id(StoredMessage {
                id,
                ..chat("Games", "bo", "again", id)
            });
        }
        store.append_with_id(StoredMessage {
            id: 12,
            ..chat("lobby", "bo", "12", 12)
        });
        for _ in 0..2 {
            let games = wait(store.history("games", 100, None));
            let ids: Vec<i64> = games.iter().map(|m| m.id).collect();
            assert_eq!(ids, [3, 5, 9]);
            assert_eq!(texts(&games), ["3", "5", "9"]);
            assert_eq!(wait(store.history("games", 100, Some(9))).len(), 2);
            assert_eq!(wait(store.history("lobby", 100, None))[0].id, 12);
            wait(store.flush());
        }
    }

    /// Pages back through a history of 250 (with another room's messages in
    /// between) in pages of 100, before and after a flush; needs a
    /// `history_max` of at least 250.
    pub(crate) fn paging_by_id_returns_every_message_once(store: &dyn Store) {
        let mut appended = Vec::new();
        for i in 0..250 {
            appended.push(store.append(chat("Games", "bo", &i.to_string(), i)));
            if i % 4 == 0 {
                store.append(chat("lobby", "bo", "noise", i));
            }
        }
        for _ in 0..2 {
            let full = wait(store.history("games", 1_000, None));
            assert_eq!(full.len(), 250);
            assert_eq!(full.iter().map(|m| m.id).collect::<Vec<_>>(), appended);

            let mut pages = Vec::new();
            let mut before = None;
            loop {
                let page = wait(store.history("games", 100, before));
                assert!(page.windows(2).all(|w| w[0].id < w[1].id));
                let Some(oldest) = page.first() else { break };
                assert!(before.is_none_or(|before| page[page.len() - 1].id < before));
                before = Some(oldest.id);
                pages.push(page);
            }
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            assert_eq!(sizes, [100, 100, 50]);
            let paged: Vec<StoredMessage> = pages.into_iter().rev().flatten().collect();
            assert_eq!(paged, full);

            // The id of another history's message pages just as well.
            let noise = wait(store.history("lobby", 1, None))[0].id;
            let page = wait(store.history("games", 3, Some(noise)));
            assert_eq!(texts(&page), ["246", "247", "248"]);
            assert!(wait(store.history("games", 2, Some(appended[0]))).is_empty());
            wait(store.flush());
        }
    }

    pub(crate) fn server_bans_are_saved_replaced_and_deleted_by_mask(store: &dyn Store) {
        let ban = |mask: &str, reason: &str| StoredServerBan {
            mask: mask.to_owned(),
            reason: reason.to_owned(),
            by: "root".to_owned(),
            at: 5,
            until: Some(99),
        };
        assert_eq!(store.load_server_bans().unwrap(), vec![]);
        wait(store.save_server_ban(ban("Troll*", "spam")));
        wait(store.save_server_ban(ban("203.0.113.7", "flood")));
        wait(store.save_server_ban(ban("troll*", "more spam")));
        assert_eq!(
            store.load_server_bans().unwrap(),
            vec![ban("203.0.113.7", "flood"), ban("troll*", "more spam")]
        );
        wait(store.delete_server_ban("TROLL*"));
        assert_eq!(
            store.load_server_bans().unwrap(),
            vec![ban("203.0.113.7", "flood")]
        );
    }

    pub(crate) fn a_healthy_store_has_no_problem(store: &dyn Store) {
        store.append(chat("lobby", "bo", "hi", 1));
        wait(store.flush());
        assert_eq!(store.problem(), None);
    }
}
