//! What one HTTP connection's input costs its client: every byte it sends
//! is charged to the same per-connection budget as on the text door
//! ([`ByteBudget`]), and, once the connection is a WebSocket, every frame it
//! sends (text, binary, continuation, ping, pong, close) costs one item of
//! the same [`Flood`] bucket a text line costs.
//!
//! The charge is taken where the bytes are read, below the WebSocket
//! library, so nothing a client sends is free: pings the library answers by
//! itself, and continuation fragments it gathers without showing anyone,
//! are counted like any message. Past the budget the socket is not read
//! until it is earned back (TCP pushes back on that client alone); a client
//! that keeps flooding is cut off through [`Meter::alarm`], and its
//! session says why.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::config::Config;
use crate::flood::{ByteBudget, Flood, Verdict};
use crate::metrics::Metrics;

/// A byte stream an HTTP connection runs over: TCP, or TLS over TCP.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// The connection's input accounts, shared by its stream and its session.
pub(crate) struct Meter {
    state: Mutex<MeterState>,
    metrics: Arc<Metrics>,
    /// Wakes the session for an [`Alarm`]; a flag and a `Notify` rather
    /// than a cancellation token, which would cost every connection an
    /// allocation of its own.
    alarm: Notify,
}

/// What the session is to act on at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alarm {
    /// The first frame over the rate since the bucket was full: the client
    /// is told to slow down.
    Warning,
    /// The client kept flooding: it is cut off.
    Flood,
}

struct MeterState {
    bytes: Option<ByteBudget>,
    flood: Flood,
    /// `Some` once the connection is a WebSocket.
    frames: Option<FrameScanner>,
    /// No reading before this.
    resume_at: Option<Instant>,
    /// A warning not yet taken by the session.
    warning: bool,
    /// The client kept flooding: the stream reads no more, the session ends.
    flooded: bool,
}

impl MeterState {
    /// No reading before `at` (nor before any later pause already set).
    fn pause_until(&mut self, at: Instant) {
        self.resume_at = Some(self.resume_at.map_or(at, |paused| paused.max(at)));
    }
}

impl Meter {
    pub(crate) fn new(config: &Config, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(MeterState {
                bytes: ByteBudget::new(config),
                flood: Flood::new(config),
                frames: None,
                resume_at: None,
                warning: false,
                flooded: false,
            }),
            metrics,
            alarm: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, MeterState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// From here on the input is WebSocket frames; `already_read` is what
    /// the HTTP server read past the upgrade request, the first frames.
    pub(crate) fn count_frames(&self, already_read: &[u8]) {
        let mut state = self.lock();
        let mut scanner = FrameScanner::default();
        let frames = scanner.scan(already_read);
        state.frames = Some(scanner);
        self.charge_frames(&mut state, frames, Instant::now());
    }

    /// The next alarm: a warning (once per flood) or, for good, the
    /// cut-off. Cancel-safe.
    pub(crate) async fn alarm(&self) -> Alarm {
        loop {
            {
                let mut state = self.lock();
                if state.flooded {
                    return Alarm::Flood;
                }
                if std::mem::take(&mut state.warning) {
                    return Alarm::Warning;
                }
            }
            // A permit is kept when no one waits: no alarm is missed.
            self.alarm.notified().await;
        }
    }

    /// Charges `data`, just read: its bytes, and each frame that begins in it.
    fn charge(&self, data: &[u8], now: Instant) {
        let mut state = self.lock();
        if let Some(resume_at) = state
            .bytes
            .as_mut()
            .and_then(|budget| budget.spend(data.len(), now))
        {
            state.pause_until(resume_at);
        }
        let frames = state
            .frames
            .as_mut()
            .map_or(0, |scanner| scanner.scan(data));
        self.charge_frames(&mut state, frames, now);
    }

    /// One flood item per frame: past the rate reading pauses, the first
    /// time the session is told, and a flood cuts the client off.
    fn charge_frames(&self, state: &mut MeterState, frames: usize, now: Instant) {
        for _ in 0..frames {
            match state.flood.check(now) {
                Verdict::Go => {}
                Verdict::Wait { delay, warn } => {
                    self.metrics.flood_delayed();
                    if warn {
                        state.warning = true;
                        self.alarm.notify_one();
                    }
                    state.pause_until(now + delay);
                }
                Verdict::Disconnect => {
                    state.flooded = true;
                    self.alarm.notify_one();
                    return;
                }
            }
        }
    }

    /// When reading may go on, if not now; `None` when it never may (the
    /// client was cut off for flooding).
    fn paused_until(&self, now: Instant) -> Option<Option<Instant>> {
        let mut state = self.lock();
        if state.flooded {
            return None;
        }
        Some(match state.resume_at {
            Some(at) if at > now => Some(at),
            _ => {
                state.resume_at = None;
                None
            }
        })
    }
}

/// A transport whose reads are charged to a [`Meter`].
pub(crate) struct Metered {
    inner: Box<dyn Transport>,
    meter: Arc<Meter>,
    pause: Option<Pin<Box<Sleep>>>,
}

impl Metered {
    pub(crate) fn new(inner: impl Transport, meter: Arc<Meter>) -> Self {
        Self {
            inner: Box::new(inner),
            meter,
            pause: None,
        }
    }

    pub(crate) fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(paused) = this.meter.paused_until(Instant::now()) else {
            // Cut off: read nothing more; the session is ending.
            return Poll::Pending;
        };
        if let Some(until) = paused {
            let pause = this
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
            pause.as_mut().reset(until);
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        let filled = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[filled..];
        if !read.is_empty() {
            this.meter.charge(read, Instant::now());
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Finds where client-to-server WebSocket frames begin in a byte stream
/// (RFC 6455 5.2: two bytes, an extended length of 2 or 8 bytes, a 4-byte
/// mask when masked, then the payload), to count them. It reads headers
/// only; the WebSocket library checks everything else.
#[derive(Debug, Default)]
struct FrameScanner {
    /// Header bytes seen of the frame being read (at most 14).
    header: [u8; 14],
    have: u8,
    /// Payload bytes still to skip.
    payload_left: u64,
}

impl FrameScanner {
    /// Feeds `data`; returns how many frames began in it.
    fn scan(&mut self, mut data: &[u8]) -> usize {
        let mut frames = 0;
        while !data.is_empty() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min(data.len() as u64);
                self.payload_left -= skip;
                data = &data[skip as usize..];
                continue;
            }
            self.header[usize::from(self.have)] = data[0];
            self.have += 1;
            data = &data[1..];
            if self.have == 1 {
                frames += 1;
                continue;
            }
            if usize::from(self.have) < self.header_len() {
                continue;
            }
            self.payload_left = self.payload_len();
            self.have = 0;
        }
        frames
    }

    /// The header's length, once its second byte is in.
    fn header_len(&self) -> usize {
        let second = self.header[1];
        let mask = if second & 0x80 != 0 { 4 } else { 0 };
        let extended = match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + extended + mask
    }

    fn payload_len(&self) -> u64 {
        match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => u64::from_be_bytes(self.header[2..10].try_into().expect("8 bytes")),
            short => u64::from(short),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with `payload` bytes of payload.
    fn frame(opcode: u8, payload: usize) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload {
            0..=125 => out.push(0x80 | payload as u8),
            126..=65535 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(payload as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(payload as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend(std::iter::repeat_n(b'x', payload));
        out
    }

    #[test]
    fn counts_every_kind_of_frame_whatever_the_read_boundaries() {
        let mut stream = Vec::new();
        for (opcode, size) in [
            (0x1, 5),
            (0x9, 125),
            (0x0, 0),
            (0xA, 0),
            (0x2, 300),
            (0x1, 70_000),
        ] {
            stream.extend(frame(opcode, size));
        }
        for chunk in [1, 2, 3, 7, 64, 4096, stream.len()] {
            let mut scanner = FrameScanner::default();
            let counted: usize = stream.chunks(chunk).map(|c| scanner.scan(c)).sum();
            assert_eq!(counted, 6, "read {chunk} bytes at a time");
        }
    }

    #[test]
    fn empty_continuation_frames_each_count() {
        let mut scanner = FrameScanner::default();
        let flood: Vec<u8> = (0..1000).flat_map(|_| frame(0x0, 0)).collect();
        assert_eq!(scanner.scan(&flood), 1000);
    }
}
