//! The HTTP listener, plain or HTTPS: `GET /ws` upgrades to the JSON door
//! (`websocket`), `GET /` and the files beside it are the web client
//! (`doors::web`), and the operator's endpoints (`ops`) answer here unless
//! `--metrics-listen` gives them a listener of their own.
//!
//! Our own accept loop, rather than `axum::serve`, so that an HTTP
//! connection is held to the same rules as every other: it takes a slot of
//! the shared connection limits when accepted and keeps it for its whole
//! life (a WebSocket takes the slot over at the upgrade); one past the
//! limits gets a short `503` and is closed. Every byte it sends is charged
//! to its input budget (`metered`). A new connection has
//! `--http-header-timeout` to send its first request head, and a keep-alive
//! connection `--http-idle-timeout` after each response to send the next
//! one, so neither idle nor trickling (slowloris) connections hold a slot.
//! Over TLS, a plain-HTTP request is answered with a hint instead of a
//! failed handshake.

pub(crate) mod metered;
mod websocket;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

use self::metered::{Meter, Metered, Transport};
use super::limits::{ConnectionLimits, Permit};
use super::stream::{accept, REFUSALS_LOGGED_PER_SECOND};
use super::writer::{self, PingClock};
use crate::core::Hub;
use crate::log_limit::LogLimit;
use crate::ops::{self, Health, ListenerUp};
use crate::tls::{Tls, TlsDoor};

/// How long a refused connection may take to accept its `503`.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a plain-HTTP request to the HTTPS port may take to start.
const PLAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the HTTP listener serves with.
pub(crate) struct Setup {
    pub hub: Arc<Hub>,
    pub limits: Arc<ConnectionLimits>,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    /// HTTPS and WSS when set.
    pub tls: Option<Arc<Tls>>,
    /// `/metrics`, `/healthz` and `/readyz` here, unless they have a listener of their own.
    pub health: Option<Arc<Health>>,
    pub up: ListenerUp,
}

/// What the handlers share.
struct Shared {
    hub: Arc<Hub>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// The WebSockets' ping clock.
    pings: PingClock,
    /// Refused `Origin`s are logged at most a few times a second.
    origin_refusals: LogLimit,
}

/// One HTTP connection, as its requests see it (in their extensions).
#[derive(Clone)]
struct Connection {
    /// The connection's slot of the shared limits, until a WebSocket takes it.
    permit: Arc<Mutex<Option<Permit>>>,
}

impl Connection {
    fn take_permit(&self) -> Option<Permit> {
        self.permit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// Serves HTTP (or HTTPS) until `shutdown`; connections and WebSocket
/// sessions run on the tracker.
pub(crate) async fn serve(listener: TcpListener, setup: Setup) -> std::io::Result<()> {
    let Setup {
        hub,
        limits,
        tracker,
        shutdown,
        tls,
        health,
        up,
    } = setup;
    let shared = Arc::new(Shared {
        hub: Arc::clone(&hub),
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
        pings: writer::ping_clock(shutdown.clone()),
        origin_refusals: LogLimit::per_second(5),
    });
    let mut router = Router::new()
        .merge(super::web::routes())
        .route("/ws", get(websocket::upgrade));
    if let Some(health) = health {
        router = router.merge(ops::routes(health));
    }
    let router = router.with_state(shared);
    let door = if tls.is_some() { "https" } else { "http" };
    let refusals = LogLimit::per_second(REFUSALS_LOGGED_PER_SECOND);
    up.up();
    while let Some((stream, peer)) = accept(&listener, &shutdown, door).await {
        let permit = match limits.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(reason) => {
                if let Some(suppressed) = refusals.allow() {
                    warn!(%peer, door, %reason, suppressed, "refusing connection");
                }
                hub.services.metrics.connection_refused(reason.code());
                if tls.is_none() {
                    let body = format!("error: {reason}\n");
                    tracker.spawn(refuse(stream, 503, "Service Unavailable", body));
                }
                continue;
            }
        };
        let hub = Arc::clone(&hub);
        let router = router.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            let stream: Box<dyn Transport> = match tls {
                None => Box::new(stream),
                Some(tls) => {
                    let Some(stream) = https_handshake(&tls, stream, peer, &shutdown).await else {
                        return;
                    };
                    Box::new(stream)
                }
            };
            serve_connection(stream, peer, permit, router, hub, shutdown).await;
        });
    }
    Ok(())
}

/// The TLS handshake, unless the client speaks plain HTTP to the HTTPS
/// port: it is told so (as nginx does) and closed.
async fn https_handshake(
    tls: &Tls,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: &CancellationToken,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(PLAIN_PROBE_TIMEOUT, stream.peek(&mut first)).await;
    // A TLS connection starts with a handshake record (22); HTTP with a method's letter.
    if matches!(peeked, Ok(Ok(1))) && first[0].is_ascii_uppercase() {
        debug!(%peer, "plain HTTP on the HTTPS port");
        let body = "error: this port speaks HTTPS; use https:// (and wss:// for WebSockets)\n";
        refuse(stream, 400, "Bad Request", body.to_owned()).await;
        return None;
    }
    tls.accept(TlsDoor::Http, "https", stream, peer, shutdown)
        .await
}

/// A short answer to a connection that will not be served, then close.
async fn refuse(mut stream: TcpStream, status: u16, reason: &str, body: String) {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent meanwhile (a little, within the same
        // second): closing with it unread would reset the connection, and the
        // client could lose the answer.
        let mut request = [0u8; 4096];
        let mut left: usize = 16 * 1024;
        while left > 0 {
            match stream.read(&mut request).await? {
                0 => break,
                read => left = left.saturating_sub(read),
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Requests begun and answered on one connection, for its timeouts.
#[derive(Default)]
struct RequestClock {
    begun: AtomicU64,
    answered: AtomicU64,
    changed: Notify,
}

impl RequestClock {
    fn in_request(&self) -> bool {
        self.begun.load(Ordering::Acquire) > self.answered.load(Ordering::Acquire)
    }
}

/// Serves one admitted connection's requests until it closes, times out,
/// upgrades to a WebSocket, or the server shuts down.
async fn serve_connection(
    stream: Box<dyn Transport>,
    peer: SocketAddr,
    permit: Permit,
    router: Router,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let config = &hub.services.config;
    let header_timeout = Duration::from_secs(config.http_header_timeout);
    let idle_timeout = Duration::from_secs(config.http_idle_timeout);
    let meter = Meter::new(config, Arc::clone(&hub.services.metrics));
    let connection = Connection {
        permit: Arc::new(Mutex::new(Some(permit))),
    };
    let clock = Arc::new(RequestClock::default());
    let service = {
        let clock = Arc::clone(&clock);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(connection.clone());
            let router = router.clone();
            let clock = Arc::clone(&clock);
            clock.begun.fetch_add(1, Ordering::AcqRel);
            clock.changed.notify_one();
            async move {
                let response = router.oneshot(request).await;
                clock.answered.fetch_add(1, Ordering::AcqRel);
                clock.changed.notify_one();
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        })
    };
    let io = TokioIo::new(Metered::new(stream, meter));
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);
    // The first request head is due `header_timeout` after connecting; each
    // next one `idle_timeout` after the last answer. None is due meanwhile.
    let mut due = Some(Instant::now() + header_timeout);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            done = &mut connection => {
                if let Err(err) = done {
                    debug!(%peer, %err, "http connection ended");
                }
                return;
            }
            _ = clock.changed.notified() => {
                due = (!clock.in_request()).then(|| Instant::now() + idle_timeout);
            }
            _ = async { tokio::time::sleep_until(due?).await; Some(()) }, if due.is_some() => {
                debug!(%peer, "closing an http connection that sent no request in time");
                hub.services.metrics.disconnected("http_timeout");
                return;
            }
        }
    }
}
