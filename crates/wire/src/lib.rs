//! banter/1, defined once: the JSON objects a client sends ([`Request`]) and
//! the ones a server sends ([`Frame`]), each in its own WebSocket text frame,
//! exactly as PROTOCOL.md writes them.
//!
//! The server's JSON door, the `banter` terminal client and the load
//! generator all speak through these types, so the three cannot drift apart;
//! a test holds them, and the web page's hand-written JavaScript, to the
//! examples in PROTOCOL.md. Nothing here knows the chat core: the server
//! converts its events into [`Frame`]s and [`Request`]s into its own.
//!
//! Every type is generic over its strings, `S`, owned `String` by default:
//! a reader takes owned strings, and a writer can borrow them (`&str`), so
//! the server renders an event without copying a byte of it. Requests are
//! generic over the password's type too, so a client can keep a password in
//! a type that never prints it and still send it.

#![warn(missing_docs, unreachable_pub)]

mod frame;
mod request;

use serde::Serialize;
use serde_json::Value;

pub use frame::{
    parse_frame, Ban, Frame, Joined, LeaveReason, Member, Membership, MessageKind, ModeSwitch,
    RoomInfo, RoomMessage, ServerBan,
};
pub use request::{parse_request, Request, RequestError, REQUEST_TYPES};

/// The protocol's name and version, as `welcome` says it.
pub const PROTOCOL: &str = "banter/1";

/// A frame with its `"id"`: the id a client gave its request, or the one a
/// reply echoes. Writing one puts `id` beside the frame's own fields (after
/// them), and leaves it out when there is none.
///
/// `I` is whatever holds the id: a number the client counts, the JSON
/// [`Value`] a reader found, or the client's text echoed unparsed
/// (`&serde_json::value::RawValue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope<T, I = Value> {
    /// The request or server frame.
    #[serde(flatten)]
    pub body: T,
    /// The request id, when the frame has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<I>,
}

impl<T> Envelope<T, Value> {
    /// The id, when it is a whole number that fits a `u64` (the kind the
    /// `banter` client gives its requests).
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.as_ref().and_then(Value::as_u64)
    }
}

impl<T: Serialize, I: Serialize> Envelope<T, I> {
    /// The frame's text, as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("banter/1 frames always serialise")
    }

    /// Writes the frame's text, as compact JSON, to `out` (a `&mut Vec<u8>`,
    /// say, which cannot fail).
    pub fn write_json<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        serde_json::to_writer(out, self).map_err(std::io::Error::from)
    }
}
