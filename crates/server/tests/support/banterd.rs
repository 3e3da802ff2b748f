//! A real `banterd` process for tests: started with flags, its logged
//! address and whole log captured, signalled, and killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Client;

/// A running `banterd`, the address it logged, and everything it logs.
pub struct Banterd {
    pub child: Child,
    /// The text door.
    pub addr: SocketAddr,
    /// Every `WHAT listening on ADDR` line: ("https", addr), ("metrics", addr), ...
    pub listeners: Vec<(String, SocketAddr)>,
    pub log: Arc<Mutex<String>>,
}

impl Banterd {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_via(Command::new(env!("CARGO_BIN_EXE_banterd")), args, env)
    }

    pub fn start_via(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Self {
        command.args(["--listen", "127.0.0.1:0"]);
        if !args.contains(&"--http-listen") {
            command.args(["--http-listen", "off"]);
        }
        if !args.contains(&"--irc-listen") {
            command.args(["--irc-listen", "off"]);
        }
        if !args.contains(&"--data-dir") {
            command.arg("--in-memory");
        }
        command
            .args(args)
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let mut line = String::new();
        // Every listener is bound and logged before the "connect with: nc" line.
        let mut listeners = Vec::new();
        loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "banterd exited early:\n{}",
                log.lock().unwrap()
            );
            log.lock().unwrap().push_str(&line);
            if let Some((before, addr)) = line.trim_end().split_once(" listening on ") {
                let what = before.rsplit(": ").next().unwrap_or(before).to_owned();
                listeners.push((what, addr.parse().unwrap()));
            }
            if line.contains("connect with: nc") {
                break;
            }
        }
        let addr = listeners
            .iter()
            .find(|(what, _)| what == "text door")
            .expect("the text door is logged")
            .1;
        // Keep draining the log so the server never blocks on a full pipe.
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self {
            child,
            addr,
            listeners,
            log,
        }
    }

    /// The address of the listener logged as `WHAT listening on ADDR`.
    pub fn listener(&self, what: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(name, _)| name == what)
            .unwrap_or_else(|| panic!("no {what} listener in {:?}", self.listeners))
            .1
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "banterd still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// User plus system CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    pub async fn login(&self, name: &str) -> Client {
        let mut client = Client::connect(self.addr).await;
        client.skip_greeting().await;
        client.send(name).await;
        client.expect_prefix("hello ").await;
        client
    }
}

impl Drop for Banterd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
