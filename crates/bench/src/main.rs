//! The `banter-bench` command line: `run` a scenario, or `compare` banterd
//! with the textbook baseline on it.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use banter_bench::campaign::{self, Source};
use banter_bench::run::Target;
use banter_bench::scenario::{Overrides, Params, Scenario};
use banter_bench::server::{sibling, Kind, Launch};
use clap::{Args, Parser, Subcommand};

/// Load generator for banter: N clients over R rooms, S of them sending;
/// checks every delivery and measures latency and CPU.
#[derive(Debug, Parser)]
#[command(name = "banter-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Runs a scenario against a running server (--addr) or one it starts (--spawn).
    Run {
        scenario: Scenario,
        /// Address of a running server's text door; repeat it for each node of
        /// a cluster (client i connects to the i-th mod n).
        #[arg(long, conflicts_with = "spawn")]
        addr: Vec<SocketAddr>,
        /// Address of that server's HTTP listener (banterd's "http listening on"),
        /// for scenarios on the WebSocket door (ws-big-room); repeat it per node.
        #[arg(long, requires = "addr")]
        http_addr: Vec<SocketAddr>,
        /// Address of that server's IRC door (banterd's "irc listening on"),
        /// for `--door irc`; repeat it per node.
        #[arg(long, requires = "addr")]
        irc_addr: Vec<SocketAddr>,
        /// PID of that server, to report its CPU time and memory; repeat it for
        /// each node and the cluster's nats-server to report their sum.
        #[arg(long, requires = "addr")]
        server_pid: Vec<u32>,
        /// Starts this server program for every round instead (banterd, or the
        /// baseline with --baseline).
        #[arg(long)]
        spawn: Option<PathBuf>,
        /// The program given to --spawn is the naive_chat baseline.
        #[arg(long, requires = "spawn")]
        baseline: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Runs a scenario against banterd and the baseline in turn and prints the ratios
    /// (text-door scenarios only: the baseline has no WebSocket door).
    Compare {
        scenario: Scenario,
        /// The banterd program [default: banterd next to this program].
        #[arg(long)]
        banterd: Option<PathBuf>,
        /// The baseline program [default: naive_chat next to this program].
        #[arg(long)]
        baseline: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Rounds to run (medians are printed when more than one).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// CPUs to pin started servers to, as for `taskset -c` (e.g. 0).
    #[arg(long)]
    server_cpus: Option<String>,
    /// An extra flag for a started banterd (repeat for more), e.g. --server-arg=--outbox-bytes=131072.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Worker threads of the load generator (1 = a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    overrides: Overrides,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Thousands of client sockets need more than the usual 1,024 descriptors.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let common = match &cli.command {
        Action::Run { common, .. } | Action::Compare { common, .. } => common,
    };
    if common.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let runtime = match common.threads {
        0 => bail!("--threads must be at least 1"),
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    runtime.block_on(execute(cli.command))
}

fn launch(program: PathBuf, kind: Kind, common: &Common) -> Launch {
    Launch {
        program,
        kind,
        cpus: common.server_cpus.clone(),
        extra_args: common.server_arg.clone(),
    }
}

async fn execute(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Run {
            scenario,
            addr,
            http_addr,
            irc_addr,
            server_pid,
            spawn,
            baseline,
            common,
        } => {
            let params = Params::new(scenario, &common.overrides)?;
            let source = match (addr.is_empty(), spawn) {
                (false, None) => Source::Running(Target {
                    label: match addr.len() {
                        1 => addr[0].to_string(),
                        n => format!("{n} nodes"),
                    },
                    addrs: addr,
                    http: http_addr,
                    irc: irc_addr,
                    pids: server_pid,
                }),
                (true, Some(program)) => {
                    let kind = if baseline {
                        Kind::Baseline
                    } else {
                        Kind::Banterd
                    };
                    campaign::check_door(&params, kind)?;
                    Source::Spawn(launch(program, kind, &common))
                }
                _ => {
                    bail!("say which server: --addr ADDR (and --server-pid PID) or --spawn PROGRAM")
                }
            };
            let rounds = campaign::rounds(&params, &source, common.rounds, common.json).await?;
            if common.json {
                if rounds.rounds.len() == 1 {
                    println!("{}", serde_json::to_string(&rounds.rounds[0])?);
                } else {
                    println!("{}", serde_json::to_string(&rounds)?);
                }
            }
        }
        Action::Compare {
            scenario,
            banterd,
            baseline,
            common,
        } => {
            let params = Params::new(scenario, &common.overrides)?;
            campaign::check_door(&params, Kind::Baseline)?;
            let ours = launch(
                banterd.unwrap_or_else(|| sibling("banterd")),
                Kind::Banterd,
                &common,
            );
            let theirs = launch(
                baseline.unwrap_or_else(|| sibling("naive_chat")),
                Kind::Baseline,
                &common,
            );
            let comparison =
                campaign::compare(&params, &ours, &theirs, common.rounds, common.json).await?;
            if common.json {
                println!("{}", serde_json::to_string(&comparison)?);
            } else {
                let show = |ratio: Option<f64>| ratio.map_or("-".into(), |r| format!("{r:.2}x"));
                println!(
                    "banterd vs baseline: {} less server CPU per delivery, {} the deliveries/s, {} lower p99",
                    show(comparison.cpu_per_delivery_ratio),
                    show(comparison.throughput_ratio),
                    show(comparison.p99_ratio),
                );
            }
        }
    }
    Ok(())
}
