//! banterd as a library: [`run`] serves chat on a listener until shutdown.
//!
//! The binary (`main.rs`) only reads the configuration, binds, and turns
//! signals into the shutdown token; tests call [`run`] on port 0 directly.
//! See ARCHITECTURE.md for the tasks, channels and locks.

pub mod config;
mod control;
mod core;
mod delivery;
mod doors;
mod fanout;
mod flood;
mod hub;
mod outbox;
mod password;
mod room;
pub mod store;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;

/// A server with its store open and its rooms loaded, ready to serve.
pub struct Server {
    hub: Arc<hub::Hub>,
    store: Arc<dyn store::Store>,
}

impl Server {
    /// Opens the store (`--in-memory`, or SQLite in `--data-dir`) and loads its
    /// rooms. Blocks; fails if another banterd holds the data directory.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let store: Arc<dyn store::Store> = if config.in_memory {
            Arc::new(store::memory::MemoryStore::new(config.history_max))
        } else {
            let mut sqlite = store::sqlite::SqliteConfig::new(&config.data_dir);
            sqlite.history_max = config.history_max;
            Arc::new(store::sqlite::SqliteStore::open(sqlite)?)
        };
        let hub = hub::Hub::new(Arc::new(config), Arc::clone(&store))?;
        Ok(Self { hub, store })
    }

    /// Serves until `shutdown` is cancelled, then says goodbye to every client
    /// (each under a short timeout), waits for every session to end, and
    /// commits every message to the store.
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let tracker = TaskTracker::new();
        let limits = doors::limits::ConnectionLimits::new(&self.hub.config);
        let http = listeners.http.map(|listener| {
            tokio::spawn(doors::http::serve(
                listener,
                Arc::clone(&self.hub),
                Arc::clone(&limits),
                tracker.clone(),
                shutdown.clone(),
            ))
        });
        doors::text::listener::accept_loop(listeners.text, self.hub, limits, &tracker, shutdown)
            .await;
        if let Some(http) = http {
            http.await??;
        }
        tracker.close();
        tracker.wait().await;
        let flushed = self.store.flush().await;
        // Dropping the last handle joins the store's writer thread.
        tokio::task::spawn_blocking(move || drop(self.store)).await?;
        flushed??;
        Ok(())
    }
}

/// The bound listeners of the doors.
pub struct Listeners {
    /// The text door (nc, telnet).
    pub text: TcpListener,
    /// The HTTP listener of the JSON door (WebSocket at `/ws`), unless off.
    pub http: Option<TcpListener>,
}

/// Opens the store and serves: [`Server::open`] then [`Server::serve`].
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let server = tokio::task::spawn_blocking(move || Server::open(config)).await??;
    server.serve(listeners, shutdown).await
}

/// Internals the criterion benches (`benches/fanout.rs`) measure; not an API.
#[doc(hidden)]
pub mod bench_support {
    pub use crate::delivery::Delivery;
    pub use crate::doors::text::plain_text;
    pub use crate::outbox::Outbox;
    pub use crate::room::{Member, Room, RoomSetup};
}
