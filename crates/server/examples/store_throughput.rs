//! Measures the SQLite store writer's sustained throughput and its cost, so a
//! change to batching or the schema can be judged by numbers.
//!
//! Appends N messages of about 64 bytes across ROOMS rooms (default 100) as
//! fast as one thread can, then flushes, in a fresh temporary directory with
//! the default batch settings (HISTORY_MAX, default 10,000, sets the history
//! size, so that a small one shows the cost of pruning). For each of three
//! runs it prints messages per second (first append to flush done) and the
//! CPU time the writer thread (`banter-store`) spent per message, read from
//! `/proc` on Linux (the cost the writer adds to a busy server's core, and
//! much less disturbed by other load on the machine than the rate); then the
//! medians. The queue cap is raised to N so that nothing is dropped and the
//! figures count every message.
//!
//! `cargo run --release -p banter-server --example store_throughput [N [ROOMS [HISTORY_MAX]]]`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use banter_server::store::sqlite::{SqliteConfig, SqliteStore};
use banter_server::store::{MessageKind, Store, StoredMessage, DEFAULT_HISTORY_MAX};

const RUNS: usize = 3;

/// `USER_HZ`, the unit of the CPU times in `/proc/<pid>/task/<tid>/stat`:
/// 100 on every Linux architecture that matters here.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user and system) used so far by this process's thread named
/// `name`; `None` where `/proc` does not tell (not Linux, or no such thread).
fn thread_cpu(name: &str) -> Option<Duration> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        return Some(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND));
    }
    None
}

struct Run {
    rate: f64,
    /// Writer thread CPU per message, in microseconds.
    writer_us: Option<f64>,
}

fn run(count: usize, rooms: usize, history_max: usize) -> Run {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = SqliteStore::open(SqliteConfig {
        queue_max: count,
        history_max,
        ..SqliteConfig::new(dir.path())
    })
    .expect("the store opens");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64;
    let messages: Vec<StoredMessage> = (0..count)
        .map(|i| StoredMessage {
            id: 0,
            room: format!("room{:03}", i % rooms),
            sender: format!("user{:04}", i % 1_000),
            text: format!("message {i:>10} of the throughput run, padded to 64 bytes.."),
            kind: MessageKind::Chat,
            at: now + i as i64,
            from_room: None,
            recipient: None,
        })
        .collect();

    let cpu_before = thread_cpu("banter-store");
    let start = Instant::now();
    for message in messages {
        store.append(message);
    }
    let appended = start.elapsed();
    store
        .flush()
        .blocking_recv()
        .expect("the store answers")
        .expect("the flush succeeds");
    let elapsed = start.elapsed();
    let cpu_after = thread_cpu("banter-store");
    assert_eq!(store.dropped(), 0, "no message may be dropped");
    store.close().expect("the store closes");

    let rate = count as f64 / elapsed.as_secs_f64();
    let writer_us = cpu_before
        .zip(cpu_after)
        .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / count as f64);
    println!(
        "{count} messages committed in {:.3} s: {rate:.0} msgs/s (appending took {:.0} ns/msg; \
         writer thread {})",
        elapsed.as_secs_f64(),
        appended.as_nanos() as f64 / count as f64,
        writer_us.map_or("CPU unknown".into(), |us| format!("{us:.2} us CPU/msg")),
    );
    Run { rate, writer_us }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let arg = |n: usize, default: usize, what: &str| {
        std::env::args().nth(n).map_or(default, |value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{what} is a number"))
        })
    };
    let count = arg(1, 200_000, "N");
    let rooms = arg(2, 100, "ROOMS").max(1);
    let history_max = arg(3, DEFAULT_HISTORY_MAX, "HISTORY_MAX");
    println!("{count} messages in {rooms} rooms, history_max {history_max}");
    let runs: Vec<Run> = (0..RUNS).map(|_| run(count, rooms, history_max)).collect();
    let rate = median(runs.iter().map(|run| run.rate).collect());
    let writer: Option<Vec<f64>> = runs.iter().map(|run| run.writer_us).collect();
    println!(
        "median of {RUNS}: {rate:.0} msgs/s{}",
        writer.map_or(String::new(), |us| format!(
            ", writer thread {:.2} us CPU/msg",
            median(us)
        ))
    );
}
