//! Wire tests of the JSON door (banter/1 over WebSocket), alone and across
//! doors with nc-style text clients in the same rooms.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::ws::WsClient;
use support::{Client, TestServer};
use tokio_tungstenite::tungstenite::Message;

const QUIET: Duration = Duration::from_millis(200);

async fn server() -> TestServer {
    TestServer::start_with_websocket(|_| {}).await
}

/// A text user who creates `room`.
async fn text_host(server: &TestServer, name: &str, room: &str) -> Client {
    let mut client = server.login(name).await;
    client.send(&format!(":n {room}")).await;
    client
        .expect(&format!("created room {room}; you are in it"))
        .await;
    client
}

fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn requests_are_answered_with_their_ids() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut bot = WsClient::connect(http).await;
    let (refused, _) = bot.ask(json!({"type": "rooms"}), 1).await;
    assert_eq!(refused["code"], "not_registered");
    bot.send(json!({"type": "hello", "name": "bot", "id": "first"}))
        .await;
    let welcome = bot.recv().await;
    let token = welcome["resume"].as_str().unwrap_or_default();
    assert_eq!(
        welcome,
        json!({"type": "welcome", "name": "bot", "protocol": "banter/1", "resume": token, "resumed": false, "id": "first"})
    );
    let (pong, _) = bot.ask(json!({"type": "ping"}), 2).await;
    assert_eq!(pong, json!({"type": "pong", "id": 2}));
    let (joined, _) = bot.ask(json!({"type": "create", "room": "cafe"}), 3).await;
    assert_eq!(joined["type"], "joined");
    assert_eq!(joined["host"], true);
    assert_eq!(joined["created"], true);
    let (ok, events) = bot
        .ask(
            json!({"type": "topic", "room": "cafe", "topic": "beans"}),
            4,
        )
        .await;
    assert_eq!(ok, json!({"type": "ok", "id": 4}));
    assert_eq!(events[0]["type"], "topic_changed");
    let (missing, _) = bot.ask(json!({"type": "join", "room": "nowhere"}), 5).await;
    assert_eq!(missing["type"], "error");
    assert_eq!(missing["code"], "no_such_room");
    let (parted, _) = bot.ask(json!({"type": "part", "room": "cafe"}), 6).await;
    assert_eq!(parted, json!({"type": "parted", "room": "cafe", "id": 6}));
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_goes_on() {
    let server = server().await;
    let mut bot = WsClient::login(server.http.unwrap(), "bot").await;
    bot.send_raw(Message::Text("{not json".into())).await;
    assert_eq!(bot.recv().await["code"], "bad_json");
    bot.send(json!({"type": "dance", "id": 1})).await;
    let unknown = bot.recv().await;
    assert_eq!(
        (&unknown["code"], &unknown["id"]),
        (&json!("unknown_type"), &json!(1))
    );
    bot.send(json!({"type": "say", "id": 2})).await;
    assert_eq!(bot.recv().await["code"], "bad_request");
    bot.send(json!({"type": "say", "room": "lobby", "text": 5, "id": 3}))
        .await;
    assert_eq!(bot.recv().await["code"], "bad_request");
    bot.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(bot.recv().await["code"], "binary_frame");
    bot.send(json!({"type": "say", "room": "lobby", "text": "hi", "id": 4}))
        .await;
    assert_eq!(bot.recv().await["code"], "not_member");
    let (users, _) = bot.ask(json!({"type": "users"}), 5).await;
    assert_eq!(users["names"], json!(["bot"]));
    server.stop().await;
}

#[tokio::test]
async fn text_and_json_users_share_a_room() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut alice = text_host(&server, "alice", "games").await;
    alice.send("before bob").await;
    let mut bob = WsClient::login(http, "bob").await;
    let (joined, _) = bob.ask(json!({"type": "join", "room": "games"}), 1).await;
    assert_eq!(
        joined["members"],
        json!([{"name": "alice", "host": true}, {"name": "bob", "host": false}])
    );
    assert_eq!(texts(&joined["history"]), ["before bob"]);
    alice.expect("* bob joined games").await;

    // Messages and emotes both ways.
    alice.send("hi bob").await;
    let message = bob.until("message").await;
    assert_eq!(
        (
            &message["room"],
            &message["from"],
            &message["text"],
            &message["kind"]
        ),
        (
            &json!("games"),
            &json!("alice"),
            &json!("hi bob"),
            &json!("chat")
        )
    );
    assert!(message["id"].as_i64().unwrap() > joined["history"][0]["id"].as_i64().unwrap());
    let (said, _) = bob
        .ask(
            json!({"type": "say", "room": "games", "text": "hi alice"}),
            2,
        )
        .await;
    assert_eq!(said["type"], "said");
    assert!(said["message_id"].as_i64().unwrap() > message["id"].as_i64().unwrap());
    alice.expect("[games] bob: hi alice").await;
    alice.send(":me waves").await;
    alice.expect("[games] * alice waves").await;
    assert_eq!(bob.until("message").await["kind"], "emote");
    bob.send(json!({"type": "emote", "room": "games", "text": "bows"}))
        .await;
    alice.expect("[games] * bob bows").await;

    // Nick changes both ways.
    alice.send(":nick al").await;
    alice.expect("you are now known as al").await;
    let renamed = bob.until("nick_changed").await;
    assert_eq!(
        (&renamed["old"], &renamed["new"]),
        (&json!("alice"), &json!("al"))
    );
    bob.send(json!({"type": "nick", "name": "bobby"})).await;
    alice.expect("* bob is now known as bobby").await;

    // The text host leaves: the JSON user is the heir.
    alice.send(":cr lobby").await;
    alice.expect_prefix("you are now in lobby").await;
    let left = bob.until("member_left").await;
    assert_eq!(
        (&left["name"], &left["reason"]),
        (&json!("al"), &json!("parted"))
    );
    let heir = bob.until("host_added").await;
    assert_eq!(
        (&heir["name"], &heir["by"]),
        (&json!("bobby"), &Value::Null)
    );
    // And a JSON user leaving is seen as leaving. Back in games, alice
    // sees its recent messages again, though she saw them live.
    alice.send(":cr games").await;
    alice.expect_prefix("you are now in games").await;
    alice.expect_containing("bob: hi alice").await;
    bob.until("member_joined").await;
    bob.send(json!({"type": "quit"})).await;
    bob.until("bye").await;
    alice.expect_containing("* bobby left the chat").await;
    server.stop().await;
}

#[tokio::test]
async fn extra_room_and_private_messages_cross_doors() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut alice = server.login("alice").await;
    let mut bot = WsClient::login(http, "bot").await;
    bot.ask(json!({"type": "create", "room": "ops"}), 1).await;
    alice.send(":erm ops deploy done").await;
    alice.expect("sent to ops (1 there)").await;
    let message = bot.until("message").await;
    assert_eq!(
        (&message["kind"], &message["from_room"], &message["text"]),
        (&json!("from_room"), &json!("lobby"), &json!("deploy done"))
    );
    alice.send(":msg bot psst").await;
    alice.expect("[private to bot] psst").await;
    let private = bot.until("private").await;
    assert_eq!(
        (&private["from"], &private["text"]),
        (&json!("alice"), &json!("psst"))
    );
    let (sent, _) = bot
        .ask(json!({"type": "msg", "to": "ALICE", "text": "ack"}), 2)
        .await;
    assert_eq!(
        sent,
        json!({"type": "private_sent", "to": "alice", "text": "ack", "id": 2})
    );
    alice.expect("[private] bot: ack").await;
    server.stop().await;
}

#[tokio::test]
async fn a_json_user_in_three_rooms_gets_each_rooms_messages_tagged() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut speakers = Vec::new();
    for room in ["red", "green", "blue"] {
        speakers.push(text_host(&server, &format!("{room}_host"), room).await);
    }
    let mut bot = WsClient::login(http, "bot").await;
    for (n, room) in ["red", "green", "blue"].into_iter().enumerate() {
        let (joined, _) = bot
            .ask(json!({"type": "join", "room": room}), n as u64)
            .await;
        assert_eq!(joined["room"], room);
    }
    for (speaker, room) in speakers.iter_mut().zip(["red", "green", "blue"]) {
        speaker.expect(&format!("* bot joined {room}")).await;
        speaker.send(&format!("in {room}")).await;
    }
    let mut heard = Vec::new();
    while heard.len() < 3 {
        let frame = bot.recv().await;
        if frame["type"] == "message" {
            heard.push((
                frame["room"].as_str().unwrap().to_owned(),
                frame["text"].as_str().unwrap().to_owned(),
            ));
        }
    }
    heard.sort();
    assert_eq!(
        heard,
        [
            ("blue".to_owned(), "in blue".to_owned()),
            ("green".to_owned(), "in green".to_owned()),
            ("red".to_owned(), "in red".to_owned()),
        ]
    );
    let (rooms, _) = bot.ask(json!({"type": "rooms"}), 9).await;
    let joined: Vec<&str> = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["joined"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(joined, ["blue", "green", "red"]);
    server.stop().await;
}

#[tokio::test]
async fn a_locked_room_is_joined_in_one_request_and_guessing_locks_out() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut host = WsClient::login(http, "host").await;
    host.ask(json!({"type": "create", "room": "vault"}), 1)
        .await;
    let (locked, events) = host
        .ask(
            json!({"type": "set_password", "room": "vault", "password": "sesame"}),
            2,
        )
        .await;
    assert_eq!(locked["type"], "ok");
    assert_eq!(events[0]["type"], "lock_changed");
    let mut guest = WsClient::login(http, "guest").await;
    let (needed, _) = guest.ask(json!({"type": "join", "room": "vault"}), 1).await;
    assert_eq!(needed["code"], "password_needed");
    let (joined, _) = guest
        .ask(
            json!({"type": "join", "room": "vault", "password": "sesame"}),
            2,
        )
        .await;
    assert_eq!(joined["locked"], true);

    let mut guesser = WsClient::login(http, "guesser").await;
    for attempt in 0..3 {
        let (wrong, _) = guesser
            .ask(
                json!({"type": "join", "room": "vault", "password": format!("no{attempt}")}),
                attempt,
            )
            .await;
        assert_eq!(wrong["code"], "wrong_password", "{wrong}");
    }
    let (locked_out, _) = guesser
        .ask(
            json!({"type": "join", "room": "vault", "password": "sesame"}),
            9,
        )
        .await;
    assert_eq!(locked_out["code"], "locked_out");
    server.stop().await;
}

#[tokio::test]
async fn history_pages_return_each_message_exactly_once() {
    let server = TestServer::start_with_websocket(|c| c.rate_limit = 0).await;
    let http = server.http.unwrap();
    let mut alice = text_host(&server, "alice", "log").await;
    let mut reader = WsClient::login(http, "reader").await;
    reader.ask(json!({"type": "join", "room": "log"}), 1).await;
    alice.expect("* reader joined log").await;
    for n in 0..130 {
        alice.send(&format!("line {n}")).await;
    }
    for _ in 0..130 {
        reader.until("message").await;
    }
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut request = json!({"type": "history", "room": "log", "limit": 50});
        if let Some(before) = before {
            request["before"] = json!(before);
        }
        let (page, _) = reader.ask(request, 2).await;
        let messages = page["messages"].as_array().unwrap().clone();
        if messages.is_empty() {
            break;
        }
        before = messages[0]["id"].as_i64();
        for message in messages.iter().rev() {
            seen.push(message["text"].as_str().unwrap().to_owned());
            ids.push(message["id"].as_i64().unwrap());
        }
    }
    seen.reverse();
    ids.reverse();
    let expected: Vec<String> = (0..130).map(|n| format!("line {n}")).collect();
    assert_eq!(seen, expected);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    server.stop().await;
}

#[tokio::test]
async fn a_page_from_another_site_may_not_open_a_websocket() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{http}/ws"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    // The server's own pages may.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{http}/ws"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("Origin", format!("http://{http}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn both_doors_share_the_connection_limits() {
    let server = TestServer::start_with_websocket(|c| c.max_connections = 1).await;
    let _alice = server.login("alice").await;
    // The HTTP connection itself is refused, before any upgrade.
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/ws", server.http.unwrap())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.starts_with("error: the server is full"), "{body}");
        }
        other => panic!("expected a 503, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn the_text_doors_limits_apply_registration_time_and_rate() {
    let server = TestServer::start_with_websocket(|c| {
        c.registration_timeout = 1;
        c.rate_limit = 50;
        c.rate_burst = 5;
        c.flood_disconnect = 10;
    })
    .await;
    let http = server.http.unwrap();
    let mut silent = WsClient::connect(http).await;
    assert_eq!(
        silent.recv().await["code"],
        "registration_timeout",
        "no hello in time"
    );
    assert!(silent.try_recv(Duration::from_secs(5)).await.is_none());
    let mut flood = WsClient::login(http, "flood").await;
    for _ in 0..100 {
        flood.send(json!({"type": "ping"})).await;
    }
    let mut slowed = false;
    let mut last = None;
    while let Some(frame) = flood.try_recv(Duration::from_secs(5)).await {
        slowed |= frame["code"] == "rate_limited";
        last = Some(frame);
    }
    assert!(slowed, "never told to slow down");
    assert_eq!(last.unwrap()["code"], "flooding");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_says_goodbye_to_json_users() {
    let server = server().await;
    let mut bot = WsClient::login(server.http.unwrap(), "bot").await;
    bot.expect_silence(QUIET).await;
    server.stop().await;
    assert_eq!(bot.recv().await["type"], "shutdown");
    assert!(bot.try_recv(Duration::from_secs(5)).await.is_none());
}

#[tokio::test]
async fn say_elsewhere_is_sent_from_one_of_several_rooms_and_rooms_marks_the_default() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut carol = text_host(&server, "carol", "games").await;
    let mut bot = WsClient::login(http, "bot").await;
    for (id, room) in [(1, "lobby"), (2, "cafe")] {
        let kind = if room == "lobby" { "join" } else { "create" };
        let (joined, _) = bot.ask(json!({"type": kind, "room": room}), id).await;
        assert_eq!(joined["type"], "joined", "{joined}");
    }
    let (sent, _) = bot
        .ask(
            json!({"type": "say_elsewhere", "room": "games", "from_room": "cafe", "text": "come over"}),
            3,
        )
        .await;
    assert_eq!(
        sent,
        json!({"type": "sent_elsewhere", "room": "games", "members": 1, "id": 3})
    );
    carol
        .expect_past_notices("[games] bot@cafe: come over")
        .await;
    let (refused, _) = bot
        .ask(
            json!({"type": "say_elsewhere", "room": "games", "from_room": "nowhere", "text": "x"}),
            4,
        )
        .await;
    assert_eq!(refused["code"], "no_such_room");
    let (rooms, _) = bot.ask(json!({"type": "rooms"}), 5).await;
    let defaults: Vec<(&str, bool)> = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["default"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        defaults,
        vec![("cafe", false), ("games", false), ("lobby", true)]
    );
}

#[tokio::test]
async fn modes_voices_and_bans_over_banter_1() {
    let server = server().await;
    let http = server.http.unwrap();
    let mut host = WsClient::login(http, "host").await;
    host.ask(json!({"type": "create", "room": "cafe"}), 1).await;
    let mut nc = server.login("nc").await;
    nc.send(":cr cafe").await;
    nc.expect_prefix("you are now in cafe").await;

    let (modes, _) = host.ask(json!({"type": "modes", "room": "cafe"}), 2).await;
    assert_eq!(
        modes,
        json!({"type": "modes", "room": "cafe", "modes": ["no_external", "topic_lock"], "locked": false, "id": 2})
    );
    let (ok, events) = host
        .ask(
            json!({"type": "set_mode", "room": "cafe", "mode": "moderated", "on": true}),
            3,
        )
        .await;
    assert_eq!(ok["type"], "ok");
    assert_eq!(
        events,
        [
            json!({"type": "modes_changed", "room": "cafe", "by": "host", "changes": [{"mode": "moderated", "on": true}]})
        ]
    );
    nc.expect("* host set cafe +m (moderated: only hosts and voiced members speak)")
        .await;
    nc.send("may I?").await;
    nc.expect("error: cafe is moderated: only its hosts and voiced members may speak (a host can :voice you)")
        .await;
    let (refused, _) = host
        .ask(
            json!({"type": "set_mode", "room": "cafe", "mode": "loud", "on": true}),
            4,
        )
        .await;
    assert_eq!(refused["code"], "bad_request", "{refused}");

    let (_, events) = host
        .ask(
            json!({"type": "voice", "room": "cafe", "name": "NC", "on": true}),
            5,
        )
        .await;
    assert_eq!(
        events,
        [json!({"type": "voice_changed", "room": "cafe", "name": "nc", "by": "host", "on": true})]
    );
    nc.expect("* host gave nc a voice in cafe").await;
    let (who, _) = host.ask(json!({"type": "who", "room": "cafe"}), 6).await;
    assert_eq!(
        who["members"],
        json!([{"name": "host", "host": true}, {"name": "nc", "host": false, "voice": true}])
    );
    nc.send("thanks").await;
    let said = host.until("message").await;
    assert_eq!(said["text"], "thanks");

    let (_, events) = host
        .ask(json!({"type": "ban", "room": "cafe", "mask": "n?"}), 7)
        .await;
    assert_eq!(
        events[0],
        json!({"type": "ban_changed", "room": "cafe", "by": "host", "mask": "n?", "on": true})
    );
    nc.expect("* host banned n? from cafe").await;
    nc.expect("you were kicked from cafe by host: banned (n?)")
        .await;
    let left = host.until("member_left").await;
    assert_eq!(
        (&left["reason"], &left["message"]),
        (&json!("kicked"), &json!("banned (n?)"))
    );
    let (bans, _) = host.ask(json!({"type": "bans", "room": "cafe"}), 8).await;
    assert_eq!(bans["bans"][0]["mask"], "n?");
    assert_eq!(bans["bans"][0]["by"], "host");
    let (refused, _) = host
        .ask(json!({"type": "ban", "room": "cafe", "mask": "n?"}), 9)
        .await;
    assert_eq!(refused["code"], "already_banned");
    let (refused, _) = host
        .ask(
            json!({"type": "ban", "room": "cafe", "mask": "*!*@host"}),
            10,
        )
        .await;
    assert_eq!(refused["code"], "bad_mask");
    let (ok, _) = host
        .ask(json!({"type": "unban", "room": "cafe", "mask": "N?"}), 11)
        .await;
    assert_eq!(ok["type"], "ok");
    let (refused, _) = host
        .ask(json!({"type": "unban", "room": "cafe", "mask": "n?"}), 12)
        .await;
    assert_eq!(refused["code"], "not_banned");
    server.stop().await;
}
