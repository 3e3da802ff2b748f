//! The text door's accept loop, for plain TCP (`--listen`) and TLS
//! (`--tls-listen`).
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
use tracing::{debug, info, warn};

use super::{plain_text, session};
use crate::doors::limits::ConnectionLimits;
use crate::hub::Hub;
use crate::ops::ListenerUp;
use crate::tls::{Tls, TlsDoor};

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// TCP keepalive: probe a silent peer after this long, so a half-open
/// connection does not hold a name forever (dead after about 90 s more).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 9;

/// What the text door's accept loop needs: the chat, the limits it shares
/// with every door, and TLS when it serves `--tls-listen`.
pub struct TextDoor {
    pub hub: Arc<Hub>,
    pub limits: Arc<ConnectionLimits>,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    pub tls: Option<Arc<Tls>>,
}

impl TextDoor {
    fn name(&self) -> &'static str {
        if self.tls.is_some() {
            "text_tls"
        } else {
            "text"
        }
    }

    /// Accepts connections until `shutdown`, spawning each session on the
    /// tracker; over TLS the handshake runs in the session's task.
    pub async fn accept_loop(self, listener: TcpListener, up: ListenerUp) {
        up.up();
        let door = self.name();
        let metrics = &self.hub.metrics;
        loop {
            let (stream, peer) = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        warn!(%err, "accept failed; retrying after a pause");
                        tokio::select! {
                            _ = self.shutdown.cancelled() => break,
                            _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        }
                    }
                },
            };
            configure(&stream, peer);
            let permit = match self.limits.admit(peer.ip()) {
                Ok(permit) => permit,
                Err(reason) => {
                    info!(%peer, door, %reason, "refusing connection");
                    metrics.connection_refused(reason.code());
                    // A refusal over TLS would need a handshake first: just close.
                    if self.tls.is_none() {
                        self.tracker.spawn(refuse(stream, reason));
                    }
                    continue;
                }
            };
            debug!(%peer, door, "connected");
            let hub = Arc::clone(&self.hub);
            let shutdown = self.shutdown.clone();
            let open = hub.metrics.connection_opened(door);
            // Two tasks of their own, so a plain connection's task is not
            // sized for a TLS session's state.
            match &self.tls {
                None => self.tracker.spawn(async move {
                    session::serve(stream, peer, hub, shutdown).await;
                    drop((permit, open));
                }),
                Some(tls) => {
                    let tls = Arc::clone(tls);
                    self.tracker.spawn(async move {
                        if let Some(stream) =
                            tls.accept(TlsDoor::Lines, stream, peer, &shutdown).await
                        {
                            session::serve(stream, peer, hub, shutdown).await;
                        }
                        drop((permit, open));
                    })
                }
            };
        }
    }
}

pub(crate) fn configure(stream: &TcpStream, peer: SocketAddr) {
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
