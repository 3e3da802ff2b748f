//! The HTTP listener (axum), plain or HTTPS: `GET /ws` upgrades to the JSON
//! door, `GET /` and the files beside it are the web client (`doors::web`),
//! and the operator's endpoints (`ops`) answer here unless `--metrics-listen`
//! gives them a listener of their own.
//!
//! Before an upgrade the `Origin` header is checked, so a page on another
//! site cannot open a WebSocket with a visitor's browser (cross-site
//! WebSocket hijacking): pages from the server's own host, origins listed in
//! `--http-allowed-origins`, and clients that send no `Origin` (bots,
//! terminal clients) may connect. Every WebSocket holds a slot of the same
//! connection limits as the text door; one past them gets a JSON `error`
//! frame and is closed. Sessions run on the server's task tracker, so
//! shutdown waits for their goodbyes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use banter_proto::{Event, Refusal};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::json::session;
use super::limits::ConnectionLimits;
use crate::delivery::Delivery;
use crate::doors::json::render::JsonRenderer;
use crate::doors::Renderer;
use crate::hub::Hub;
use crate::ops::{self, Health, ListenerUp};
use crate::tls::{Tls, TlsDoor};

/// What the HTTP handlers share.
struct Shared {
    hub: Arc<Hub>,
    limits: Arc<ConnectionLimits>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Bytes a WebSocket reads from its socket at a time: small, since frames
/// are small and thousands of connections each hold one.
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// What the HTTP listener serves with.
pub struct Setup {
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

/// Handshakes finished but not yet taken by the HTTP server.
const TLS_READY_QUEUE: usize = 64;

/// Serves HTTP (or HTTPS) until `shutdown`; WebSocket sessions run on the tracker.
pub async fn serve(listener: TcpListener, setup: Setup) -> std::io::Result<()> {
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
        hub,
        limits,
        tracker,
        shutdown: shutdown.clone(),
    });
    let mut app = Router::new()
        .merge(super::web::routes())
        .route("/ws", get(websocket));
    if let Some(health) = health {
        app = app.merge(ops::routes(health));
    }
    let app = app
        .with_state(Arc::clone(&shared))
        .into_make_service_with_connect_info::<SocketAddr>();
    up.up();
    match tls {
        None => {
            // As on the text door: the writer coalesces already; Nagle would only add delay.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        }
        Some(tls) => {
            // The no-op tap gives the address to `ConnectInfo`, as for plain TCP.
            let listener = TlsListener::start(listener, tls, shared).tap_io(|_| ());
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        }
    }
}

/// HTTPS: a task accepts and spawns a handshake per connection (each holding
/// a connection-limit slot until it is done), and the HTTP server takes the
/// finished ones, so a slow handshake never holds up another.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn start(listener: TcpListener, tls: Arc<Tls>, shared: Arc<Shared>) -> Self {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (sender, ready) = mpsc::channel(TLS_READY_QUEUE);
        tokio::spawn(async move {
            let shutdown = shared.shutdown.clone();
            loop {
                let (stream, peer) = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(err) => {
                            warn!(%err, "accept failed; retrying after a pause");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    },
                };
                let _ = stream.set_nodelay(true);
                let permit = match shared.limits.admit(peer.ip()) {
                    Ok(permit) => permit,
                    Err(reason) => {
                        info!(%peer, %reason, "refusing an https connection");
                        shared.hub.metrics.connection_refused(reason.code());
                        continue;
                    }
                };
                let tls = Arc::clone(&tls);
                let sender = sender.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    if let Some(stream) = tls
                        .accept(TlsDoor::Http, "https", stream, peer, &shutdown)
                        .await
                    {
                        drop(permit);
                        let _ = sender.send((stream, peer)).await;
                    }
                });
            }
        });
        Self { ready, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // Only at shutdown, which ends the server by itself.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn websocket(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let config = &shared.hub.config;
    if !origin_allowed(&headers, &config.http_allowed_origins) {
        info!(%peer, origin = ?headers.get(header::ORIGIN), "refusing a websocket from another origin");
        shared.hub.metrics.connection_refused("origin_not_allowed");
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here\n",
        )
            .into_response();
    }
    let admitted = shared.limits.admit(peer.ip());
    let max = config.ws_max_message_bytes;
    let tracked = Arc::clone(&shared);
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let tracker = tracked.tracker.clone();
            tracker.track_future(async move {
                match admitted {
                    Ok(permit) => {
                        debug!(%peer, door = "json", "connected");
                        let _open = tracked.hub.metrics.connection_opened("json");
                        session::serve(
                            socket,
                            peer,
                            Arc::clone(&tracked.hub),
                            tracked.shutdown.clone(),
                        )
                        .await;
                        drop(permit);
                    }
                    Err(refusal) => {
                        info!(%peer, %refusal, "refusing websocket");
                        tracked.hub.metrics.connection_refused(refusal.code());
                        refuse(socket, refusal).await;
                    }
                }
            })
        })
}

/// One `error` frame, then close.
async fn refuse(mut socket: WebSocket, refusal: Refusal) {
    let delivery = Delivery::new(Event::Refused(refusal));
    let frame = JsonRenderer.shared(&delivery).cloned().unwrap_or_default();
    let Ok(text) = Utf8Bytes::try_from(frame) else {
        return;
    };
    let _ = socket.send(Message::Text(text)).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Pages from this server's own host, listed origins, or no `Origin` at all.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|listed| listed == "*" || listed.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8081".parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_the_own_host_listed_origins_or_no_origin_may_connect() {
        assert!(origin_allowed(&headers(None), &[]));
        assert!(origin_allowed(&headers(Some("http://127.0.0.1:8081")), &[]));
        assert!(!origin_allowed(&headers(Some("https://evil.example")), &[]));
        let listed = vec!["https://chat.example.org".to_owned()];
        assert!(origin_allowed(
            &headers(Some("https://chat.example.org")),
            &listed
        ));
        assert!(origin_allowed(
            &headers(Some("https://evil.example")),
            &["*".to_owned()]
        ));
    }
}
