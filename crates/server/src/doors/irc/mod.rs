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
//! The session engine (`doors::session`) runs it over any byte stream
//! (`doors::transport`), so TLS plugs in without changing it.

mod caps;
mod message;
mod numerics;
mod render;
mod session;

use banter_proto::Refusal;

use crate::config::Config;
use crate::doors::stream::StreamDoor;
use message::Framer;

/// The IRC door, for `--irc-listen` and `--irc-tls-listen`.
pub(crate) struct IrcDoor;

impl StreamDoor for IrcDoor {
    const NAME: &'static str = "irc";
    const TLS_NAME: &'static str = "irc_tls";

    type Session = session::Session;
    type Decoder = Framer;

    /// IRC lines, with the 512 + 8191-byte limits.
    fn decoder(_config: &Config) -> Framer {
        Framer::default()
    }

    /// One IRC `ERROR` line.
    fn refusal(reason: &Refusal) -> String {
        format!("ERROR :{reason}\r\n")
    }
}

/// The host part of every user's mask (`nick!nick@banter`), whatever their
/// door. The server's own name (`--irc-server-name`) is in prefixes and numerics.
const HOST: &str = "banter";
