//! Several rounds of a scenario: against one server, or against banterd and
//! the baseline in turn (`compare`), with medians.

use std::time::Duration;

use anyhow::bail;
use serde::Serialize;

use crate::report::{self, Figures, Report};
use crate::run::{self, Target};
use crate::scenario::{Door, Params};
use crate::server::{Kind, Launch};

/// Pause between rounds, so closing sockets of one do not overlap the next.
const BETWEEN_ROUNDS: Duration = Duration::from_millis(500);

/// Where the server of each round comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Already running at this address (with this PID, if known).
    Running(Target),
    /// Started fresh for every round.
    Spawn(Launch),
}

/// Refuses a scenario the kind of server cannot serve: the baseline has only
/// the text door, no WebSocket or IRC door.
pub fn check_door(params: &Params, kind: Kind) -> anyhow::Result<()> {
    if kind == Kind::Baseline && params.door != Door::Text {
        bail!(
            "{} runs over banterd's {} door, which the naive_chat baseline does not have, \
             so it cannot run against the baseline or be compared with it; run it against \
             banterd alone (`banter-bench run {} --spawn target/release/banterd`) and set it \
             beside the same scenario on the text door",
            params.scenario,
            match params.door {
                Door::WebSocket => "WebSocket (banter/1)",
                _ => "IRC",
            },
            params.scenario
        );
    }
    Ok(())
}

/// One round against one server.
pub async fn round(params: &Params, source: &Source) -> anyhow::Result<Report> {
    match source {
        Source::Running(target) => run::run(params, target).await,
        Source::Spawn(launch) => {
            check_door(params, launch.kind)?;
            let server = launch.start()?;
            let report = run::run(params, &server.target).await;
            server.stop()?;
            report
        }
    }
}

/// Every round's report and the medians.
#[derive(Debug, Serialize)]
pub struct Rounds {
    pub rounds: Vec<Report>,
    pub median: Figures,
}

/// Runs `count` rounds against one server, printing each as it ends unless `quiet`.
pub async fn rounds(
    params: &Params,
    source: &Source,
    count: usize,
    quiet: bool,
) -> anyhow::Result<Rounds> {
    let mut reports = Vec::with_capacity(count);
    for number in 1..=count {
        if number > 1 {
            tokio::time::sleep(BETWEEN_ROUNDS).await;
        }
        let report = round(params, source).await?;
        if !quiet {
            if count > 1 {
                println!("round {number} of {count}");
            }
            println!("{}", report::table(&report));
        }
        reports.push(report);
    }
    let figures: Vec<Figures> = reports.iter().map(Figures::of).collect();
    if !quiet && count > 1 {
        println!("{}", report::median_table(&figures));
    }
    Ok(Rounds {
        median: Figures::median(&figures),
        rounds: reports,
    })
}

/// A `compare` run: the same scenario against both servers, rounds interleaved.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub banterd: Rounds,
    pub baseline: Rounds,
    /// baseline / banterd for CPU time per delivery: how many times cheaper banterd is.
    pub cpu_per_delivery_ratio: Option<f64>,
    /// banterd / baseline for deliveries per second.
    pub throughput_ratio: Option<f64>,
    /// baseline / banterd for p99 latency.
    pub p99_ratio: Option<f64>,
}

/// Runs `count` rounds of each, alternating which goes first, so drift of the
/// machine over time falls on both alike.
pub async fn compare(
    params: &Params,
    banterd: &Launch,
    baseline: &Launch,
    count: usize,
    quiet: bool,
) -> anyhow::Result<Comparison> {
    check_door(params, baseline.kind)?;
    let mut ours = Vec::with_capacity(count);
    let mut theirs = Vec::with_capacity(count);
    for number in 0..count {
        let order = if number % 2 == 0 {
            [banterd, baseline]
        } else {
            [baseline, banterd]
        };
        for launch in order {
            tokio::time::sleep(BETWEEN_ROUNDS).await;
            let report = round(params, &Source::Spawn(launch.clone())).await?;
            if !quiet {
                println!("round {} of {count}: {}", number + 1, launch.kind.label());
                println!("{}", report::table(&report));
            }
            match launch.kind {
                Kind::Banterd => ours.push(report),
                Kind::Baseline => theirs.push(report),
            }
        }
    }
    let our_figures: Vec<Figures> = ours.iter().map(Figures::of).collect();
    let their_figures: Vec<Figures> = theirs.iter().map(Figures::of).collect();
    if !quiet {
        println!("{}", report::comparison_table(&our_figures, &their_figures));
    }
    let ours = Rounds {
        median: Figures::median(&our_figures),
        rounds: ours,
    };
    let theirs = Rounds {
        median: Figures::median(&their_figures),
        rounds: theirs,
    };
    let ratio = |a: f64, b: f64| (b != 0.0).then(|| a / b);
    Ok(Comparison {
        cpu_per_delivery_ratio: ratio(
            theirs.median.server_cpu_us_per_delivery,
            ours.median.server_cpu_us_per_delivery,
        ),
        throughput_ratio: ratio(
            ours.median.deliveries_per_second,
            theirs.median.deliveries_per_second,
        ),
        p99_ratio: ratio(theirs.median.p99_ms, ours.median.p99_ms),
        banterd: ours,
        baseline: theirs,
    })
}
