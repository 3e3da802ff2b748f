//! A cluster for tests: a real `nats-server` with JetStream in a temporary
//! directory on a free port, and real `banterd` nodes joined to it, each
//! with its own data directory and every door on a free port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use super::banterd::Banterd;

/// Where Debian installs it, for a PATH without `/usr/sbin`.
const NATS_SERVER_PATHS: [&str; 2] = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];

/// The `nats-server` program, if installed; `None` (with a line saying the
/// test is skipped) if not. `scripts/test` installs it, so CI always runs
/// these tests.
pub fn nats_server_program() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .chain(NATS_SERVER_PATHS.iter().map(PathBuf::from))
        .find(|path| path.is_file());
    if found.is_none() {
        eprintln!("SKIPPED: nats-server is not installed (scripts/test installs it)");
    }
    found
}

/// A running `nats-server -js`, killed on drop.
pub struct Nats {
    program: PathBuf,
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Nats {
    /// Starts one, or `None` if it is not installed.
    pub fn start() -> Option<Self> {
        let program = nats_server_program()?;
        let dir = tempfile::tempdir().unwrap();
        // Below the ephemeral range: no other test's socket takes it while the
        // broker restarts.
        let port = super::port_no_one_else_gets();
        let child = Self::spawn(&program, port, &dir);
        Some(Self {
            program,
            child,
            port,
            dir,
        })
    }

    fn spawn(program: &PathBuf, port: u16, dir: &tempfile::TempDir) -> Child {
        let mut child = Command::new(program)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                log.read_line(&mut line).unwrap() > 0,
                "nats-server exited early:\n{seen}"
            );
            seen.push_str(&line);
            if line.contains("Server is ready") {
                break;
            }
        }
        std::thread::spawn(move || for _ in log.lines() {});
        child
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it at once (`kill -9`).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(&self.program, self.port, &self.dir);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One banterd node of a test cluster.
pub struct Node {
    pub name: String,
    pub banterd: Banterd,
    pub data: tempfile::TempDir,
}

impl Node {
    /// Starts node `name` joined to `nats`, with the text, HTTP and IRC doors.
    pub fn start(nats: &Nats, name: &str) -> Self {
        Self::start_in(nats, name, tempfile::tempdir().unwrap())
    }

    /// Starts node `name` on the data directory `data` (a restart).
    pub fn start_in(nats: &Nats, name: &str, data: tempfile::TempDir) -> Self {
        Self::start_via(&nats.url(), name, data)
    }

    /// Starts node `name` joined through `url` (a proxy, say).
    pub fn start_via(url: &str, name: &str, data: tempfile::TempDir) -> Self {
        Self::start_with(url, name, data, &[])
    }

    /// Starts node `name` joined through `url`, with `extra` flags.
    pub fn start_with(url: &str, name: &str, data: tempfile::TempDir, extra: &[&str]) -> Self {
        let dir = data.path().to_str().unwrap().to_owned();
        let mut args = vec![
            "--http-listen",
            "127.0.0.1:0",
            "--irc-listen",
            "127.0.0.1:0",
            "--data-dir",
            &dir,
            "--cluster",
            url,
            "--node-name",
            name,
            "--rate-burst",
            "200",
        ];
        args.extend_from_slice(extra);
        let banterd = Banterd::start(&args, &[]);
        Self {
            name: name.to_owned(),
            banterd,
            data,
        }
    }

    pub fn text(&self) -> SocketAddr {
        self.banterd.addr
    }

    pub fn http(&self) -> SocketAddr {
        self.banterd.listener("http")
    }

    pub fn irc(&self) -> SocketAddr {
        self.banterd.listener("irc")
    }

    /// The incarnation this node logged when it joined.
    pub fn incarnation(&self) -> String {
        let log = self.banterd.log.lock().unwrap();
        let line = log
            .lines()
            .find(|line| line.contains("cluster: node "))
            .expect("the node logs that it joined")
            .to_owned();
        let start = line.find("incarnation ").unwrap() + "incarnation ".len();
        line[start..start + 8].to_owned()
    }

    /// Kills it at once (`kill -9`) and hands back its data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.banterd.child.kill();
        let _ = self.banterd.child.wait();
        self.data
    }
}

/// Three nodes, `a`, `b` and `c`, on one nats-server.
pub fn three_nodes(nats: &Nats) -> Vec<Node> {
    ["a", "b", "c"]
        .into_iter()
        .map(|name| Node::start(nats, name))
        .collect()
}

/// Polls `check` until it is true, for at most `limit`.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP relay between a node and the broker that the test can cut (every
/// connection through it ends, new ones are dropped) and heal.
pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let open = Arc::clone(&open);
            let links = Arc::clone(&links);
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !open.load(Ordering::SeqCst) {
                        continue;
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) =
                            tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                        {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            }
        });
        Self {
            port,
            open,
            links,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Ends every connection through it and drops new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
