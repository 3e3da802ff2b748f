//! Wire tests: a line typed at a hidden prompt is never chat or a command,
//! whatever ends the prompt early (a kick, a closed room, another host
//! changing the password, shutdown). The secret reaches no user, no log line
//! and no stored row.

mod support;

use std::time::Duration;

use support::banterd::Banterd;
use support::{Client, TestServer, CONCEAL, RESET_ATTRIBUTES};

const SECRET: &str = "s3cret-typed-late";
const QUIET: Duration = Duration::from_millis(300);

/// The next line with the conceal and reset attributes taken out: what an nc
/// user reads.
async fn visible(client: &mut Client) -> String {
    let raw = client
        .raw_line(support::LINE_TIMEOUT)
        .await
        .expect("a line");
    String::from_utf8(raw)
        .unwrap()
        .replace("\x1b[8m", "")
        .replace("\x1b[0m", "")
}

/// Reads everything `client` gets within [`QUIET`] and asserts the secret is not in it.
async fn never_sees_the_secret(client: &mut Client) {
    while let Ok(Some(line)) =
        tokio::time::timeout(QUIET, client.raw_line(Duration::from_secs(5))).await
    {
        let line = String::from_utf8_lossy(&line).into_owned();
        assert!(!line.contains(SECRET), "the secret leaked: {line:?}");
    }
}

/// Alice creates `games`, Bob joins, and Alice makes him a host too.
async fn two_hosts(server: &TestServer) -> (Client, Client) {
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    alice.expect("* bob joined games").await;
    alice.send(":hostadd bob").await;
    alice.expect("* alice made bob a host of games").await;
    bob.expect("* alice made bob a host of games").await;
    (alice, bob)
}

/// Shows a hidden prompt to `client` and reads up to where the answer is typed.
async fn at_prompt(client: &mut Client, command: &str, prompt: &str) {
    client.send(command).await;
    client.expect_prefix(prompt).await;
    client.expect_bytes(CONCEAL).await;
}

/// The user finishes typing the secret at a cancelled prompt: it is dropped,
/// they are told, and their next line is ordinary chat again.
async fn secret_is_dropped(client: &mut Client) {
    client.send(SECRET).await;
    client.expect_bytes(RESET_ATTRIBUTES).await;
    client
        .expect("error: that line was not sent: it answered a cancelled password prompt")
        .await;
}

#[tokio::test]
async fn a_kick_during_a_password_prompt_drops_the_answer_being_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Banterd::start(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--log-level",
            "trace",
        ],
        &[],
    );
    let mut vault_host = server.login("vh").await;
    vault_host.send(":n vault").await;
    vault_host.expect("created room vault; you are in it").await;
    vault_host.lock_room("vh", "vault", "right").await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let mut mike = server.login("mike").await;
    mike.send(":cr games").await;
    mike.expect("you are now in games with 1 other").await;
    alice.expect("* mike joined games").await;
    let mut lobby = server.login("lobby_user").await;

    at_prompt(&mut mike, ":cr vault", "password for vault").await;
    alice.send(":kick mike").await;
    alice.expect("* mike was kicked from games by alice").await;
    // Told at once, in plain sight, while what they type stays hidden.
    assert_eq!(
        visible(&mut mike).await,
        "error: the password prompt was cancelled (you were kicked from games); what you type up to the next Enter will not be sent"
    );
    assert_eq!(
        visible(&mut mike).await,
        "you were kicked from games by alice"
    );
    assert_eq!(
        visible(&mut mike).await,
        "you are now in lobby with 1 other"
    );
    mike.expect_bytes(CONCEAL).await;
    lobby.expect("* mike joined lobby").await;
    secret_is_dropped(&mut mike).await;
    mike.send("back to normal").await;
    lobby.expect("[lobby] mike: back to normal").await;

    never_sees_the_secret(&mut lobby).await;
    never_sees_the_secret(&mut alice).await;
    never_sees_the_secret(&mut vault_host).await;
    let mut server = server;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    assert!(!server.log.lock().unwrap().contains(SECRET));
    let db = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
    let (stored, leaked): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE text LIKE '%' || ?1 || '%') FROM messages",
            [SECRET],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(stored > 0, "the chat was stored");
    assert_eq!(leaked, 0, "the secret was stored");
}

#[tokio::test]
async fn closing_the_room_during_a_passwd_prompt_drops_the_answer_being_typed() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = two_hosts(&server).await;
    let mut lobby = server.login("carol").await;

    at_prompt(&mut bob, ":passwd", "new password for games").await;
    alice.send(":close").await;
    alice
        .expect("alice closed games; it and its history are gone")
        .await;
    assert_eq!(
        visible(&mut bob).await,
        "error: the password prompt was cancelled (games was closed); what you type up to the next Enter will not be sent"
    );
    assert_eq!(
        visible(&mut bob).await,
        "alice closed games; it and its history are gone"
    );
    let entered = visible(&mut bob).await;
    assert!(
        entered.starts_with("you are now in lobby with "),
        "{entered}"
    );
    bob.expect_bytes(CONCEAL).await;
    secret_is_dropped(&mut bob).await;
    never_sees_the_secret(&mut lobby).await;
    never_sees_the_secret(&mut alice).await;
    server.stop().await;
}

#[tokio::test]
async fn a_password_changed_by_another_host_meanwhile_is_not_overwritten() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = two_hosts(&server).await;

    at_prompt(&mut bob, ":passwd", "new password for games").await;
    alice.lock_room("alice", "games", "alices").await;
    bob.send(SECRET).await;
    bob.expect_bytes(RESET_ATTRIBUTES).await;
    bob.expect(
        "error: the password of games was changed by someone else meanwhile; nothing changed",
    )
    .await;
    // The lock notice was held back while bob typed; it follows now.
    bob.expect("* alice locked games with a password").await;
    never_sees_the_secret(&mut alice).await;

    // Alice's password is the one in force.
    let mut carol = server.login("carol").await;
    at_prompt(&mut carol, ":cr games", "password for games").await;
    carol.send("alices").await;
    carol.expect_bytes(RESET_ATTRIBUTES).await;
    carol.expect("you are now in games with 2 others").await;
    server.stop().await;
}

#[tokio::test]
async fn an_entry_password_typed_for_a_changed_password_is_no_guess() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.lock_room("alice", "vault", "old").await;
    let mut bob = server.login("bob").await;
    at_prompt(&mut bob, ":cr vault", "password for vault").await;
    alice.send(":passwd").await;
    alice.answer_hidden("new password for vault", "new").await;
    alice
        .answer_hidden("the new password for vault again", "new")
        .await;
    alice.expect("* alice locked vault with a password").await;
    bob.send("old").await;
    bob.expect_bytes(RESET_ATTRIBUTES).await;
    bob.expect("error: the password of vault changed while you typed; nothing happened. Try :cr vault again")
        .await;
    bob.send("still in the lobby").await;
    bob.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_during_a_hidden_prompt_shows_input_again_before_the_goodbye() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.lock_room("alice", "vault", "pw").await;
    let mut bob = server.login("bob").await;
    at_prompt(&mut bob, ":cr vault", "password for vault").await;
    server.stop().await;
    // Reset, and erase the line being typed (no Enter came, so no cursor up).
    bob.expect_bytes(b"\x1b[0m\r\x1b[2K").await;
    assert_eq!(
        bob.expect_closed().await,
        ["the server is shutting down, bye!"]
    );
}

#[tokio::test]
async fn disconnecting_right_after_a_password_leaves_no_half_member_behind() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.lock_room("alice", "vault", "pw").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr vault").await;
    bob.answer_hidden("password for vault", "pw").await;
    bob.expect("you are now in vault with 1 other").await;
    alice.expect("* bob joined vault").await;
    // Carol answers and hangs up in the same breath, twice over.
    for name in ["carol", "dave"] {
        let mut hasty = server.login(name).await;
        at_prompt(&mut hasty, ":cr vault", "password for vault").await;
        hasty.send("pw").await;
        drop(hasty);
        alice.expect(&format!("* {name} joined vault")).await;
        alice.expect(&format!("* {name} disconnected")).await;
    }
    // The host leaves: the hand-off goes to bob, the only one really there.
    alice.send(":cr lobby").await;
    alice.expect_prefix("you are now in lobby").await;
    loop {
        let line = bob.line().await;
        assert!(!line.contains("carol is now") && !line.contains("dave is now"));
        if line == "* bob is now the host of vault" {
            break;
        }
    }
    bob.send(":who").await;
    bob.expect("in vault (1): bob (host)").await;
    server.stop().await;
}
