//! Wire tests: scrollback on entering a room, `:history`, and `:close`.

mod support;

use support::{Client, TestServer};

/// `[HH:MM] ` as history lines start today.
fn strip_time(line: &str) -> &str {
    assert!(
        line.len() > 8 && line.as_bytes()[0] == b'[' && &line[3..4] == ":" && &line[6..8] == "] ",
        "not a history line of today: {line:?}"
    );
    &line[8..]
}

async fn expect_history(client: &mut Client, room: &str, lines: &[&str], live: bool) {
    let plural = if lines.len() == 1 { "" } else { "s" };
    client
        .expect(&format!(
            "-- last {} message{plural} in {room} (UTC) --",
            lines.len()
        ))
        .await;
    for want in lines {
        let got = client.line().await;
        assert_eq!(strip_time(&got), *want);
    }
    if live {
        client
            .expect("-- end of history; new messages follow --")
            .await;
    } else {
        client.expect("-- end of history --").await;
    }
}

#[tokio::test]
async fn entering_a_room_shows_its_recent_messages_then_the_live_feed() {
    let server = TestServer::start_with(|c| c.history_on_join = 3).await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    for text in ["one", "two", "three", "four"] {
        alice.send(text).await;
    }
    alice.send(":me waves").await;
    alice.expect("[games] * alice waves").await;
    let mut bob = server.login("bob").await;
    bob.send(":erm games from the lobby").await;
    bob.expect("sent to games (1 there)").await;
    alice.expect("[games] bob@lobby: from the lobby").await;
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    expect_history(
        &mut bob,
        "games",
        &[
            "[games] alice: four",
            "[games] * alice waves",
            "[games] bob@lobby: from the lobby",
        ],
        true,
    )
    .await;
    alice.expect("* bob joined games").await;
    alice.send("live now").await;
    bob.expect("[games] alice: live now").await;
    server.stop().await;
}

#[tokio::test]
async fn entering_a_room_again_shows_its_recent_messages_again() {
    let server = TestServer::start_with(|c| c.history_on_join = 3).await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    alice.expect("* bob joined games").await;
    for text in ["one", "two"] {
        alice.send(text).await;
        bob.expect(&format!("[games] alice: {text}")).await;
    }
    bob.send(":cr lobby").await;
    bob.expect_prefix("you are now in lobby").await;
    // Seen live before leaving, shown again on coming back.
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    expect_history(
        &mut bob,
        "games",
        &["[games] alice: one", "[games] alice: two"],
        true,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn history_shows_the_last_n_messages_and_checks_n() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    for n in 0..30 {
        alice.send(&format!("message {n}")).await;
    }
    for n in 0..30 {
        bob.expect(&format!("[lobby] alice: message {n}")).await;
    }
    bob.send(":history 2").await;
    expect_history(
        &mut bob,
        "lobby",
        &["[lobby] alice: message 28", "[lobby] alice: message 29"],
        false,
    )
    .await;
    bob.send(":history").await;
    bob.expect("-- last 20 messages in lobby (UTC) --").await;
    for n in 10..30 {
        assert_eq!(
            strip_time(&bob.line().await),
            format!("[lobby] alice: message {n}")
        );
    }
    bob.expect("-- end of history --").await;
    for bad in ["0", "many", "-1"] {
        bob.send(&format!(":history {bad}")).await;
        bob.expect("error: :history takes a number from 1 to 200")
            .await;
    }
    // Past the most, the newest 200 are shown, with a note.
    bob.send(":history 500").await;
    bob.expect("(at most 200 messages at a time; showing the newest 200)")
        .await;
    bob.expect("-- last 30 messages in lobby (UTC) --").await;
    for n in 0..30 {
        assert_eq!(
            strip_time(&bob.line().await),
            format!("[lobby] alice: message {n}")
        );
    }
    bob.expect("-- end of history --").await;
    bob.send(":n empty").await;
    bob.expect("created room empty; you are in it").await;
    bob.send(":history").await;
    bob.expect("no messages in empty yet").await;
    server.stop().await;
}

#[tokio::test]
async fn private_messages_stay_out_of_room_history() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    alice.send(":msg bob secret plans").await;
    alice.expect("[private to bob] secret plans").await;
    bob.expect("[private] alice: secret plans").await;
    bob.send(":history").await;
    bob.expect("no messages in lobby yet").await;
    server.stop().await;
}

#[tokio::test]
async fn closing_a_room_moves_everyone_out_and_deletes_it() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    alice.send("remember me").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr games").await;
    bob.expect("you are now in games with 1 other").await;
    expect_history(&mut bob, "games", &["[games] alice: remember me"], true).await;
    alice.expect("* bob joined games").await;

    bob.send(":close").await;
    bob.expect("error: only a host of games can do that (see :who)")
        .await;
    alice.send(":close").await;
    alice
        .expect("alice closed games; it and its history are gone")
        .await;
    alice.expect("you are now in lobby with nobody else").await;
    bob.expect("alice closed games; it and its history are gone")
        .await;
    bob.expect_prefix("you are now in lobby with").await;
    // The lobby members see the arrivals; the closed room is gone for good.
    bob.send(":rooms").await;
    let mut listing = Vec::new();
    loop {
        let line = bob.line().await;
        if line.starts_with("* ") {
            continue;
        }
        listing.push(line);
        if listing.len() == 2 {
            break;
        }
    }
    assert_eq!(listing, ["rooms (1):", "  lobby (2)  <- you are here"]);
    bob.send(":cr games").await;
    bob.expect("error: there is no room games; create it with :new games or see :rooms")
        .await;
    bob.send(":n games").await;
    bob.expect("created room games; you are in it").await;
    bob.send(":history").await;
    bob.expect("no messages in games yet").await;
    bob.send(":cr lobby").await;
    bob.expect_prefix("you are now in lobby").await;
    bob.send(":close").await;
    bob.expect("error: lobby is the default room: it cannot be closed")
        .await;
    server.stop().await;
}
