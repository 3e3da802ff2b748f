//! The `banterd` binary: configuration, logging, limits, signals.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use banter_server::{Config, Listeners, Server};
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

/// Connections the kernel may queue before they are accepted: a crowd
/// connecting at once must not overflow it (the kernel caps it at somaxconn).
const LISTEN_BACKLOG: u32 = 4096;

/// After a signal, the longest the server waits for sessions to say goodbye.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

fn main() -> anyhow::Result<()> {
    let config = Config::load(std::env::args_os())?;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .context("--log-level")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    raise_open_file_limit();
    tokio::runtime::Runtime::new()?.block_on(serve(config))
}

/// Lets 10,000 connections work without `ulimit` tricks.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!(limit, "open file limit"),
        Err(err) => warn!(%err, "cannot raise the open file limit"),
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let http_listen = config.http_listen.0;
    // The store first: a second server on the same data dir stops here, before listening.
    let server = tokio::task::spawn_blocking(move || Server::open(config)).await??;
    let listener = bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    info!("listening on {}", listener.local_addr()?);
    let http = match http_listen {
        Some(addr) => {
            let http =
                bind(addr).with_context(|| format!("cannot listen on {addr} (--http-listen)"))?;
            info!("http listening on {}", http.local_addr()?);
            Some(http)
        }
        None => None,
    };
    let listeners = Listeners {
        text: listener,
        http,
    };
    let shutdown = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        info!("{name} received; shutting down");
        on_signal.cancel();
    });
    let server = server.serve(listeners, shutdown.clone());
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_DEADLINE).await;
        } => warn!("sessions still open after {SHUTDOWN_DEADLINE:?}; exiting anyway"),
    }
    info!("stopped");
    Ok(())
}
