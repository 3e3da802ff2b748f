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
