//! The text door's accept loop.
//!
//! Connections past the limits (see `doors::limits`) get one `error:` line,
//! rendered like every other, and are closed. An accept error (EMFILE when out of file
//! descriptors, for one) is logged and retried after a pause: never a crash,
//! never a busy loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::{Event, Refusal};

use socket2::{SockRef, TcpKeepalive};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::{plain_text, session};
use crate::doors::limits::ConnectionLimits;
use crate::hub::Hub;

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// TCP keepalive: probe a silent peer after this long, so a half-open
/// connection does not hold a name forever (dead after about 90 s more).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 9;

/// Accepts connections until `shutdown`, spawning each session on `tracker`.
pub async fn accept_loop(
    listener: TcpListener,
    hub: Arc<Hub>,
    limits: Arc<ConnectionLimits>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    warn!(%err, "accept failed; retrying after a pause");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        configure(&stream, peer);
        match limits.admit(peer.ip()) {
            Ok(permit) => {
                let hub = Arc::clone(&hub);
                let shutdown = shutdown.clone();
                tracker.spawn(async move {
                    session::serve(stream, peer, hub, shutdown).await;
                    drop(permit);
                });
            }
            Err(reason) => {
                info!(%peer, %reason, "refusing connection");
                tracker.spawn(refuse(stream, reason));
            }
        }
    }
}

fn configure(stream: &TcpStream, peer: SocketAddr) {
    // Lines are coalesced by the writer already; Nagle would only add delay.
    if let Err(err) = stream.set_nodelay(true) {
        warn!(%peer, %err, "cannot set TCP_NODELAY");
    }
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    if let Err(err) = SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        warn!(%peer, %err, "cannot set TCP keepalive");
    }
}

async fn refuse(mut stream: TcpStream, reason: Refusal) {
    let line = plain_text(&Event::Refused(reason));
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
