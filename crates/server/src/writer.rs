//! The write half of a connection: drains the session's outbox into the socket.
//!
//! Everything queued when the writer wakes goes out in one write (lines
//! coalesce under load instead of costing a syscall each). A socket that
//! accepts nothing for `write_stall_timeout` ends the session: a client that
//! stopped reading cannot hold memory or a task forever.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::Event;
use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::outbox::Outbox;
use crate::render::{plain_text, Renderer};

/// A write buffer grown past this is released after use, so an idle
/// connection keeps no large buffer from one burst.
const KEEP_BUFFER_BYTES: usize = 16 * 1024;

/// Runs until the outbox closes or the socket fails; cancels `gone` on exit so
/// the session notices a dead writer.
pub async fn run<W: AsyncWrite + Unpin>(
    mut socket: W,
    outbox: Arc<Outbox>,
    renderer: Renderer,
    stall_timeout: Duration,
    gone: CancellationToken,
) -> io::Result<()> {
    let _gone = gone.drop_guard();
    let result = pump(&mut socket, &outbox, &renderer, stall_timeout).await;
    outbox.close();
    result
}

async fn pump<W: AsyncWrite + Unpin>(
    socket: &mut W,
    outbox: &Outbox,
    renderer: &Renderer,
    stall_timeout: Duration,
) -> io::Result<()> {
    let mut buffer = BytesMut::new();
    let mut spare = VecDeque::new();
    loop {
        let mut batch = outbox.next_batch(spare).await;
        let single = match (
            &batch.deliveries.front(),
            batch.deliveries.len(),
            batch.missed,
        ) {
            (Some(only), 1, 0) => renderer.shared(only).cloned(),
            _ => None,
        };
        if let Some(bytes) = single {
            batch.deliveries.clear();
            write_all(socket, &bytes, stall_timeout).await?;
        } else {
            for delivery in batch.deliveries.drain(..) {
                renderer.render(&delivery, &mut buffer);
            }
            if batch.missed > 0 {
                let missed = Event::Missed {
                    count: batch.missed,
                };
                buffer.extend_from_slice(plain_text(&missed).as_bytes());
            }
            write_all(socket, &buffer, stall_timeout).await?;
            buffer.clear();
            if buffer.capacity() > KEEP_BUFFER_BYTES {
                buffer = BytesMut::new();
            }
        }
        spare = batch.deliveries;
        if batch.closed {
            return socket.shutdown().await;
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
