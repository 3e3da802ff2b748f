//! The text door: plain lines over TCP or TLS, for nc, telnet and
//! `openssl s_client`.
//!
//! [`TextDoor`] is what the shared accept loop (`doors::stream`) serves and
//! the session engine (`doors::session`) runs; `session` turns lines and
//! colon-commands into core requests (with hidden password prompts) and
//! `render` turns events into lines, which the shared `doors::writer` writes
//! over any byte stream (`doors::transport`).

mod render;
mod session;

use banter_proto::{Event, LineCodec, Refusal};

pub use render::plain_text;

use crate::config::Config;
use crate::doors::stream::StreamDoor;

/// The text door, for `--listen` and `--tls-listen`.
pub(crate) struct TextDoor;

impl StreamDoor for TextDoor {
    const NAME: &'static str = "text";
    const TLS_NAME: &'static str = "text_tls";

    type Session = session::Session;
    type Decoder = LineCodec;

    /// Clean lines (see `LineCodec`), at most `--max-line-bytes` each.
    fn decoder(config: &Config) -> LineCodec {
        LineCodec::new(config.max_line_bytes)
    }

    /// One `error:` line, rendered like every other.
    fn refusal(reason: &Refusal) -> String {
        plain_text(&Event::Refused(reason.clone()))
    }
}
