//! Wire tests of `:close` at its edges: the store refusing the delete, and a
//! member too busy to read its requests when the room goes.

mod support;

use std::time::Duration;

use support::banterd::Banterd;
use support::{Client, TestServer};

/// The next line but the "history is not being saved" warning, which comes
/// once while the database is locked.
async fn past_store_warning(client: &mut Client) -> String {
    loop {
        let line = client.line().await;
        if !line.starts_with("error: history is not being saved right now") {
            return line;
        }
    }
}

#[tokio::test]
async fn a_close_the_store_cannot_save_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--data-dir", dir.path().to_str().unwrap()];
    let mut server = Banterd::start(&args, &[]);
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    alice.send(":topic chess at eight").await;
    alice
        .expect("* alice set the topic of games: chess at eight")
        .await;
    let mut bob = server.login("bob").await;
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    bob.expect("topic of games: chess at eight").await;
    alice.expect("* bob joined games").await;

    // Another program holds the database's write lock: the delete fails.
    let blocker = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    alice.send(":close").await;
    let refusal = alice.line().await;
    assert!(
        refusal.starts_with("error: games could not be closed: ")
            && refusal.ends_with("; nothing changed"),
        "{refusal}"
    );
    bob.expect_silence(Duration::from_millis(300)).await;
    // Both are still in games, with its host.
    bob.send("still here?").await;
    assert_eq!(
        past_store_warning(&mut alice).await,
        "[games] bob: still here?"
    );
    alice.send(":who").await;
    assert_eq!(
        past_store_warning(&mut alice).await,
        "in games (2): alice (host), bob"
    );
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);

    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    let server = Banterd::start(&args, &[]);
    let mut carol = server.login("carol").await;
    carol.send(":cr games").await;
    carol.expect("you are now in games with nobody else").await;
    carol.expect("you are the host of games").await;
    carol.expect("topic of games: chess at eight").await;
    carol.expect_prefix("-- ").await;
}

#[tokio::test]
async fn a_member_with_a_full_mailbox_still_leaves_a_closed_room() {
    // One line a second past a burst of 20: the member's session spends its
    // time waiting on the flood limit while the requests pile up.
    let server = TestServer::start_with(|c| {
        c.rate_limit = 1;
        c.rate_burst = 20;
        c.flood_disconnect = 0;
    })
    .await;
    let mut vault_host = server.login("vh").await;
    vault_host.send(":n vault").await;
    vault_host.expect("created room vault; you are in it").await;
    vault_host.lock_room("vh", "vault", "pw").await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let mut busy = server.login("busy").await;
    busy.send(":cr games").await;
    busy.expect("you are now in games with 1 other").await;
    alice.expect("* busy joined games").await;
    let mut lobby = server.login("lobby_user").await;

    let mut lines = String::new();
    for seq in 0..24 {
        lines.push_str(&format!("line {seq}\n"));
    }
    busy.send_raw(lines.as_bytes()).await;
    // The burst arrives; then busy's session waits a second per line.
    let mut seen = 0;
    while seen < 18 {
        let line = alice.line().await;
        if line.starts_with("[games] busy: line ") {
            seen += 1;
        }
    }
    // Fill busy's mailbox (8 requests) while its session sleeps...
    for _ in 0..8 {
        vault_host.send(":invite busy").await;
        vault_host
            .expect("busy may now enter vault once without the password")
            .await;
    }
    // ...and close the room it is in.
    alice.send(":close").await;
    alice
        .expect("alice closed games; it and its history are gone")
        .await;
    // Busy is told, lands in the lobby, and its next lines are heard there.
    loop {
        if busy.line().await == "alice closed games; it and its history are gone" {
            break;
        }
    }
    lobby.expect_past_notices("[lobby] busy: line ").await;
    server.stop().await;
}
