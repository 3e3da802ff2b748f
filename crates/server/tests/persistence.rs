//! Tests of the real `banterd` on a data directory: restarts keep rooms,
//! passwords, topics and history; `kill -9` loses at most the last batch of
//! messages and never corrupts the database; a second server is refused; a
//! version-1 database opens.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::banterd::Banterd;
use support::Client;

fn data_dir_args(dir: &Path) -> Vec<String> {
    vec!["--data-dir".into(), dir.to_str().unwrap().into()]
}

fn start(dir: &Path) -> Banterd {
    start_with(dir, &[])
}

fn start_with(dir: &Path, extra: &[&str]) -> Banterd {
    let args = data_dir_args(dir);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    Banterd::start(&args, &[])
}

/// `[HH:MM] ` or `[YYYY-MM-DD HH:MM] ` taken off a history line.
fn without_time(line: &str) -> &str {
    let end = line.find("] ").expect("a timed history line");
    &line[end + 2..]
}

/// Waits until the database holds exactly `texts` in the lobby: the store
/// commits in batches, on its own thread, some time after the chat.
async fn wait_until_stored(dir: &Path, texts: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored = support::store::lobby_texts(dir);
        if stored == texts {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stored {} messages, expected {}: {stored:?}",
            stored.len(),
            texts.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stop(mut server: Banterd, clients: Vec<Client>) {
    server.signal("TERM");
    for mut client in clients {
        client.expect_closed().await;
    }
    assert!(server.wait_exit(Duration::from_secs(5)).success());
}

#[tokio::test]
async fn rooms_passwords_topics_and_history_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    assert!(dir.path().join("banter.db").exists());
    assert!(server
        .log
        .lock()
        .unwrap()
        .contains(dir.path().to_str().unwrap()));
    let mut alice = server.login("alice").await;
    alice.send(":n Games").await;
    alice.expect("created room Games; you are in it").await;
    alice.send(":topic chess at eight").await;
    alice
        .expect("* alice set the topic of Games: chess at eight")
        .await;
    alice.send(":passwd").await;
    alice
        .answer_hidden("new password for Games", "rook takes")
        .await;
    alice
        .answer_hidden("the new password for Games again", "rook takes")
        .await;
    alice.expect("* alice locked Games with a password").await;
    for n in 1..=3 {
        alice.send(&format!("move {n}")).await;
    }
    alice.send(":me resigns").await;
    alice.expect("[Games] * alice resigns").await;
    alice.send(":n open").await;
    alice.expect("created room open; you are in it").await;
    alice.send("anyone?").await;
    alice.send(":who").await;
    alice.expect("in open (1): alice (host)").await;
    stop(server, vec![alice]).await;

    let server = start(dir.path());
    let mut bob = server.login("bob").await;
    bob.send(":rooms").await;
    bob.expect("rooms (3):").await;
    bob.expect("  Games (0) [locked]").await;
    bob.expect("  lobby (1)  <- you are here").await;
    bob.expect("  open (0)").await;
    bob.send(":cr games").await;
    bob.answer_hidden("password for Games", "wrong").await;
    bob.expect("error: wrong password for Games; you are still in lobby")
        .await;
    bob.send(":cr games").await;
    bob.answer_hidden("password for Games", "rook takes").await;
    bob.expect("you are now in Games with nobody else").await;
    bob.expect("you are the host of Games").await;
    bob.expect("topic of Games: chess at eight").await;
    bob.expect("-- last 4 messages in Games (UTC) --").await;
    for want in [
        "[Games] alice: move 1",
        "[Games] alice: move 2",
        "[Games] alice: move 3",
        "[Games] * alice resigns",
    ] {
        assert_eq!(without_time(&bob.line().await), want);
    }
    bob.expect("-- end of history; new messages follow --")
        .await;
    bob.send(":who").await;
    bob.expect("in Games (1): bob (host)").await;
    bob.send(":cr open").await;
    bob.expect("you are now in open with nobody else").await;
    bob.expect("you are the host of open").await;
    bob.expect("-- last 1 message in open (UTC) --").await;
    assert_eq!(without_time(&bob.line().await), "[open] alice: anyone?");
    stop(server, vec![bob]).await;
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = start(dir.path());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_banterd"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another banterd"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[tokio::test]
async fn a_kill_9_loses_at_most_the_last_batch_and_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &["--rate-limit", "0"]);
    let mut host = server.login("host").await;
    host.send(":n vault").await;
    host.expect("created room vault; you are in it").await;
    host.send(":passwd").await;
    host.answer_hidden("new password for vault", "pw").await;
    host.answer_hidden("the new password for vault again", "pw")
        .await;
    host.expect("* host locked vault with a password").await;
    let mut watcher = server.login("watcher").await;
    let sender = server.login("sender").await;
    watcher.expect("* sender joined lobby").await;

    // Steady load: 400 messages a second, seen arriving by the watcher.
    let sending = tokio::spawn(async move {
        let mut sender = sender;
        for seq in 0..100_000u32 {
            sender.send(&format!("seq {seq}")).await;
            tokio::time::sleep(Duration::from_micros(2500)).await;
        }
    });
    // The kill comes after a set number of deliveries (about 1.5 s at that
    // pace), not after a set time: on a loaded machine the sender's pace
    // drops, and a timed window once saw 297 where it needed more than 300.
    let mut delivered: Vec<(u32, Instant)> = Vec::new();
    while delivered.len() < 450 {
        let line = watcher.line().await;
        let seq = line
            .strip_prefix("[lobby] sender: seq ")
            .unwrap()
            .parse()
            .unwrap();
        delivered.push((seq, Instant::now()));
    }
    let mut server = server;
    server.child.kill().unwrap();
    let killed_at = Instant::now();
    server.child.wait().unwrap();
    sending.abort();
    // Whatever reached the watcher before the kill was delivered by the server.
    while let Some(line) = watcher.try_line(Duration::from_secs(2)).await {
        if let Some(seq) = line.strip_prefix("[lobby] sender: seq ") {
            delivered.push((seq.parse().unwrap(), killed_at));
        }
    }

    let db = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let locked: Option<String> = db
        .query_row(
            "SELECT password_hash FROM rooms WHERE key = 'vault'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(locked.is_some_and(|hash| hash.starts_with("$argon2id$")));
    drop(db);
    let stored: Vec<u32> = support::store::lobby_texts(dir.path())
        .iter()
        .map(|text| text.strip_prefix("seq ").unwrap().parse().unwrap())
        .collect();

    let delivered_seqs: Vec<u32> = delivered.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        stored[..],
        delivered_seqs[..stored.len()],
        "stored history has holes"
    );
    let lost = &delivered[stored.len()..];
    let window = lost.first().map_or(Duration::ZERO, |(_, at)| {
        killed_at.saturating_duration_since(*at)
    });
    eprintln!(
        "kill -9: {} delivered, {} stored, {} lost, delivered over the last {:?} before the kill",
        delivered.len(),
        stored.len(),
        lost.len(),
        window
    );
    // The batch window is 50 ms; allow for the commit's own fsync and a loaded machine.
    assert!(
        window <= Duration::from_millis(400),
        "lost {} messages over {window:?}",
        lost.len()
    );

    // The restarted server has the room and its password.
    let server = start(dir.path());
    let mut back = server.login("back").await;
    back.expect("-- last 20 messages in lobby (UTC) --").await;
    while back.line().await != "-- end of history; new messages follow --" {}
    back.send(":cr vault").await;
    back.answer_hidden("password for vault", "pw").await;
    back.expect("you are now in vault with nobody else").await;
    stop(server, vec![back]).await;
}

#[tokio::test]
async fn a_version_1_database_opens_with_the_current_code() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The schema as release 1 wrote it, by hand, with one room and one message.
        let db = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE rooms (key TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                 created_at INTEGER NOT NULL, password_hash TEXT, topic TEXT);
             CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, history TEXT NOT NULL,
                 room TEXT NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL,
                 kind TEXT NOT NULL CHECK (kind IN ('chat', 'emote', 'extra_room', 'private')),
                 at INTEGER NOT NULL, from_room TEXT, recipient TEXT);
             CREATE INDEX messages_by_history ON messages (history, id);
             INSERT INTO rooms VALUES ('attic', 'Attic', 1700000000000, NULL, 'old things');
             INSERT INTO messages (history, room, sender, text, kind, at)
                 VALUES ('attic', 'Attic', 'zed', 'dusty', 'chat', 1700000000000);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let server = start(dir.path());
    let mut visitor = server.login("visitor").await;
    visitor.send(":cr attic").await;
    visitor
        .expect("you are now in Attic with nobody else")
        .await;
    visitor.expect("you are the host of Attic").await;
    visitor.expect("topic of Attic: old things").await;
    visitor.expect("-- last 1 message in Attic (UTC) --").await;
    visitor
        .expect("[2023-11-14 22:13] [Attic] zed: dusty")
        .await;
    visitor
        .expect("-- end of history; new messages follow --")
        .await;
    stop(server, vec![visitor]).await;
}

#[tokio::test]
async fn users_are_told_when_history_cannot_be_saved_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut alice = server.login("alice").await;
    // Another program holds the database's write lock: every commit fails.
    let blocker = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    alice.send("first").await;
    let mut sent = vec!["first".to_owned()];
    let deadline = Instant::now() + Duration::from_secs(5);
    let warning = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        alice.send("still here").await;
        sent.push("still here".to_owned());
        // The store notices it cannot write only after its busy timeout:
        // keep talking until the warning comes, at most until the deadline.
        if let Some(line) = alice.line_if_any(Duration::from_millis(200)).await {
            break line;
        }
        assert!(Instant::now() < deadline, "nobody was told");
    };
    assert!(
        warning.starts_with(
            "error: history is not being saved right now: the message store cannot write to disk"
        ),
        "{warning}"
    );
    assert!(server.log.lock().unwrap().contains("ERROR"));
    // Told once, not on every line.
    alice.send("and again").await;
    sent.push("and again".to_owned());
    alice.expect_silence(Duration::from_millis(300)).await;
    // The disk comes back: the retry saves everything that waited.
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    wait_until_stored(dir.path(), &sent).await;
    alice.send(":history 200").await;
    let header = alice.line().await;
    let count: usize = header
        .strip_prefix("-- last ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{header}"));
    let mut texts = Vec::new();
    for _ in 0..count {
        texts.push(without_time(&alice.line().await).to_owned());
    }
    alice.expect("-- end of history --").await;
    assert_eq!(
        texts.first().map(String::as_str),
        Some("[lobby] alice: first")
    );
    assert_eq!(
        texts.last().map(String::as_str),
        Some("[lobby] alice: and again")
    );
    assert!(texts[1..texts.len() - 1]
        .iter()
        .all(|t| t == "[lobby] alice: still here"));
    stop(server, vec![alice]).await;
}

#[tokio::test]
async fn banterd_backup_copies_a_serving_database_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut alice = server.login("alice").await;
    for n in 0..20 {
        alice.send(&format!("message {n}")).await;
    }
    let expected: Vec<String> = (0..20).map(|n| format!("message {n}")).collect();
    wait_until_stored(dir.path(), &expected).await;

    let copy = dir.path().join("backup.db");
    // As the README writes it: the subcommand first, then --data-dir.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_banterd"))
        .arg("backup")
        .arg(&copy)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("backed up "), "{stdout}");

    let conn = rusqlite::Connection::open(&copy).unwrap();
    let texts: Vec<String> = conn
        .prepare("SELECT text FROM messages WHERE history = 'lobby' ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(texts, expected);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    // A second backup to the same file is refused rather than overwriting it.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_banterd"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    // One line, each cause said once.
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "banterd: error: {} exists already; choose a new file",
            copy.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("exists").count(), 2, "{stderr}");
    stop(server, vec![alice]).await;
}

#[tokio::test]
async fn modes_and_bans_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut alice = server.login("alice").await;
    alice.send(":n Games").await;
    alice.expect("created room Games; you are in it").await;
    alice.send(":mode +ms-t").await;
    alice.expect_prefix("* alice set Games +ms-t (").await;
    alice.send(":ban troll*").await;
    alice.expect("* alice banned troll* from Games").await;
    stop(server, vec![alice]).await;

    let server = start(dir.path());
    let mut bob = server.login("bob").await;
    bob.send(":rooms").await;
    bob.expect("rooms (1):").await;
    bob.expect("  lobby (1)  <- you are here").await;
    bob.send(":cr games").await;
    bob.expect("you are now in Games with nobody else").await;
    bob.expect("you are the host of Games").await;
    bob.send(":mode").await;
    bob.expect_prefix("modes of Games: +mns (").await;
    bob.send(":bans").await;
    bob.expect("bans of Games (1):").await;
    bob.expect_prefix("  troll* (by alice, ").await;
    let mut troll = server.login("TrollFace").await;
    troll.send(":cr games").await;
    troll.expect("error: you are banned from Games").await;
    stop(server, vec![bob, troll]).await;
}
