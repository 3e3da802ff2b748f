//! Wire tests of sessions that survive a reconnect (issue 21) over real
//! WebSockets: resume tokens, the grace, nonces, and history on joining.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use support::ws::WsClient;
use support::TestServer;
use tokio_tungstenite::tungstenite::Message;

async fn server() -> TestServer {
    TestServer::start_with_websocket(|_| {}).await
}

/// Connects, says hello as `name`, and returns the client and its token.
async fn hello(http: SocketAddr, name: &str) -> (WsClient, String) {
    let mut client = WsClient::connect(http).await;
    client
        .send(json!({"type": "hello", "name": name, "id": 0}))
        .await;
    let welcome = client.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["resumed"], false, "{welcome}");
    let token = welcome["resume"].as_str().expect("a token").to_owned();
    assert!(token.len() >= 32 && token.len() <= 64, "{token}");
    (client, token)
}

/// Closes the connection (a close frame, no quit) and waits until the
/// server has let it go: by then the session is parked.
async fn drop_connection(mut client: WsClient) {
    client.send_raw(Message::Close(None)).await;
    while client.try_recv(Duration::from_secs(5)).await.is_some() {}
}

/// A new connection presenting `token`; returns it with the server's answer.
async fn resume(http: SocketAddr, token: &str) -> (WsClient, Value) {
    let mut client = WsClient::connect(http).await;
    client
        .send(json!({"type": "hello", "name": "whoever", "resume": token, "id": 1}))
        .await;
    let answer = client.recv().await;
    (client, answer)
}

/// The events `client` received before its answer to a `who` of `room`
/// (a barrier: everything sent before it has arrived).
async fn events_until_who(client: &mut WsClient, room: &str, id: u64) -> (Value, Vec<Value>) {
    client.ask(json!({"type": "who", "room": room}), id).await
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_resume_within_the_grace_keeps_name_rooms_and_host_rights_and_nobody_notices() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "games"}), 2)
        .await;
    alice.ask(json!({"type": "create", "room": "den"}), 3).await;
    let (mut bob, _) = hello(http, "bob").await;
    bob.ask(json!({"type": "join", "room": "games"}), 1).await;
    alice.until("member_joined").await;
    drop_connection(alice).await;

    let (said, _) = bob
        .ask(
            json!({"type": "say", "room": "games", "text": "while you were away"}),
            2,
        )
        .await;
    assert_eq!(said["type"], "said");
    let (mut alice, welcome) = resume(http, &token).await;
    assert_eq!(
        welcome,
        json!({
            "type": "welcome", "name": "alice", "protocol": "banter/1",
            "resume": token, "resumed": true,
            "rooms": [{"room": "games", "host": true}, {"room": "den", "host": true}],
            "id": 1
        })
    );
    let queued = alice.recv().await;
    assert_eq!(queued["type"], "message", "{queued}");
    assert_eq!(queued["text"], "while you were away");
    assert_eq!(queued["id"], said["message_id"]);

    // Host rights held: alice may set the topic; bob sees it and nothing else.
    let (ok, _) = alice
        .ask(
            json!({"type": "topic", "room": "games", "topic": "back"}),
            4,
        )
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let (who, events) = events_until_who(&mut bob, "games", 3).await;
    assert_eq!(types(&events), ["topic_changed"], "{events:?}");
    assert_eq!(
        who["members"],
        json!([{"name": "alice", "host": true}, {"name": "bob", "host": false}])
    );
    server.stop().await;
}

#[tokio::test]
async fn after_the_grace_the_user_leaves_as_disconnected() {
    let server = TestServer::start_with_websocket(|config| config.resume_grace = 1).await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "games"}), 2)
        .await;
    let (mut bob, _) = hello(http, "bob").await;
    bob.ask(json!({"type": "join", "room": "games"}), 1).await;
    drop_connection(alice).await;
    let left = bob.until("member_left").await;
    assert_eq!(left["name"], "alice");
    assert_eq!(left["reason"], "disconnected");
    let succession = bob.until("host_added").await;
    assert_eq!(
        (&succession["name"], &succession["by"]),
        (&json!("bob"), &json!(null))
    );
    let (_, refused) = resume(http, &token).await;
    assert_eq!(refused["code"], "resume_failed", "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn a_token_is_refused_while_its_connection_is_live_or_unknown_and_a_fresh_hello_then_works() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    // Stolen while alice is connected: no use.
    let (mut thief, refused) = resume(http, &token).await;
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["id"]),
        (&json!("error"), &json!("resume_failed"), &json!(1))
    );
    let (pong, _) = alice.ask(json!({"type": "ping"}), 5).await;
    assert_eq!(pong["type"], "pong", "alice keeps her session");
    // The refused connection is unregistered and may start afresh.
    thief
        .send(json!({"type": "hello", "name": "mallory", "id": 2}))
        .await;
    let welcome = thief.recv().await;
    assert_eq!(
        (&welcome["name"], &welcome["resumed"]),
        (&json!("mallory"), &json!(false))
    );
    assert_ne!(welcome["resume"], json!(token));
    // Unknown tokens, of any shape, are refused alike.
    for bogus in ["0000", "", &"f".repeat(48), &"é".repeat(40)] {
        let (mut stranger, refused) = resume(http, bogus).await;
        assert_eq!(refused["code"], "resume_failed", "{bogus:?}: {refused}");
        stranger
            .send(json!({"type": "hello", "name": "stranger", "id": 2}))
            .await;
        assert_eq!(stranger.recv().await["type"], "welcome");
        stranger.send(json!({"type": "quit"})).await;
        stranger.until("bye").await;
    }
    server.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_and_its_name_is_free_again() {
    let server = TestServer::start_with_websocket(|config| config.resume_grace = 1).await;
    let http = server.http.unwrap();
    let (alice, token) = hello(http, "alice").await;
    let (mut watcher, _) = hello(http, "watcher").await;
    drop_connection(alice).await;
    // Poll the name until the grace has ended and it is released.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (users, _) = watcher.ask(json!({"type": "users"}), 1).await;
        if users["names"] == json!(["watcher"]) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "alice never left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut again, refused) = resume(http, &token).await;
    assert_eq!(refused["code"], "resume_failed");
    again
        .send(json!({"type": "hello", "name": "alice", "id": 2}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(
        (&welcome["name"], &welcome["resumed"]),
        (&json!("alice"), &json!(false))
    );
    server.stop().await;
}

#[tokio::test]
async fn quit_drops_the_token() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice.send(json!({"type": "quit"})).await;
    alice.until("bye").await;
    let (_, refused) = resume(http, &token).await;
    assert_eq!(refused["code"], "resume_failed");
    server.stop().await;
}

#[tokio::test]
async fn a_nonce_repeated_after_a_reconnect_is_said_once_with_its_first_id() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "games"}), 1)
        .await;
    let (mut bob, _) = hello(http, "bob").await;
    bob.ask(json!({"type": "join", "room": "games"}), 1).await;
    alice.until("member_joined").await;
    let line = json!({"type": "say", "room": "games", "text": "once", "nonce": "5e2a91c07d3b4f68"});
    let (first, _) = alice.ask(line.clone(), 2).await;
    assert_eq!(first["type"], "said");
    let private = json!({"type": "msg", "to": "bob", "text": "psst", "nonce": "p-1"});
    let (sent, _) = alice.ask(private.clone(), 3).await;
    drop_connection(alice).await;

    let (mut alice, welcome) = resume(http, &token).await;
    assert_eq!(welcome["resumed"], true);
    let (again, _) = alice.ask(line, 4).await;
    assert_eq!(
        (&again["message_id"], &again["at"], &again["room"]),
        (&first["message_id"], &first["at"], &first["room"])
    );
    let (sent_again, _) = alice.ask(private, 5).await;
    assert_eq!(sent_again["type"], sent["type"]);
    // A new nonce is a new line.
    let (other, _) = alice
        .ask(
            json!({"type": "say", "room": "games", "text": "twice", "nonce": "n2"}),
            6,
        )
        .await;
    assert!(other["message_id"].as_i64() > first["message_id"].as_i64());
    let (_, events) = bob.ask(json!({"type": "who", "room": "games"}), 2).await;
    let heard: Vec<_> = events
        .iter()
        .filter(|event| event["type"] == "message" || event["type"] == "private")
        .map(|event| event["text"].as_str().unwrap())
        .collect();
    assert_eq!(heard, ["once", "psst", "twice"], "{events:?}");
    let (history, _) = bob
        .ask(json!({"type": "history", "room": "games"}), 3)
        .await;
    let stored: Vec<_> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(stored, ["once", "twice"]);
    server.stop().await;
}

#[tokio::test]
async fn a_kick_and_an_invitation_during_the_grace_are_seen_on_resume() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut host, _) = hello(http, "host").await;
    host.ask(json!({"type": "create", "room": "games"}), 1)
        .await;
    host.ask(json!({"type": "create", "room": "vault"}), 2)
        .await;
    host.ask(
        json!({"type": "set_password", "room": "vault", "password": "rook takes"}),
        3,
    )
    .await;
    let (mut alice, token) = hello(http, "alice").await;
    alice.ask(json!({"type": "join", "room": "games"}), 1).await;
    drop_connection(alice).await;

    let (ok, _) = host
        .ask(
            json!({"type": "kick", "room": "games", "name": "alice", "reason": "nap time"}),
            4,
        )
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let left = host.until("member_left").await;
    assert_eq!(
        (&left["name"], &left["reason"]),
        (&json!("alice"), &json!("kicked"))
    );
    let (sent, _) = host
        .ask(
            json!({"type": "invite", "room": "vault", "name": "alice"}),
            5,
        )
        .await;
    assert_eq!(sent["type"], "invite_sent", "{sent}");

    let (mut alice, welcome) = resume(http, &token).await;
    assert_eq!(
        (&welcome["resumed"], &welcome["rooms"]),
        (&json!(true), &json!([]))
    );
    let kicked = alice.recv().await;
    assert_eq!(
        (&kicked["type"], &kicked["room"], &kicked["message"]),
        (&json!("kicked"), &json!("games"), &json!("nap time"))
    );
    assert_eq!(alice.recv().await["type"], "invited");
    let (joined, _) = alice.ask(json!({"type": "join", "room": "vault"}), 2).await;
    assert_eq!(joined["type"], "joined", "the invitation held: {joined}");
    server.stop().await;
}

#[tokio::test]
async fn an_explicit_join_shows_history_again_and_since_filters_it() {
    let server = server().await;
    let http = server.http.unwrap();
    let (mut alice, _) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "hist"}), 1)
        .await;
    let mut ids = Vec::new();
    for (n, text) in ["one", "two", "three"].into_iter().enumerate() {
        let (said, _) = alice
            .ask(
                json!({"type": "say", "room": "hist", "text": text}),
                2 + n as u64,
            )
            .await;
        ids.push(said["message_id"].as_i64().unwrap());
    }
    alice.ask(json!({"type": "part", "room": "hist"}), 10).await;
    let (joined, _) = alice.ask(json!({"type": "join", "room": "hist"}), 11).await;
    let texts = |joined: &Value| -> Vec<String> {
        joined["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&joined), ["one", "two", "three"]);
    alice.ask(json!({"type": "part", "room": "hist"}), 12).await;
    let (since, _) = alice
        .ask(json!({"type": "join", "room": "hist", "since": ids[0]}), 13)
        .await;
    assert_eq!(texts(&since), ["two", "three"]);
    alice.ask(json!({"type": "part", "room": "hist"}), 14).await;
    let (none, _) = alice
        .ask(json!({"type": "join", "room": "hist", "since": ids[2]}), 15)
        .await;
    assert_eq!(none["history"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn events_past_the_outbox_bound_while_parked_are_counted_as_missed() {
    let server = TestServer::start_with_websocket(|config| config.outbox_bytes = 2048).await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "busy"}), 1)
        .await;
    let (mut bob, _) = hello(http, "bob").await;
    bob.ask(json!({"type": "join", "room": "busy"}), 1).await;
    alice.until("member_joined").await;
    drop_connection(alice).await;
    let text = "x".repeat(400);
    for n in 0..15 {
        bob.ask(json!({"type": "say", "room": "busy", "text": text}), 10 + n)
            .await;
    }
    let (mut alice, welcome) = resume(http, &token).await;
    assert_eq!(welcome["resumed"], true);
    let mut messages = 0;
    let missed = loop {
        let frame = alice.recv().await;
        match frame["type"].as_str() {
            Some("message") => messages += 1,
            Some("missed") => break frame,
            _ => panic!("unexpected {frame}"),
        }
    };
    assert!(messages > 0 && messages < 15, "{messages}");
    assert_eq!(missed["room"], "busy");
    assert_eq!(missed["count"], 15 - messages);
    server.stop().await;
}

#[tokio::test]
async fn with_a_grace_of_zero_sessions_end_with_their_connections() {
    let server = TestServer::start_with_websocket(|config| config.resume_grace = 0).await;
    let http = server.http.unwrap();
    let (mut alice, token) = hello(http, "alice").await;
    alice
        .ask(json!({"type": "create", "room": "games"}), 1)
        .await;
    let (mut bob, _) = hello(http, "bob").await;
    bob.ask(json!({"type": "join", "room": "games"}), 1).await;
    drop_connection(alice).await;
    let left = bob.until("member_left").await;
    assert_eq!(
        (&left["name"], &left["reason"]),
        (&json!("alice"), &json!("disconnected"))
    );
    let (_, refused) = resume(http, &token).await;
    assert_eq!(refused["code"], "resume_failed");
    server.stop().await;
}
