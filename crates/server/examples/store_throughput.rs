//! Measures the SQLite store writer's sustained throughput, so a change to
//! batching or the schema can be judged by a number.
//!
//! Appends N messages of about 64 bytes across 100 rooms as fast as one
//! thread can, then flushes, in a fresh temporary directory with the default
//! batch settings; prints messages per second (first append to flush done)
//! for each of three runs and their median. The queue cap is raised to N so
//! that nothing is dropped and the figure counts every message.
//!
//! `cargo run --release -p banter-server --example store_throughput [N]`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use banter_server::store::sqlite::{SqliteConfig, SqliteStore};
use banter_server::store::{MessageKind, Store, StoredMessage};

const ROOMS: usize = 100;
const RUNS: usize = 3;

fn run(count: usize) -> f64 {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = SqliteStore::open(SqliteConfig {
        queue_max: count,
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
            room: format!("room{:03}", i % ROOMS),
            sender: format!("user{:04}", i % 1_000),
            text: format!("message {i:>10} of the throughput run, padded to 64 bytes.."),
            kind: MessageKind::Chat,
            at: now + i as i64,
            from_room: None,
            recipient: None,
        })
        .collect();

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
    assert_eq!(store.dropped(), 0, "no message may be dropped");
    store.close().expect("the store closes");

    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{count} messages committed in {:.3} s: {rate:.0} msgs/s (appending took {:.0} ns/msg)",
        elapsed.as_secs_f64(),
        appended.as_nanos() as f64 / count as f64,
    );
    rate
}

fn main() {
    let count = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("N is a number of messages"))
        .unwrap_or(200_000);
    let mut rates: Vec<f64> = (0..RUNS).map(|_| run(count)).collect();
    rates.sort_by(f64::total_cmp);
    println!("median of {RUNS}: {:.0} msgs/s", rates[RUNS / 2]);
}
