//! The operator's endpoints over real sockets: `/metrics` counts a scripted
//! session by the right amounts, `/healthz` answers, `/readyz` follows a
//! database locked by another program, and `--metrics-listen` moves them.

mod support;

use std::time::Duration;

use support::banterd::Banterd;
use support::http::{get, sample};
use support::TestServer;

#[tokio::test]
async fn metrics_count_a_scripted_session_by_the_right_amounts() {
    let server = TestServer::start_with_websocket(|config| config.max_connections = 3).await;
    let http = server.http.unwrap();
    let (status, before) = get(http, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&before, "banter_users_registered"), 0.0);
    assert_eq!(sample(&before, "banter_rooms"), 1.0);

    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect_containing("bob").await;
    for text in ["one", "two", "three"] {
        alice.send(text).await;
        bob.expect(&format!("[lobby] alice: {text}")).await;
    }
    alice.send(":me waves").await;
    bob.expect("[lobby] * alice waves").await;
    alice.expect("[lobby] * alice waves").await;
    bob.send(":msg alice psst").await;
    alice.expect("[private] bob: psst").await;
    bob.expect("[private to alice] psst").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    bob.expect_containing("left").await;
    alice.lock_room("alice", "games", "right").await;
    bob.send(":cr games").await;
    bob.answer_hidden("password for games", "wrong").await;
    bob.expect_prefix("error: wrong password for games").await;
    // The third connection fills the server; the fourth is refused, and so
    // is an HTTP client (`--metrics-listen` keeps the endpoints outside the limits).
    let carol = server.login("carol").await;
    let mut refused = server.connect().await;
    refused.expect_prefix("error: the server is full").await;
    assert_eq!(get(http, "/metrics").await.0, 503);
    drop(carol);
    // Each scrape until carol's slot is free is refused too, and counted.
    let mut refusals = 2.0;
    let page = loop {
        let (status, page) = get(http, "/metrics").await;
        if status == 200 {
            break page;
        }
        refusals += 1.0;
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let text_chat = r#"banter_messages_received_total{door="text",kind="chat"}"#;
    assert_eq!(sample(&page, text_chat), 3.0, "{page}");
    let emote = r#"banter_messages_received_total{door="text",kind="emote"}"#;
    assert_eq!(sample(&page, emote), 1.0);
    let private = r#"banter_messages_received_total{door="text",kind="private"}"#;
    assert_eq!(sample(&page, private), 1.0);
    assert_eq!(sample(&page, "banter_password_failures_total"), 1.0);
    assert_eq!(sample(&page, "banter_password_lockouts_total"), 0.0);
    assert_eq!(sample(&page, "banter_users_registered"), 2.0);
    assert_eq!(sample(&page, "banter_rooms"), 2.0);
    assert_eq!(
        sample(&page, r#"banter_connections_open{door="text"}"#),
        2.0
    );
    assert_eq!(
        sample(
            &page,
            r#"banter_connections_refused_total{reason="server_full"}"#
        ),
        refusals
    );
    // bob's three chats, the emote to both, the private message, and more.
    assert!(sample(&page, "banter_deliveries_total") >= 6.0, "{page}");
    assert_eq!(sample(&page, "banter_deliveries_dropped_total"), 0.0);
    assert!(sample(&page, "process_resident_memory_bytes") > 0.0);
    assert!(page.contains("# TYPE banter_store_commit_seconds histogram"));
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_while_another_program_locks_the_database_and_200_after() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_owned();
    let server = TestServer::start_with_websocket(move |config| {
        config.in_memory = false;
        config.data_dir = data_dir;
    })
    .await;
    let http = server.http.unwrap();
    assert_eq!(get(http, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get(http, "/readyz").await, (200, "ready\n".to_owned()));

    // Another program (an operator's sqlite3 shell, say) takes the write lock
    // and holds it until the test has seen /readyz answer 503.
    let conn = rusqlite::Connection::open(dir.path().join("banter.db")).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database is locked"), "{body}");
    // Alive all the same.
    assert_eq!(get(http, "/healthz").await.0, 200);

    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    assert_eq!(get(http, "/readyz").await, (200, "ready\n".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn metrics_listen_serves_the_endpoints_and_the_public_listener_does_not() {
    let server = Banterd::start(
        &[
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let metrics = server.listener("metrics");
    let http = server.listener("http");
    let (status, page) = get(metrics, "/metrics").await;
    assert_eq!(status, 200);
    assert!(page.contains("banter_connections_open"), "{page}");
    assert_eq!(get(metrics, "/readyz").await, (200, "ready\n".to_owned()));
    assert_eq!(get(http, "/metrics").await.0, 404);
    assert_eq!(get(http, "/readyz").await.0, 404);
}
