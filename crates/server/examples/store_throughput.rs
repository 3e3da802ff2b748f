//! Measures the SQLite store writer's sustained throughput and its cost, so a
//! change to batching or the schema can be judged by numbers.
//!
//! Appends N messages of about 64 bytes across ROOMS rooms (default 100) as
//! fast as one thread can, then flushes, in a fresh temporary directory with
//! the default batch settings; HISTORY_MAX (default 10,000) sets how many
//! messages a room keeps, so that a small one shows the cost of pruning, and
//! BATCH_MAX (default the store's) how many messages one commit may take.
//! For each of RUNS runs (default 3) it prints:
//!
//! - messages per second, first append to flush done;
//! - the CPU time the writer thread (`banter-store`) spent per message, user
//!   and system: the cost the store adds to a busy server's core;
//! - what that thread read and wrote per message through system calls
//!   (bytes and calls; the WAL, checkpoints, reads of evicted pages).
//!
//! - what reading history costs once the messages are in, as a client of
//!   the store sees it (the job's round trip through the writer): the
//!   newest [`PAGE`] messages of every room, and pages of [`PAGE`] with a
//!   `before`, paging back through the whole history of up to
//!   [`PAGED_ROOMS`] rooms (with HISTORY_MAX at most N / ROOMS, every
//!   history is full, and paging reaches its start);
//!
//! then the medians. CPU time moves with whatever else the machine runs (on
//! a shared core, by a third or more); the I/O figures do not, so they show
//! changes to the disk side exactly. Both come from `/proc` (Linux only).
//! The queue cap is raised to N so that nothing is dropped and the figures
//! count every message.
//!
//! `cargo run --release -p banter-server --example store_throughput [N [ROOMS [HISTORY_MAX [RUNS [BATCH_MAX]]]]]`
//!
//! The `rooms` benchmark's store load (1,000 rooms, a fresh database, a few
//! seconds at 40,000 messages/s) is about `200000 1000`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use banter_server::store::sqlite::{SqliteConfig, SqliteStore, DEFAULT_BATCH_MAX};
use banter_server::store::{MessageKind, Store, StoredMessage, DEFAULT_HISTORY_MAX};

/// `USER_HZ`, the unit of the CPU times in `/proc/<pid>/task/<tid>/stat`:
/// 100 on every Linux architecture that matters here.
const TICKS_PER_SECOND: f64 = 100.0;

/// What a thread has used so far.
#[derive(Clone, Copy)]
struct Usage {
    /// Seconds of CPU time.
    user: f64,
    system: f64,
    /// Bytes and system calls, from `/proc/.../io`.
    read: f64,
    written: f64,
    read_calls: f64,
    write_calls: f64,
}

impl Usage {
    /// Of this process's thread named `name`; `None` where `/proc` does not
    /// tell (not Linux, or no such thread).
    fn of_thread(name: &str) -> Option<Self> {
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
            let ticks = |field: usize| -> Option<f64> {
                Some(fields.get(field)?.parse::<u64>().ok()? as f64 / TICKS_PER_SECOND)
            };
            let io = std::fs::read_to_string(path.join("io")).ok()?;
            let io_field = |name: &str| -> Option<f64> {
                io.lines()
                    .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))?
                    .parse::<u64>()
                    .ok()
                    .map(|n| n as f64)
            };
            return Some(Self {
                user: ticks(11)?,
                system: ticks(12)?,
                read: io_field("rchar")?,
                written: io_field("wchar")?,
                read_calls: io_field("syscr")?,
                write_calls: io_field("syscw")?,
            });
        }
        None
    }

    /// Per message, from `before` to `self`: CPU in microseconds, I/O in
    /// bytes and calls.
    fn per_message(self, before: Self, count: usize) -> Self {
        let n = count as f64;
        Self {
            user: (self.user - before.user) * 1e6 / n,
            system: (self.system - before.system) * 1e6 / n,
            read: (self.read - before.read) / n,
            written: (self.written - before.written) / n,
            read_calls: (self.read_calls - before.read_calls) / n,
            write_calls: (self.write_calls - before.write_calls) / n,
        }
    }

    fn describe(&self) -> String {
        format!(
            "writer thread {:.2} us CPU/msg: {:.2} user, {:.2} system; \
             wrote {:.0} B/msg in {:.2} calls, read {:.0} B/msg in {:.2} calls",
            self.user + self.system,
            self.user,
            self.system,
            self.written,
            self.write_calls,
            self.read,
            self.read_calls,
        )
    }
}

/// Messages a history read asks for, as a client joining a room or paging back would.
const PAGE: usize = 50;

/// Rooms whose whole history is paged through after the writes (spread over
/// all rooms); enough pages to time, few enough to keep a run short.
const PAGED_ROOMS: usize = 100;

struct Run {
    rate: f64,
    /// The writer thread's, per message.
    writer: Option<Usage>,
    reads: Reads,
}

/// Microseconds per history read, mean of a run.
#[derive(Clone, Copy)]
struct Reads {
    /// The newest [`PAGE`] of a room.
    newest: f64,
    /// A page of [`PAGE`] with a `before`.
    before: f64,
}

/// Times history reads of a store holding `rooms` rooms' messages.
fn time_reads(store: &SqliteStore, rooms: usize) -> Reads {
    let history = |room: &str, before: Option<i64>| {
        store
            .history(room, PAGE, before)
            .blocking_recv()
            .expect("the store answers")
            .expect("the read succeeds")
    };
    let start = Instant::now();
    for room in 0..rooms {
        history(&room_name(room), None);
    }
    let newest = start.elapsed().as_secs_f64() * 1e6 / rooms as f64;

    let mut pages = 0;
    let start = Instant::now();
    for room in (0..rooms).step_by(rooms.div_ceil(PAGED_ROOMS)) {
        let room = room_name(room);
        let mut before = history(&room, None).first().map(|message| message.id);
        while let Some(oldest) = before {
            before = history(&room, Some(oldest))
                .first()
                .map(|message| message.id);
            pages += 1;
        }
    }
    let before = start.elapsed().as_secs_f64() * 1e6 / pages.max(1) as f64;
    Reads { newest, before }
}

fn room_name(room: usize) -> String {
    format!("room{room:03}")
}

fn run(count: usize, rooms: usize, history_max: usize, batch_max: usize) -> Run {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = SqliteStore::open(SqliteConfig {
        queue_max: count,
        history_max,
        batch_max,
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
            room: room_name(i % rooms).into(),
            sender: format!("user{:04}", i % 1_000).into(),
            text: format!("message {i:>10} of the throughput run, padded to 64 bytes..").into(),
            kind: MessageKind::Chat,
            at: now + i as i64,
            from_room: None,
            recipient: None,
        })
        .collect();

    let before = Usage::of_thread("banter-store");
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
    let after = Usage::of_thread("banter-store");
    assert_eq!(store.dropped(), 0, "no message may be dropped");
    let reads = time_reads(&store, rooms);
    store.close().expect("the store closes");

    let rate = count as f64 / elapsed.as_secs_f64();
    let writer = before
        .zip(after)
        .map(|(before, after)| after.per_message(before, count));
    println!(
        "{count} messages committed in {:.3} s: {rate:.0} msgs/s (appending took {:.0} ns/msg; {})",
        elapsed.as_secs_f64(),
        appended.as_nanos() as f64 / count as f64,
        writer.map_or("writer thread usage unknown".into(), |usage| usage
            .describe()),
    );
    println!(
        "  reads: newest {PAGE} of a room {:.1} us, a page of {PAGE} with a before {:.1} us",
        reads.newest, reads.before
    );
    Run {
        rate,
        writer,
        reads,
    }
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
    let runs = arg(4, 3, "RUNS").max(1);
    let batch_max = arg(5, DEFAULT_BATCH_MAX, "BATCH_MAX").max(1);
    println!("{count} messages in {rooms} rooms, history_max {history_max}, batch_max {batch_max}");
    let runs: Vec<Run> = (0..runs)
        .map(|_| run(count, rooms, history_max, batch_max))
        .collect();
    let rate = median(runs.iter().map(|run| run.rate).collect());
    let writer: Option<Vec<Usage>> = runs.iter().map(|run| run.writer).collect();
    let writer = writer.map(|usages| {
        let of = |field: fn(&Usage) -> f64| median(usages.iter().map(field).collect());
        Usage {
            user: of(|u| u.user),
            system: of(|u| u.system),
            read: of(|u| u.read),
            written: of(|u| u.written),
            read_calls: of(|u| u.read_calls),
            write_calls: of(|u| u.write_calls),
        }
    });
    let newest = median(runs.iter().map(|run| run.reads.newest).collect());
    let before = median(runs.iter().map(|run| run.reads.before).collect());
    println!(
        "median of {}: {rate:.0} msgs/s{}; reads: newest {PAGE} {newest:.1} us, \
         a page with a before {before:.1} us",
        runs.len(),
        writer.map_or(String::new(), |usage| format!(", {}", usage.describe())),
    );
}
