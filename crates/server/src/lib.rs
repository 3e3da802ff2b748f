//! banterd as a library: [`run`] serves chat on a listener until shutdown.
//!
//! The binary (`main.rs`) only reads the configuration, binds, and turns
//! signals into the shutdown token; tests call [`run`] on port 0 directly.
//! See ARCHITECTURE.md for the tasks, channels and locks.

mod commands;
pub mod config;
mod flood;
mod hub;
mod listener;
mod outbox;
mod password;
mod render;
mod room;
mod session;
pub mod store;
mod writer;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;

/// Serves until `shutdown` is cancelled, then says goodbye to every client
/// (each under a short timeout) and returns once every session has ended.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let hub = hub::Hub::new(Arc::new(config))?;
    let tracker = TaskTracker::new();
    listener::accept_loop(listener, hub, &tracker, shutdown).await;
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Internals the criterion benches (`benches/fanout.rs`) measure; not an API.
#[doc(hidden)]
pub mod bench_support {
    pub use crate::outbox::Outbox;
    pub use crate::render::{plain_text, Delivery};
    pub use crate::room::{Member, Room};
}
