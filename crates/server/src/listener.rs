//! The accept loop and the connection limits.
//!
//! Connections past `--max-connections` or `--max-connections-per-ip` get one
//! `error:` line and are closed. An accept error (EMFILE when out of file
//! descriptors, for one) is logged and retried after a pause: never a crash,
//! never a busy loop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::hub::Hub;
use crate::session;

/// Pause after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection may take to accept its one error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// TCP keepalive: probe a silent peer after this long, so a half-open
/// connection does not hold a name forever (dead after about 90 s more).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 9;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Open connections, in total and by address.
#[derive(Debug)]
struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it gives the slot back.
struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, String> {
        let mut counts = self.lock();
        if counts.total >= self.max_total {
            return Err(format!(
                "the server is full ({} connections); try again later",
                self.max_total
            ));
        }
        let from_ip = counts.by_ip.entry(ip).or_default();
        if self.max_per_ip > 0 && *from_ip >= self.max_per_ip {
            return Err(format!(
                "too many connections from your address (at most {})",
                self.max_per_ip
            ));
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Permit {
            limits: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limits.lock();
        counts.total -= 1;
        if let Some(from_ip) = counts.by_ip.get_mut(&self.ip) {
            *from_ip -= 1;
            if *from_ip == 0 {
                counts.by_ip.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until `shutdown`, spawning each session on `tracker`.
pub async fn accept_loop(
    listener: TcpListener,
    hub: Arc<Hub>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) {
    let limits = Arc::new(ConnectionLimits {
        max_total: hub.config.max_connections,
        max_per_ip: hub.config.max_connections_per_ip,
        counts: Mutex::default(),
    });
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

async fn refuse(mut stream: TcpStream, reason: String) {
    let line = format!("error: {reason}\r\n");
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
