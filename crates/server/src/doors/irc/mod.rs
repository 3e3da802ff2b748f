//! The IRC door: existing IRC clients (irssi, weechat, HexChat, bots) in
//! banter's rooms, where room `games` is channel `#games`.
//!
//! - `listener`: the accept loop, with the connection limits every door shares.
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
pub mod listener;
mod message;
mod numerics;
mod render;
pub mod session;

/// The host part of every user's mask (`nick!nick@banter`), whatever their
/// door. The server's own name (`--irc-server-name`) is in prefixes and numerics.
const HOST: &str = "banter";
