//! The text door: plain lines over TCP, for nc and telnet.
//!
//! `listener` accepts connections, `session` reads lines and turns
//! colon-commands into core requests (with hidden password prompts),
//! `render` turns events into lines, and `writer` writes them, over any
//! byte stream (`transport`).

pub mod listener;
mod render;
mod session;
pub(crate) mod transport;
pub(crate) mod writer;

pub use render::plain_text;
