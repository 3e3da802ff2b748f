//! The text door: plain lines over TCP or TLS, for nc, telnet and
//! `openssl s_client`.
//!
//! [`TextDoor`] is what the shared accept loop (`doors::stream`) serves;
//! `session` reads lines and turns colon-commands into core requests (with
//! hidden password prompts) and `render` turns events into lines, which the
//! shared `doors::writer` writes over any byte stream (`doors::transport`).

mod render;
mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use banter_proto::{Event, Refusal};
use tokio_util::sync::CancellationToken;

pub use render::plain_text;

use crate::core::Hub;
use crate::doors::stream::StreamDoor;
use crate::doors::transport::ByteStream;

/// The text door, for `--listen` and `--tls-listen`.
pub struct TextDoor;

impl StreamDoor for TextDoor {
    const NAME: &'static str = "text";
    const TLS_NAME: &'static str = "text_tls";

    fn serve<S: ByteStream>(
        stream: S,
        peer: SocketAddr,
        hub: Arc<Hub>,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send {
        session::serve(stream, peer, hub, shutdown)
    }

    /// One `error:` line, rendered like every other.
    fn refusal(reason: &Refusal) -> String {
        plain_text(&Event::Refused(reason.clone()))
    }
}
