//! The `banterd` binary: configuration, logging, limits, signals.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use banter_server::config::{Switch, Task};
use banter_server::tls::Tls;
use banter_server::{Config, Listeners, Server};
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

/// Connections the kernel may queue before they are accepted: a crowd
/// connecting at once must not overflow it (the kernel caps it at somaxconn).
const LISTEN_BACKLOG: u32 = 4096;

/// After a signal, the longest the server waits for sessions to say goodbye.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    // Errors here are the operator's to fix (a bad flag value, an address in
    // use, a bad certificate): one clear line, never a backtrace, whatever
    // RUST_BACKTRACE says. Bugs panic, and panics keep their backtrace.
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("banterd: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let config = Config::load(std::env::args_os())?;
    if let Some(Task::Backup { file }) = &config.task {
        let bytes = banter_server::store::sqlite::backup(&config.data_dir, file)?;
        println!(
            "backed up {} to {} ({bytes} bytes)",
            config.data_dir.display(),
            file.display()
        );
        return Ok(());
    }
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

/// SIGHUP: new TLS handshakes use the certificate and key as they are on disk
/// now; open connections keep theirs. A bad file changes nothing.
fn reload(tls: Option<&Tls>) {
    let Some(tls) = tls else {
        info!("SIGHUP received; no TLS certificate to reload");
        return;
    };
    match tls.reload() {
        Ok(fingerprint) => info!(%fingerprint, "SIGHUP: TLS certificate reloaded"),
        Err(err) => error!("SIGHUP: keeping the current TLS certificate: {err:#}"),
    }
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

/// Binds `addr` for the listener that `flag` configures, and logs where it listens.
fn bind_logged(addr: SocketAddr, flag: &str, what: &str) -> anyhow::Result<TcpListener> {
    let listener = bind(addr).with_context(|| format!("cannot listen on {addr} ({flag})"))?;
    info!("{what} listening on {}", listener.local_addr()?);
    Ok(listener)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let http_listen = config.http_listen.0;
    let tls_listen = config.tls_listen.0;
    let metrics_listen = config.metrics_listen.0;
    let irc_listen = config.irc_listen.0;
    let irc_tls_listen = config.irc_tls_listen.0;
    let https = config.has_certificate() && config.http_tls == Switch::On;
    match config.in_memory {
        true => info!("store: in memory (--in-memory); nothing survives a restart"),
        false => info!(data_dir = %config.data_dir.display(), "store: SQLite on disk"),
    }
    // The store first: a second server on the same data dir stops here, before listening.
    let server = tokio::task::spawn_blocking(move || Server::open(config)).await??;
    let text = bind_logged(listen, "--listen", "text door")?;
    let text_addr = text.local_addr()?;
    let http = match http_listen {
        Some(addr) => {
            let what = if https { "https" } else { "http" };
            Some(bind_logged(addr, "--http-listen", what)?)
        }
        None => None,
    };
    let tls_text = match tls_listen {
        Some(addr) => Some(bind_logged(addr, "--tls-listen", "text door (TLS)")?),
        None => None,
    };
    let metrics = match metrics_listen {
        Some(addr) => Some(bind_logged(addr, "--metrics-listen", "metrics")?),
        None => None,
    };
    let irc = match irc_listen {
        Some(addr) => Some(bind_logged(addr, "--irc-listen", "irc")?),
        None => None,
    };
    let irc_tls = match irc_tls_listen {
        Some(addr) => Some(bind_logged(addr, "--irc-tls-listen", "irc (TLS)")?),
        None => None,
    };
    // Every listener is bound and logged before these lines (tests rely on it).
    info!("connect with: nc {} {}", text_addr.ip(), text_addr.port());
    if let Some(http) = &http {
        let scheme = if https { "https" } else { "http" };
        info!("web: {scheme}://{}/", http.local_addr()?);
    }
    if let Some(tls_text) = &tls_text {
        let addr = tls_text.local_addr()?;
        info!("connect with: openssl s_client -quiet -connect {addr}");
    }
    if let Some(irc) = &irc {
        let addr = irc.local_addr()?;
        info!("connect with: irssi -c {} -p {}", addr.ip(), addr.port());
    }
    if let Some(irc_tls) = &irc_tls {
        let addr = irc_tls.local_addr()?;
        info!(
            "connect with: irssi -c {} -p {} -tls (TLS)",
            addr.ip(),
            addr.port()
        );
    }
    let listeners = Listeners {
        text,
        http,
        tls_text,
        metrics,
        irc,
        irc_tls,
    };
    let shutdown = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let on_signal = shutdown.clone();
    let tls = server.tls();
    tokio::spawn(async move {
        let name = loop {
            tokio::select! {
                _ = terminate.recv() => break "SIGTERM",
                _ = interrupt.recv() => break "SIGINT",
                _ = hangup.recv() => reload(tls.as_deref()),
            }
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
