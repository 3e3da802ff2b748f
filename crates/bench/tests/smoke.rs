//! End-to-end smoke tests: tiny scenarios against an in-process banterd (on
//! its text, WebSocket and IRC doors) and against the naive_chat
//! baseline and relay binaries, checking every delivery.

use banter_bench::campaign::check_door;
use banter_bench::report::Report;
use banter_bench::run::{run, Target};
use banter_bench::scenario::{Door, Overrides, Params, Scenario};
use banter_bench::server::{Kind, Launch, BANTERD_ARGS};
use banter_server::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn tiny(scenario: Scenario, clients: usize, rooms: usize, senders: usize, rate: f64) -> Params {
    Params::new(
        scenario,
        &Overrides {
            clients: Some(clients),
            rooms: Some(rooms),
            senders: Some(senders),
            rate: Some(rate),
            warmup: Some(0.2),
            duration: Some(0.8),
            drain: Some(2.0),
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// Starts banterd in this process with the benchmark settings, every door on,
/// in memory.
async fn banterd() -> (Target, CancellationToken) {
    banterd_storing(&["--in-memory"]).await
}

/// [`banterd`] with `store` for where it keeps messages.
async fn banterd_storing(store: &[&str]) -> (Target, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = http.local_addr().unwrap();
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let irc_addr = irc.local_addr().unwrap();
    // The flags a spawned benchmark server gets, and no data directory:
    // parallel tests must not share (and lock) one.
    let args = std::iter::once("banterd")
        .chain(BANTERD_ARGS)
        .chain(store.iter().copied());
    let config = Config::load(args).unwrap();
    let shutdown = CancellationToken::new();
    let listeners = banter_server::Listeners {
        text: listener,
        http: Some(http),
        tls_text: None,
        metrics: None,
        irc: Some(irc),
        irc_tls: None,
    };
    tokio::spawn(banter_server::run(listeners, config, shutdown.clone()));
    let target = Target {
        addrs: vec![addr],
        http: vec![http_addr],
        irc: vec![irc_addr],
        pids: vec![std::process::id()],
        label: "in-process banterd".into(),
    };
    (target, shutdown)
}

fn assert_clean(report: &Report) {
    assert_eq!(report.login_failures, 0, "{report:#?}");
    assert_eq!(report.cut_off, 0, "{report:#?}");
    assert!(report.delivered_in_window > 0, "{report:#?}");
    assert!(report.expected > 0, "{report:#?}");
    assert_eq!(report.lost, 0, "{report:#?}");
    assert_eq!(report.duplicates, 0, "{report:#?}");
    assert_eq!(report.out_of_order, 0, "{report:#?}");
    assert!(report.drained, "{report:#?}");
    assert!(report.latency.count > 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_senders_over_rooms_lose_nothing() {
    let (target, shutdown) = banterd().await;
    // More rooms than one address may make a minute by default: the
    // benchmark flags lift that limit.
    let report = run(&tiny(Scenario::Rooms, 24, 12, 24, 50.0), &target)
        .await
        .unwrap();
    shutdown.cancel();
    assert_clean(&report);
    assert_eq!(report.logged_in, 24);
    assert!(report.server.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unthrottled_senders_keep_to_their_window() {
    let (target, shutdown) = banterd().await;
    let report = run(&tiny(Scenario::Throughput, 10, 1, 3, 0.0), &target)
        .await
        .unwrap();
    shutdown.cancel();
    assert_clean(&report);
    // Far more than a throttled rate would give: the window keeps senders busy.
    assert!(report.sent_per_second > 1000.0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_speaking_banter1_lose_nothing() {
    let (target, shutdown) = banterd().await;
    // Two rooms: each has a first client that creates it and others that join.
    let report = run(&tiny(Scenario::WsBigRoom, 12, 2, 6, 50.0), &target)
        .await
        .unwrap();
    shutdown.cancel();
    assert_clean(&report);
    assert_eq!(report.logged_in, 12);
    assert_eq!(report.server_dropped, 0, "{report:#?}");
    assert!(report.first_error.is_none(), "{report:#?}");
    // The clients went to the WebSocket door, not the text door.
    assert_eq!(report.addr, target.http[0].to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irc_clients_lose_nothing() {
    let (target, shutdown) = banterd().await;
    // Two channels: the first join of each creates it, as IRC users expect.
    let mut params = tiny(Scenario::BigRoom, 12, 2, 6, 50.0);
    params.door = Door::Irc;
    let report = run(&params, &target).await.unwrap();
    shutdown.cancel();
    assert_clean(&report);
    assert_eq!(report.logged_in, 12);
    assert_eq!(report.server_dropped, 0, "{report:#?}");
    // The clients went to the IRC door, not the text door.
    assert_eq!(report.addr, target.irc[0].to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_spread_over_addresses_and_rooms_keep_one_order() {
    let (one, shutdown) = banterd().await;
    // One server reached at two addresses stands in for two nodes: clients
    // alternate between them, latencies split by "node", and every room's
    // receivers must agree on its order.
    let target = Target {
        addrs: vec![one.addrs[0], one.addrs[0]],
        pids: one.pids.clone(),
        ..one
    };
    // Three rooms, so each room has members at both addresses.
    let mut params = tiny(Scenario::Rooms, 24, 3, 24, 50.0);
    params.check_order = true;
    let report = run(&params, &target).await.unwrap();
    shutdown.cancel();
    assert_clean(&report);
    assert_eq!(report.order_disagreements, Some(0), "{report:#?}");
    let same = report
        .same_node_latency
        .expect("two addresses split latency");
    let cross = report
        .cross_node_latency
        .expect("two addresses split latency");
    assert!(same.count > 0 && cross.count > 0, "{report:#?}");
    assert_eq!(same.count + cross.count, report.latency.count);
}

/// The bench finds banterd's store writer by the thread's name: a server
/// storing in SQLite has one, and its CPU is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_writers_cpu_is_found_by_its_thread_name() {
    let data = tempfile::TempDir::new().unwrap();
    let dir = data.path().to_str().unwrap();
    let (target, shutdown) = banterd_storing(&["--data-dir", dir]).await;
    let report = run(&tiny(Scenario::Rooms, 4, 2, 4, 20.0), &target)
        .await
        .unwrap();
    assert_clean(&report);
    let server = report.server.expect("this process was sampled");
    assert!(server.store_writer_seconds.is_some(), "{server:?}");
    shutdown.cancel();
}

#[tokio::test]
async fn websocket_scenarios_need_a_websocket_door() {
    let params = tiny(Scenario::WsBigRoom, 4, 1, 2, 50.0);
    let no_door = Target {
        addrs: vec!["127.0.0.1:9".parse().unwrap()],
        http: Vec::new(),
        irc: Vec::new(),
        pids: Vec::new(),
        label: "baseline".into(),
    };
    let err = run(&params, &no_door).await.unwrap_err().to_string();
    assert!(err.contains("WebSocket"), "{err}");
    let err = check_door(&params, Kind::Baseline).unwrap_err().to_string();
    assert!(err.contains("baseline"), "{err}");
    check_door(&params, Kind::Banterd).unwrap();
    check_door(&tiny(Scenario::BigRoom, 4, 1, 2, 50.0), Kind::Baseline).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_speaks_the_same_format() {
    let launch = Launch {
        program: env!("CARGO_BIN_EXE_naive_chat").into(),
        kind: Kind::Baseline,
        cpus: None,
        extra_args: Vec::new(),
    };
    let server = launch.start().unwrap();
    let report = run(&tiny(Scenario::BigRoom, 10, 1, 4, 50.0), &server.target)
        .await
        .unwrap();
    server.stop().unwrap();
    assert_clean(&report);
    assert!(report.server.unwrap().cpu_seconds >= 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_speaks_the_same_format() {
    let launch = Launch {
        program: env!("CARGO_BIN_EXE_relay").into(),
        kind: Kind::Relay,
        cpus: None,
        extra_args: Vec::new(),
    };
    let server = launch.start().unwrap();
    assert_eq!(server.target.label, "relay");
    // Small rooms, as the relay is the floor for them, and a room of several.
    let report = run(&tiny(Scenario::Rooms, 24, 12, 24, 50.0), &server.target)
        .await
        .unwrap();
    assert_clean(&report);
    let report = run(&tiny(Scenario::BigRoom, 10, 1, 4, 50.0), &server.target)
        .await
        .unwrap();
    server.stop().unwrap();
    assert_clean(&report);
    let err = check_door(&tiny(Scenario::WsBigRoom, 4, 1, 2, 50.0), Kind::Relay)
        .unwrap_err()
        .to_string();
    assert!(err.contains("relay"), "{err}");
}
