//! banterd as a library: [`run`] serves chat on a listener until shutdown.
//!
//! The binary (`main.rs`) only reads the configuration, binds, and turns
//! signals into the shutdown token; tests call [`run`] on port 0 directly.
//! See ARCHITECTURE.md for the tasks, channels and locks.

#![warn(unreachable_pub)]

pub mod config;
mod core;
mod doors;
mod flood;
mod log_limit;
pub mod logging;
pub mod metrics;
mod ops;
pub mod store;
pub mod tls;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use doors::irc::IrcDoor;
use doors::text::TextDoor;

pub use config::Config;

/// A server with its store open and its rooms loaded, ready to serve.
pub struct Server {
    hub: Arc<core::Hub>,
    store: Arc<dyn store::Store>,
    tls: Option<Arc<tls::Tls>>,
}

impl Server {
    /// Opens the store (`--in-memory`, or SQLite in `--data-dir`), loads its
    /// rooms, and loads the TLS certificate if one is configured. Blocks; fails
    /// if another banterd holds the data directory or the certificate is bad.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let metrics = Arc::new(metrics::Metrics::new());
        let store: Arc<dyn store::Store> = if config.in_memory {
            Arc::new(store::memory::MemoryStore::new(config.history_max))
        } else {
            let mut sqlite = store::sqlite::SqliteConfig::new(&config.data_dir);
            sqlite.history_max = config.history_max;
            sqlite.metrics = Arc::clone(&metrics);
            Arc::new(store::sqlite::SqliteStore::open(sqlite)?)
        };
        let tls = tls::Tls::from_config(&config, Arc::clone(&metrics))?.map(Arc::new);
        let cluster = match &config.cluster {
            None => None,
            Some(url) => {
                let name = config.node_name.clone().unwrap_or_else(host_name);
                let runtime = tokio::runtime::Handle::current();
                let store = Arc::clone(&store);
                let replicas = usize::from(config.cluster_replicas);
                Some(runtime.block_on(core::Cluster::connect(url, &name, replicas, store))?)
            }
        };
        let services = core::Services::new(Arc::new(config), Arc::clone(&store), metrics);
        let seams = match &cluster {
            None => core::Seams::in_process(Arc::clone(&store)),
            Some(cluster) => cluster.seams(),
        };
        let hub = core::Hub::new(services, seams)?;
        if let Some(cluster) = cluster {
            // Replays the log before anyone is served.
            tokio::runtime::Handle::current().block_on(cluster.start(&hub))?;
        }
        Ok(Self { hub, store, tls })
    }

    /// The TLS setup, for reloading the certificate (SIGHUP); `None` without one.
    pub fn tls(&self) -> Option<Arc<tls::Tls>> {
        self.tls.clone()
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
        let limits = doors::limits::ConnectionLimits::new(&self.hub.services.config);
        let health = ops::Health::new(Arc::clone(&self.hub), shutdown.clone());
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(listener) = listeners.http {
            let tls = match self.hub.services.config.http_tls {
                config::Switch::On => self.tls.clone(),
                config::Switch::Off => None,
            };
            let ops_here = listeners.metrics.is_none();
            tasks.spawn(doors::http::serve(
                listener,
                doors::http::Setup {
                    hub: Arc::clone(&self.hub),
                    limits: Arc::clone(&limits),
                    tracker: tracker.clone(),
                    shutdown: shutdown.clone(),
                    tls,
                    health: ops_here.then(|| Arc::clone(&health)),
                    up: health.listener("http"),
                },
            ));
        }
        if let Some(listener) = listeners.metrics {
            tasks.spawn(ops::serve(
                listener,
                Arc::clone(&health),
                health.listener("metrics"),
                shutdown.clone(),
            ));
        }
        let certificate = |flag: &str| {
            self.tls
                .clone()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a certificate"))
        };
        let text_tls = listeners
            .tls_text
            .map(|listener| anyhow::Ok((listener, certificate("--tls-listen")?)))
            .transpose()?;
        let irc_tls = listeners
            .irc_tls
            .map(|listener| anyhow::Ok((listener, certificate("--irc-tls-listen")?)))
            .transpose()?;
        // The byte-stream doors, a line each: a new door is one more line.
        let doors = StreamDoors {
            hub: &self.hub,
            limits: &limits,
            tracker: &tracker,
            shutdown: &shutdown,
            health: &health,
        };
        doors.spawn::<TextDoor>(&mut tasks, Some((listeners.text, None)), "text");
        doors.spawn::<TextDoor>(&mut tasks, text_tls.map(|(l, t)| (l, Some(t))), "text_tls");
        doors.spawn::<IrcDoor>(&mut tasks, listeners.irc.map(|l| (l, None)), "irc");
        doors.spawn::<IrcDoor>(&mut tasks, irc_tls.map(|(l, t)| (l, Some(t))), "irc_tls");
        shutdown.cancelled().await;
        // Sessions waiting to hash a password stop waiting and end.
        self.hub.services.passwords.close();
        while let Some(done) = tasks.join_next().await {
            done??;
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

/// This machine's host name, the default `--node-name`.
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// What every byte-stream door's accept loop shares.
struct StreamDoors<'a> {
    hub: &'a Arc<core::Hub>,
    limits: &'a Arc<doors::limits::ConnectionLimits>,
    tracker: &'a TaskTracker,
    shutdown: &'a CancellationToken,
    health: &'a Arc<ops::Health>,
}

impl StreamDoors<'_> {
    /// Serves door `D` on `listener` (with TLS, if given) until shutdown,
    /// reported ready as `name`; nothing if the listener is off.
    fn spawn<D: doors::stream::StreamDoor>(
        &self,
        tasks: &mut tokio::task::JoinSet<std::io::Result<()>>,
        listener: Option<(TcpListener, Option<Arc<tls::Tls>>)>,
        name: &'static str,
    ) {
        let Some((listener, tls)) = listener else {
            return;
        };
        let acceptor = doors::stream::Acceptor {
            hub: Arc::clone(self.hub),
            limits: Arc::clone(self.limits),
            tracker: self.tracker.clone(),
            shutdown: self.shutdown.clone(),
            tls,
        };
        let up = self.health.listener(name);
        tasks.spawn(async move {
            acceptor.run::<D>(listener, up).await;
            Ok(())
        });
    }
}

/// The bound listeners of the doors.
pub struct Listeners {
    /// The text door (nc, telnet).
    pub text: TcpListener,
    /// The HTTP listener of the JSON door (WebSocket at `/ws`), unless off.
    pub http: Option<TcpListener>,
    /// The text door over TLS (`--tls-listen`), unless off.
    pub tls_text: Option<TcpListener>,
    /// `/metrics`, `/healthz` and `/readyz` alone (`--metrics-listen`); when
    /// `None` the HTTP listener serves them.
    pub metrics: Option<TcpListener>,
    /// The IRC door, unless off.
    pub irc: Option<TcpListener>,
    /// The IRC door over TLS (`--irc-tls-listen`), unless off.
    pub irc_tls: Option<TcpListener>,
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
    pub use crate::core::bench_support::{
        Delivery, InProcessBroker, Member, NodeId, Outbox, Room, RoomSetup, SessionId,
    };
    pub use crate::doors::text::plain_text;
}
