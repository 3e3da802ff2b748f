//! The IRC door: existing IRC clients (irssi, weechat, HexChat, bots) in
//! banter's rooms, where room `games` is channel `#games`.
//!
//! - [`IrcDoor`]: what the shared accept loop (`doors::stream`) serves, for
//!   `--irc-listen` and `--irc-tls-listen`.
//! - `message`: IRC lines in (framing, tags, parameters) and out (escaping,
//!   splitting long texts).
//! - `caps`: IRCv3 capability negotiation (`server-time`, `echo-message`,
//!   `multi-prefix`).
//! - `numerics`: the numeric replies, and which numeric a core refusal is.
//! - `session`: one connection: registration, each IRC command as core
//!   requests, pings.
//! - `render`: the core's events as IRC lines.
//!
//! The session runs over any byte stream (the text door's `ByteStream`), so
//! TLS plugs in without changing it.

mod caps;
mod message;
mod numerics;
mod render;
pub mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use banter_proto::Refusal;
use tokio_util::sync::CancellationToken;

use crate::core::Hub;
use crate::doors::stream::StreamDoor;
use crate::doors::transport::ByteStream;

/// The IRC door, for `--irc-listen` and `--irc-tls-listen`.
pub struct IrcDoor;

impl StreamDoor for IrcDoor {
    const NAME: &'static str = "irc";
    const TLS_NAME: &'static str = "irc_tls";

    fn serve<S: ByteStream>(
        stream: S,
        peer: SocketAddr,
        hub: Arc<Hub>,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send {
        session::serve(stream, peer, hub, shutdown)
    }

    /// One IRC `ERROR` line.
    fn refusal(reason: &Refusal) -> String {
        format!("ERROR :{reason}\r\n")
    }
}

/// The host part of every user's mask (`nick!nick@banter`), whatever their
/// door. The server's own name (`--irc-server-name`) is in prefixes and numerics.
const HOST: &str = "banter";
