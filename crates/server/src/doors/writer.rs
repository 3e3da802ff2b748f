//! The write half of every connection: drains the session's outbox through
//! the door's [`Renderer`] into a [`Sink`], a byte stream (text, IRC) or a
//! WebSocket (JSON).
//!
//! Everything queued when the writer wakes goes out in one batch, and no two
//! batches are closer than `--write-coalesce-ms` unless the second is a full
//! one (the outbox's `FULL_BATCH_BYTES`): under load many lines share
//! one system call (the kernel's cost per write dominates a busy server),
//! while a line after a quiet spell goes out at once, costing no timer. While
//! lines keep coming within the window, the writer sleeps out each window and
//! takes what came, without being woken by the first line. A
//! client that takes nothing for `--write-stall-timeout` ends the session: a
//! client that stopped reading cannot hold memory or a task forever. What
//! was missed goes after the batch's deliveries, except in the last batch,
//! which ends with the session's farewell: there it goes first.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures::SinkExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::core::{Batch, Delivery, Missed, Outbox};
use crate::doors::{Renderer, WriteTiming};
use crate::metrics::Metrics;

/// How often the writer pings a WebSocket client.
const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Why a sink stopped taking output.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The client took nothing for the stall timeout, or let too much wait.
    Stalled,
    /// The connection failed.
    Failed,
}

/// Where a connection's output goes.
pub(crate) trait Sink: Send + 'static {
    /// A batch's output, ready to send.
    type Output: Send;

    /// Renders one batch with `renderer`. Not async: the batch is let go
    /// before anything waits on the client.
    fn prepare<R: Renderer>(renderer: &mut R, batch: Batch) -> Self::Output;

    /// Writes what the connection takes at once of `output`, without
    /// waiting, and leaves the rest in it; true if nothing is left. Most
    /// batches go out here, with no timer and no boxed future; the rest goes
    /// through [`Sink::send`]. A sink without a cheaper way sends nothing now.
    fn send_now(&mut self, _output: &mut Self::Output) -> bool {
        false
    }

    /// Sends one batch's output; after the last (`closing`) one the
    /// connection is closed.
    fn send(
        &mut self,
        output: Self::Output,
        closing: bool,
        stall_timeout: Duration,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Resolves when the connection needs a keepalive of its own; never, for
    /// a sink that has none. Cancel-safe.
    fn keepalive_due(&mut self) -> impl Future<Output = ()> + Send;

    /// Sends that keepalive.
    fn keepalive(
        &mut self,
        stall_timeout: Duration,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;
}

/// Runs until the outbox closes or the sink fails; then, however it ends
/// (aborted or panicking too), it marks the outbox's writer ended
/// ([`Outbox::end_writer`]), so a session waiting for the client to read
/// stops waiting. An outbox [handed over](Outbox::hand_over) (a session
/// taken over by this connection) ends it with the connection still open:
/// the sink and renderer come back, for a writer on the session's own
/// outbox.
///
/// A plain function returning an `async move` block, not an `async fn`: an
/// `async fn` keeps its arguments twice in its state (as captured and as
/// moved into its body), which every idle connection's writer paid for (the
/// IRC renderer is 120 B).
#[allow(clippy::manual_async_fn)]
pub(crate) fn run<S: Sink, R: Renderer>(
    mut sink: S,
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
    mut renderer: R,
    timing: WriteTiming,
) -> impl Future<Output = Option<(S, R)>> + Send {
    async move {
        let mut ended = EndGuard(Some(&outbox));
        match pump(&mut sink, &outbox, &metrics, &mut renderer, timing).await {
            Ok(Pumped::HandedOver) => {
                ended.0 = None;
                return Some((sink, renderer));
            }
            Ok(Pumped::Closed) | Err(WriteError::Failed) => {}
            Err(WriteError::Stalled) => metrics.disconnected("write_stall"),
        }
        outbox.close();
        None
    }
}

/// Marks the outbox's writer ended when dropped, unless taken out.
struct EndGuard<'a>(Option<&'a Outbox>);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        if let Some(outbox) = self.0 {
            outbox.end_writer();
        }
    }
}

/// How a writer's outbox ended.
enum Pumped {
    Closed,
    HandedOver,
}

async fn pump<S: Sink, R: Renderer>(
    sink: &mut S,
    outbox: &Outbox,
    metrics: &Metrics,
    renderer: &mut R,
    timing: WriteTiming,
) -> Result<Pumped, WriteError> {
    let mut last_write: Option<Instant> = None;
    // Lines came within the window of the last write: they are likely to
    // again, so the next wait is the window's rest, not the first line.
    let mut steady = false;
    loop {
        let window_end = last_write.map(|at| at + timing.coalesce);
        if let Some(until) = window_end.filter(|_| steady) {
            // Steady traffic: wait out the window, then take what came, so
            // a batch costs the writer one wake-up (the timer's) instead of
            // two (the first line's, then the timer's).
            tokio::select! {
                biased;
                _ = sink.keepalive_due() => {
                    sink.keepalive(timing.stall_timeout).await?;
                    continue;
                }
                _ = tokio::time::sleep_until(until) => {}
                _ = outbox.filled() => {}
            }
            steady = outbox.is_ready();
        }
        if !steady {
            // Nothing is kept between batches: an idle connection holds no buffer.
            // Biased, keepalive first: no random draw per wake-up, and a
            // busy outbox cannot starve the pings.
            tokio::select! {
                biased;
                _ = sink.keepalive_due() => {
                    sink.keepalive(timing.stall_timeout).await?;
                    continue;
                }
                _ = outbox.ready() => {}
            }
            // Coalescing: within `coalesce` of the last write, wait out the
            // rest of it so what arrives meanwhile shares the next write. A
            // line after a quieter spell goes out at once, with no timer.
            if let Some(until) = window_end.filter(|until| Instant::now() < *until) {
                tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(until) => {}
                    _ = outbox.filled() => {}
                }
                steady = true;
            }
        }
        let batch = outbox.next_batch().await;
        metrics.delivered(batch.deliveries.len() as u64);
        metrics.deliveries_dropped(batch.missed.iter().map(|missed| missed.count).sum());
        let (closed, handed_over) = (batch.closed, batch.handed_over);
        let mut output = S::prepare(renderer, batch);
        let closing = closed && !handed_over;
        if closing || !sink.send_now(&mut output) {
            // Boxed while it runs: a write's future (with its stall timer) is
            // the writer's largest, and an idle connection should not carry it.
            Box::pin(sink.send(output, closing, timing.stall_timeout)).await?;
        }
        if handed_over {
            return Ok(Pumped::HandedOver);
        }
        if closed {
            return Ok(Pumped::Closed);
        }
        if !timing.coalesce.is_zero() {
            last_write = Some(Instant::now());
        }
    }
}

/// One part of a batch's output.
enum Piece<'a> {
    Delivery(&'a Delivery),
    Missed(&'a [Missed]),
}

/// A batch's output in the order it goes out (see the module docs).
fn in_order(batch: &Batch) -> impl Iterator<Item = Piece<'_>> {
    let missed = batch.missed.as_slice();
    let (first, last) = if batch.closed {
        (missed, &[][..])
    } else {
        (&[][..], missed)
    };
    missed_piece(first)
        .into_iter()
        .chain(
            batch
                .deliveries
                .iter()
                .map(|delivery| Piece::Delivery(delivery)),
        )
        .chain(missed_piece(last))
}

fn missed_piece(missed: &[Missed]) -> Option<Piece<'_>> {
    (!missed.is_empty()).then_some(Piece::Missed(missed))
}

/// A byte stream's write half (TCP or TLS): a batch is one buffer written
/// in one call.
pub(crate) struct ByteSink<W>(pub(crate) W);

impl<W: AsyncWrite + Unpin + Send + 'static> Sink for ByteSink<W> {
    type Output = Bytes;

    /// A batch of one delivery that renders alike for everyone is sent as
    /// rendered once for all; anything else is rendered into one buffer.
    fn prepare<R: Renderer>(renderer: &mut R, batch: Batch) -> Bytes {
        if let (Some(only), 1) = (batch.deliveries.front(), batch.deliveries.len()) {
            if let Some(shared) = renderer.shared(only).filter(|_| batch.missed.is_empty()) {
                return shared.clone();
            }
        }
        // Sized once: growing it line by line cost reallocations on every
        // busy connection's every write.
        let mut buffer = BytesMut::with_capacity(batch.bytes);
        for piece in in_order(&batch) {
            match piece {
                Piece::Delivery(delivery) => renderer.render(delivery, &mut buffer),
                Piece::Missed(missed) => renderer.missed(missed, &mut buffer),
            }
        }
        buffer.freeze()
    }

    /// One write, polled once: a socket with room takes the whole batch. A
    /// full one (not ready, or taking part) is left to [`Sink::send`], which
    /// polls it again and waits for it with the client's stall timeout; an
    /// error is met again there.
    fn send_now(&mut self, bytes: &mut Bytes) -> bool {
        let mut nobody = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.0).poll_write(&mut nobody, bytes) {
            Poll::Ready(Ok(written)) => {
                bytes.advance(written);
                // TLS may have taken the text and kept some of its records.
                bytes.is_empty()
                    && matches!(
                        Pin::new(&mut self.0).poll_flush(&mut nobody),
                        Poll::Ready(Ok(()))
                    )
            }
            Poll::Ready(Err(_)) | Poll::Pending => false,
        }
    }

    async fn send(
        &mut self,
        bytes: Bytes,
        closing: bool,
        stall_timeout: Duration,
    ) -> Result<(), WriteError> {
        let written = match write_all(&mut self.0, &bytes, stall_timeout).await {
            Ok(()) if closing => self.0.shutdown().await,
            // A TLS stream that found the socket full has taken the text but
            // may still hold records of it: they must not wait for the next batch.
            Ok(()) => timed(stall_timeout, self.0.flush()).await,
            written => written,
        };
        written.map_err(|err| match err.kind() {
            io::ErrorKind::TimedOut => WriteError::Stalled,
            _ => WriteError::Failed,
        })
    }

    async fn keepalive_due(&mut self) {
        std::future::pending().await
    }

    async fn keepalive(&mut self, _stall_timeout: Duration) -> Result<(), WriteError> {
        Ok(())
    }
}

/// Writes everything, giving up if the socket takes no byte for `stall_timeout`.
async fn write_all<W: AsyncWrite + Unpin>(
    socket: &mut W,
    mut bytes: &[u8],
    stall_timeout: Duration,
) -> io::Result<()> {
    while !bytes.is_empty() {
        let written = timed(stall_timeout, socket.write(bytes)).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

/// `io` unless the client takes nothing for `stall_timeout`.
async fn timed<T>(
    stall_timeout: Duration,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(stall_timeout, io)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
}

/// The WebSockets' shared ping clock: it ticks every [`PING_INTERVAL`]
/// until `shutdown`, and every WebSocket's writer pings on the tick. One
/// timer for all: a timer per connection cost each an allocation of its
/// own (about 130 B, with its interval).
pub(crate) fn ping_clock(shutdown: CancellationToken) -> PingClock {
    let (tick, clock) = watch::channel(());
    tokio::spawn(async move {
        let mut every = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => tick.send_replace(()),
            }
        }
    });
    PingClock(clock)
}

/// See [`ping_clock`].
#[derive(Clone)]
pub(crate) struct PingClock(watch::Receiver<()>);

impl PingClock {
    /// A clock for one more connection: its first tick is the next one.
    fn follow(&self) -> watch::Receiver<()> {
        let mut tick = self.0.clone();
        tick.mark_unchanged();
        tick
    }
}

/// A WebSocket's sending half: one text frame per event, flushed once per
/// batch, and a ping on every tick of the [`PingClock`]. A batch that is
/// not taken within the stall timeout, or frames and pongs past the
/// WebSocket's write bound (set at the upgrade), end the session.
pub(crate) struct FrameSink<S> {
    frames: S,
    ping: watch::Receiver<()>,
}

impl<S> FrameSink<S> {
    pub(crate) fn new(frames: S, clock: &PingClock) -> Self {
        Self {
            frames,
            ping: clock.follow(),
        }
    }
}

impl<S> Sink for FrameSink<S>
where
    S: futures::Sink<Message, Error = WsError> + Unpin + Send + 'static,
{
    type Output = Vec<Bytes>;

    /// One frame per event, and one per room with missed messages.
    fn prepare<R: Renderer>(renderer: &mut R, batch: Batch) -> Vec<Bytes> {
        let mut frames: Vec<Bytes> =
            Vec::with_capacity(batch.deliveries.len() + batch.missed.len());
        for piece in in_order(&batch) {
            match piece {
                Piece::Delivery(delivery) => match renderer.shared(delivery) {
                    Some(shared) => frames.push(shared.clone()),
                    None => {
                        let mut frame = BytesMut::new();
                        renderer.render(delivery, &mut frame);
                        frames.push(frame.freeze());
                    }
                },
                Piece::Missed(missed) => frames.extend(missed.iter().map(|missed| {
                    let mut frame = BytesMut::new();
                    renderer.missed(std::slice::from_ref(missed), &mut frame);
                    frame.freeze()
                })),
            }
        }
        // What a door renders as nothing (another door's lines) is no frame.
        frames.retain(|frame| !frame.is_empty());
        frames
    }

    async fn send(
        &mut self,
        frames: Vec<Bytes>,
        closing: bool,
        stall_timeout: Duration,
    ) -> Result<(), WriteError> {
        let sent = tokio::time::timeout(stall_timeout, async {
            for frame in frames {
                let text = Utf8Bytes::try_from(frame).expect("rendered JSON is UTF-8");
                self.frames.feed(Message::Text(text)).await?;
            }
            if closing {
                self.frames.send(Message::Close(None)).await
            } else {
                self.frames.flush().await
            }
        })
        .await;
        ws_result(sent)
    }

    async fn keepalive_due(&mut self) {
        if self.ping.changed().await.is_err() {
            // The clock stopped (shutdown): no more pings.
            std::future::pending().await
        }
    }

    async fn keepalive(&mut self, stall_timeout: Duration) -> Result<(), WriteError> {
        let ping = self.frames.send(Message::Ping(Default::default()));
        ws_result(tokio::time::timeout(stall_timeout, ping).await)
    }
}

/// A WebSocket write's outcome: too much waiting to be written (our frames
/// and the library's pongs) is a client that does not read.
fn ws_result<T>(sent: Result<Result<(), WsError>, T>) -> Result<(), WriteError> {
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err(WsError::WriteBufferFull(_))) | Err(_) => Err(WriteError::Stalled),
        Ok(Err(_)) => Err(WriteError::Failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use banter_proto::Event;
    use futures::FutureExt;
    use std::sync::Mutex;
    use tokio::task::JoinHandle;

    /// A socket that takes everything and notes when each write came.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<(Instant, usize)>>>);

    impl Recorder {
        /// Each write's time since `start`, in ms, and its line count.
        fn writes(&self, start: Instant) -> Vec<(u128, usize)> {
            let writes = self.0.lock().unwrap();
            writes
                .iter()
                .map(|(at, bytes)| ((*at - start).as_millis(), bytes / LINE.len()))
                .collect()
        }
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().push((Instant::now(), buf.len()));
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A socket that takes at most 3 bytes a write and is full every third
    /// time it is asked: every batch goes out in pieces, some at once and
    /// some after waiting.
    #[derive(Clone, Default)]
    struct Trickle(Arc<Mutex<(Vec<u8>, usize)>>);

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let mut state = self.0.lock().unwrap();
            state.1 += 1;
            if state.1.is_multiple_of(3) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let taken = buf.len().min(3);
            state.0.extend_from_slice(&buf[..taken]);
            Poll::Ready(Ok(taken))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A stream that keeps what it is given until it is flushed, as TLS
    /// keeps records when the socket under it is full; every third flush has
    /// to wait.
    #[derive(Clone, Default)]
    struct Holding(Arc<Mutex<Held>>);

    #[derive(Default)]
    struct Held {
        kept: Vec<u8>,
        sent: Vec<u8>,
        flushes: usize,
    }

    impl AsyncWrite for Holding {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().kept.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let mut state = self.0.lock().unwrap();
            state.flushes += 1;
            if state.flushes.is_multiple_of(3) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let kept = std::mem::take(&mut state.kept);
            state.sent.extend(kept);
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A writer over `stream` with a 4 ms window, and its outbox.
    fn spawn_writer<W, R>(stream: W, renderer: R) -> (Arc<Outbox>, JoinHandle<()>)
    where
        W: AsyncWrite + Unpin + Send + 'static,
        R: Renderer + Send + 'static,
    {
        let outbox = Arc::new(Outbox::new(1 << 20));
        let timing = WriteTiming {
            coalesce: Duration::from_millis(4),
            stall_timeout: Duration::from_secs(10),
        };
        let writer = run(
            ByteSink(stream),
            Arc::clone(&outbox),
            Arc::new(Metrics::default()),
            renderer,
            timing,
        );
        (outbox, tokio::spawn(writer.map(drop)))
    }

    #[tokio::test]
    async fn a_batch_is_flushed_and_does_not_wait_in_the_stream_for_the_next() {
        let stream = Holding::default();
        let (outbox, writer) = spawn_writer(stream.clone(), Names);
        // The third flush waits: that batch is flushed by the send future.
        for room in ["first", "second", "third", "fourth"] {
            outbox.reply(Event::Parted {
                room: room.into(),
                message: None,
            });
            let delivered = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    let sent = stream.0.lock().unwrap().sent.clone();
                    if sent.ends_with(format!("{room}\n").as_bytes()) {
                        return sent;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            assert!(delivered.is_ok(), "{room} still held in the stream");
        }
        outbox.close();
        writer.await.unwrap();
    }

    /// Renders every delivery as its text (`Parted`'s room name).
    struct Names;

    impl Renderer for Names {
        fn shared<'a>(&self, _: &'a Delivery) -> Option<&'a Bytes> {
            None
        }
        fn render(&mut self, delivery: &Delivery, out: &mut BytesMut) {
            if let Some(Event::Parted { room, .. }) = delivery.event() {
                out.extend_from_slice(room.as_bytes());
                out.extend_from_slice(b"\n");
            }
        }
        fn missed(&mut self, _: &[Missed], _: &mut BytesMut) {}
    }

    #[tokio::test]
    async fn a_socket_that_takes_a_little_at_a_time_still_gets_every_byte_once_in_order() {
        let outbox = Arc::new(Outbox::new(1 << 20));
        let socket = Trickle::default();
        let timing = WriteTiming {
            coalesce: Duration::ZERO,
            stall_timeout: Duration::from_secs(10),
        };
        let writer = tokio::spawn(run(
            ByteSink(socket.clone()),
            Arc::clone(&outbox),
            Arc::new(Metrics::default()),
            Names,
            timing,
        ));
        let mut expected = String::new();
        for n in 0..200 {
            let room = format!("room-{n}");
            expected.push_str(&room);
            expected.push('\n');
            outbox.reply(Event::Parted {
                room,
                message: None,
            });
            if n % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        outbox.close();
        writer.await.unwrap();
        let written = socket.0.lock().unwrap().0.clone();
        assert_eq!(String::from_utf8(written).unwrap(), expected);
    }

    const LINE: &[u8] = b"line\n";

    /// Renders every delivery as one [`LINE`].
    struct Lines;

    impl Renderer for Lines {
        fn shared<'a>(&self, _: &'a Delivery) -> Option<&'a Bytes> {
            None
        }
        fn render(&mut self, _: &Delivery, out: &mut BytesMut) {
            out.extend_from_slice(LINE);
        }
        fn missed(&mut self, _: &[Missed], _: &mut BytesMut) {}
    }

    fn line() -> Event {
        Event::Parted {
            room: "r".into(),
            message: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn lines_within_the_window_share_a_write_and_a_line_after_a_quiet_spell_goes_at_once() {
        let recorder = Recorder::default();
        let (outbox, writer) = spawn_writer(recorder.clone(), Lines);
        let start = Instant::now();
        let at = |ms| tokio::time::sleep_until(start + Duration::from_millis(ms));
        // Steady traffic: a line every millisecond for 20 ms. The first goes
        // at once, the rest one write per window.
        for ms in 0..20 {
            at(ms).await;
            outbox.reply(line());
        }
        // The last steady lines go at 20 ms; a line at 22 waits for 24.
        at(22).await;
        outbox.reply(line());
        // After a quiet window, a line goes at once (30), and one 2 ms
        // after that write waits out the window (34).
        at(30).await;
        outbox.reply(line());
        at(32).await;
        outbox.reply(line());
        // Quiet again: a line goes at once.
        at(80).await;
        outbox.reply(line());
        at(81).await;
        outbox.close();
        writer.await.unwrap();

        assert_eq!(
            recorder.writes(start),
            [
                (0, 1),
                (4, 4),
                (8, 4),
                (12, 4),
                (16, 4),
                (20, 3),
                (24, 1),
                (30, 1),
                (34, 1),
                (80, 1)
            ],
            "(ms, lines) of every write",
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_goes_out_without_waiting_for_the_end_of_the_window() {
        let recorder = Recorder::default();
        let (outbox, writer) = spawn_writer(recorder.clone(), Lines);
        let start = Instant::now();
        let at = |ms| tokio::time::sleep_until(start + Duration::from_millis(ms));
        outbox.reply(line());
        // Within the first write's window: a full batch goes at once (1 ms),
        // not at the window's end (4 ms). (The writer is waiting for the
        // first line, not for a full batch, while this asks.)
        at(1).await;
        let mut full = 0;
        while outbox.filled().now_or_never().is_none() {
            outbox.reply(line());
            full += 1;
        }
        // Lines at 2 and 3 wait out the window after that write (5 ms), and
        // the writer is then steady: a full batch in its next window goes
        // at once too (6 ms, not 9).
        at(2).await;
        outbox.reply(line());
        at(3).await;
        outbox.reply(line());
        at(6).await;
        for _ in 0..full {
            outbox.reply(line());
        }
        at(7).await;
        outbox.close();
        writer.await.unwrap();

        assert!(full > 2, "a full batch is many lines");
        assert_eq!(
            recorder.writes(start),
            [(0, 1), (1, full), (5, 2), (6, full)],
            "(ms, lines) of every write",
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_websocket_kept_busy_is_still_pinged() {
        let shutdown = CancellationToken::new();
        let clock = ping_clock(shutdown.clone());
        let (frames, mut sent) = futures::channel::mpsc::unbounded::<Message>();
        let frames = frames.sink_map_err(|_| WsError::ConnectionClosed);
        let outbox = Arc::new(Outbox::new(1 << 20));
        let timing = WriteTiming {
            coalesce: Duration::from_millis(4),
            stall_timeout: Duration::from_secs(10),
        };
        let metrics = Arc::new(Metrics::default());
        let sink = FrameSink::new(frames, &clock);
        let writer = tokio::spawn(run(sink, Arc::clone(&outbox), metrics, Lines, timing));
        // A line every millisecond, past the first ping's tick (30 s).
        let start = Instant::now();
        while start.elapsed() < PING_INTERVAL + Duration::from_secs(1) {
            outbox.reply(line());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        outbox.close();
        writer.await.unwrap();
        let (mut lines, mut pings) = (0, 0);
        while let Ok(message) = sent.try_recv() {
            match message {
                Message::Ping(_) => pings += 1,
                Message::Text(_) => lines += 1,
                _ => {}
            }
        }
        assert!(lines > 30_000, "{lines} lines");
        assert_eq!(
            pings, 1,
            "pinged on the tick although the outbox was never idle"
        );
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn the_ping_clock_ticks_for_every_connection_and_a_newcomer_waits_for_the_next_tick() {
        let shutdown = CancellationToken::new();
        let clock = ping_clock(shutdown.clone());
        let mut early = clock.follow();
        tokio::time::sleep(PING_INTERVAL / 2).await;
        assert!(early.changed().now_or_never().is_none(), "no tick yet");
        tokio::time::sleep(PING_INTERVAL / 2 + Duration::from_millis(1)).await;
        assert!(matches!(early.changed().now_or_never(), Some(Ok(()))));
        // A connection made after a tick waits a whole interval for its first.
        let mut late = clock.follow();
        assert!(late.changed().now_or_never().is_none());
        tokio::time::sleep(PING_INTERVAL).await;
        assert!(matches!(late.changed().now_or_never(), Some(Ok(()))));
        assert!(matches!(early.changed().now_or_never(), Some(Ok(()))));
        // At shutdown the clock stops: its followers hear no more ticks.
        shutdown.cancel();
        tokio::task::yield_now().await;
        assert!(matches!(early.changed().now_or_never(), Some(Err(_))));
    }
}
