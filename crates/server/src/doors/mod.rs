//! The doors into the chat core: each turns its wire format into requests
//! and renders events and refusals back.
//!
//! - `text`: plain lines over TCP for nc and telnet, with colon-commands and
//!   hidden password prompts.
//! - `json`: one JSON object per WebSocket text frame, for our clients and bots.
//! - `http`: the HTTP listener that serves the JSON door at `/ws`.
//! - `web`: the browser client's files, served by the HTTP listener at `/`.
//! - `irc`: IRC for existing IRC clients; rooms are channels.
//!
//! The byte-stream doors (text and IRC) share their accept loop (`stream`),
//! what they run over (`transport`: TCP or TLS) and their writer (`writer`).
//! Every byte a client receives goes through its door's [`Renderer`].

pub mod http;
pub mod irc;
pub mod json;
pub mod limits;
pub mod stream;
pub mod text;
pub(crate) mod transport;
pub mod web;
pub(crate) mod writer;

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use tokio::task::JoinHandle;

use crate::core::{Delivery, Missed, Outbox, Payload};

/// How long the last lines of a session (goodbye, shutdown notice, error) may
/// take to reach its client once the session has ended.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Turns deliveries into one door's bytes, for one connection.
pub trait Renderer: Send + 'static {
    /// The bytes every client of this door gets for `delivery`, shared, when
    /// nothing about this connection changes them.
    fn shared<'a>(&self, delivery: &'a Delivery) -> Option<&'a Bytes>;
    /// Appends this connection's bytes for `delivery`.
    fn render(&mut self, delivery: &Delivery, out: &mut BytesMut);
    /// Appends the notice that messages were dropped for this slow client.
    fn missed(&mut self, missed: &[Missed], out: &mut BytesMut);
}

/// How a writer paces its writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteTiming {
    /// Least time between two writes, to gather the lines that arrive meanwhile.
    pub coalesce: Duration,
    /// A socket that accepts nothing for this long ends the session.
    pub stall_timeout: Duration,
}

/// Ends a session's output, whatever its door: queues `farewell` last, closes
/// the outbox, and gives the writer [`FINAL_FLUSH_TIMEOUT`] to send what is
/// queued before stopping it, so a client that reads nothing cannot hold the
/// session open.
pub(crate) async fn close_output<T>(
    outbox: &Outbox,
    farewell: Option<impl Into<Payload>>,
    writer: &mut JoinHandle<T>,
) {
    if let Some(farewell) = farewell {
        outbox.reply(farewell);
    }
    outbox.close();
    if tokio::time::timeout(FINAL_FLUSH_TIMEOUT, &mut *writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}
