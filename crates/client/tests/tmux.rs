//! `banter` end to end, as a person uses it: the real binary in a tmux
//! window, typed at with `send-keys` and read back with `capture-pane`
//! (with and without `-e`, which keeps the escape sequences), next to `nc`
//! in another window, against banterd's own server code started by the test
//! (in this process, on ports the system picks, stopped and started again
//! on the same ports and data directory for the reconnect test).
//!
//! Every wait polls the screen against a deadline; nothing sleeps long.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use banter_server::Config;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "Tr0ub4dor-3";
/// How long the screen may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(15);

/// banterd's server, run in this process.
struct Server {
    text: SocketAddr,
    http: SocketAddr,
    config: Config,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Starts on free ports; `data_dir` keeps history across restarts,
    /// `None` keeps everything in memory.
    async fn start(data_dir: Option<&Path>) -> Self {
        Self::start_with(data_dir, Config::defaults()).await
    }

    async fn start_with(data_dir: Option<&Path>, mut config: Config) -> Self {
        match data_dir {
            Some(dir) => config.data_dir = dir.to_owned(),
            None => config.in_memory = true,
        }
        Self::on(
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
            config,
        )
        .await
    }

    async fn on(text: SocketAddr, http: SocketAddr, config: Config) -> Self {
        let text_listener = TcpListener::bind(text).await.unwrap();
        let http_listener = TcpListener::bind(http).await.unwrap();
        let (text, http) = (
            text_listener.local_addr().unwrap(),
            http_listener.local_addr().unwrap(),
        );
        let shutdown = CancellationToken::new();
        let listeners = banter_server::Listeners {
            text: text_listener,
            http: Some(http_listener),
            tls_text: None,
            metrics: None,
            irc: None,
            irc_tls: None,
        };
        let task = tokio::spawn(banter_server::run(
            listeners,
            config.clone(),
            shutdown.clone(),
        ));
        Self {
            text,
            http,
            config,
            shutdown,
            task,
        }
    }

    /// Stops the server as SIGTERM does: goodbyes, then every message on disk.
    async fn stop(self) -> (SocketAddr, SocketAddr, Config) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
        (self.text, self.http, self.config)
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.http)
    }
}

/// A TCP relay in front of the server's WebSocket door that the test can
/// close: while closed it hangs up on every new connection. It decides
/// when the client may come back, so "messages sent meanwhile" are sent
/// before it does, however the machine's load and the client's jittered
/// backoff fall. [`Gate::cut`] drops the connections it carries, as a
/// network drop does.
struct Gate {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    carried: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Gate {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let carried = Arc::new(Mutex::new(Vec::new()));
        let accepting = Arc::clone(&open);
        let connections = Arc::clone(&carried);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue;
                }
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(relay);
            }
        });
        Self {
            addr,
            open,
            carried,
        }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }

    /// Drops every connection carried now (both ends see it close).
    fn cut(&self) {
        for relay in self.carried.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

/// A tmux server of our own with one session; killed on drop.
struct Tmux {
    socket: String,
    config_home: tempfile::TempDir,
}

impl Tmux {
    fn new(test: &str) -> Self {
        Self {
            socket: format!("banter-client-{}-{test}", std::process::id()),
            config_home: tempfile::tempdir().unwrap(),
        }
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn run(&self, args: &[&str]) {
        let status = self
            .tmux()
            .args(args)
            .status()
            .expect("tmux is installed (./scripts/test installs it)");
        assert!(status.success(), "tmux {args:?} failed");
    }

    /// Opens window `name` running `command` (the first one starts the session).
    fn window(&self, name: &str, command: &str) {
        let has_session = self
            .tmux()
            .args(["has-session", "-t", "t"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if has_session {
            self.run(&["new-window", "-d", "-t", "t", "-n", name, command]);
        } else {
            self.run(&[
                "new-session",
                "-d",
                "-s",
                "t",
                "-n",
                name,
                "-x",
                "100",
                "-y",
                "30",
                command,
            ]);
        }
    }

    /// Writes `banter/config.toml` in the config directory `banter` gets.
    fn config_file(&self, text: &str) {
        let dir = self.config_home.path().join("banter");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }

    /// Starts `banter` in window `banter` with a config directory of its own.
    fn banter(&self, url: &str, args: &str) {
        let command = format!(
            "env XDG_CONFIG_HOME={} {} {url} {args}",
            self.config_home.path().display(),
            env!("CARGO_BIN_EXE_banter"),
        );
        self.window("banter", &command);
    }

    fn target(window: &str) -> String {
        format!("t:{window}")
    }

    /// Types `text` literally into `window`.
    fn type_text(&self, window: &str, text: &str) {
        self.run(&["send-keys", "-t", &Self::target(window), "-l", text]);
    }

    /// Presses keys by tmux name (`Enter`, `M-2`, `C-n`, `Up`).
    fn keys(&self, window: &str, keys: &[&str]) {
        let target = Self::target(window);
        let mut args = vec!["send-keys", "-t", &target];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_line(&self, window: &str, text: &str) {
        self.type_text(window, text);
        self.keys(window, &["Enter"]);
    }

    fn capture(&self, window: &str, with_escapes: bool) -> String {
        let mut command = self.tmux();
        command.args(["capture-pane", "-p", "-t", &Self::target(window)]);
        if with_escapes {
            command.arg("-e");
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    }

    /// Waits until `check` accepts the screen of `window`; returns it.
    async fn wait(&self, window: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.capture(window, false);
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{window} never showed {what}:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for(&self, window: &str, text: &str) -> String {
        self.wait(window, text, |screen| screen.contains(text))
            .await
    }

    /// The names of the open windows (a window closes when its program exits).
    fn windows(&self) -> Vec<String> {
        let output = self
            .tmux()
            .args(["list-windows", "-t", "t", "-F", "#{window_name}"])
            .output()
            .unwrap();
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The window's width and height.
    fn size(&self, window: &str) -> (usize, usize) {
        let output = self
            .tmux()
            .args([
                "display-message",
                "-p",
                "-t",
                &Self::target(window),
                "#{pane_width} #{pane_height}",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let (w, h) = text.trim().split_once(' ').unwrap();
        (w.parse().unwrap(), h.parse().unwrap())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}

/// A banter/1 client for the test's own moves (locking a room, talking
/// while `banter` is away).
struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Ws {
    async fn login(url: &str, name: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut ws = Self { socket, next_id: 1 };
        assert_eq!(
            ws.ask(json!({"type":"hello","name":name})).await["type"],
            "welcome"
        );
        ws
    }

    /// Sends `request` without waiting for its answer.
    async fn send(&mut self, request: Value) {
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .unwrap();
    }

    /// Every frame until one that `last` accepts, that one included.
    async fn frames_until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no such frame; got {frames:?}"))
                .expect("open")
                .unwrap();
            if let Message::Text(text) = frame {
                let value: Value = serde_json::from_str(&text).unwrap();
                let done = last(&value);
                frames.push(value);
                if done {
                    return frames;
                }
            }
        }
    }

    /// Sends `request` and returns its answer.
    async fn ask(&mut self, mut request: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = json!(id);
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("an answer")
                .expect("open")
                .unwrap();
            if let Message::Text(text) = frame {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["id"] == json!(id) && value["type"] != "message" {
                    assert_ne!(value["type"], "error", "{request} refused: {value}");
                    return value;
                }
            }
        }
    }
}

/// A free port below the kernel's ephemeral range, where the port-0
/// listeners of every other test never land: it stays free while the
/// server that had it restarts. Not `other`.
fn low_port(other: Option<u16>) -> u16 {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (start..32_000)
        .chain(20_000..start)
        .filter(|port| Some(*port) != other)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

/// What the sidebar shows after `name` (its unread count and mention mark).
fn sidebar_mark(screen: &str, name: &str) -> String {
    let line = screen
        .lines()
        .find(|line| line.contains(name))
        .unwrap_or_else(|| panic!("no {name} in the sidebar:\n{screen}"));
    let entry = line.split('│').next().unwrap();
    entry[entry.find(name).unwrap() + name.len()..]
        .trim()
        .to_owned()
}

/// The row of `screen` holding `text`, counted from the top.
fn row_of(screen: &str, text: &str) -> Option<usize> {
    screen.lines().position(|line| line.contains(text))
}

/// Whether the screen is a whole banter screen of `width` x `height`: the
/// topic bar on top, the status line and the input line at the bottom, no
/// row wider than the window.
fn sane(screen: &str, width: usize, height: usize) -> bool {
    let rows: Vec<&str> = screen.lines().collect();
    rows.len() == height
        && rows
            .iter()
            .all(|row| unicode_width::UnicodeWidthStr::width(*row) <= width)
        && rows[0].starts_with("#lobby")
        && rows[height - 2].starts_with("[connected] alice")
        && rows[height - 1].starts_with('>')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_both_ways_rooms_switch_with_unread_counts_and_resizing_is_clean() {
    let server = Server::start(None).await;
    let tmux = Tmux::new("flow");
    tmux.window("nc", &format!("nc 127.0.0.1 {}", server.text.port()));
    tmux.wait_for("nc", "choose a screen name").await;
    tmux.type_line("nc", "bob");
    tmux.wait_for("nc", "hello bob").await;
    tmux.banter(&server.url(), "--name alice --room lobby");
    tmux.wait_for("banter", "you joined lobby").await;
    tmux.wait_for("nc", "alice joined lobby").await;

    // nc to banter, and back.
    tmux.type_line("nc", "hi alice 漢字");
    tmux.wait_for("banter", "bob: hi alice 漢字").await;
    tmux.type_line("banter", "hello bob");
    tmux.wait_for("nc", "[lobby] alice: hello bob").await;
    // Her own line shows once, in her pane, with her name.
    let screen = tmux.wait_for("banter", "alice: hello bob").await;
    assert_eq!(screen.matches("hello bob").count(), 1, "{screen}");

    // A new room: banter switches to it; lobby's news is counted in the sidebar.
    tmux.type_line("banter", ":n games");
    tmux.wait_for("banter", "you joined games").await;
    tmux.type_line("nc", "anyone here?");
    tmux.type_line("nc", "alice, are you there?");
    let screen = tmux
        .wait("banter", "lobby's unread count", |s| {
            s.contains("#lobby") && sidebar_mark(s, "#lobby") == "2!"
        })
        .await;
    assert!(!screen.contains("anyone here?"), "{screen}");
    tmux.keys("banter", &["M-2"]);
    let screen = tmux.wait_for("banter", "bob: alice, are you there?").await;
    assert!(screen.contains("bob: anyone here?"), "{screen}");
    assert_eq!(sidebar_mark(&screen, "#lobby"), "", "{screen}");
    tmux.keys("banter", &["C-n"]);
    tmux.wait("banter", "games on screen", |s| {
        s.lines()
            .next()
            .is_some_and(|top| top.starts_with("#games"))
    })
    .await;
    tmux.keys("banter", &["C-p"]);
    tmux.wait("banter", "lobby on screen", |s| s.starts_with("#lobby"))
        .await;

    // Resizing to 60x20 and back leaves a whole screen each time.
    let (width, height) = tmux.size("banter");
    tmux.run(&["resize-window", "-t", "t:banter", "-x", "60", "-y", "20"]);
    let screen = tmux
        .wait("banter", "a sane 60x20 screen", |s| sane(s, 60, 20))
        .await;
    assert!(screen.contains("bob: alice, are you"), "{screen}");
    tmux.run(&[
        "resize-window",
        "-t",
        "t:banter",
        "-x",
        &width.to_string(),
        "-y",
        &height.to_string(),
    ]);
    let screen = tmux
        .wait("banter", "a sane screen of the first size", |s| {
            sane(s, width, height)
        })
        .await;
    assert!(screen.lines().any(|l| l.contains("│members")), "{screen}");
    let plain = tmux.capture("banter", false);
    assert_eq!(plain.matches("bob: anyone here?").count(), 1, "{plain}");

    // :erm reaches a room she is not in, marked as from the one on screen.
    tmux.type_line("nc", ":n den");
    tmux.wait_for("nc", "created room den").await;
    tmux.type_line("banter", ":erm den come back");
    tmux.wait_for("nc", "[den] alice@lobby: come back").await;
    tmux.wait_for("banter", "sent to den (1 person there)")
        .await;
    // /whois (the IRC habit): the answer on one line.
    tmux.type_line("banter", "/whois bob");
    tmux.wait_for("banter", "bob: in den (host)").await;

    // :quit ends the client and gives the terminal back.
    tmux.type_line("banter", ":quit");
    let deadline = Instant::now() + WAIT;
    while tmux.windows().contains(&"banter".to_owned()) {
        assert!(Instant::now() < deadline, "banter did not exit on :quit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_rooms_password_never_reaches_the_screen() {
    let server = Server::start(None).await;
    let mut host = Ws::login(&server.url(), "carol").await;
    host.ask(json!({"type":"create","room":"vault"})).await;
    host.ask(json!({"type":"set_password","room":"vault","password":PASSWORD}))
        .await;
    let tmux = Tmux::new("locked");
    tmux.window("nc", &format!("nc 127.0.0.1 {}", server.text.port()));
    // Name and rooms from the XDG config file this time.
    tmux.config_file("name = \"alice\"\nrooms = [\"lobby\"]\n");
    tmux.banter(&server.url(), "");
    tmux.wait_for("banter", "you joined lobby").await;

    tmux.type_line("banter", ":cr vault");
    tmux.wait_for("banter", "password for vault").await;
    tmux.type_text("banter", PASSWORD);
    let typed = tmux.wait_for("banter", &"*".repeat(PASSWORD.len())).await;
    for with_escapes in [false, true] {
        let screen = tmux.capture("banter", with_escapes);
        assert!(
            !screen.contains(PASSWORD),
            "password on screen while typed:\n{screen}"
        );
    }
    assert!(!typed.contains(PASSWORD));
    tmux.keys("banter", &["Enter"]);
    tmux.wait_for("banter", "you joined vault").await;
    for with_escapes in [false, true] {
        let screen = tmux.capture("banter", with_escapes);
        assert!(
            !screen.contains(PASSWORD),
            "password on screen after:\n{screen}"
        );
    }
    // Not in input history either: Up brings back the command, nothing else.
    tmux.keys("banter", &["Up"]);
    tmux.wait_for("banter", "> :cr vault").await;
    tmux.keys("banter", &["Up"]);
    let screen = tmux.wait_for("banter", "> :cr vault").await;
    assert!(!screen.contains(PASSWORD), "{screen}");

    // The nc user who watched nothing of it is told alice came in.
    tmux.wait_for("nc", "choose a screen name").await;
    tmux.type_line("nc", "dave");
    tmux.wait_for("nc", "hello dave").await;
    tmux.type_line("nc", ":who vault");
    let screen = tmux.wait_for("nc", "in vault (2)").await;
    let who = screen.lines().find(|l| l.contains("in vault (2)")).unwrap();
    assert!(who.contains("alice") && who.contains("carol"), "{screen}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_restart_the_client_rejoins_and_shows_what_it_missed_once() {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.data_dir = data.path().to_owned();
    // Fewer than are sent while the client is away, so filling the gap
    // needs a history page, not just the join's history.
    config.history_on_join = 2;
    let text = low_port(None);
    let http = low_port(Some(text));
    let server = Server::on(
        SocketAddr::from(([127, 0, 0, 1], text)),
        SocketAddr::from(([127, 0, 0, 1], http)),
        config,
    )
    .await;
    let url = server.url();
    let gate = Gate::start(server.http).await;
    let tmux = Tmux::new("restart");
    tmux.window("nc", &format!("nc 127.0.0.1 {}", server.text.port()));
    tmux.banter(&gate.url(), "--name alice --room lobby");
    tmux.wait_for("banter", "you joined lobby").await;
    let mut bob = Ws::login(&url, "bob").await;
    bob.ask(json!({"type":"join","room":"lobby"})).await;
    bob.ask(json!({"type":"say","room":"lobby","text":"before the restart"}))
        .await;
    tmux.wait_for("banter", "bob: before the restart").await;
    drop(bob);

    gate.set_open(false);
    let (text, http, config) = server.stop().await;
    tmux.wait_for("banter", "reconnecting in").await;
    let server = Server::on(text, http, config).await;
    let mut bob = Ws::login(&url, "bob").await;
    bob.ask(json!({"type":"join","room":"lobby"})).await;
    for n in 1..=5 {
        bob.ask(json!({"type":"say","room":"lobby","text":format!("missed {n}")}))
            .await;
    }
    gate.set_open(true);
    let screen = tmux
        .wait("banter", "every missed message", |s| {
            s.contains("[connected]")
                && s.contains("rejoined lobby")
                && (1..=5).all(|n| s.contains(&format!("bob: missed {n}")))
        })
        .await;
    for line in [
        "bob: before the restart",
        "bob: missed 1",
        "bob: missed 2",
        "bob: missed 3",
        "bob: missed 4",
        "bob: missed 5",
    ] {
        assert_eq!(screen.matches(line).count(), 1, "{line}:\n{screen}");
    }
    let order: Vec<usize> = (1..=5)
        .map(|n| row_of(&screen, &format!("bob: missed {n}")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{screen}");
    // They were filled in from history before the client rejoined (not
    // received live after it): they sit between the loss and the rejoin.
    let lost = row_of(&screen, "connection lost").unwrap();
    let rejoined = row_of(&screen, "rejoined lobby").unwrap();
    assert!(lost < order[0] && order[4] < rejoined, "{screen}");
    // And it talks again.
    tmux.type_line("banter", "back again");
    tmux.wait_for("banter", "alice: back again").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_works_with_the_servers_self_signed_certificate_given_as_ca() {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.tls_self_signed = true;
    let server = Server::start_with(Some(data.path()), config).await;
    let cert = data.path().join("tls").join("self-signed-cert.pem");
    let deadline = Instant::now() + WAIT;
    while !cert.exists() {
        assert!(Instant::now() < deadline, "no {}", cert.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("wss://{}/ws", server.http);
    let tmux = Tmux::new("wss");
    // Without the certificate the server is not trusted, and the client says so.
    tmux.banter(&url, "--name alice --room lobby");
    let screen = tmux.wait_for("banter", "cannot connect").await;
    assert!(screen.contains("certificate"), "{screen}");
    // ...and says what to do about it, with the fingerprint to compare.
    let screen = tmux.wait_for("banter", "start banter with --ca").await;
    assert!(screen.contains("SHA-256 "), "{screen}");
    tmux.keys("banter", &["C-c"]);
    tmux.wait("banter", "Ctrl-C to end the client", |s| {
        !s.contains("cannot connect")
    })
    .await;
    let tmux = Tmux::new("wss-ca");
    tmux.banter(
        &url,
        &format!("--name alice --room lobby --ca {}", cert.display()),
    );
    tmux.wait_for("banter", "you joined lobby").await;
    tmux.type_line("banter", "over tls");
    tmux.wait_for("banter", "alice: over tls").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_of_150_lines_arrives_complete_at_the_pace_the_server_takes() {
    // The server's defaults: 10 lines a second, bursts of 20, and a
    // disconnect after 100 delayed lines, which a paste sent at once hit.
    let server = Server::start(None).await;
    let mut bob = Ws::login(&server.url(), "bob").await;
    bob.ask(json!({"type":"join","room":"lobby"})).await;
    let tmux = Tmux::new("paste");
    tmux.banter(&server.url(), "--name alice --room lobby");
    tmux.wait_for("banter", "you joined lobby").await;
    let lines: Vec<String> = (1..=150).map(|n| format!("pasted line {n}")).collect();
    tmux.run(&["set-buffer", "-b", "paste", &lines.join("\n")]);
    tmux.run(&["paste-buffer", "-p", "-b", "paste", "-t", "t:banter"]);
    tmux.wait_for("banter", "paste 150 lines?").await;
    tmux.keys("banter", &["y"]);
    tmux.wait_for("banter", "sending the paste:").await;
    // Every line reaches bob, once, in order (the pace makes it take about
    // 18 s, so this waits longer than a screen does).
    let mut got: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < lines.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, bob.socket.next())
            .await
            .unwrap_or_else(|_| panic!("only {} lines arrived", got.len()))
            .expect("open")
            .unwrap();
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_ne!(value["type"], "member_left", "{value}");
            if value["type"] == "message" && value["from"] == "alice" {
                got.push(value["text"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(got, lines);
    let screen = tmux
        .wait("banter", "the paste done", |s| {
            !s.contains("sending the paste")
        })
        .await;
    assert!(screen.contains("alice: pasted line 150"), "{screen}");
    assert!(!screen.contains("connection lost"), "{screen}");
    server.stop().await;
}

/// The process id of the program running in the shell of `window`.
fn child_of_shell(tmux: &Tmux, window: &str) -> Option<u32> {
    let output = tmux
        .tmux()
        .args([
            "display-message",
            "-p",
            "-t",
            &Tmux::target(window),
            "#{pane_pid}",
        ])
        .output()
        .unwrap();
    let shell = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// A tmux format's value for `window` (`alternate_on`, `mouse_any_flag`).
fn pane_flag(tmux: &Tmux, window: &str, format: &str) -> String {
    let output = tmux
        .tmux()
        .args(["display-message", "-p", "-t", &Tmux::target(window), format])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_give_the_terminal_back() {
    let server = Server::start(None).await;
    let tmux = Tmux::new("signals");
    tmux.window("shell", "env PS1='shell$ ' bash --norc --noprofile");
    tmux.wait_for("shell", "shell$").await;
    for signal in ["TERM", "HUP"] {
        tmux.type_line(
            "shell",
            &format!(
                "env XDG_CONFIG_HOME={} {} {} --name alice --room lobby",
                tmux.config_home.path().display(),
                env!("CARGO_BIN_EXE_banter"),
                server.url()
            ),
        );
        tmux.wait_for("shell", "you joined lobby").await;
        assert_eq!(pane_flag(&tmux, "shell", "#{alternate_on}"), "1");
        assert_eq!(pane_flag(&tmux, "shell", "#{mouse_any_flag}"), "1");
        let pid = child_of_shell(&tmux, "shell").expect("banter runs in the shell");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        // The shell's own screen again: its prompt after the command line,
        // the alternate screen left, the mouse given back.
        let screen = tmux
            .wait("shell", "the shell's prompt", |s| {
                !s.contains("you joined lobby")
                    && s.trim_end().lines().last().is_some_and(|l| l == "shell$")
            })
            .await;
        // The command line may wrap at the pane's edge, wherever the
        // binary's path and the port put it.
        assert!(
            screen
                .replace('\n', "")
                .contains("--name alice --room lobby"),
            "{screen}"
        );
        assert_eq!(
            pane_flag(&tmux, "shell", "#{alternate_on}"),
            "0",
            "{signal}"
        );
        assert_eq!(
            pane_flag(&tmux, "shell", "#{mouse_any_flag}"),
            "0",
            "{signal}"
        );
        tmux.type_line("shell", "clear");
        tmux.wait("shell", "a clear screen", |s| !s.contains("--name alice"))
            .await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_sequences_lose_no_glyphs_in_tmux() {
    // Rows filled to the edge: had the client counted a sequence narrower
    // than tmux draws it, the end of each row would be cut off.
    let server = Server::start(None).await;
    let mut bob = Ws::login(&server.url(), "bob").await;
    bob.ask(json!({"type":"join","room":"lobby"})).await;
    let tmux = Tmux::new("emoji");
    tmux.config_file("member_list = false\n");
    tmux.banter(&server.url(), "--name alice --room lobby");
    tmux.wait_for("banter", "you joined lobby").await;
    let pieces = [
        ("👍\u{1f3fd}", '👍', 40),
        ("👨\u{200d}👩\u{200d}👧", '👧', 20),
        ("❤\u{fe0f}", '❤', 40),
        ("🏳\u{fe0f}\u{200d}🌈", '🌈', 20),
        ("👩\u{1f3fd}\u{200d}💻", '💻', 20),
    ];
    let text: String = pieces
        .iter()
        .map(|(piece, _, count)| piece.repeat(*count))
        .collect::<Vec<_>>()
        .join(" ");
    bob.ask(json!({"type":"say","room":"lobby","text":format!("{text} end")}))
        .await;
    let screen = tmux.wait_for("banter", "end").await;
    for (piece, glyph, count) in pieces {
        assert_eq!(
            screen.matches(glyph).count(),
            count,
            "{piece}: every one shown\n{screen}"
        );
    }
    for row in screen.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(row) <= 100, "{row}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_rights_survive_a_network_drop_and_nobody_sees_it() {
    let server = Server::start(None).await;
    let gate = Gate::start(server.http).await;
    let tmux = Tmux::new("resume");
    tmux.banter(&gate.url(), "--name alice --room lobby");
    tmux.wait_for("banter", "you joined lobby").await;
    tmux.type_line("banter", ":n games");
    tmux.wait_for("banter", "you joined games").await;
    let mut bob = Ws::login(&server.url(), "bob").await;
    let joined = bob.ask(json!({"type":"join","room":"games"})).await;
    assert_eq!(joined["members"][0], json!({"name":"alice","host":true}));
    tmux.wait_for("banter", "bob joined games").await;

    // The network drops; bob talks, and alice types, meanwhile.
    gate.set_open(false);
    gate.cut();
    tmux.wait_for("banter", "reconnecting").await;
    bob.send(json!({"type":"say","room":"games","text":"while you were away","id":100}))
        .await;
    tmux.type_line("banter", "typed while offline");
    tmux.wait_for("banter", "1 line to send").await;
    gate.set_open(true);
    let screen = tmux
        .wait("banter", "the session resumed", |s| {
            s.contains("[connected]") && s.contains("-- reconnected")
        })
        .await;
    // The same session: nothing joined again.
    assert!(!screen.contains("rejoined"), "{screen}");
    let screen = tmux
        .wait("banter", "the line typed offline, said", |s| {
            s.contains("alice: typed while offline") && !s.contains("to send")
        })
        .await;
    assert_eq!(
        screen.matches("bob: while you were away").count(),
        1,
        "{screen}"
    );

    // Still the host: the topic is hers to set.
    tmux.type_line("banter", ":topic back in one piece");
    let frames = bob.frames_until(|f| f["type"] == "topic_changed").await;
    assert_eq!(frames.last().unwrap()["by"], "alice");
    // Bob saw no leave, no join, no host hand-off; the offline line once.
    for frame in &frames {
        assert!(
            !matches!(
                frame["type"].as_str(),
                Some("member_left" | "member_joined" | "host_added")
            ),
            "{frames:?}"
        );
    }
    let offline: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "message" && f["text"] == "typed while offline")
        .collect();
    assert_eq!(offline.len(), 1, "{frames:?}");
    let who = bob.ask(json!({"type":"who","room":"games"})).await;
    assert!(who["members"]
        .as_array()
        .unwrap()
        .contains(&json!({"name":"alice","host":true})));
    server.stop().await;
}
