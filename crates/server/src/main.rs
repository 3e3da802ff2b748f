//! The `banterd` binary: configuration, logging, limits, signals.

mod allocator;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use banter_server::config::{OperatorTask, Switch, Task};
use banter_server::tls::Tls;
use banter_server::{Config, Listeners, Server};
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod operator_task;

/// Connections the kernel may queue before they are accepted: a crowd
/// connecting at once must not overflow it (the kernel caps it at somaxconn).
const LISTEN_BACKLOG: u32 = 4096;

/// After a signal, the longest the server waits for sessions to say goodbye.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// jemalloc, which gives memory back after a burst (see `allocator`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Errors here are the operator's to fix (a bad flag value, an address in
    // use, a bad certificate): one clear line, never a backtrace, whatever
    // RUST_BACKTRACE says. Bugs panic, and panics keep their backtrace.
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("banterd: error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: many errors already
/// quote their cause in their own text (`cannot open X: Permission denied`),
/// and printing the chain again would double it.
fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
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
    if let Some(Task::Operator {
        action: OperatorTask::Add { name },
    }) = &config.task
    {
        return operator_task::add(name, config.config.as_deref());
    }
    let filter = banter_server::logging::filter(&config.log_level)
        .map_err(|err| anyhow::anyhow!("--log-level {err}"))?;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .init();
    allocator::tune();
    let file_limit = rlimit::increase_nofile_limit(u64::MAX);
    let (runtime, threads) = runtime()?;
    runtime.block_on(serve(config, file_limit, threads))
}

/// The async runtime, and how many threads run its tasks. With one CPU
/// (a small VM, a container's CPU quota, `taskset`) everything runs on this
/// thread: the multi-threaded scheduler's one worker cost 15-20% more CPU
/// per message in small rooms (BENCHMARKS.md, "Issue 23, round 6"), for
/// nothing a single core could use. Blocking work (password hashing,
/// opening the store) goes to tokio's blocking threads either way, and the
/// SQLite writer has its own.
fn runtime() -> std::io::Result<(tokio::runtime::Runtime, usize)> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Runtime::new()?
    };
    Ok((runtime, cpus))
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

/// Logs the open file limit raised at start, which lets 10,000 connections
/// work without `ulimit` tricks.
fn log_file_limit(raised: std::io::Result<u64>) {
    match raised {
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

/// Binds `addr` for the listener that `flag` configures.
fn bind_flag(addr: SocketAddr, flag: &str) -> anyhow::Result<TcpListener> {
    bind(addr).with_context(|| format!("cannot listen on {addr} ({flag})"))
}

/// Binds `addr` when the listener is on.
fn bind_optional(addr: Option<SocketAddr>, flag: &str) -> anyhow::Result<Option<TcpListener>> {
    addr.map(|addr| bind_flag(addr, flag)).transpose()
}

async fn serve(
    config: Config,
    file_limit: std::io::Result<u64>,
    threads: usize,
) -> anyhow::Result<()> {
    let https = config.has_certificate() && config.http_tls == Switch::On;
    // Every listener first, before anything is logged or written: a busy port
    // is one error line, and leaves no new data directory behind.
    let listeners = Listeners {
        text: bind_flag(config.listen, "--listen")?,
        http: bind_optional(config.http_listen.0, "--http-listen")?,
        tls_text: bind_optional(config.tls_listen.0, "--tls-listen")?,
        metrics: bind_optional(config.metrics_listen.0, "--metrics-listen")?,
        irc: bind_optional(config.irc_listen.0, "--irc-listen")?,
        irc_tls: bind_optional(config.irc_tls_listen.0, "--irc-tls-listen")?,
    };
    log_file_limit(file_limit);
    match threads {
        1 => info!("runtime: one thread (one CPU available)"),
        n => info!("runtime: {n} worker threads (one per CPU)"),
    }
    match config.in_memory {
        true => info!("store: in memory (--in-memory); nothing survives a restart"),
        false => info!(data_dir = %config.data_dir.display(), "store: SQLite on disk"),
    }
    // A second server on the same data dir stops here, before serving.
    let server = tokio::task::spawn_blocking(move || Server::open(config)).await??;
    let http_what = if https { "https" } else { "http" };
    let text_addr = listeners.text.local_addr()?;
    for (listener, what) in [
        (Some(&listeners.text), "text door"),
        (listeners.http.as_ref(), http_what),
        (listeners.tls_text.as_ref(), "text door (TLS)"),
        (listeners.metrics.as_ref(), "metrics"),
        (listeners.irc.as_ref(), "irc"),
        (listeners.irc_tls.as_ref(), "irc (TLS)"),
    ] {
        if let Some(listener) = listener {
            info!("{what} listening on {}", listener.local_addr()?);
        }
    }
    // Every listener is logged before these lines (tests rely on it).
    info!("connect with: nc {} {}", text_addr.ip(), text_addr.port());
    if let Some(http) = &listeners.http {
        info!("web: {http_what}://{}/", http.local_addr()?);
    }
    if let Some(tls_text) = &listeners.tls_text {
        let addr = tls_text.local_addr()?;
        info!("connect with: openssl s_client -quiet -connect {addr}");
    }
    if let Some(irc) = &listeners.irc {
        let addr = irc.local_addr()?;
        info!("connect with: irssi -c {} -p {}", addr.ip(), addr.port());
    }
    if let Some(irc_tls) = &listeners.irc_tls {
        let addr = irc_tls.local_addr()?;
        let port = addr.port();
        // irssi checks a certificate against host names only, never an IP address.
        let host = match addr.ip() {
            ip if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
            ip => ip.to_string(),
        };
        // Spelled for the clients Debian 12 ships (irssi 1.4, weechat 3.8; weechat 4
        // says -tls -tls_verify=off). Neither verifies this way: for that, irssi's
        // `-tls_verify -tls_cafile CERT` (see README).
        info!("connect with: irssi, then /connect -tls {host} {port}");
        info!(
            "connect with: weechat -r '/server add banter {host}/{port} -ssl -ssl_verify=off;\
             /connect banter'"
        );
    }
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
