//! Where a session's input comes from, and what it costs: items cut from a
//! byte stream by the door's decoder, or WebSocket messages.
//!
//! Both charge the client's two buckets (see `flood`): every byte read costs
//! its `ByteBudget`, every item one `Flood` token. On a byte stream that
//! happens here, as bytes are read and items decoded; on a WebSocket the
//! connection's metered stream (`doors::http::metered`) charged every frame
//! as it passed, and only its verdicts arrive here. Either way the engine
//! gets one [`Arrival`] at a time and carries out the verdict itself.

use std::future::Future;
use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use futures::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::config::Config;
use crate::doors::http::metered::{Alarm, Meter};
use crate::doors::transport::ReadChunk;
use crate::flood::{ByteBudget, Flood, Verdict};

/// What the engine is told when input arrives.
pub(crate) enum Arrival<T> {
    /// An item, and what the flood bucket said about it.
    Item(T, Verdict),
    /// Charged elsewhere: the client went over its rate (once per flood).
    Warning,
    /// Charged elsewhere: the client kept flooding and is cut off.
    Flood,
}

/// A session's input.
pub(crate) trait Input: Send {
    type Item: Send;

    /// The next arrival, or `None` when the client closed the connection.
    /// Cancel-safe: partial input stays buffered and a byte debt recorded.
    fn next(&mut self) -> impl Future<Output = io::Result<Option<Arrival<Self::Item>>>> + Send;

    /// Charges `items` more at once (the extra targets of one line).
    fn surcharge(&mut self, items: usize);
}

/// Cuts a byte stream into a door's items, keeping what is partial.
pub(crate) trait Decode: Send + 'static {
    type Item: Send;

    /// The next item in `buffer`, if a whole one is there.
    fn decode(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Self::Item>>;

    /// The last item at the end of the stream, if any.
    fn decode_eof(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Self::Item>>;
}

/// A byte stream's read half, its decoder and both buckets. Holds no buffer
/// while the client is idle.
pub(crate) struct ByteInput<R, D> {
    socket: R,
    decoder: D,
    buffer: BytesMut,
    budget: Option<ByteBudget>,
    /// Set when the budget is overspent: nothing is read before then.
    resume_at: Option<Instant>,
    flood: Flood,
}

impl<R: ReadChunk, D: Decode> ByteInput<R, D> {
    pub(crate) fn new(socket: R, decoder: D, config: &Config) -> Self {
        Self {
            socket,
            decoder,
            buffer: BytesMut::new(),
            budget: ByteBudget::new(config),
            resume_at: None,
            flood: Flood::new(config),
        }
    }

    /// The next decoded item, or `None` at EOF.
    ///
    /// The read buffer exists only while there is input to decode: an idle
    /// connection waits for readability holding no buffer at all.
    async fn next_item(&mut self) -> io::Result<Option<D::Item>> {
        loop {
            // A socket that always has data must still give its worker back
            // to the other connections now and then.
            tokio::task::consume_budget().await;
            if let Some(item) = self.decoder.decode(&mut self.buffer)? {
                return Ok(Some(item));
            }
            if self.buffer.capacity() > 0 {
                // Everything read so far is decoded (the decoder keeps partial items).
                self.buffer = BytesMut::new();
            }
            if let Some(resume_at) = self.resume_at {
                // Overspent: leave the bytes in the kernel, so TCP pushes back.
                // Boxed: a timer in the future itself would cost every idle
                // connection its size.
                Box::pin(tokio::time::sleep_until(resume_at)).await;
                self.resume_at = None;
            }
            match self.socket.read_chunk(&mut self.buffer).await? {
                0 => return self.decoder.decode_eof(&mut self.buffer),
                read => {
                    if let Some(budget) = &mut self.budget {
                        self.resume_at = budget.spend(read, Instant::now());
                    }
                }
            }
        }
    }
}

impl<R: ReadChunk, D: Decode> Input for ByteInput<R, D> {
    type Item = D::Item;

    /// Every item costs a token, whatever it is: telnet negotiation and
    /// over-long lines are not free either.
    async fn next(&mut self) -> io::Result<Option<Arrival<D::Item>>> {
        let item = self.next_item().await?;
        Ok(item.map(|item| Arrival::Item(item, self.flood.check(Instant::now()))))
    }

    fn surcharge(&mut self, items: usize) {
        self.flood.charge(items, Instant::now());
    }
}

/// A WebSocket's incoming messages and the meter that charged their frames.
pub(crate) struct FrameInput<S> {
    messages: S,
    meter: Arc<Meter>,
}

impl<S> FrameInput<S> {
    pub(crate) fn new(messages: S, meter: Arc<Meter>) -> Self {
        Self { messages, meter }
    }
}

impl<S> Input for FrameInput<S>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin + Send,
{
    type Item = Message;

    /// A Close frame, a protocol error or the end of the stream all close
    /// the session.
    async fn next(&mut self) -> io::Result<Option<Arrival<Message>>> {
        tokio::select! {
            biased;
            alarm = self.meter.alarm() => Ok(Some(match alarm {
                Alarm::Warning => Arrival::Warning,
                Alarm::Flood => Arrival::Flood,
            })),
            message = self.messages.next() => Ok(match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => None,
                Some(Ok(message)) => Some(Arrival::Item(message, Verdict::Go)),
            }),
        }
    }

    /// Frames are charged as they are read; a WebSocket door has nothing
    /// to add.
    fn surcharge(&mut self, _items: usize) {}
}
