//! One run of a scenario against a server that is already listening.
//!
//! Phases: every client connects and logs in (bounded by the login timeout);
//! the senders start together (warm-up, then the measurement window, during
//! which the server's and the generator's CPU time are sampled); the senders
//! stop and the run waits (bounded by the drain time) for what is still in
//! flight; then every connection closes and the outcomes are summed up.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::bail;
use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Outcome};
use crate::irc_client;
use crate::order;
use crate::procfs;
use crate::report::{Latency, Report, ServerUse};
use crate::scenario::{Activity, Door, Params};
use crate::shared::{run_tag, Ack, Shared, Window};
use crate::ws_client;

/// The server a run drives: one process, or the nodes of a cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// The text door of each node; client `i` connects to node `i mod n`.
    pub addrs: Vec<SocketAddr>,
    /// The HTTP listener of each node's WebSocket door (banter/1 at `/ws`), if known.
    pub http: Vec<SocketAddr>,
    /// The IRC door of each node, if known.
    pub irc: Vec<SocketAddr>,
    /// Its processes (each node's, and a cluster's broker), whose CPU time
    /// and memory are read from `/proc` and summed.
    pub pids: Vec<u32>,
    /// What it is, for the report (`banterd`, `baseline`, an address).
    pub label: String,
}

/// Most time the clients get to close after the run.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `params` against `target` and sums up what every client saw.
pub async fn run(params: &Params, target: &Target) -> anyhow::Result<Report> {
    let addrs = match params.door {
        Door::Text => target.addrs.clone(),
        Door::WebSocket if !target.http.is_empty() => target.http.clone(),
        Door::WebSocket => bail!(
            "{} speaks banter/1 over the WebSocket door, and no WebSocket door is known for {} \
             (banterd logs \"http listening on ADDR\": give that as --http-addr; \
             the naive_chat baseline has none)",
            params.scenario,
            target.label,
        ),
        Door::Irc if !target.irc.is_empty() => target.irc.clone(),
        Door::Irc => bail!(
            "--door irc needs the IRC door of {} (banterd logs \"irc listening on ADDR\": \
             give that as --irc-addr; the naive_chat baseline has none)",
            target.label,
        ),
    };
    let before = procfs::sample_all(&target.pids)?;
    let senders = if params.activity == Activity::Chat {
        params.senders
    } else {
        0
    };
    let acks = if params.rate == 0.0 {
        (0..senders)
            .map(|s| Ack::new(params.members_of(params.room_of(s)) - 1, params.window))
            .collect()
    } else {
        Vec::new()
    };
    let shared = Arc::new(Shared {
        params: params.clone(),
        tag: run_tag(),
        addrs: addrs.clone(),
        start: std::time::Instant::now(),
        login_gate: Semaphore::new(params.connect_concurrency),
        login_deadline: Instant::now() + params.login_timeout,
        logged_in: AtomicUsize::new(0),
        login_failures: AtomicUsize::new(0),
        login_progress: Notify::new(),
        first_login_error: Mutex::new(None),
        window: OnceLock::new(),
        go: CancellationToken::new(),
        stop_sending: CancellationToken::new(),
        senders_stopped: AtomicUsize::new(0),
        done: CancellationToken::new(),
        sent: (0..senders).map(|_| AtomicU64::new(0)).collect(),
        unique_total: AtomicU64::new(0),
        acks,
        latency: Mutex::new([
            Histogram::new_with_bounds(1_000, 600_000_000_000, 3)?,
            Histogram::new_with_bounds(1_000, 600_000_000_000, 3)?,
        ]),
    });
    // Whatever happens below, the clients stop when this goes out of scope.
    let _done = shared.done.clone().drop_guard();

    let connecting = Instant::now();
    let mut clients = JoinSet::new();
    for index in 0..params.connections() {
        let shared = Arc::clone(&shared);
        match params.door {
            Door::Text => clients.spawn(client::run(shared, index)),
            Door::WebSocket => clients.spawn(ws_client::run(shared, index)),
            Door::Irc => clients.spawn(irc_client::run(shared, index)),
        };
    }
    let logins_end = wait_for_logins(&shared).await;
    let login_seconds = logins_end.duration_since(connecting).as_secs_f64();
    let failures = shared.login_failures.load(Ordering::Relaxed);
    if params.activity == Activity::Chat && failures > 0 {
        let first = shared.first_login_error.lock().ok().and_then(|e| e.clone());
        bail!(
            "{failures} of {} clients could not log in (first error: {})",
            params.connections(),
            first.unwrap_or_else(|| "timed out".into())
        );
    }

    let go_ns = shared.now_ns();
    let window = Window {
        start_ns: go_ns + params.warmup.as_nanos() as u64,
        end_ns: go_ns + (params.warmup + params.duration).as_nanos() as u64,
    };
    shared.window.set(window).ok();
    let go = Instant::now();
    shared.go.cancel();
    tokio::time::sleep_until(go + params.warmup).await;
    let server_start = procfs::sample_all(&target.pids)?;
    let self_start = procfs::sample(None)?;
    let window_opened = Instant::now();
    tokio::time::sleep_until(go + params.warmup + params.duration).await;
    let server_end = procfs::sample_all(&target.pids)?;
    let self_end = procfs::sample(None)?;
    let window_seconds = window_opened.elapsed().as_secs_f64();

    shared.stop_sending.cancel();
    let drained = drain(&shared, senders).await;

    shared.done.cancel();
    let mut outcomes = Vec::with_capacity(params.connections());
    let closing = Instant::now() + CLOSE_TIMEOUT;
    while let Ok(Some(joined)) = tokio::time::timeout_at(closing, clients.join_next()).await {
        outcomes.push(joined?);
    }
    clients.abort_all();

    let server = match (before, server_start, server_end) {
        (Some(before), Some(start), Some(end)) => Some((before, start, end)),
        _ => None,
    };
    let [same_node, cross_node] = shared
        .latency
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    Ok(summarize(Summary {
        params,
        target,
        addrs: &addrs,
        outcomes: &outcomes,
        login_seconds,
        window_seconds,
        drained,
        server,
        generator_cpu: self_end.cpu.saturating_sub(self_start.cpu),
        same_node: &same_node,
        cross_node: &cross_node,
    }))
}

/// Waits until every client has logged in or failed, or the login timeout;
/// returns when the last login finished.
async fn wait_for_logins(shared: &Shared) -> Instant {
    let total = shared.params.connections();
    loop {
        let finished = shared.logged_in.load(Ordering::Relaxed)
            + shared.login_failures.load(Ordering::Relaxed);
        if finished >= total {
            return Instant::now();
        }
        let progress = shared.login_progress.notified();
        if tokio::time::timeout_at(shared.login_deadline, progress)
            .await
            .is_err()
        {
            return Instant::now();
        }
    }
}

/// After the senders stop: waits for every message sent to reach every
/// receiver, at most the drain time. Returns whether everything arrived.
async fn drain(shared: &Shared, senders: usize) -> bool {
    const POLL: Duration = Duration::from_millis(5);
    let params = &shared.params;
    let deadline = Instant::now() + params.drain;
    while shared.senders_stopped.load(Ordering::Relaxed) < senders {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    let expected: u64 = (0..senders)
        .map(|s| {
            let receivers = params.members_of(params.room_of(s)) as u64 - 1;
            shared.sent[s].load(Ordering::Relaxed) * receivers
        })
        .sum();
    loop {
        if shared.unique_total.load(Ordering::Relaxed) >= expected {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

struct Summary<'a> {
    params: &'a Params,
    target: &'a Target,
    /// Where the clients connected.
    addrs: &'a [SocketAddr],
    outcomes: &'a [Outcome],
    login_seconds: f64,
    window_seconds: f64,
    drained: bool,
    /// Server samples before connecting, at the window's start and at its end.
    server: Option<(procfs::Sample, procfs::Sample, procfs::Sample)>,
    generator_cpu: Duration,
    /// Latencies of deliveries within one node (all of them, with one node)
    /// and across nodes.
    same_node: &'a Histogram<u64>,
    cross_node: &'a Histogram<u64>,
}

fn summarize(s: Summary<'_>) -> Report {
    let params = s.params;
    let outcomes = s.outcomes;
    let mut login = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)
        .expect("constant histogram bounds are valid");
    let mut report = Report {
        scenario: params.scenario,
        server_label: s.target.label.clone(),
        addr: s
            .addrs
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(","),
        params: params.clone(),
        connections: params.connections(),
        ..Report::default()
    };
    for outcome in outcomes {
        match &outcome.login {
            Some(Ok(took)) => {
                report.logged_in += 1;
                login.saturating_record(took.as_micros() as u64);
            }
            Some(Err(err)) => {
                report.login_failures += 1;
                report.first_error.get_or_insert_with(|| err.clone());
            }
            None => {}
        }
        report.sent += outcome.sent;
        report.sent_in_window += outcome.sent_in_window;
        report.delivered += outcome.delivered;
        report.delivered_in_window += outcome.delivered_in_window;
        report.server_dropped += outcome.missed;
        report.duplicates += outcome.tally.duplicates;
        report.out_of_order += outcome.tally.out_of_order;
        if let Some(err) = &outcome.cut_off {
            report.cut_off += 1;
            report.first_error.get_or_insert_with(|| err.clone());
        }
        if let Some(err) = &outcome.refused {
            report.first_error.get_or_insert_with(|| err.clone());
        }
    }
    (report.expected, report.lost) = expected_and_lost(params, outcomes);
    report.drained = s.drained;
    report.login_seconds = s.login_seconds;
    report.login_p50_ms = login.value_at_quantile(0.5) as f64 / 1000.0;
    report.login_p99_ms = login.value_at_quantile(0.99) as f64 / 1000.0;
    report.login_max_ms = login.max() as f64 / 1000.0;
    report.window_seconds = s.window_seconds;
    report.sent_per_second = report.sent_in_window as f64 / s.window_seconds;
    report.deliveries_per_second = report.delivered_in_window as f64 / s.window_seconds;
    let mut all = s.same_node.clone();
    all.add(s.cross_node)
        .expect("the two histograms have the same bounds");
    report.latency = Latency::from_histogram(&all);
    if s.addrs.len() > 1 {
        report.same_node_latency = Some(Latency::from_histogram(s.same_node));
        report.cross_node_latency = Some(Latency::from_histogram(s.cross_node));
    }
    if params.check_order {
        report.order_disagreements = Some(order::disagreements(params, outcomes));
    }
    report.generator_cpu_seconds = s.generator_cpu.as_secs_f64();
    report.generator_cpu_percent = 100.0 * s.generator_cpu.as_secs_f64() / s.window_seconds;
    if let Some((before, start, end)) = s.server {
        let cpu = end.cpu.saturating_sub(start.cpu).as_secs_f64();
        let system = end.system.saturating_sub(start.system).as_secs_f64();
        let grown_kib = end.rss_kib.saturating_sub(before.rss_kib);
        report.server = Some(ServerUse {
            cpu_seconds: cpu,
            system_seconds: system,
            store_writer_seconds: end
                .store_writer
                .map(|writer| writer.saturating_sub(start.store_writer.unwrap_or_default()))
                .map(|writer| writer.as_secs_f64()),
            cpu_percent: 100.0 * cpu / s.window_seconds,
            cpu_us_per_delivery: (report.delivered_in_window > 0)
                .then(|| cpu * 1e6 / report.delivered_in_window as f64),
            rss_before_kib: before.rss_kib,
            rss_kib: end.rss_kib,
            rss_peak_kib: end.peak_kib,
            rss_bytes_per_connection: (report.logged_in > 0)
                .then(|| grown_kib as f64 * 1024.0 / report.logged_in as f64),
        });
    }
    report
}

/// What the checked receivers should have got (each message of every other
/// checked client in their room) and how much of it never arrived.
fn expected_and_lost(params: &Params, outcomes: &[Outcome]) -> (u64, u64) {
    let mut sent = vec![0; params.clients];
    for outcome in outcomes {
        if let Some(slot) = sent.get_mut(outcome.index) {
            *slot = outcome.sent;
        }
    }
    let (mut expected, mut lost) = (0, 0);
    for receiver in outcomes.iter().filter(|o| o.index < params.clients) {
        let room = params.room_of(receiver.index);
        let own = params.slot_of(receiver.index);
        for (slot, &unique) in receiver.unique_by_slot.iter().enumerate() {
            if slot == own {
                continue;
            }
            let from = sent[params.client_at(room, slot)];
            expected += from;
            lost += from.saturating_sub(unique);
        }
    }
    (expected, lost)
}
