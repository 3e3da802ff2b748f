//! The accept loop of the doors that run over a byte stream (the text door
//! and the IRC door), plain TCP or TLS: one loop, so both doors refuse,
//! count, configure sockets and shut down alike.
//!
//! Connections past the limits (see `doors::limits`) get the door's one
//! refusal line and are closed (over TLS just closed: a line would need a
//! handshake first). An accept error (EMFILE when out of file descriptors,
//! for one) is logged and retried after a pause: never a crash, never a busy
//! loop. Over TLS the handshake runs in the connection's own task. The HTTP
//! listener takes its connections through the same `accept`, so every TCP
//! door gets the same socket options and accept-error handling; refusals are
//! logged a few times a second at most, with the count left out.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::Refusal;
use futures::FutureExt;
use socket2::{SockRef, TcpKeepalive};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::core::Hub;
use crate::doors::limits::ConnectionLimits;
use crate::doors::session::{self, ByteInput, Decode, DoorSession};
use crate::doors::transport::ByteStream;
use crate::doors::writer::ByteSink;
use crate::log_limit::LogLimit;
use crate::ops::ListenerUp;
use crate::tls::{Tls, TlsDoor};

/// Refusals (connections past the limits) logged a second at most.
pub(crate) const REFUSALS_LOGGED_PER_SECOND: u32 = 5;
/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// TCP keepalive: probe a silent peer after this long, so a half-open
/// connection does not hold a name forever (dead after about 90 s more).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 9;

/// A door served over a byte stream: what its accept loop and the session
/// engine need of it.
pub(crate) trait StreamDoor: 'static {
    /// Its name in logs and metrics, plain and over TLS.
    const NAME: &'static str;
    const TLS_NAME: &'static str;

    /// The door's side of one connection.
    type Session: DoorSession;

    /// Cuts a connection's bytes into the items its session handles.
    type Decoder: Decode<Item = <Self::Session as DoorSession>::Item>;

    fn decoder(config: &Config) -> Self::Decoder;

    /// The line a connection past the limits gets before it is closed.
    fn refusal(reason: &Refusal) -> String;
}

/// Serves one connection of door `D` to its end, over any byte stream.
fn serve<D: StreamDoor, S: ByteStream>(
    stream: S,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send {
    let (read, write) = stream.into_halves();
    let input = ByteInput::new(read, D::decoder(&hub.services.config), &hub.services.config);
    session::serve::<D::Session, _>(input, ByteSink(write), peer, hub, shutdown)
}

/// What an accept loop serves with: the chat, the limits every door shares,
/// and TLS for a TLS listener.
pub(crate) struct Acceptor {
    pub hub: Arc<Hub>,
    pub limits: Arc<ConnectionLimits>,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    pub tls: Option<Arc<Tls>>,
}

impl Acceptor {
    /// Accepts connections for door `D` until shutdown, spawning each
    /// session on the tracker.
    pub(crate) async fn run<D: StreamDoor>(self, listener: TcpListener, up: ListenerUp) {
        up.up();
        let door = match self.tls {
            Some(_) => D::TLS_NAME,
            None => D::NAME,
        };
        let metrics = &self.hub.services.metrics;
        let refusals = LogLimit::per_second(REFUSALS_LOGGED_PER_SECOND);
        while let Some((stream, peer)) = accept(&listener, &self.shutdown, door).await {
            let permit = match self.limits.admit(peer.ip()) {
                Ok(permit) => permit,
                Err(reason) => {
                    if let Some(suppressed) = refusals.allow() {
                        info!(%peer, door, %reason, suppressed, "refusing connection");
                    }
                    metrics.connection_refused(reason.code());
                    if self.tls.is_none() {
                        self.tracker.spawn(refuse(stream, D::refusal(&reason)));
                    }
                    continue;
                }
            };
            debug!(%peer, door, "connected");
            let hub = Arc::clone(&self.hub);
            let shutdown = self.shutdown.clone();
            let open = hub.services.metrics.connection_opened(door);
            // Two tasks of their own, so a plain connection's task is not
            // sized for a TLS session's state. The session's future is
            // made here and spawned as it is (`map`): an `async` block
            // calling it would keep its arguments a second time.
            match &self.tls {
                None => self.tracker.spawn(
                    serve::<D, _>(stream, peer, hub, shutdown).map(move |()| drop((permit, open))),
                ),
                Some(tls) => {
                    let tls = Arc::clone(tls);
                    self.tracker.spawn(async move {
                        if let Some(stream) = tls
                            .accept(TlsDoor::Lines, door, stream, peer, &shutdown)
                            .await
                        {
                            serve::<D, _>(stream, peer, hub, shutdown).await;
                        }
                        drop((permit, open));
                    })
                }
            };
        }
    }
}

/// The next connection, configured, or `None` at shutdown. An accept error
/// (EMFILE when out of file descriptors, for one) is logged and retried
/// after a pause: never a crash, never a busy loop.
pub(crate) async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
    door: &str,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    configure(&stream, peer);
                    return Some((stream, peer));
                }
                Err(err) => {
                    warn!(%err, door, "accept failed; retrying after a pause");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
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

async fn refuse(mut stream: TcpStream, line: String) {
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
