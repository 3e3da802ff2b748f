//! What the byte-stream doors (text, IRC) run over: any byte stream that splits into a read and
//! a write half: plain TCP, or TLS over it.
//!
//! [`ReadChunk`] exists for memory: thousands of idle connections each
//! waiting in a read would each hold a read buffer. A transport that can wait
//! for readability without one (TCP can) allocates only once data is there.

use std::future::Future;
use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, Interest, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 2048;

/// A connection the text door can serve.
pub(crate) trait ByteStream: Send + 'static {
    type Read: ReadChunk;
    type Write: AsyncWrite + Unpin + Send + 'static;

    fn into_halves(self) -> (Self::Read, Self::Write);
}

/// The read half of a [`ByteStream`].
pub(crate) trait ReadChunk: Send + 'static {
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
    /// One `recv` per arrival: a read that leaves the socket drained (less
    /// than the buffer had room for) clears the readiness at once, rather than
    /// finding out with a second `recv` that fails with `EAGAIN`. tokio clears
    /// it only if no new data arrived meanwhile, so nothing is missed. The
    /// bytes go into the buffer's spare room, which is never zeroed first.
    async fn read_chunk(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        let stream: &TcpStream = self.as_ref();
        loop {
            stream.readable().await?;
            buffer.reserve(READ_CHUNK_BYTES);
            let room = buffer.capacity() - buffer.len();
            let mut read = 0;
            let result = stream.try_io(Interest::READABLE, || {
                read = stream.try_read_buf(buffer)?;
                if read > 0 && read < room {
                    // Drained: have the readiness cleared now.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(())
            });
            match result {
                Ok(()) => return Ok(read),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock && read > 0 => return Ok(read),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// TLS: rustls keeps its own buffers per connection, so reading into ours
/// only when bytes are there would save nothing.
impl ByteStream for tokio_rustls::server::TlsStream<TcpStream> {
    type Read = ReadHalf<Self>;
    type Write = WriteHalf<Self>;

    fn into_halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

impl<T: AsyncRead + Send + 'static> ReadChunk for ReadHalf<T> {
    async fn read_chunk(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        buffer.reserve(READ_CHUNK_BYTES);
        self.read_buf(buffer).await
    }
}
