//! Starting and stopping the server under test (banterd or the baseline).
//!
//! The program is started with a port of 0, optionally pinned with `taskset`;
//! its address comes from the `listening on ADDR` line it logs to stderr (and
//! banterd's WebSocket door, also on port 0, from `http listening on ADDR`),
//! which is then drained on a thread so logging can never block the server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rustix::process::{kill_process, Pid, Signal};

use crate::run::Target;

/// How long a started server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long banterd may take, after its text door, to say where its HTTP listener is.
const HTTP_START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Which program is being started; they take different flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// banterd, started with rate limiting off and connection limits raised.
    Banterd,
    /// The textbook baseline (`naive_chat`), which only takes `--listen`.
    Baseline,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Banterd => "banterd",
            Kind::Baseline => "baseline",
        }
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub kind: Kind,
    /// CPUs to pin it to, in `taskset -c` syntax.
    pub cpus: Option<String>,
    /// More flags for banterd (after the benchmark's own, so they win).
    pub extra_args: Vec<String>,
}

/// The flags every benchmark run gives banterd: every load client comes from
/// 127.0.0.1, so per-address limits (connections, rooms made a minute) and the
/// per-connection rate limits are off;
/// both doors on ports the system chooses (the WebSocket door's default port
/// could be taken, and two servers must be able to run side by side), and the
/// IRC door, which no benchmark drives, off.
pub const BANTERD_ARGS: [&str; 16] = [
    "--listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
    "--irc-listen",
    "127.0.0.1:0",
    "--rate-limit",
    "0",
    "--input-byte-rate",
    "0",
    "--max-connections-per-ip",
    "0",
    "--max-new-rooms-per-minute",
    "0",
    "--max-connections",
    "20000",
];

/// A running server; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Spawned {
    child: Child,
    pub target: Target,
    /// banterd's own fresh data directory (its SQLite store), removed on drop.
    _data_dir: Option<tempfile::TempDir>,
}

impl Launch {
    pub fn start(&self) -> anyhow::Result<Spawned> {
        let mut command = match &self.cpus {
            Some(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.arg("-c").arg(cpus).arg(&self.program);
                taskset
            }
            None => Command::new(&self.program),
        };
        let mut data_dir = None;
        match self.kind {
            Kind::Banterd => {
                // A fresh store each run: the real SQLite path, no history from earlier runs.
                let dir = tempfile::tempdir().context("cannot make a data directory")?;
                command.args(BANTERD_ARGS).arg("--data-dir").arg(dir.path());
                command.args(&self.extra_args);
                data_dir = Some(dir);
                // Keep "listening on" but no per-connection log lines.
                command.env("RUST_LOG", "warn,banterd=info");
            }
            Kind::Baseline => {
                command.args(["--listen", "127.0.0.1:0"]);
            }
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (found, listening) = mpsc::channel();
        std::thread::spawn(move || watch_log(BufReader::new(stderr), found));
        let mut addr = None;
        let mut http = None;
        let mut irc = None;
        let deadline = Instant::now() + START_TIMEOUT;
        // banterd logs its text door, its HTTP listener and its IRC door; the
        // baseline only the first.
        while addr.is_none() || (self.kind == Kind::Banterd && (http.is_none() || irc.is_none())) {
            let wait = match addr {
                None => deadline.saturating_duration_since(Instant::now()),
                Some(_) => HTTP_START_TIMEOUT,
            };
            match listening.recv_timeout(wait) {
                Ok(Listening::Text(found)) => addr = addr.or(Some(found)),
                Ok(Listening::Http(found)) => http = http.or(Some(found)),
                Ok(Listening::Irc(found)) => irc = irc.or(Some(found)),
                // Told no WebSocket or IRC door (e.g. --server-arg=--http-listen=off):
                // what was logged is all there is.
                Err(_) if addr.is_some() => break,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!(
                        "{} did not log \"listening on ADDR\" within {START_TIMEOUT:?}",
                        self.program.display()
                    );
                }
            }
        }
        let addr = addr.expect("the loop ends with the text address");
        let pid = child.id();
        Ok(Spawned {
            child,
            _data_dir: data_dir,
            target: Target {
                addrs: vec![addr],
                http: http.into_iter().collect(),
                irc: irc.into_iter().collect(),
                pids: vec![pid],
                label: self.kind.label().to_owned(),
            },
        })
    }
}

/// Where a started server says it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listening {
    /// `listening on ADDR`: the text door.
    Text(SocketAddr),
    /// `http listening on ADDR`: banterd's HTTP listener, the WebSocket door.
    Http(SocketAddr),
    /// `irc listening on ADDR`: banterd's IRC door.
    Irc(SocketAddr),
}

/// Sends each `listening on` address as it is logged, then reads the rest to the end.
fn watch_log(log: impl BufRead, found: mpsc::Sender<Listening>) {
    let mut watching = true;
    for line in log.lines().map_while(Result::ok) {
        if watching {
            if let Some(listening) = listening(&line) {
                watching = found.send(listening).is_ok();
            }
        }
    }
}

fn listening(line: &str) -> Option<Listening> {
    let address = |rest: &str| rest.split_whitespace().next()?.parse().ok();
    if let Some((_, rest)) = line.split_once("http listening on ") {
        return address(rest).map(Listening::Http);
    }
    if let Some((_, rest)) = line.split_once("irc listening on ") {
        return address(rest).map(Listening::Irc);
    }
    let (_, rest) = line.split_once("listening on ")?;
    address(rest).map(Listening::Text)
}

impl Spawned {
    fn stop_now(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            kill_process(pid, Signal::TERM).context("cannot send SIGTERM to the server")?;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the server did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it")
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop_now()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// The path of a program built next to this one (same cargo target dir).
pub fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_addresses_are_read_from_log_lines() {
        let line = "2026-01-01T00:00:00Z  INFO banterd: listening on 127.0.0.1:43210";
        assert_eq!(
            listening(line),
            Some(Listening::Text("127.0.0.1:43210".parse().unwrap()))
        );
        let line = "2026-01-01T00:00:00Z  INFO banterd: http listening on 127.0.0.1:43211";
        assert_eq!(
            listening(line),
            Some(Listening::Http("127.0.0.1:43211".parse().unwrap()))
        );
        let line = "2026-01-01T00:00:00Z  INFO banterd: irc listening on 127.0.0.1:43212";
        assert_eq!(
            listening(line),
            Some(Listening::Irc("127.0.0.1:43212".parse().unwrap()))
        );
        assert_eq!(listening("listening on nowhere"), None);
        assert_eq!(listening("http listening on nowhere"), None);
        assert_eq!(
            listening("INFO banterd: open file limit limit=1048576"),
            None
        );
    }
}
