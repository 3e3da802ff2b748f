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
//! Every door's connections run on one engine (`session`: the read loop,
//! flood verdicts, timeouts, farewell) and one writer (`writer`: byte
//! streams and WebSocket frames); a door supplies its decoder, its commands
//! and its [`Renderer`]. The byte-stream doors (text and IRC) also share
//! their accept loop (`stream`) and what they run over (`transport`: TCP or
//! TLS). Every byte a client receives goes through its door's [`Renderer`].

pub(crate) mod http;
pub(crate) mod irc;
pub(crate) mod json;
pub(crate) mod limits;
pub(crate) mod session;
pub(crate) mod stream;
pub(crate) mod text;
pub(crate) mod transport;
pub(crate) mod web;
pub(crate) mod writer;

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::core::{Delivery, Missed};

/// Turns deliveries into one door's bytes, for one connection.
pub(crate) trait Renderer: Send + 'static {
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
pub(crate) struct WriteTiming {
    /// Least time between two writes, to gather the lines that arrive meanwhile.
    pub coalesce: Duration,
    /// A socket that accepts nothing for this long ends the session.
    pub stall_timeout: Duration,
}
