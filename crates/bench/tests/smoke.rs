//! End-to-end smoke tests: tiny scenarios against an in-process banterd and
//! against the naive_chat baseline binary, checking every delivery.

use banter_bench::report::Report;
use banter_bench::run::{run, Target};
use banter_bench::scenario::{Overrides, Params, Scenario};
use banter_bench::server::{Kind, Launch};
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

/// Starts banterd in this process with the benchmark settings.
async fn banterd() -> (Target, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::defaults();
    config.rate_limit = 0;
    config.input_byte_rate = 0;
    config.max_connections_per_ip = 0;
    // No data directory: parallel tests must not share (and lock) one.
    config.in_memory = true;
    let shutdown = CancellationToken::new();
    let listeners = banter_server::Listeners {
        text: listener,
        http: None,
    };
    tokio::spawn(banter_server::run(listeners, config, shutdown.clone()));
    let target = Target {
        addr,
        pid: Some(std::process::id()),
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
    let report = run(&tiny(Scenario::Rooms, 20, 2, 20, 50.0), &target)
        .await
        .unwrap();
    shutdown.cancel();
    assert_clean(&report);
    assert_eq!(report.logged_in, 20);
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
