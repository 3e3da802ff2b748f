//! What the byte-stream doors (text, IRC) run over: any byte stream that splits into a read and
//! a write half: plain TCP, or TLS over it.
//!
//! [`ReadChunk`] exists for memory: thousands of idle connections each
//! waiting in a read would each hold a read buffer. A transport that can wait
//! for readability without one (TCP can) allocates only once data is there.
//!
//! [`ByteWrite`] exists for speed: a plain TCP connection's write half is
//! shared ([`TcpWrite`]) by its writer and its express lane, which writes
//! from the task offering a line when the writer has nothing to do (see
//! `core::outbox`). TLS cannot: its writes go through the session's state.

use std::future::Future;
use std::io::{self, Read};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use socket2::{SockRef, Socket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, Interest, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::doors::writer::WriteNow;

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 2048;

/// A connection the text door can serve.
pub(crate) trait ByteStream: Send + 'static {
    type Read: ReadChunk;
    type Write: ByteWrite;

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

/// The write half of a [`ByteStream`].
pub(crate) trait ByteWrite: AsyncWrite + Unpin + Send + 'static {
    /// A handle for the connection's express lane, if it can have one.
    fn write_now(&self) -> Option<Arc<dyn WriteNow>> {
        None
    }
}

impl ByteStream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = TcpWrite;

    fn into_halves(self) -> (OwnedReadHalf, TcpWrite) {
        let (read, write) = self.into_split();
        (read, TcpWrite(Arc::new(write)))
    }
}

/// A plain TCP connection's write half, shared by its writer and its
/// express lane: both write through `&self`, and never at once (the outbox
/// sees to that).
pub(crate) struct TcpWrite(Arc<OwnedWriteHalf>);

impl TcpWrite {
    fn stream(&self) -> &TcpStream {
        (*self.0).as_ref()
    }
}

impl AsyncWrite for TcpWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let stream = self.stream();
        loop {
            ready!(stream.poll_write_ready(cx))?;
            match stream.try_write(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                written => return Poll::Ready(written),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(SockRef::from(self.stream()).shutdown(Shutdown::Write))
    }
}

impl ByteWrite for TcpWrite {
    fn write_now(&self) -> Option<Arc<dyn WriteNow>> {
        Some(Arc::clone(&self.0) as Arc<dyn WriteNow>)
    }
}

impl WriteNow for OwnedWriteHalf {
    fn write_now(&self, bytes: &[u8]) -> io::Result<usize> {
        self.try_write(bytes)
    }
}

impl ReadChunk for OwnedReadHalf {
    /// One `recv` per arrival: a read that leaves the socket drained (less
    /// than a chunk came) clears the readiness at once, rather than finding
    /// out with a second `recv` that fails with `EAGAIN`. tokio clears it only
    /// if no new data arrived meanwhile, so nothing is missed.
    async fn read_chunk(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        let stream: &TcpStream = self.as_ref();
        loop {
            stream.readable().await?;
            let start = buffer.len();
            buffer.resize(start + READ_CHUNK_BYTES, 0);
            let mut read = 0;
            let result = stream.try_io(Interest::READABLE, || {
                let mut socket: &Socket = &SockRef::from(stream);
                read = socket.read(&mut buffer[start..])?;
                if read > 0 && read < READ_CHUNK_BYTES {
                    // Drained: have the readiness cleared now.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(())
            });
            buffer.truncate(start + read);
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

impl ByteWrite for WriteHalf<tokio_rustls::server::TlsStream<TcpStream>> {}

impl<T: AsyncRead + Send + 'static> ReadChunk for ReadHalf<T> {
    async fn read_chunk(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        buffer.reserve(READ_CHUNK_BYTES);
        self.read_buf(buffer).await
    }
}
