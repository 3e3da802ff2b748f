//! Tests of the SQLite store against temporary directories: the shared
//! behavioural checks, plus what only a disk has (reopening, batching,
//! pruning on disk, the directory lock, schema versions, failing writes, the
//! size of the WAL).
//!
//! A second, raw connection to the same database shows what is committed.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tempfile::TempDir;

use super::*;
use crate::store::checks::{self, chat, room, texts, wait};
use crate::store::MessageKind;

fn config(dir: &Path) -> SqliteConfig {
    SqliteConfig::new(dir)
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(config(dir)).unwrap()
}

/// A store whose batches are committed only by size or by `flush`.
fn slow_batches(dir: &Path, batch_max: usize) -> SqliteStore {
    SqliteStore::open(SqliteConfig {
        batch_interval: Duration::from_secs(3600),
        batch_max,
        ..config(dir)
    })
    .unwrap()
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(DATABASE_FILE)).unwrap()
}

fn committed(dir: &Path, history: &str) -> usize {
    raw(dir)
        .query_row(
            "SELECT COUNT(*) FROM messages WHERE history = ?1",
            [history],
            |row| row.get::<_, i64>(0),
        )
        .unwrap() as usize
}

fn wal_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(format!("{DATABASE_FILE}-wal"))).map_or(0, |meta| meta.len())
}

/// A store that checkpoints after every commit.
fn checkpointing(dir: &Path) -> SqliteStore {
    SqliteStore::open(SqliteConfig {
        checkpoint_interval: Duration::ZERO,
        ..config(dir)
    })
    .unwrap()
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn rooms_are_saved_updated_and_deleted() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    checks::rooms_are_saved_updated_and_deleted(&store);
    let before = store.load(0).unwrap();
    drop(store);
    // Modes and bans come back from the disk as they went in.
    assert_eq!(open(dir.path()).load(0).unwrap(), before);
}

#[test]
fn a_room_is_matched_by_key_and_keeps_its_latest_name() {
    let dir = TempDir::new().unwrap();
    checks::a_room_is_matched_by_key_and_keeps_its_latest_name(&open(dir.path()));
}

#[test]
fn history_is_chronological_and_limited() {
    let dir = TempDir::new().unwrap();
    checks::history_is_chronological_and_limited(&slow_batches(dir.path(), 1_000));
}

#[test]
fn every_kind_round_trips() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    checks::every_kind_round_trips(&store);
    let before = (
        wait(store.history("games", 10, None)),
        wait(store.history("@cy", 10, None)),
    );
    drop(store);
    let store = open(dir.path());
    let after = (
        wait(store.history("games", 10, None)),
        wait(store.history("@cy", 10, None)),
    );
    assert_eq!(after, before);
}

#[test]
fn history_keeps_at_most_history_max() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        history_max: 5,
        ..config(dir.path())
    })
    .unwrap();
    checks::history_keeps_at_most_history_max(&store);
}

#[test]
fn paging_stops_at_history_max() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        history_max: 5,
        ..config(dir.path())
    })
    .unwrap();
    checks::paging_stops_at_history_max(&store);
}

#[test]
fn append_returns_increasing_ids_that_history_returns() {
    let dir = TempDir::new().unwrap();
    // Batches of 16: some messages are committed and some pending when read.
    checks::append_returns_increasing_ids_that_history_returns(&slow_batches(dir.path(), 16));
}

#[test]
fn append_with_id_keeps_the_given_ids_once_across_a_restart() {
    let dir = TempDir::new().unwrap();
    checks::append_with_id_keeps_the_given_ids_once(&slow_batches(dir.path(), 2));
    // Reopened, as a cluster node that replays the log at start: nothing twice.
    let store = open(dir.path());
    for id in [3, 5, 9, 12, 20] {
        store.append_with_id(StoredMessage {
            id,
            ..chat("Games", "bo", "replayed", id)
        });
    }
    let ids: Vec<i64> = wait(store.history("games", 100, None))
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, [3, 5, 9, 20]);
}

#[test]
fn paging_by_id_returns_every_message_once() {
    let dir = TempDir::new().unwrap();
    // Batches of 64: the pages straddle committed and pending messages.
    checks::paging_by_id_returns_every_message_once(&slow_batches(dir.path(), 64));
}

#[test]
fn server_bans_are_saved_replaced_and_deleted_by_mask() {
    let dir = TempDir::new().unwrap();
    checks::server_bans_are_saved_replaced_and_deleted_by_mask(&open(dir.path()));
}

#[test]
fn a_healthy_store_has_no_problem() {
    let dir = TempDir::new().unwrap();
    checks::a_healthy_store_has_no_problem(&open(dir.path()));
}

#[test]
fn a_room_change_is_committed_when_acknowledged_and_survives_reopening() {
    let dir = TempDir::new().unwrap();
    let store = slow_batches(dir.path(), 1_000);
    let mut games = room("Games", 7);
    games.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    wait(store.save_room(games.clone()));
    let on_disk: String = raw(dir.path())
        .query_row(
            "SELECT password_hash FROM rooms WHERE key = 'games'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(Some(on_disk), games.password_hash);

    games.topic = Some("chess tonight".into());
    wait(store.save_room(games.clone()));
    wait(store.save_room(room("Music", 8)));
    wait(store.delete_room("music"));
    store.close().unwrap();

    let loaded = open(dir.path()).load(10).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].room, games);
}

#[test]
fn messages_survive_reopening_in_order_and_ids_keep_growing() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    wait(store.save_room(room("Games", 1)));
    wait(store.save_room(room("Music", 1)));
    for i in 0..3_000 {
        let name = ["Games", "Music", "lobby"][i % 3];
        store.append(chat(name, "bo", &format!("{name} {i}"), i as i64));
    }
    wait(store.flush());
    assert_eq!(committed(dir.path(), "lobby"), 1_000);
    drop(store);

    let store = open(dir.path());
    let loaded = store.load(2).unwrap();
    let names: Vec<&str> = loaded.iter().map(|l| l.room.name.as_str()).collect();
    assert_eq!(names, ["Games", "Music"]);
    assert_eq!(texts(&loaded[0].recent), ["Games 2994", "Games 2997"]);
    assert_eq!(texts(&loaded[1].recent), ["Music 2995", "Music 2998"]);
    let lobby = wait(store.history("LOBBY", 1_000, None));
    // Every row whole and in its place: a commit writes many rows per
    // statement, and the rest one by one.
    let said: Vec<String> = (2..3_000)
        .step_by(3)
        .map(|i| format!("lobby {i}"))
        .collect();
    assert_eq!(texts(&lobby), said);
    assert!(lobby
        .windows(2)
        .all(|w| w[0].id < w[1].id && w[0].at < w[1].at));

    let last = lobby.last().unwrap().id;
    store.append(chat("lobby", "bo", "after", 9_999));
    assert!(wait(store.history("lobby", 1, None))[0].id > last);
}

#[test]
fn ids_are_not_reused_after_the_newest_messages_go_with_their_room() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    let gone = store.append(chat("Games", "bo", "gone soon", 1));
    wait(store.delete_room("games"));
    drop(store);

    let store = open(dir.path());
    assert!(store.append(chat("lobby", "bo", "hi", 2)) > gone);
}

fn ids(messages: &[StoredMessage]) -> Vec<i64> {
    messages.iter().map(|m| m.id).collect()
}

#[test]
fn dropped_messages_use_up_their_ids_also_across_a_restart() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        queue_max: 3,
        batch_interval: Duration::from_secs(3600),
        ..config(dir.path())
    })
    .unwrap();
    let lobby = |i: i64| chat("lobby", "bo", &i.to_string(), i);
    let given: Vec<i64> = (0..5).map(|i| store.append(lobby(i))).collect();
    assert_eq!(given, [1, 2, 3, 4, 5]);
    assert_eq!(store.dropped(), 2);
    assert_eq!(ids(&wait(store.history("lobby", 10, None))), [1, 2, 3]);
    // The commit of 1 to 3 remembers that 5 was handed out.
    wait(store.flush());
    assert_eq!(schema::last_id(&raw(dir.path())).unwrap(), 5);

    let given: Vec<i64> = (5..9).map(|i| store.append(lobby(i))).collect();
    assert_eq!(given, [6, 7, 8, 9]);
    assert_eq!(store.dropped(), 3);
    // The last commit, at close, remembers 9.
    store.close().unwrap();

    let store = open(dir.path());
    assert_eq!(store.append(lobby(9)), 10);
    assert_eq!(
        ids(&wait(store.history("lobby", 10, None))),
        [1, 2, 3, 6, 7, 8, 10]
    );
}

#[test]
fn ids_of_dropped_messages_are_remembered_when_no_message_was_ever_stored() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        queue_max: 0,
        ..config(dir.path())
    })
    .unwrap();
    assert_eq!(store.append(chat("lobby", "bo", "lost", 1)), 1);
    assert_eq!(store.append(chat("lobby", "bo", "lost too", 2)), 2);
    store.close().unwrap();

    let store = open(dir.path());
    assert_eq!(store.append(chat("lobby", "bo", "kept", 3)), 3);
    assert_eq!(texts(&wait(store.history("lobby", 10, None))), ["kept"]);
}

#[test]
fn history_includes_messages_not_yet_committed() {
    let dir = TempDir::new().unwrap();
    let store = slow_batches(dir.path(), 1_000);
    for i in 0..10 {
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    assert_eq!(wait(store.history("lobby", 3, None)).len(), 3);
    assert_eq!(committed(dir.path(), "lobby"), 0);
    wait(store.flush());
    assert_eq!(committed(dir.path(), "lobby"), 10);
    store.append(chat("lobby", "bo", "10", 10));
    assert_eq!(
        texts(&wait(store.history("lobby", 3, None))),
        ["8", "9", "10"]
    );
}

#[test]
fn a_batch_is_committed_after_the_batch_interval() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        batch_interval: Duration::from_millis(20),
        ..config(dir.path())
    })
    .unwrap();
    store.append(chat("lobby", "bo", "hi", 1));
    eventually("the batch window", || committed(dir.path(), "lobby") == 1);
}

#[test]
fn a_full_batch_is_committed_at_once() {
    let dir = TempDir::new().unwrap();
    let store = slow_batches(dir.path(), 10);
    for i in 0..25 {
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    eventually("two full batches", || committed(dir.path(), "lobby") == 20);
    assert_eq!(wait(store.history("lobby", 100, None)).len(), 25);
    assert_eq!(committed(dir.path(), "lobby"), 20);
}

#[test]
fn pruning_keeps_the_disk_near_history_max_per_room() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        history_max: 20,
        batch_max: 7,
        ..config(dir.path())
    })
    .unwrap();
    for i in 0..200 {
        store.append(chat("Games", "bo", &i.to_string(), i));
    }
    store.append(chat("lobby", "bo", "quiet", 0));
    wait(store.flush());
    let on_disk = committed(dir.path(), "games");
    assert!((20..=22).contains(&on_disk), "{on_disk} on disk");
    assert_eq!(committed(dir.path(), "lobby"), 1);
    let games = wait(store.history("games", 1_000, None));
    assert_eq!(games.len(), 20);
    assert_eq!(&*games[0].text, "180");
}

#[test]
fn paging_never_reaches_messages_on_disk_past_history_max() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        history_max: 20,
        batch_interval: Duration::from_secs(3600),
        ..config(dir.path())
    })
    .unwrap();
    let mut given: Vec<i64> = (0..21)
        .map(|i| store.append(chat("Games", "bo", &i.to_string(), i)))
        .collect();
    wait(store.flush());
    // Pruning waits until a history is a tenth over: the oldest is still on disk.
    assert_eq!(committed(dir.path(), "games"), 21);
    let page = |before| ids(&wait(store.history("games", 100, Some(before))));
    assert_eq!(ids(&wait(store.history("games", 100, None))), given[1..]);
    assert_eq!(page(given[2]), [given[1]]);
    assert!(page(given[1]).is_empty());

    // One more, pending: now the two oldest on disk are out of reach.
    given.push(store.append(chat("Games", "bo", "21", 21)));
    assert_eq!(page(given[3]), [given[2]]);
    assert!(page(given[2]).is_empty());
    assert_eq!(page(given[21]), given[2..21]);
    assert_eq!(
        ids(&wait(store.history("games", 3, Some(given[21])))),
        given[18..21]
    );
}

#[test]
fn a_history_over_a_lowered_history_max_is_pruned_when_next_written() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    for i in 0..100 {
        store.append(chat("Games", "bo", &i.to_string(), i));
    }
    store.append(chat("lobby", "bo", "quiet", 0));
    store.close().unwrap();

    let store = SqliteStore::open(SqliteConfig {
        history_max: 20,
        ..config(dir.path())
    })
    .unwrap();
    store.append(chat("Games", "bo", "100", 100));
    wait(store.flush());
    assert_eq!(committed(dir.path(), "games"), 20);
    assert_eq!(committed(dir.path(), "lobby"), 1);
    let games = wait(store.history("games", 1_000, None));
    assert_eq!(games.len(), 20);
    assert_eq!((&*games[0].text, &*games[19].text), ("81", "100"));
}

#[test]
fn pruning_from_marks_keeps_exactly_the_newest_also_after_a_restart() {
    let dir = TempDir::new().unwrap();
    let store = |history_max| {
        SqliteStore::open(SqliteConfig {
            history_max,
            batch_max: 7,
            ..config(dir.path())
        })
        .unwrap()
    };
    let newest = |store: &SqliteStore, count: usize| -> Vec<String> {
        let history = wait(store.history("games", 1_000, None));
        assert_eq!(history.len(), count);
        texts(&history).into_iter().map(str::to_owned).collect()
    };
    let expected = |end: usize, count: usize| -> Vec<String> {
        (end - count..end).map(|i| i.to_string()).collect()
    };
    // Marks every second message (history_max / PRUNE_MARKS), so most
    // prunes walk from a mark, not from the newest.
    let games = store(250);
    for i in 0..1_000 {
        games.append(chat("Games", "bo", &i.to_string(), i as i64));
        if i % 3 == 0 {
            games.append(chat("lobby", "bo", "noise", i as i64));
        }
    }
    wait(games.flush());
    let on_disk = committed(dir.path(), "games");
    assert!((250..=275).contains(&on_disk), "{on_disk} on disk");
    assert_eq!(newest(&games, 250), expected(1_000, 250));
    // Every stored message is on the chain from the newest: nothing pruned
    // is left behind.
    let chain = prevs(dir.path(), "games");
    assert!(chain[1..]
        .iter()
        .zip(&chain)
        .all(|((_, prev), (id, _))| *prev == Some(*id)));
    drop(games);

    // Reopened with a lower history_max: the marks are made again from the
    // stored messages, at the new spacing.
    let games = store(100);
    for i in 1_000..1_200 {
        games.append(chat("Games", "bo", &i.to_string(), i as i64));
    }
    wait(games.flush());
    let on_disk = committed(dir.path(), "games");
    assert!((100..=110).contains(&on_disk), "{on_disk} on disk");
    assert_eq!(newest(&games, 100), expected(1_200, 100));
    let chain = prevs(dir.path(), "games");
    assert!(chain[1..]
        .iter()
        .zip(&chain)
        .all(|((_, prev), (id, _))| *prev == Some(*id)));
    // The other history, not written since, is pruned when it next is; it
    // reads as history_max meanwhile.
    assert!(committed(dir.path(), "lobby") > 100);
    assert_eq!(wait(games.history("lobby", 1_000, None)).len(), 100);
}

/// A `before` that is no message of the history (another history's id) is
/// found by walking its chain from the oldest mark above it, or from the
/// newest, also after a restart (marks made again at open), and pages never
/// reach past history_max.
#[test]
fn a_before_from_another_history_pages_from_its_place() {
    for history_max in [1_000, 100] {
        let dir = TempDir::new().unwrap();
        let config = || SqliteConfig {
            history_max,
            batch_max: 64,
            ..config(dir.path())
        };
        let store = SqliteStore::open(config()).unwrap();
        let mut games = Vec::new();
        let mut lobby = Vec::new();
        for i in 0..600 {
            games.push(store.append(chat("Games", "bo", &i.to_string(), i)));
            if i % 3 == 0 {
                lobby.push(store.append(chat("lobby", "bo", "noise", i)));
            }
        }
        wait(store.flush());
        let readable = &games[games.len().saturating_sub(history_max)..];
        let check = |store: &SqliteStore, reopened: bool| {
            for &before in lobby.iter().step_by(7) {
                let below: Vec<i64> = readable.iter().copied().filter(|&id| id < before).collect();
                assert_eq!(
                    ids(&wait(store.history("games", 5, Some(before)))),
                    below[below.len().saturating_sub(5)..],
                    "history_max {history_max}, before {before}, reopened {reopened}"
                );
            }
        };
        check(&store, false);
        drop(store);
        check(&SqliteStore::open(config()).unwrap(), true);
    }
}

#[test]
fn a_deleted_room_made_again_starts_a_new_history() {
    let dir = TempDir::new().unwrap();
    let store = slow_batches(dir.path(), 4);
    wait(store.save_room(room("Games", 1)));
    for i in 0..10 {
        store.append(chat("Games", "bo", &format!("old {i}"), i));
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    eventually("full batches of 4", || committed(dir.path(), "games") == 10);
    // And two pending, which the deletion's commit inserts and deletes.
    store.append(chat("Games", "bo", "old 10", 10));
    store.append(chat("Games", "bo", "old 11", 11));
    wait(store.delete_room("GAMES"));
    assert_eq!(committed(dir.path(), "games"), 0);
    assert_eq!(committed(dir.path(), "lobby"), 10);
    assert!(wait(store.history("games", 100, None)).is_empty());

    wait(store.save_room(room("games", 2)));
    let first = store.append(chat("games", "ann", "new 0", 20));
    store.append(chat("games", "ann", "new 1", 21));
    assert_eq!(
        texts(&wait(store.history("games", 100, None))),
        ["new 0", "new 1"]
    );
    wait(store.flush());
    assert_eq!(
        prevs(dir.path(), "games"),
        [(first, None), (first + 1, Some(first))]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        texts(&wait(store.history("games", 100, None))),
        ["new 0", "new 1"]
    );
    assert_eq!(wait(store.history("lobby", 100, None)).len(), 10);
}

/// The store's connection does not check CHECK constraints (see
/// `schema::open`); the schema still has them for every other connection.
#[test]
fn the_schema_still_refuses_an_unknown_kind_to_other_connections() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    store.append(StoredMessage {
        kind: MessageKind::Emote,
        ..chat("lobby", "bo", "waves", 1)
    });
    wait(store.flush());
    let err = raw(dir.path())
        .execute(
            "INSERT INTO messages (history, room, sender, text, kind, at)
             VALUES ('lobby', 'lobby', 'bo', 'hi', 'shout', 2)",
            [],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation),
        "{err}"
    );
    assert_eq!(
        wait(store.history("lobby", 10, None))[0].kind,
        MessageKind::Emote
    );
}

/// Names the data directory for [`killed_child`].
const CRASH_DIR: &str = "BANTER_STORE_CRASH_DIR";

/// The process that `a_killed_server_keeps_all_acknowledged_work` kills: it
/// saves a room, commits 100 messages, queues 50 more it never commits, says
/// "ready" and waits to be killed.
#[test]
#[ignore = "the child process of a_killed_server_keeps_all_acknowledged_work"]
fn killed_child() {
    let dir = std::env::var_os(CRASH_DIR).expect("run by its parent test");
    let store = slow_batches(Path::new(&dir), 1_000);
    wait(store.save_room(room("Games", 1)));
    for i in 0..150 {
        if i == 100 {
            wait(store.flush());
        }
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_killed_server_keeps_all_acknowledged_work() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = TempDir::new().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "store::sqlite::tests::killed_child"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // libtest prints the test's name before its output, on the same line.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ready = stdout
            .lines()
            .map_while(Result::ok)
            .any(|line| line.ends_with("ready"));
        let _ = tx.send(ready);
    });
    let ready = rx.recv_timeout(Duration::from_secs(60)).unwrap_or(false);
    child.kill().unwrap(); // SIGKILL: no destructor, no final flush
    child.wait().unwrap();
    assert!(ready, "the child never got ready");

    let integrity: String = raw(dir.path())
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let store = open(dir.path());
    assert_eq!(store.load(0).unwrap()[0].room.name, "Games");
    let lobby = wait(store.history("lobby", 1_000, None));
    assert_eq!(texts(&lobby).last(), Some(&"99"));
    assert_eq!(lobby.len(), 100);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = TempDir::new().unwrap();
    let first = open(dir.path());
    let err = SqliteStore::open(config(dir.path())).err().unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("another banterd is using the data directory"));
    drop(first);
    open(dir.path());
}

#[test]
fn a_fresh_database_is_at_the_current_version_in_wal_mode() {
    let dir = TempDir::new().unwrap();
    let _store = open(dir.path());
    let conn = raw(dir.path());
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(
        (version, mode.as_str()),
        (schema::supported_version(), "wal")
    );
}

#[test]
fn a_version_1_database_gains_the_server_bans_table_and_keeps_its_rooms() {
    let dir = TempDir::new().unwrap();
    {
        let conn = raw(dir.path());
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "INSERT INTO rooms (key, name, created_at) VALUES ('games', 'Games', 7);
             INSERT INTO messages (id, history, room, sender, text, kind, at)
                 VALUES (5, 'games', 'Games', 'ann', 'hi', 'emote', 8);
             UPDATE sqlite_sequence SET seq = 9 WHERE name = 'messages';",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let store = open(dir.path());
    let loaded = store.load(5).unwrap();
    assert_eq!(loaded[0].room.name, "Games");
    assert_eq!(loaded[0].recent[0].kind, MessageKind::Emote);
    // Ids handed out before (up to 9) are not handed out again; notices are kept.
    let mut notice = checks::chat("Games", "bob", "psst", 10);
    notice.kind = MessageKind::Notice;
    assert_eq!(store.append(notice), 10);
    checks::wait(store.flush());
    let history = checks::wait(store.history("games", 5, None));
    assert_eq!(history[1].kind, MessageKind::Notice);
    checks::server_bans_are_saved_replaced_and_deleted_by_mask(&store);
    drop(store);
    // And the CHECK of every other connection knows notices.
    raw(dir.path())
        .execute(
            "INSERT INTO messages (history, room, sender, text, kind, at)
             VALUES ('games', 'Games', 'cy', 'x', 'notice', 11)",
            [],
        )
        .unwrap();
}

#[test]
fn a_database_newer_than_the_code_is_refused_untouched() {
    let dir = TempDir::new().unwrap();
    raw(dir.path())
        .pragma_update(None, "user_version", 99)
        .unwrap();
    for _ in 0..2 {
        // Twice: the refusal must also release the directory lock.
        let err = SqliteStore::open(config(dir.path())).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::TooNew {
                    found: 99,
                    supported
                } if supported == schema::supported_version()
            ),
            "{err:?}"
        );
    }
    let conn = raw(dir.path());
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);
}

/// Version 1 as shipped, written out by hand: `schema::V1` may not change, and
/// this test fails if it does in a way that breaks existing databases.
#[test]
fn a_version_1_database_written_by_hand_opens_and_loads() {
    let dir = TempDir::new().unwrap();
    raw(dir.path())
        .execute_batch(
            "CREATE TABLE rooms (key TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                 created_at INTEGER NOT NULL, password_hash TEXT, topic TEXT);
             CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
                 history TEXT NOT NULL, room TEXT NOT NULL, sender TEXT NOT NULL,
                 text TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN
                     ('chat', 'emote', 'extra_room', 'private')),
                 at INTEGER NOT NULL, from_room TEXT, recipient TEXT);
             CREATE INDEX messages_by_history ON messages (history, id);
             INSERT INTO rooms VALUES ('games', 'Games', 5, NULL, 'chess');
             INSERT INTO messages VALUES
                 (40, 'games', 'Games', 'ann', 'hello', 'chat', 10, NULL, NULL),
                 (41, 'games', 'Games', 'bo', 'waves', 'emote', 11, NULL, NULL),
                 (42, 'games', 'Games', 'cy', 'hi all', 'extra_room', 12, 'lobby', NULL),
                 (43, '@ann', '', 'bo', 'psst', 'private', 13, NULL, 'Ann');
             PRAGMA user_version = 1;",
        )
        .unwrap();

    let store = open(dir.path());
    let loaded = store.load(10).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].room.topic.as_deref(), Some("chess"));
    // Rooms from before modes behave as they did: +nt, nobody banned.
    assert_eq!(loaded[0].room.modes.letters(), "nt");
    assert!(loaded[0].room.bans.is_empty());
    assert_eq!(texts(&loaded[0].recent), ["hello", "waves", "hi all"]);
    assert_eq!(loaded[0].recent[2].kind, MessageKind::ExtraRoom);
    assert_eq!(loaded[0].recent[2].from_room.as_deref(), Some("lobby"));
    let private = wait(store.history("@ANN", 10, None));
    assert_eq!(private[0].recipient.as_deref(), Some("Ann"));
    assert_eq!(store.append(chat("games", "ann", "new", 14)), 44);
    assert_eq!(wait(store.history("games", 1, None))[0].id, 44);
}

/// Every stored message of `history`, oldest first, and its `prev`, read
/// with SQL (so also from a database no store has opened).
fn rows(dir: &Path, history: &str) -> Vec<(StoredMessage, Option<i64>)> {
    let conn = raw(dir);
    let has_prev: bool = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'prev'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let prev = if has_prev { "prev" } else { "NULL" };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT id, room, sender, text, kind, at, from_room, recipient, {prev}
             FROM messages WHERE history = ?1 ORDER BY id"
        ))
        .unwrap();
    let rows = stmt
        .query_map([history], |row| {
            Ok((schema::message_from(row)?, row.get(8)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn prevs(dir: &Path, history: &str) -> Vec<(i64, Option<i64>)> {
    rows(dir, history)
        .into_iter()
        .map(|(message, prev)| (message.id, prev))
        .collect()
}

/// Version 4 chains each history through `prev` and drops the
/// `(history, id)` index: a database at version 3 (ids with gaps, histories
/// interleaved, a private history, the sequence above every stored id) reads
/// the same history afterwards, pages the same, and goes on from there.
#[test]
fn a_version_3_database_is_chained_and_reads_the_same_history() {
    let dir = TempDir::new().unwrap();
    {
        let conn = raw(dir.path());
        for migration in &schema::MIGRATIONS[..3] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO rooms (key, name, created_at) VALUES
                 ('games', 'Games', 1), ('lobby', 'lobby', 1);
             INSERT INTO messages (id, history, room, sender, text, kind, at, from_room, recipient)
             VALUES
                 (3, 'games', 'Games', 'ann', 'first', 'chat', 10, NULL, NULL),
                 (4, 'lobby', 'lobby', 'bo', 'hello', 'chat', 11, NULL, NULL),
                 (5, 'games', 'Games', 'bo', 'waves', 'emote', 12, NULL, NULL),
                 (6, 'lobby', 'lobby', 'cy', 'hi', 'notice', 13, NULL, NULL),
                 (7, '@ann', '', 'bo', 'psst', 'private', 14, NULL, 'Ann'),
                 (9, 'games', 'Games', 'cy', 'from the lobby', 'extra_room', 15, 'lobby', NULL),
                 (10, 'lobby', 'lobby', 'ann', 'bye', 'chat', 16, NULL, NULL),
                 (12, '@ann', '', 'cy', 'again', 'private', 17, NULL, 'Ann'),
                 (13, 'games', 'Games', 'ann', 'last', 'chat', 18, NULL, NULL);
             UPDATE sqlite_sequence SET seq = 20 WHERE name = 'messages';",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
    }
    let keys = ["games", "lobby", "@ann"];
    let before: Vec<Vec<StoredMessage>> = keys
        .iter()
        .map(|key| rows(dir.path(), key).into_iter().map(|(m, _)| m).collect())
        .collect();

    let store = open(dir.path());
    for (key, messages) in keys.iter().zip(&before) {
        assert_eq!(&wait(store.history(key, 100, None)), messages, "{key}");
    }
    assert_eq!(
        prevs(dir.path(), "games"),
        [(3, None), (5, Some(3)), (9, Some(5)), (13, Some(9))]
    );
    assert_eq!(
        prevs(dir.path(), "lobby"),
        [(4, None), (6, Some(4)), (10, Some(6))]
    );
    assert_eq!(prevs(dir.path(), "@ann"), [(7, None), (12, Some(7))]);
    let conn = raw(dir.path());
    let (version, index): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_by_history')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, index), (4, 0));
    assert_eq!(schema::last_id(&conn).unwrap(), 20);

    // Pages: from a message of the history, from another history's, from a gap.
    let page = |before| ids(&wait(store.history("games", 2, Some(before))));
    assert_eq!(page(13), [5, 9]);
    assert_eq!(page(5), [3]);
    assert_eq!(page(10), [5, 9]);
    assert_eq!(page(8), [3, 5]);
    assert!(page(3).is_empty());
    assert_eq!(texts(&store.load(1).unwrap()[1].recent), ["bye"]);

    // New messages chain onto the migrated ones; ids go on above the sequence.
    assert_eq!(store.append(chat("Games", "bo", "new", 19)), 21);
    wait(store.flush());
    assert_eq!(prevs(dir.path(), "games").last(), Some(&(21, Some(13))));
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        ids(&wait(store.history("games", 100, None))),
        [3, 5, 9, 13, 21]
    );
}

#[test]
fn a_data_directory_that_cannot_be_created_is_a_clear_error() {
    // Root ignores permission bits, so the unusable path is one under a regular file.
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let err = SqliteStore::open(config(&file.join("data"))).err().unwrap();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot create the data directory"),
        "{err}"
    );
}

#[test]
fn a_database_path_that_cannot_be_opened_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join(DATABASE_FILE)).unwrap();
    let err = SqliteStore::open(config(dir.path())).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("cannot open the database"), "{message}");
    assert!(message.contains(DATABASE_FILE), "{message}");
}

#[test]
fn failing_writes_are_retried_reported_and_bounded() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        batch_interval: Duration::from_millis(10),
        queue_max: 50,
        ..config(dir.path())
    })
    .unwrap();
    // Another connection holding the write lock makes every commit fail as
    // SQLITE_BUSY once the busy timeout runs out: a locked database.
    let blocker = raw(dir.path());
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    for i in 0..10 {
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    assert!(store.flush().blocking_recv().unwrap().is_err());
    let problem = store.problem().expect("a problem is reported");
    assert!(problem.contains("cannot write to disk"), "{problem}");
    assert!(store
        .save_room(room("Games", 1))
        .blocking_recv()
        .unwrap()
        .is_err());

    for i in 10..70 {
        store.append(chat("lobby", "bo", &i.to_string(), i));
    }
    assert_eq!(store.dropped(), 20);
    assert!(store
        .problem()
        .unwrap()
        .contains("20 messages could not be saved"));
    let queued = wait(store.history("lobby", 100, None));
    assert_eq!(queued.len(), 50);
    assert_eq!(&*queued[49].text, "49");

    blocker.execute_batch("COMMIT").unwrap();
    eventually("the retry", || store.problem().is_none());
    assert_eq!(committed(dir.path(), "lobby"), 50);
    wait(store.flush());
    store.append(chat("lobby", "bo", "back", 70));
    wait(store.flush());
    assert_eq!(committed(dir.path(), "lobby"), 51);
    assert!(store.load(0).unwrap().is_empty());
}

#[test]
fn the_wal_stays_small_while_messages_are_committed() {
    let dir = TempDir::new().unwrap();
    let store = checkpointing(dir.path());
    let mut largest = 0;
    for i in 0..100 {
        store.append(chat("lobby", "bo", &format!("message {i}"), i));
        wait(store.flush());
        largest = largest.max(wal_size(dir.path()));
    }
    // Never checkpointed, each commit would add a few 4 KiB pages: over a megabyte.
    assert!(largest <= 64 * 1024, "the WAL grew to {largest} bytes");
    assert_eq!(committed(dir.path(), "lobby"), 100);
}

#[test]
fn the_wal_file_is_cut_back_after_a_burst() {
    let dir = TempDir::new().unwrap();
    let store = checkpointing(dir.path());
    let long = "x".repeat(2_000);
    for i in 0..1_000 {
        store.append(chat("lobby", "bo", &long, i));
    }
    wait(store.flush());
    let limit = schema::JOURNAL_SIZE_LIMIT as u64;
    let after_burst = wal_size(dir.path());
    assert!(
        after_burst > limit,
        "the burst wrote only {after_burst} bytes"
    );
    // The next commit starts the checkpointed WAL over and cuts the file back.
    store.append(chat("lobby", "bo", "quiet again", 1_000));
    wait(store.flush());
    let after = wal_size(dir.path());
    assert!(after <= limit, "{after_burst} bytes, then {after}");
}

#[test]
fn the_wal_is_emptied_when_writing_recovers() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(SqliteConfig {
        batch_interval: Duration::from_millis(10),
        ..config(dir.path())
    })
    .unwrap();
    store.append(chat("lobby", "bo", "before", 0));
    wait(store.flush());
    assert!(wal_size(dir.path()) > 0);
    let blocker = raw(dir.path());
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    store.append(chat("lobby", "bo", "waiting", 1));
    assert!(store.flush().blocking_recv().unwrap().is_err());
    blocker.execute_batch("COMMIT").unwrap();
    eventually("the retry", || store.problem().is_none());
    // Runs after the retry's commit and its checkpoint.
    wait(store.flush());
    assert_eq!(wal_size(dir.path()), 0);
    assert_eq!(committed(dir.path(), "lobby"), 2);
}

#[test]
fn a_batch_of_interleaved_rooms_comes_back_per_room_in_id_order() {
    // One batch of rooms taking turns: each room's history and ids are as
    // appended, and a reopened store continues above them all.
    let dir = TempDir::new().unwrap();
    let store = slow_batches(dir.path(), 1_000);
    let mut ids = Vec::new();
    for i in 0..30 {
        let room = ["zeta", "alpha", "mid"][i % 3];
        ids.push((
            room,
            store.append(chat(room, "ann", &format!("m{i}"), i as i64)),
        ));
    }
    wait(store.flush());
    for room in ["zeta", "alpha", "mid"] {
        let history = wait(store.history(room, 100, None));
        let expected: Vec<i64> = ids
            .iter()
            .filter(|(r, _)| *r == room)
            .map(|(_, id)| *id)
            .collect();
        let got: Vec<i64> = history.iter().map(|message| message.id).collect();
        assert_eq!(got, expected, "{room}");
        assert_eq!(committed(dir.path(), room), 10);
    }
    let highest = ids.iter().map(|(_, id)| *id).max().unwrap();
    drop(store);
    let store = open(dir.path());
    assert!(store.append(chat("alpha", "ann", "after", 99)) > highest);
}
