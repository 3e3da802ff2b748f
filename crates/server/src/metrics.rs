//! What an operator can watch: counters and gauges every part of the server
//! bumps, rendered in the Prometheus text format (OpenMetrics) at `/metrics`.
//!
//! One [`Metrics`] per server, handed to whoever counts (no global recorder:
//! tests run several servers in one process). Counting costs an atomic add;
//! labelled counters (by door, kind, reason) are looked up once per event in
//! a read-locked map, never on the fan-out path. Values that already exist
//! elsewhere (users, rooms, the store's queue, the process's CPU and memory)
//! are read when scraped, not mirrored.

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DoorLabel {
    door: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    door: &'static str,
    kind: &'static str,
}

/// The doors, as `door` labels.
const DOORS: [&str; 3] = ["text", "json", "irc"];
/// What users say, as `kind` labels of `messages_received`.
const MESSAGE_KINDS: [&str; 4] = ["chat", "emote", "from_room", "private"];
/// Why connections are refused: the limits' refusal codes and the Origin check.
const REFUSAL_REASONS: [&str; 3] = ["server_full", "too_many_connections", "origin_not_allowed"];
/// Why the server ends connections.
const DISCONNECT_REASONS: [&str; 4] =
    ["write_stall", "flooding", "output_overflow", "http_timeout"];
/// The TLS listeners, as `door` labels of `tls_handshakes_failed`.
const TLS_LISTENERS: [&str; 3] = ["text_tls", "irc_tls", "https"];

/// Every metric the server counts itself; see the module docs.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections_open: Family<DoorLabel, Gauge>,
    connections_refused: Family<ReasonLabel, Counter>,
    messages_received: Family<MessageLabels, Counter>,
    /// `messages_received`'s series for every door and kind, by their
    /// places in [`DOORS`] and [`MESSAGE_KINDS`]: the family finds a series
    /// by hashing its labels, which cost each message more than all its other
    /// counting.
    message_series: [[Counter; MESSAGE_KINDS.len()]; DOORS.len()],
    deliveries: Counter,
    deliveries_dropped: Counter,
    disconnects: Family<ReasonLabel, Counter>,
    flood_delays: Counter,
    password_failures: Counter,
    password_lockouts: Counter,
    store_commit_seconds: Histogram,
    store_errors: Counter,
    tls_handshakes_failed: Family<DoorLabel, Counter>,
    resumes: Counter,
}

/// Values read at scrape time from where they live.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    pub users: usize,
    /// Sessions waiting, connection gone, to be resumed.
    pub parked: usize,
    pub rooms: usize,
    /// Messages appended and not yet committed.
    pub store_queue: usize,
    /// Messages the store could not keep, since start.
    pub store_dropped: u64,
}

/// A connection counted in `banter_connections_open` until dropped.
#[must_use]
pub struct OpenConnection {
    gauge: Gauge,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("banter"),
            connections_open: Family::default(),
            connections_refused: Family::default(),
            messages_received: Family::default(),
            message_series: Default::default(),
            deliveries: Counter::default(),
            deliveries_dropped: Counter::default(),
            disconnects: Family::default(),
            flood_delays: Counter::default(),
            password_failures: Counter::default(),
            password_lockouts: Counter::default(),
            // 0.1 ms to about 3 s.
            store_commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            store_errors: Counter::default(),
            tls_handshakes_failed: Family::default(),
            resumes: Counter::default(),
        };
        // Every known series is shown at 0 from the start, so dashboards and
        // alerts see a value (not "no data") before the first event.
        for (d, door) in DOORS.into_iter().enumerate() {
            metrics
                .connections_open
                .get_or_create(&DoorLabel { door })
                .set(0);
            for (k, kind) in MESSAGE_KINDS.into_iter().enumerate() {
                // A clone shares the series' value.
                metrics.message_series[d][k] = metrics
                    .messages_received
                    .get_or_create(&MessageLabels { door, kind })
                    .clone();
            }
        }
        for reason in REFUSAL_REASONS {
            metrics
                .connections_refused
                .get_or_create(&ReasonLabel { reason })
                .inc_by(0);
        }
        for reason in DISCONNECT_REASONS {
            metrics
                .disconnects
                .get_or_create(&ReasonLabel { reason })
                .inc_by(0);
        }
        for door in TLS_LISTENERS {
            metrics
                .tls_handshakes_failed
                .get_or_create(&DoorLabel { door })
                .inc_by(0);
        }
        let registry = &mut metrics.registry;
        registry.register(
            "connections_open",
            "Connections open now, by door (handshakes included)",
            metrics.connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused, by reason",
            metrics.connections_refused.clone(),
        );
        registry.register(
            "messages_received",
            "Messages users said, by door and kind",
            metrics.messages_received.clone(),
        );
        registry.register(
            "deliveries",
            "Messages and events queued for a connection",
            metrics.deliveries.clone(),
        );
        registry.register(
            "deliveries_dropped",
            "Messages dropped for connections that read too slowly",
            metrics.deliveries_dropped.clone(),
        );
        registry.register(
            "disconnects",
            "Connections the server ended, by reason (write_stall, flooding, output_overflow, http_timeout)",
            metrics.disconnects.clone(),
        );
        registry.register(
            "flood_delays",
            "Times a connection's input was held back by the rate limits",
            metrics.flood_delays.clone(),
        );
        registry.register(
            "password_failures",
            "Wrong room passwords",
            metrics.password_failures.clone(),
        );
        registry.register(
            "password_lockouts",
            "Connections locked out of a room after repeated wrong passwords",
            metrics.password_lockouts.clone(),
        );
        registry.register_with_unit(
            "store_commit",
            "Time to commit one batch to the database",
            Unit::Seconds,
            metrics.store_commit_seconds.clone(),
        );
        registry.register(
            "store_errors",
            "Failed database writes (each retried)",
            metrics.store_errors.clone(),
        );
        registry.register(
            "tls_handshakes_failed",
            "TLS handshakes that failed or timed out, by door",
            metrics.tls_handshakes_failed.clone(),
        );
        registry.register(
            "sessions_resumed",
            "WebSocket sessions taken over by a new connection with their resume token",
            metrics.resumes.clone(),
        );
        metrics
    }

    /// Counts a connection of `door` as open until the guard is dropped.
    pub fn connection_opened(&self, door: &'static str) -> OpenConnection {
        let gauge = self
            .connections_open
            .get_or_create(&DoorLabel { door })
            .clone();
        gauge.inc();
        OpenConnection { gauge }
    }

    /// `reason` is a refusal code such as `server_full`.
    pub fn connection_refused(&self, reason: &'static str) {
        self.connections_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// `kind`: `chat`, `emote`, `from_room` or `private`.
    pub fn message_received(&self, door: &'static str, kind: &'static str) {
        let d = DOORS.iter().position(|known| *known == door);
        let k = MESSAGE_KINDS.iter().position(|known| *known == kind);
        match (d, k) {
            (Some(d), Some(k)) => self.message_series[d][k].inc(),
            _ => self
                .messages_received
                .get_or_create(&MessageLabels { door, kind })
                .inc(),
        };
    }

    pub fn delivered(&self, count: u64) {
        self.deliveries.inc_by(count);
    }

    pub fn deliveries_dropped(&self, count: u64) {
        if count > 0 {
            self.deliveries_dropped.inc_by(count);
        }
    }

    /// `reason`: one of [`DISCONNECT_REASONS`].
    pub fn disconnected(&self, reason: &'static str) {
        self.disconnects
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    pub fn flood_delayed(&self) {
        self.flood_delays.inc();
    }

    pub fn password_failed(&self) {
        self.password_failures.inc();
    }

    pub fn password_locked_out(&self) {
        self.password_lockouts.inc();
    }

    pub fn store_committed(&self, seconds: f64) {
        self.store_commit_seconds.observe(seconds);
    }

    pub fn store_failed(&self) {
        self.store_errors.inc();
    }

    pub fn resumed(&self) {
        self.resumes.inc();
    }

    pub fn tls_handshake_failed(&self, door: &'static str) {
        self.tls_handshakes_failed
            .get_or_create(&DoorLabel { door })
            .inc();
    }

    /// Everything, in the OpenMetrics text format Prometheus scrapes.
    pub fn render(&self, live: Live) -> String {
        let mut out = String::with_capacity(4096);
        let mut now = Registry::with_prefix("banter");
        now.register(
            "users_registered",
            "Users with a screen name now",
            ConstGauge::new(live.users as i64),
        );
        now.register(
            "sessions_parked",
            "Sessions whose connection ended, waiting out the resume grace",
            ConstGauge::new(live.parked as i64),
        );
        now.register("rooms", "Rooms now", ConstGauge::new(live.rooms as i64));
        now.register(
            "store_queue_depth",
            "Messages waiting to be committed to the database",
            ConstGauge::new(live.store_queue as i64),
        );
        now.register(
            "store_messages_dropped",
            "Messages the store could not keep (queue full or shut down)",
            ConstCounter::new(live.store_dropped),
        );
        let mut process = Registry::with_prefix("process");
        process::register(&mut process);
        // Writing to a String cannot fail.
        let _ = text::encode_registry(&mut out, &self.registry)
            .and_then(|()| text::encode_registry(&mut out, &now))
            .and_then(|()| text::encode_registry(&mut out, &process))
            .and_then(|()| text::encode_eof(&mut out));
        out
    }
}

/// The standard `process_*` metrics, read from `/proc/self` (Linux).
mod process {
    use super::*;

    /// Registers what can be read now; nothing where `/proc` is missing.
    pub(super) fn register(registry: &mut Registry) {
        if let Some(stat) = Stat::read() {
            registry.register_with_unit(
                "cpu",
                "User and system CPU time spent",
                Unit::Seconds,
                ConstCounter::new(stat.cpu_seconds),
            );
            registry.register_with_unit(
                "resident_memory",
                "Resident memory size",
                Unit::Bytes,
                ConstGauge::new(stat.resident_bytes),
            );
            registry.register_with_unit(
                "virtual_memory",
                "Virtual memory size",
                Unit::Bytes,
                ConstGauge::new(stat.virtual_bytes),
            );
            registry.register("threads", "OS threads", ConstGauge::new(stat.threads));
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            registry.register(
                "open_fds",
                "Open file descriptors",
                ConstGauge::new(fds.count() as i64),
            );
        }
    }

    struct Stat {
        cpu_seconds: f64,
        resident_bytes: i64,
        virtual_bytes: i64,
        threads: i64,
    }

    impl Stat {
        fn read() -> Option<Self> {
            let text = std::fs::read_to_string("/proc/self/stat").ok()?;
            // The command name may hold spaces and parentheses: fields start after the last ')'.
            let fields: Vec<&str> = text.get(text.rfind(')')? + 2..)?.split(' ').collect();
            // Numbered as in proc(5), minus 3 (pid, comm and state come first).
            let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
            let ticks = rustix::param::clock_ticks_per_second() as f64;
            let page = rustix::param::page_size() as u64;
            Some(Self {
                cpu_seconds: (field(14)? + field(15)?) as f64 / ticks,
                threads: field(20)? as i64,
                virtual_bytes: field(23)? as i64,
                resident_bytes: (field(24)? * page) as i64,
            })
        }
    }
}

/// Parses one sample's value out of a rendering, for tests.
#[cfg(test)]
pub fn sample(rendered: &str, series: &str) -> Option<f64> {
    rendered.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_labelled_series_is_zero_before_its_first_event() {
        let rendered = Metrics::new().render(Live::default());
        for series in [
            "banter_connections_refused_total{reason=\"server_full\"}",
            "banter_connections_refused_total{reason=\"too_many_connections\"}",
            "banter_connections_refused_total{reason=\"origin_not_allowed\"}",
            "banter_disconnects_total{reason=\"write_stall\"}",
            "banter_disconnects_total{reason=\"flooding\"}",
            "banter_tls_handshakes_failed_total{door=\"text_tls\"}",
            "banter_tls_handshakes_failed_total{door=\"irc_tls\"}",
            "banter_tls_handshakes_failed_total{door=\"https\"}",
            "banter_messages_received_total{door=\"irc\",kind=\"private\"}",
        ] {
            assert_eq!(sample(&rendered, series), Some(0.0), "{series}");
        }
    }

    #[test]
    fn every_door_and_kind_of_message_counts_in_its_own_series() {
        let metrics = Metrics::new();
        for (d, door) in DOORS.into_iter().enumerate() {
            for (k, kind) in MESSAGE_KINDS.into_iter().enumerate() {
                for _ in 0..=d * MESSAGE_KINDS.len() + k {
                    metrics.message_received(door, kind);
                }
            }
        }
        let rendered = metrics.render(Live::default());
        for (d, door) in DOORS.into_iter().enumerate() {
            for (k, kind) in MESSAGE_KINDS.into_iter().enumerate() {
                let series =
                    format!("banter_messages_received_total{{door=\"{door}\",kind=\"{kind}\"}}");
                let count = (d * MESSAGE_KINDS.len() + k + 1) as f64;
                assert_eq!(sample(&rendered, &series), Some(count), "{series}");
            }
        }
    }

    #[test]
    fn counts_render_with_prometheus_names() {
        let metrics = Metrics::new();
        let open = metrics.connection_opened("text");
        metrics.message_received("text", "chat");
        metrics.message_received("text", "chat");
        metrics.delivered(5);
        metrics.store_committed(0.002);
        let rendered = metrics.render(Live {
            users: 3,
            parked: 1,
            rooms: 2,
            store_queue: 1,
            store_dropped: 0,
        });
        assert_eq!(
            sample(&rendered, "banter_connections_open{door=\"text\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &rendered,
                "banter_messages_received_total{door=\"text\",kind=\"chat\"}"
            ),
            Some(2.0)
        );
        assert_eq!(sample(&rendered, "banter_deliveries_total"), Some(5.0));
        assert_eq!(sample(&rendered, "banter_users_registered"), Some(3.0));
        assert_eq!(
            sample(&rendered, "banter_store_commit_seconds_count"),
            Some(1.0)
        );
        assert!(sample(&rendered, "process_resident_memory_bytes").unwrap() > 0.0);
        assert!(rendered.ends_with("# EOF\n"), "{rendered}");
        drop(open);
        let rendered = metrics.render(Live::default());
        assert_eq!(
            sample(&rendered, "banter_connections_open{door=\"text\"}"),
            Some(0.0)
        );
    }
}
