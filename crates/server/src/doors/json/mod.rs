//! The JSON door: banter/1 over WebSocket, one JSON object per text frame
//! (see PROTOCOL.md). `protocol` parses requests, `render` writes events,
//! `session` runs one connection.

mod protocol;
pub(crate) mod render;
pub(crate) mod session;
