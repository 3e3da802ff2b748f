//! The IRC door's accept loop (`--irc-listen`): the same connection limits
//! as every door.
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

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// The door's name in logs and metrics.
const DOOR: &str = "irc";

/// What the IRC door's accept loop needs: the chat and the limits it shares
/// with every door.
pub struct IrcDoor {
    pub hub: Arc<Hub>,
    pub limits: Arc<ConnectionLimits>,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
}

impl IrcDoor {
    /// Accepts connections until `shutdown`, spawning each session on the tracker.
    pub async fn accept_loop(self, listener: TcpListener, up: ListenerUp) {
        up.up();
        let metrics = &self.hub.metrics;
        loop {
            let (stream, peer) = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        warn!(%err, door = DOOR, "accept failed; retrying after a pause");
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
                    info!(%peer, door = DOOR, %reason, "refusing connection");
                    metrics.connection_refused(reason.code());
                    self.tracker.spawn(refuse(stream, reason));
                    continue;
                }
            };
            debug!(%peer, door = DOOR, "connected");
            let hub = Arc::clone(&self.hub);
            let shutdown = self.shutdown.clone();
            self.tracker.spawn(async move {
                let _open = hub.metrics.connection_opened(DOOR);
                session::serve(stream, peer, hub, shutdown).await;
                drop(permit);
            });
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
