//! The IRC door's accept loop (`--irc-listen`, and `--irc-tls-listen` over
//! TLS): the same connection limits as every door.
//!
//! A connection past the limits gets one IRC `ERROR` line and is closed. An
//! accept error (EMFILE, for one) is logged and retried after a pause: never
//! a crash, never a busy loop.

use std::sync::Arc;
use std::time::Duration;

use banter_proto::Refusal;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::session;
use crate::doors::limits::ConnectionLimits;
use crate::doors::text::listener::configure;
use crate::hub::Hub;
use crate::ops::ListenerUp;
use crate::tls::{Tls, TlsDoor};

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// The door's name in logs and metrics.
const DOOR: &str = "irc";
/// The same over TLS (`--irc-tls-listen`).
const DOOR_TLS: &str = "irc_tls";

/// What the IRC door's accept loop needs: the chat, the limits it shares
/// with every door, and TLS when it serves `--irc-tls-listen`.
pub struct IrcDoor {
    pub hub: Arc<Hub>,
    pub limits: Arc<ConnectionLimits>,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    pub tls: Option<Arc<Tls>>,
}

impl IrcDoor {
    /// Accepts connections until `shutdown`, spawning each session on the
    /// tracker; over TLS the handshake runs in the session's task.
    pub async fn accept_loop(self, listener: TcpListener, up: ListenerUp) {
        up.up();
        let door = if self.tls.is_some() { DOOR_TLS } else { DOOR };
        let metrics = &self.hub.metrics;
        loop {
            let (stream, peer) = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        warn!(%err, door, "accept failed; retrying after a pause");
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

async fn refuse(mut stream: TcpStream, reason: Refusal) {
    let line = format!("ERROR :{reason}\r\n");
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
