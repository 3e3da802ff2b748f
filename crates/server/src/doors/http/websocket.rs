//! `GET /ws`: the WebSocket handshake (RFC 6455 4.2), done here rather than
//! by axum so that the session gets the connection's own metered stream
//! back (every frame costs its client, see `metered`) and keeps the
//! connection's slot of the limits.
//!
//! Before the upgrade the `Origin` header is checked, so a page on another
//! site cannot open a WebSocket with a visitor's browser (cross-site
//! WebSocket hijacking): pages from the server's own host, origins listed in
//! `--http-allowed-origins`, and clients that send no `Origin` (bots,
//! terminal clients) may connect.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use futures::FutureExt;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info};

use super::metered::Metered;
use super::{Connection, Shared};
use crate::doors::json::session;
use crate::log_limit::truncated;

/// Bytes a WebSocket reads from its socket at a time: small, since client
/// frames are small (a chat line) and thousands of idle connections each
/// hold one; a longer frame gets room for itself when its header arrives.
/// 1 KiB cost an idle WebSocket 768 B more.
const READ_BUFFER_BYTES: usize = 256;
/// Bytes of frames gathered before they are written; a batch is flushed
/// whole anyway.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Most bytes of a refused `Origin` shown in the log.
const LOGGED_ORIGIN_BYTES: usize = 100;

pub(super) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    let config = &shared.hub.services.config;
    if !origin_allowed(headers, &config.http_allowed_origins) {
        if let Some(suppressed) = shared.origin_refusals.allow() {
            let origin = headers
                .get(header::ORIGIN)
                .map(|origin| String::from_utf8_lossy(origin.as_bytes()).into_owned())
                .unwrap_or_default();
            info!(%peer, origin = truncated(&origin, LOGGED_ORIGIN_BYTES), suppressed,
                "refusing a websocket from another origin");
        }
        shared
            .hub
            .services
            .metrics
            .connection_refused("origin_not_allowed");
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here\n",
        )
            .into_response();
    }
    let Some(key) = websocket_key(headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "error: /ws takes a WebSocket upgrade (GET with Upgrade: websocket, version 13)\n",
        )
            .into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let (Some(connection), Some(on_upgrade)) = (
        request.extensions_mut().remove::<Connection>(),
        request
            .extensions_mut()
            .remove::<hyper::upgrade::OnUpgrade>(),
    ) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(permit) = connection.take_permit() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let max = config.ws_max_message_bytes;
    let websocket = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        // Our frames and the library's own pongs together: past this the
        // client is not reading, and is dropped like any stalled writer.
        .max_write_buffer_size(WRITE_BUFFER_BYTES + config.max_output_bytes);
    let upgraded = async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                debug!(%peer, %err, "websocket upgrade failed");
                return None;
            }
        };
        let parts = upgraded.downcast::<TokioIo<Metered>>().ok()?;
        let stream = parts.io.into_inner();
        stream.meter().count_frames(&parts.read_buf);
        let meter = Arc::clone(stream.meter());
        // Copied out and dropped at once: the bytes are a view of hyper's
        // whole 8 KiB read buffer, which would otherwise live as long as
        // the connection.
        let read_ahead = parts.read_buf.to_vec();
        drop(parts.read_buf);
        let socket =
            WebSocketStream::from_partially_read(stream, read_ahead, Role::Server, Some(websocket))
                .await;
        Some((socket, meter))
    };
    // The upgrade's state, then the session's, in one place (`then`): an
    // `async` block awaiting both would keep the upgrade's variables beside
    // the session for the connection's life.
    let tracked = Arc::clone(&shared);
    let connection = upgraded.then(move |upgraded| {
        let Some((socket, meter)) = upgraded else {
            return Either::Left(std::future::ready(()));
        };
        debug!(%peer, door = "json", "connected");
        let open = tracked.hub.services.metrics.connection_opened("json");
        let session = session::serve(
            socket,
            meter,
            &tracked.pings,
            peer,
            Arc::clone(&tracked.hub),
            tracked.shutdown.clone(),
        );
        Either::Right(session.map(move |()| drop(open)))
    });
    shared.tracker.spawn(connection.map(move |()| drop(permit)));
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// The client's `Sec-WebSocket-Key`, when the request is a version-13 upgrade.
fn websocket_key(headers: &HeaderMap) -> Option<&str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return None;
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version != "13")
    {
        return None;
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|key| key.to_str().ok())
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

    #[test]
    fn only_a_version_13_upgrade_has_a_key() {
        let mut upgrade = HeaderMap::new();
        upgrade.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        upgrade.insert(header::UPGRADE, "websocket".parse().unwrap());
        upgrade.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        upgrade.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        assert_eq!(websocket_key(&upgrade), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        upgrade.insert(header::SEC_WEBSOCKET_VERSION, "8".parse().unwrap());
        assert_eq!(websocket_key(&upgrade), None);
    }
}
