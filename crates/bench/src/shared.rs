//! What every client of a run shares: the parameters, the clock, the
//! login gate and counters, the measurement window, the senders' flow
//! control and the latency histogram. Its own module so that the clients
//! (`client`, `ws_client`) and the run that starts them depend on it, not
//! on each other.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::scenario::Params;

/// The measurement window, in nanoseconds since the run's start.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    pub fn contains(&self, ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&ns)
    }
}

/// How far every receiver has got with one unthrottled sender's messages.
///
/// Receivers see one sender's messages in order, so when the last receiver
/// gets message `s`, every receiver has everything up to `s`: completions come
/// in sequence order and a ring of `window` counters is enough.
pub struct Ack {
    receivers: u32,
    ring: Box<[AtomicU32]>,
    done: AtomicU64,
    wake: Notify,
}

impl Ack {
    pub fn new(receivers: usize, window: usize) -> Self {
        Self {
            receivers: receivers as u32,
            ring: (0..window).map(|_| AtomicU32::new(0)).collect(),
            done: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }

    /// One receiver got message `seq`.
    pub fn ack(&self, seq: u64) {
        let slot = &self.ring[(seq % self.ring.len() as u64) as usize];
        if slot.fetch_add(1, Ordering::AcqRel) + 1 == self.receivers {
            slot.store(0, Ordering::Release);
            self.done.fetch_max(seq + 1, Ordering::AcqRel);
            self.wake.notify_one();
        }
    }

    /// Messages every receiver has.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }

    /// Waits for `done` to move (or a stored wake-up).
    pub async fn wait(&self) {
        self.wake.notified().await;
    }
}

/// State every client of a run shares.
pub struct Shared {
    pub params: Params,
    /// Marks this run's names and messages.
    pub tag: String,
    /// Where the clients connect: each node's text door, or its HTTP listener
    /// for WebSocket runs; client `i` goes to `addrs[i mod n]`.
    pub addrs: Vec<SocketAddr>,
    pub start: std::time::Instant,
    pub login_gate: Semaphore,
    pub login_deadline: Instant,
    pub logged_in: AtomicUsize,
    pub login_failures: AtomicUsize,
    pub login_progress: Notify,
    pub first_login_error: Mutex<Option<String>>,
    pub window: OnceLock<Window>,
    pub go: CancellationToken,
    pub stop_sending: CancellationToken,
    pub senders_stopped: AtomicUsize,
    pub done: CancellationToken,
    /// Messages sent so far, by sender.
    pub sent: Vec<AtomicU64>,
    /// Distinct deliveries so far, over all receivers.
    pub unique_total: AtomicU64,
    /// Flow control of unthrottled senders (empty when throttled).
    pub acks: Vec<Ack>,
    /// End-to-end latencies in ns: [same node, across nodes] (all in the
    /// first with one node).
    pub latency: Mutex<[Histogram<u64>; 2]>,
}

/// Latencies read since they were last recorded, in ns, split by whether the
/// sender and the receiver are on one node.
#[derive(Debug, Default)]
pub struct Latencies {
    same_node: Vec<u64>,
    cross_node: Vec<u64>,
}

impl Latencies {
    pub fn push(&mut self, same_node: bool, ns: u64) {
        if same_node {
            self.same_node.push(ns);
        } else {
            self.cross_node.push(ns);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.same_node.is_empty() && self.cross_node.is_empty()
    }

    pub fn clear(&mut self) {
        self.same_node.clear();
        self.cross_node.clear();
    }
}

impl Shared {
    /// Nanoseconds since the run's start, the clock of every stamp.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Where client `index` connects.
    pub fn addr_of(&self, index: usize) -> SocketAddr {
        self.addrs[index % self.addrs.len()]
    }

    /// Whether clients `a` and `b` are on the same node (always, with one).
    pub fn same_node(&self, a: usize, b: usize) -> bool {
        a % self.addrs.len() == b % self.addrs.len()
    }

    /// The screen name of client `index`.
    pub fn name(&self, index: usize) -> String {
        format!("{}c{index}", self.tag)
    }

    pub fn record_latencies(&self, latencies: &Latencies) {
        let mut histograms = self
            .latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let [same, cross] = &mut *histograms;
        for (histogram, all) in [(same, &latencies.same_node), (cross, &latencies.cross_node)] {
            for &ns in all {
                histogram.saturating_record(ns.max(1));
            }
        }
    }

    /// Counts a failed login, keeping the first error for the report.
    pub fn login_failed(&self, error: &str) {
        self.first_login_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert_with(|| error.to_owned());
        self.login_failures.fetch_add(1, Ordering::Relaxed);
        self.login_progress.notify_one();
    }
}

/// A short tag unlikely to repeat between runs, from the clock and the PID.
pub fn run_tag() -> String {
    const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
    let mut tag = String::from("b");
    for _ in 0..4 {
        tag.push(char::from(DIGITS[(seed % 36) as usize]));
        seed /= 36;
    }
    tag
}
