//! The write half of a byte-stream connection: drains the session's outbox
//! into the socket through the door's [`Renderer`].
//!
//! Everything queued when the writer wakes goes out in one write, and no two
//! writes are closer than `--write-coalesce-ms`: under load many lines share
//! one system call (the kernel's cost per write dominates a busy server),
//! while a line after a quiet spell goes out at once, costing no timer. A socket that
//! accepts nothing for `write_stall_timeout` ends the session: a client that
//! stopped reading cannot hold memory or a task forever.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::Outbox;
use crate::doors::{Renderer, WriteTiming};
use crate::metrics::Metrics;

/// Runs until the outbox closes or the socket fails; cancels `gone` on exit so
/// the session notices a dead writer.
pub async fn run<W: AsyncWrite + Unpin, R: Renderer>(
    mut socket: W,
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
    mut renderer: R,
    timing: WriteTiming,
    gone: CancellationToken,
) -> io::Result<()> {
    let _gone = gone.drop_guard();
    let result = pump(&mut socket, &outbox, &metrics, &mut renderer, timing).await;
    if matches!(&result, Err(err) if err.kind() == io::ErrorKind::TimedOut) {
        metrics.disconnected("write_stall");
    }
    outbox.close();
    result
}

async fn pump<W: AsyncWrite + Unpin, R: Renderer>(
    socket: &mut W,
    outbox: &Outbox,
    metrics: &Metrics,
    renderer: &mut R,
    timing: WriteTiming,
) -> io::Result<()> {
    let mut last_write: Option<Instant> = None;
    loop {
        // Nothing is kept between batches: an idle connection holds no buffer.
        outbox.ready().await;
        // Coalescing: within `coalesce` of the last write, wait out the rest of
        // it so what arrives meanwhile shares the next write. A line after a
        // quieter spell goes out at once, with no timer at all.
        if let Some(until) = last_write.map(|at| at + timing.coalesce) {
            if Instant::now() < until {
                tokio::time::sleep_until(until).await;
            }
        }
        let batch = outbox.next_batch().await;
        metrics.delivered(batch.deliveries.len() as u64);
        metrics.deliveries_dropped(batch.missed.iter().map(|missed| missed.count).sum());
        let single = match (batch.deliveries.front(), batch.deliveries.len()) {
            (Some(only), 1) if batch.missed.is_empty() => renderer.shared(only).cloned(),
            _ => None,
        };
        let bytes = match single {
            Some(shared) => shared,
            None => {
                let mut buffer = BytesMut::new();
                // The last batch ends with the session's farewell: the
                // notice of what was missed goes before it, not after.
                if batch.closed && !batch.missed.is_empty() {
                    renderer.missed(&batch.missed, &mut buffer);
                }
                for delivery in &batch.deliveries {
                    renderer.render(delivery, &mut buffer);
                }
                if !batch.closed && !batch.missed.is_empty() {
                    renderer.missed(&batch.missed, &mut buffer);
                }
                buffer.freeze()
            }
        };
        drop(batch.deliveries);
        write_all(socket, &bytes, timing.stall_timeout).await?;
        if batch.closed {
            return socket.shutdown().await;
        }
        if !timing.coalesce.is_zero() {
            last_write = Some(Instant::now());
        }
    }
}

/// Writes everything, giving up if the socket takes no byte for `stall_timeout`.
async fn write_all<W: AsyncWrite + Unpin>(
    socket: &mut W,
    mut bytes: &[u8],
    stall_timeout: Duration,
) -> io::Result<()> {
    while !bytes.is_empty() {
        let written = tokio::time::timeout(stall_timeout, socket.write(bytes))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}
