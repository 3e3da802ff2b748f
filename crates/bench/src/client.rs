//! One load client: connect, log in, then read, check and (maybe) send.
//!
//! Each client is one task owning its socket; reading and sending run side by
//! side in it, so a sender blocked on a full socket never stops its own
//! reading (the server stops reading a client whose output is not drained).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior};

use crate::payload::{self, Line, Stamp};
use crate::scenario::Params;
use crate::shared::{Latencies, Shared, Window};
use crate::tracker::{self, Tally, Tracker};

/// Bytes a client reads at a time (at least).
pub(crate) const READ_CHUNK_BYTES: usize = 8 * 1024;
/// Most messages a throttled sender catches up with in one write.
const MAX_BURST: u64 = 1000;

/// What one client saw and did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Which client this is.
    pub index: usize,
    /// Time from starting to connect to the server's `hello`; `Err` if it failed.
    pub login: Option<Result<Duration, String>>,
    /// Chat lines of this run received, in all.
    pub delivered: u64,
    /// Of those, received inside the measurement window.
    pub delivered_in_window: u64,
    /// Messages the server said it dropped for this client.
    pub missed: u64,
    pub tally: Tally,
    /// Distinct messages seen from each checked client of the room, by slot.
    pub unique_by_slot: Vec<u64>,
    pub sent: u64,
    pub sent_in_window: u64,
    /// The connection ended or failed before the run did.
    pub cut_off: Option<String>,
    /// The first error the server answered a request with after login
    /// (only the WebSocket door answers every request).
    pub refused: Option<String>,
    /// Every arrival as (sender, sequence number), in order, with `--check-order`.
    pub order: Vec<(u32, u64)>,
}

impl Outcome {
    /// Ends this client's run with a failed login, counted in `shared`.
    pub fn login_failed(mut self, shared: &Shared, error: String) -> Self {
        shared.login_failed(&error);
        self.login = Some(Err(error));
        self
    }
}

impl Outcome {
    /// Adds what a checked client's sending and reading came to.
    pub(crate) fn finish(
        &mut self,
        params: &Params,
        tracker: &Tracker,
        (sent, sent_in_window, send_error): (u64, u64, Option<String>),
    ) {
        self.sent = sent;
        self.sent_in_window = sent_in_window;
        if self.cut_off.is_none() {
            self.cut_off = send_error;
        }
        self.tally = tracker.tally;
        self.unique_by_slot = (0..params.members_of(params.room_of(self.index)))
            .map(|slot| tracker.unique(slot))
            .collect();
    }
}

/// One of this run's messages as a receiver got it.
pub(crate) struct Arrival {
    pub stamp: Stamp,
    /// When it was read, on the run's clock.
    pub now_ns: u64,
    /// Whether it was read inside the measurement window.
    pub in_window: bool,
}

impl Arrival {
    /// Counts and checks it: once and in order per sender, acknowledged to an
    /// unthrottled sender, its latency kept in `latencies` when in the window.
    pub fn check(
        &self,
        shared: &Shared,
        tracker: &mut Tracker,
        outcome: &mut Outcome,
        latencies: &mut Latencies,
    ) {
        let params = &shared.params;
        let stamp = self.stamp;
        let sender = stamp.sender as usize;
        outcome.delivered += 1;
        if sender >= params.clients {
            return;
        }
        if params.check_order {
            outcome.order.push((stamp.sender, stamp.seq));
        }
        let slot = params.slot_of(sender);
        if tracker.record(slot, stamp.seq) == Some(tracker::Arrival::New) {
            shared.unique_total.fetch_add(1, Ordering::Relaxed);
            if let Some(ack) = shared.acks.get(sender) {
                ack.ack(stamp.seq);
            }
        }
        if self.in_window {
            outcome.delivered_in_window += 1;
            latencies.push(
                shared.same_node(sender, outcome.index),
                self.now_ns.saturating_sub(stamp.sent_ns),
            );
        }
    }
}

/// Buffered input, split into lines (the text and IRC load clients').
pub(crate) struct Reader {
    buffer: Vec<u8>,
    /// Start of the first unprocessed byte.
    start: usize,
}

impl Reader {
    pub(crate) fn new() -> Self {
        Self {
            buffer: Vec::with_capacity(READ_CHUNK_BYTES),
            start: 0,
        }
    }

    /// Reads more input; `false` at EOF.
    pub(crate) async fn fill(&mut self, socket: &mut ReadHalf<'_>) -> io::Result<bool> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.reserve(READ_CHUNK_BYTES);
        Ok(socket.read_buf(&mut self.buffer).await? > 0)
    }

    /// The next complete line without its ending, if one is buffered.
    pub(crate) fn line(&mut self) -> Option<&[u8]> {
        let rest = &self.buffer[self.start..];
        let end = memchr::memchr(b'\n', rest)?;
        self.start += end + 1;
        let line = &rest[..end];
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// Runs client `index` until the run is done.
pub async fn run(shared: Arc<Shared>, index: usize) -> Outcome {
    let mut outcome = Outcome {
        index,
        ..Outcome::default()
    };
    let params = &shared.params;
    let room = params.room_of(index);
    let checked = index < params.clients;
    let begun = Instant::now();
    let permit = shared.login_gate.acquire().await;
    let login = tokio::time::timeout_at(shared.login_deadline, async {
        let stream = TcpStream::connect(shared.addr_of(index)).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(stream)
    })
    .await;
    let mut stream = match login {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return outcome.login_failed(&shared, format!("connect: {err}")),
        Err(_) => return outcome.login_failed(&shared, "connect timed out".into()),
    };
    let (mut read_half, mut write_half) = stream.split();
    let mut reader = Reader::new();
    let hello = format!("{}:r{room}\n", shared.name(index));
    let logged_in = tokio::time::timeout_at(
        shared.login_deadline,
        log_in(&mut read_half, &mut write_half, &mut reader, &hello),
    )
    .await
    .unwrap_or_else(|_| Err("no hello before the login timeout".into()));
    drop(permit);
    if let Err(err) = logged_in {
        return outcome.login_failed(&shared, err);
    }
    outcome.login = Some(Ok(begun.elapsed()));
    shared.logged_in.fetch_add(1, Ordering::Relaxed);
    shared.login_progress.notify_one();
    if !checked {
        // A slow reader: holds its connection and never reads again.
        shared.done.cancelled().await;
        return outcome;
    }

    let mut tracker = Tracker::new(params.members_of(room));
    let reading = read_loop(
        &shared,
        &mut read_half,
        &mut reader,
        &mut tracker,
        &mut outcome,
    );
    let mut sending_outcome = (0, 0, None);
    let sending = async {
        if params.is_sender(index) {
            let mut lines = Lines {
                half: &mut write_half,
                out: Vec::new(),
            };
            sending_outcome = send_loop(&shared, index, &mut lines).await;
        }
    };
    tokio::select! {
        _ = shared.done.cancelled() => {}
        _ = async { tokio::join!(reading, sending) } => {}
    }
    outcome.finish(params, &tracker, sending_outcome);
    outcome
}

/// Sends the name line and waits for the server's `hello`.
async fn log_in(
    read_half: &mut ReadHalf<'_>,
    write_half: &mut WriteHalf<'_>,
    reader: &mut Reader,
    hello: &str,
) -> Result<(), String> {
    write_half
        .write_all(hello.as_bytes())
        .await
        .map_err(|err| format!("sending the name: {err}"))?;
    loop {
        while let Some(line) = reader.line() {
            if line.starts_with(b"hello ") {
                return Ok(());
            }
            if line.starts_with(b"error:") {
                return Err(String::from_utf8_lossy(line).into_owned());
            }
        }
        match reader.fill(read_half).await {
            Ok(true) => {}
            Ok(false) => return Err("closed before hello".into()),
            Err(err) => return Err(format!("reading: {err}")),
        }
    }
}

/// Reads and checks deliveries until the connection ends (which, before the
/// run is done, means this client was cut off).
async fn read_loop(
    shared: &Shared,
    read_half: &mut ReadHalf<'_>,
    reader: &mut Reader,
    tracker: &mut Tracker,
    outcome: &mut Outcome,
) {
    let tag = shared.tag.as_bytes();
    let mut latencies = Latencies::default();
    loop {
        let now_ns = shared.now_ns();
        let window = shared.window.get().copied();
        let in_window = window.is_some_and(|w| w.contains(now_ns));
        while let Some(line) = reader.line() {
            match payload::classify(line, tag) {
                Line::Message(stamp) => {
                    let arrival = Arrival {
                        stamp,
                        now_ns,
                        in_window,
                    };
                    arrival.check(shared, tracker, outcome, &mut latencies);
                }
                Line::Missed(count) => outcome.missed += count,
                Line::Other => {}
            }
        }
        if !latencies.is_empty() {
            shared.record_latencies(&latencies);
            latencies.clear();
        }
        match reader.fill(read_half).await {
            Ok(true) => {}
            Ok(false) => {
                outcome.cut_off = Some("the server closed the connection".into());
                return;
            }
            Err(err) => {
                outcome.cut_off = Some(format!("reading: {err}"));
                return;
            }
        }
    }
}

/// How one door sends a batch of a sender's messages.
pub(crate) trait Outlet {
    /// Sends these messages, of `shared.params.size` text bytes each, in one write.
    async fn send(&mut self, shared: &Shared, stamps: &[Stamp]) -> Result<(), String>;
}

/// The text door: one line per message.
struct Lines<'s, 'h> {
    half: &'s mut WriteHalf<'h>,
    out: Vec<u8>,
}

impl Outlet for Lines<'_, '_> {
    async fn send(&mut self, shared: &Shared, stamps: &[Stamp]) -> Result<(), String> {
        self.out.clear();
        for &stamp in stamps {
            payload::encode(&mut self.out, &shared.tag, stamp, shared.params.size);
        }
        self.half
            .write_all(&self.out)
            .await
            .map_err(|err| format!("sending: {err}"))
    }
}

/// Sends until told to stop; returns (sent, sent in the window, error).
pub(crate) async fn send_loop(
    shared: &Shared,
    index: usize,
    outlet: &mut impl Outlet,
) -> (u64, u64, Option<String>) {
    let params = &shared.params;
    shared.go.cancelled().await;
    let window = *shared.window.get().expect("the window is set before go");
    let mut sender = Sender {
        shared,
        index,
        window,
        seq: 0,
        in_window: 0,
        stamps: Vec::new(),
        outlet,
    };
    let result = if params.rate > 0.0 {
        sender.throttled().await
    } else {
        sender.unthrottled().await
    };
    shared.senders_stopped.fetch_add(1, Ordering::Relaxed);
    (sender.seq, sender.in_window, result.err())
}

struct Sender<'a, O> {
    shared: &'a Shared,
    index: usize,
    window: Window,
    /// Messages sent so far; the next one's sequence number.
    seq: u64,
    in_window: u64,
    stamps: Vec<Stamp>,
    outlet: &'a mut O,
}

impl<O: Outlet> Sender<'_, O> {
    /// Sends `count` messages in one write.
    async fn send(&mut self, count: u64) -> Result<(), String> {
        let shared = self.shared;
        let sent_ns = shared.now_ns();
        self.stamps.clear();
        for _ in 0..count {
            self.stamps.push(Stamp {
                sender: self.index as u32,
                seq: self.seq,
                sent_ns,
            });
            self.seq += 1;
        }
        if self.window.contains(sent_ns) {
            self.in_window += count;
        }
        shared.sent[self.index].fetch_add(count, Ordering::Relaxed);
        self.outlet.send(shared, &self.stamps).await
    }

    /// Keeps to the rate: each tick sends what is due since the first one.
    async fn throttled(&mut self) -> Result<(), String> {
        let params = &self.shared.params;
        let period = Duration::from_secs_f64(1.0 / params.rate).max(Duration::from_millis(1));
        // Spread the senders' ticks over one period instead of firing together.
        let offset = period.mul_f64(self.index as f64 / params.senders.max(1) as f64);
        let first = Instant::now() + offset;
        let mut ticker = tokio::time::interval_at(first, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = self.shared.stop_sending.cancelled() => return Ok(()),
                _ = ticker.tick() => {}
            }
            let due = (first.elapsed().as_secs_f64() * params.rate) as u64 + 1;
            let count = due.saturating_sub(self.seq).min(MAX_BURST);
            if count > 0 {
                self.send(count).await?;
            }
        }
    }

    /// Sends as fast as the window allows: at most `window` messages not yet
    /// seen by every other member of the room.
    async fn unthrottled(&mut self) -> Result<(), String> {
        let shared = self.shared;
        let ack = &shared.acks[self.index];
        let limit = shared.params.window as u64;
        loop {
            if shared.stop_sending.is_cancelled() {
                return Ok(());
            }
            let in_flight = self.seq - ack.done();
            if in_flight < limit {
                self.send(limit - in_flight).await?;
                continue;
            }
            tokio::select! {
                biased;
                _ = shared.stop_sending.cancelled() => return Ok(()),
                _ = ack.wait() => {}
            }
        }
    }
}
