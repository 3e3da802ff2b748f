//! What the text door runs over: any byte stream that splits into a read and
//! a write half. Plain TCP today; TLS implements the same two traits.
//!
//! [`ReadChunk`] exists for memory: thousands of idle connections each
//! waiting in a read would each hold a read buffer. A transport that can wait
//! for readability without one (TCP can) allocates only once data is there.

use std::future::Future;
use std::io;

use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 2048;

/// A connection the text door can serve.
pub trait ByteStream: Send + 'static {
    type Read: ReadChunk;
    type Write: AsyncWrite + Unpin + Send + 'static;

    fn into_halves(self) -> (Self::Read, Self::Write);
}

/// The read half of a [`ByteStream`].
pub trait ReadChunk: Send + 'static {
    /// Waits for input and appends what is there to `buffer`, growing it
    /// only once there is something to read; `Ok(0)` at end of stream.
    /// Cancel-safe: nothing is read until it completes.
    fn read_chunk(
        &mut self,
        buffer: &mut BytesMut,
    ) -> impl Future<Output = io::Result<usize>> + Send;
}

impl ByteStream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;

    fn into_halves(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl ReadChunk for OwnedReadHalf {
    async fn read_chunk(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        loop {
            self.readable().await?;
            buffer.reserve(READ_CHUNK_BYTES);
            match self.try_read_buf(buffer) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                read => return read,
            }
        }
    }
}
