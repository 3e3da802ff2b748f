//! The operator's endpoints: `/metrics` (Prometheus), `/healthz` (the process
//! serves) and `/readyz` (it can do its job: every listener accepting, the
//! store writable and, on a cluster node, the broker reachable). Served on the HTTP listener, or alone on
//! `--metrics-listen` to keep them off a public address.
//!
//! Readiness asks the store to start a write transaction each time, so a
//! database locked by another program shows up even while nobody chats; the
//! store answers every probe waiting at once with one check, so a monitor
//! polling hard cannot queue up work.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::Hub;

/// How long `/readyz` waits for the store to answer its probe.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the endpoints look at.
pub(crate) struct Health {
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    /// Every listener of this server by name, and whether it accepts now.
    listeners: Mutex<Vec<(&'static str, bool)>>,
}

/// A listener's place in the readiness check: down until [`Self::up`], and
/// down again once dropped.
pub(crate) struct ListenerUp {
    health: Arc<Health>,
    index: usize,
}

impl ListenerUp {
    /// The listener accepts connections from now on.
    pub(crate) fn up(&self) {
        self.health.listeners()[self.index].1 = true;
    }
}

impl Drop for ListenerUp {
    fn drop(&mut self) {
        self.health.listeners()[self.index].1 = false;
    }
}

impl Health {
    pub(crate) fn new(hub: Arc<Hub>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            hub,
            shutdown,
            listeners: Mutex::default(),
        })
    }

    fn listeners(&self) -> MutexGuard<'_, Vec<(&'static str, bool)>> {
        self.listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a listener that readiness waits for.
    pub(crate) fn listener(self: &Arc<Self>, name: &'static str) -> ListenerUp {
        let mut listeners = self.listeners();
        listeners.push((name, false));
        ListenerUp {
            health: Arc::clone(self),
            index: listeners.len() - 1,
        }
    }

    /// `Ok` when the server can serve; otherwise why not.
    async fn readiness(&self) -> Result<(), String> {
        if self.shutdown.is_cancelled() {
            return Err("shutting down".into());
        }
        let down: Vec<&str> = self
            .listeners()
            .iter()
            .filter(|(_, up)| !up)
            .map(|(name, _)| *name)
            .collect();
        if !down.is_empty() {
            return Err(format!("not accepting yet: {}", down.join(", ")));
        }
        let store = &self.hub.services.store;
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, store.probe()).await {
            Err(_) => {
                return Err(format!(
                    "the store did not answer within {STORE_PROBE_TIMEOUT:?}"
                ))
            }
            Ok(Err(_)) => return Err("the store has shut down".into()),
            Ok(Ok(Err(err))) => return Err(format!("the database is not writable: {err}")),
            Ok(Ok(Ok(()))) => {}
        }
        if let Some(problem) = store.problem() {
            return Err(problem);
        }
        match self.hub.cluster_problem() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// The three endpoints, for any router to merge.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(health: Arc<Health>) -> Router<S> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn metrics(State(health): State<Arc<Health>>) -> Response {
    let hub = &health.hub;
    let text = hub.services.metrics.render(hub.live());
    ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response()
}

async fn readyz(State(health): State<Arc<Health>>) -> Response {
    match health.readiness().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

/// Serves only the operator's endpoints (`--metrics-listen`) until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    up: ListenerUp,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    up.up();
    axum::serve(listener, routes::<()>(health))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
