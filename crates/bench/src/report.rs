//! What a run found, as a table for people or one JSON object for scripts.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::scenario::{Params, Scenario};

/// End-to-end latency of the deliveries received in the window, in ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// From a histogram of nanoseconds.
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        let ms = |ns: u64| ns as f64 / 1e6;
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            count: histogram.len(),
            mean_ms: histogram.mean() / 1e6,
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p90_ms: ms(histogram.value_at_quantile(0.9)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// What the server's process used, when its PID was known.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ServerUse {
    /// CPU time (user + system, all threads) during the window.
    pub cpu_seconds: f64,
    /// The system (kernel) part of `cpu_seconds`: on loopback the receiver's
    /// TCP input runs in the sender's `sendto`, so this is the part a
    /// server's own code cannot cut.
    pub system_seconds: f64,
    /// The part of `cpu_seconds` taken by banterd's store writer thread, when
    /// the server has one (SQLite on): it shares the server's core.
    pub store_writer_seconds: Option<f64>,
    /// That as a share of one core.
    pub cpu_percent: f64,
    /// CPU time per delivery in the window, in microseconds.
    pub cpu_us_per_delivery: Option<f64>,
    /// Resident memory before the run's clients connected.
    pub rss_before_kib: u64,
    /// Resident memory at the end of the window.
    pub rss_kib: u64,
    pub rss_peak_kib: u64,
    /// Growth of resident memory from before connecting to the window's end,
    /// per logged-in connection.
    pub rss_bytes_per_connection: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub server_label: String,
    /// Where the clients connected: the text door, or the HTTP listener of
    /// the WebSocket door.
    pub addr: String,
    pub params: Params,
    pub connections: usize,
    pub logged_in: usize,
    pub login_failures: usize,
    /// From the first connect to the last login (or the login timeout).
    pub login_seconds: f64,
    pub login_p50_ms: f64,
    pub login_p99_ms: f64,
    pub login_max_ms: f64,
    pub window_seconds: f64,
    /// Messages sent, in all and within the window.
    pub sent: u64,
    pub sent_in_window: u64,
    pub sent_per_second: f64,
    /// Deliveries that should have reached the checked receivers.
    pub expected: u64,
    /// Deliveries received, in all and within the window.
    pub delivered: u64,
    pub delivered_in_window: u64,
    pub deliveries_per_second: f64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Messages the server reported dropping (`you missed N messages`).
    pub server_dropped: u64,
    /// Every message arrived before the drain time ran out.
    pub drained: bool,
    /// Clients whose connection ended before the run did.
    pub cut_off: usize,
    pub first_error: Option<String>,
    pub latency: Latency,
    /// With several nodes: the latency of deliveries whose sender and
    /// receiver are on one node, and on different nodes.
    pub same_node_latency: Option<Latency>,
    pub cross_node_latency: Option<Latency>,
    /// With `--check-order`: receivers that saw some room's messages in an
    /// order another receiver of the room did not.
    pub order_disagreements: Option<u64>,
    pub server: Option<ServerUse>,
    /// The load generator's own CPU time during the window, and as a share of one core.
    pub generator_cpu_seconds: f64,
    pub generator_cpu_percent: f64,
}

impl Default for Report {
    fn default() -> Self {
        Self {
            scenario: Scenario::BigRoom,
            server_label: String::new(),
            addr: String::new(),
            params: Params::preset(Scenario::BigRoom),
            connections: 0,
            logged_in: 0,
            login_failures: 0,
            login_seconds: 0.0,
            login_p50_ms: 0.0,
            login_p99_ms: 0.0,
            login_max_ms: 0.0,
            window_seconds: 0.0,
            sent: 0,
            sent_in_window: 0,
            sent_per_second: 0.0,
            expected: 0,
            delivered: 0,
            delivered_in_window: 0,
            deliveries_per_second: 0.0,
            lost: 0,
            duplicates: 0,
            out_of_order: 0,
            server_dropped: 0,
            drained: false,
            cut_off: 0,
            first_error: None,
            latency: Latency::default(),
            same_node_latency: None,
            cross_node_latency: None,
            order_disagreements: None,
            server: None,
            generator_cpu_seconds: 0.0,
            generator_cpu_percent: 0.0,
        }
    }
}

/// A figure as the table shows it.
fn rows(report: &Report) -> Vec<(&'static str, String)> {
    let p = &report.params;
    let mut rows =
        vec![
            (
                "scenario",
                format!(
                    "{} against {} at {}",
                    report.scenario, report.server_label, report.addr
                ),
            ),
            (
                "load",
                format!(
                    "{} clients in {} rooms, {} senders at {}, {} B text, +{} slow readers",
                    p.clients,
                    p.rooms,
                    p.senders,
                    if p.rate > 0.0 {
                        format!("{} msg/s", p.rate)
                    } else {
                        format!("full speed (window {})", p.window)
                    },
                    p.size,
                    p.slow_readers
                ),
            ),
            (
                "logins",
                format!(
                    "{} of {} in {:.3} s, {} failed (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)",
                    report.logged_in,
                    report.connections,
                    report.login_seconds,
                    report.login_failures,
                    report.login_p50_ms,
                    report.login_p99_ms,
                    report.login_max_ms
                ),
            ),
            (
                "window",
                format!(
                    "{:.3} s after {:.1} s warm-up",
                    report.window_seconds,
                    p.warmup.as_secs_f64()
                ),
            ),
            ("sent/s", format!("{:.0}", report.sent_per_second)),
            (
                "deliveries/s",
                format!("{:.0}", report.deliveries_per_second),
            ),
            (
                "deliveries",
                format!(
                "{} of {} expected; lost {}, duplicated {}, out of order {}, server dropped {}{}",
                report.expected - report.lost,
                report.expected,
                report.lost,
                report.duplicates,
                report.out_of_order,
                report.server_dropped,
                if report.drained { "" } else { " (drain timed out)" }
            ),
            ),
            (
                "latency ms",
                format!(
                    "p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  ({} samples)",
                    report.latency.p50_ms,
                    report.latency.p90_ms,
                    report.latency.p99_ms,
                    report.latency.p999_ms,
                    report.latency.max_ms,
                    report.latency.count
                ),
            ),
        ];
    for (name, latency) in [
        ("same node ms", &report.same_node_latency),
        ("cross node ms", &report.cross_node_latency),
    ] {
        if let Some(latency) = latency {
            rows.push((
                name,
                format!(
                    "p50 {:.3}  p99 {:.3}  max {:.3}  ({} samples)",
                    latency.p50_ms, latency.p99_ms, latency.max_ms, latency.count
                ),
            ));
        }
    }
    if let Some(disagreeing) = report.order_disagreements {
        rows.push((
            "room order",
            if disagreeing == 0 {
                "every receiver saw its room's messages in one order".to_owned()
            } else {
                format!("{disagreeing} receivers disagree with their room's order")
            },
        ));
    }
    if let Some(server) = &report.server {
        let share = |seconds: f64| seconds / server.cpu_seconds.max(f64::EPSILON);
        rows.push((
            "server cpu",
            format!(
                "{:.1}% of a core ({:.3} s, {:.3} s of it system{}){}",
                server.cpu_percent,
                server.cpu_seconds,
                server.system_seconds,
                server
                    .store_writer_seconds
                    .map(|writer| format!(", {writer:.3} s the store's writer"))
                    .unwrap_or_default(),
                server
                    .cpu_us_per_delivery
                    .map(|us| {
                        let system = us * share(server.system_seconds);
                        let writer = server
                            .store_writer_seconds
                            .map(|writer| format!(", {:.3} us store writer", us * share(writer)))
                            .unwrap_or_default();
                        format!(", {us:.3} us per delivery ({system:.3} us system{writer})")
                    })
                    .unwrap_or_default()
            ),
        ));
        rows.push((
            "server rss",
            format!(
                "{} KiB (peak {} KiB, {} KiB before){}",
                server.rss_kib,
                server.rss_peak_kib,
                server.rss_before_kib,
                server
                    .rss_bytes_per_connection
                    .map(|b| format!(", {b:.0} B per connection"))
                    .unwrap_or_default()
            ),
        ));
    }
    rows.push((
        "generator cpu",
        format!(
            "{:.1}% of a core ({:.3} s)",
            report.generator_cpu_percent, report.generator_cpu_seconds
        ),
    ));
    if report.cut_off > 0 || report.first_error.is_some() {
        rows.push((
            "problems",
            format!(
                "{} connections cut off; first error: {}",
                report.cut_off,
                report.first_error.as_deref().unwrap_or("none")
            ),
        ));
    }
    rows
}

/// The report as an aligned two-column table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    for (name, value) in rows(report) {
        writeln!(out, "{name:<14} {value}").expect("writing to a String cannot fail");
    }
    out
}

/// The figures `compare` sets side by side, taken from one report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub deliveries_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub server_cpu_percent: f64,
    pub server_cpu_us_per_delivery: f64,
    pub server_rss_kib: f64,
    pub lost: f64,
    pub generator_cpu_percent: f64,
    pub login_seconds: f64,
    pub login_failures: f64,
    pub server_rss_bytes_per_connection: f64,
}

impl Figures {
    pub const NAMES: [&'static str; 11] = [
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "server cpu %",
        "server us/delivery",
        "server rss KiB",
        "lost",
        "generator cpu %",
        "login s",
        "login failures",
        "server B/conn",
    ];

    pub fn of(report: &Report) -> Self {
        let server = report.server.unwrap_or_default();
        Self {
            deliveries_per_second: report.deliveries_per_second,
            p50_ms: report.latency.p50_ms,
            p99_ms: report.latency.p99_ms,
            server_cpu_percent: server.cpu_percent,
            server_cpu_us_per_delivery: server.cpu_us_per_delivery.unwrap_or(0.0),
            server_rss_kib: server.rss_kib as f64,
            lost: report.lost as f64,
            generator_cpu_percent: report.generator_cpu_percent,
            login_seconds: report.login_seconds,
            login_failures: report.login_failures as f64,
            server_rss_bytes_per_connection: server.rss_bytes_per_connection.unwrap_or(0.0),
        }
    }

    pub fn values(&self) -> [f64; 11] {
        [
            self.deliveries_per_second,
            self.p50_ms,
            self.p99_ms,
            self.server_cpu_percent,
            self.server_cpu_us_per_delivery,
            self.server_rss_kib,
            self.lost,
            self.generator_cpu_percent,
            self.login_seconds,
            self.login_failures,
            self.server_rss_bytes_per_connection,
        ]
    }

    fn from_values(values: [f64; 11]) -> Self {
        let [deliveries_per_second, p50_ms, p99_ms, server_cpu_percent, server_cpu_us_per_delivery, server_rss_kib, lost, generator_cpu_percent, login_seconds, login_failures, server_rss_bytes_per_connection] =
            values;
        Self {
            deliveries_per_second,
            p50_ms,
            p99_ms,
            server_cpu_percent,
            server_cpu_us_per_delivery,
            server_rss_kib,
            lost,
            generator_cpu_percent,
            login_seconds,
            login_failures,
            server_rss_bytes_per_connection,
        }
    }

    /// The median of each figure over several runs.
    pub fn median(all: &[Self]) -> Self {
        Self::from_values(std::array::from_fn(|i| {
            let mut column: Vec<f64> = all.iter().map(|f| f.values()[i]).collect();
            column.sort_by(f64::total_cmp);
            match column.len() {
                0 => 0.0,
                n if n % 2 == 1 => column[n / 2],
                n => (column[n / 2 - 1] + column[n / 2]) / 2.0,
            }
        }))
    }
}

/// Medians of several rounds against one server.
pub fn median_table(rounds: &[Figures]) -> String {
    let medians = Figures::median(rounds).values();
    let mut out = String::new();
    writeln!(out, "median of {} rounds:", rounds.len()).expect("writing to a String cannot fail");
    for (name, value) in Figures::NAMES.iter().zip(medians) {
        writeln!(out, "  {name:<20} {value:>14.3}").expect("writing to a String cannot fail");
    }
    out
}

/// Medians of two servers side by side, with baseline / banterd ratios.
pub fn comparison_table(banterd: &[Figures], baseline: &[Figures]) -> String {
    let ours = Figures::median(banterd).values();
    let theirs = Figures::median(baseline).values();
    let mut out = String::new();
    writeln!(
        out,
        "{:<20} {:>14} {:>14} {:>18}",
        "median of rounds", "banterd", "baseline", "baseline/banterd"
    )
    .expect("writing to a String cannot fail");
    for (i, name) in Figures::NAMES.iter().enumerate() {
        let ratio = if ours[i] != 0.0 {
            format!("{:.2}", theirs[i] / ours[i])
        } else {
            "-".to_owned()
        };
        writeln!(
            out,
            "{name:<20} {:>14.3} {:>14.3} {ratio:>18}",
            ours[i], theirs[i]
        )
        .expect("writing to a String cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_take_the_middle_value() {
        let mut one = Figures::of(&Report::default());
        let mut runs = Vec::new();
        for value in [3.0, 1.0, 2.0] {
            one.p99_ms = value;
            runs.push(one);
        }
        assert_eq!(Figures::median(&runs).p99_ms, 2.0);
        assert_eq!(Figures::median(&runs[..2]).p99_ms, 2.0);
    }

    #[test]
    fn the_table_names_every_figure() {
        let text = table(&Report::default());
        for name in ["logins", "deliveries/s", "latency ms", "generator cpu"] {
            assert!(text.contains(name), "{text}");
        }
    }
}
