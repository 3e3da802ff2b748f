//! Wire tests against the real `banterd`: one client streaming input at full
//! speed (telnet negotiation, NULs, one endless line, over-long lines it never
//! reads the answers to), sixteen WebSockets streaming ping frames, or a
//! thousand idle HTTP connections must not freeze anyone else, and SIGTERM
//! still ends the server. Every byte costs the sender; no connection holds a
//! worker.
//!
//! Each test prints its figures (welcome time, ping round trips) with and
//! without the attack, for BENCHMARKS.md: run with `-- --nocapture`.

mod support;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::banterd::Banterd;
use support::Client;

/// "Not frozen": far above any normal figure, far below a stall.
const BOUND: Duration = Duration::from_secs(1);
const PINGS: usize = 20;

/// A client on its own thread that writes one pattern forever and never reads.
struct Attacker {
    socket: TcpStream,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Attacker {
    /// Sends `preamble` once, then `pattern` forever.
    fn start(addr: SocketAddr, preamble: &[u8], pattern: Vec<u8>) -> Self {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.write_all(preamble).unwrap();
        let chunk: Vec<u8> = pattern.iter().copied().cycle().take(64 * 1024).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut writer = socket.try_clone().unwrap();
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            let sent = Arc::clone(&sent);
            move || {
                while !stop.load(Ordering::Relaxed) {
                    if writer.write_all(&chunk).is_err() {
                        return;
                    }
                    sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            }
        });
        Self {
            socket,
            stop,
            sent,
            thread: Some(thread),
        }
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblocks a write the server is pushing back on.
        let _ = self.socket.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long others wait while something happens (or does not) to the server.
struct Figures {
    welcome: Duration,
    ping_median: Duration,
    ping_max: Duration,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "welcome {:.1} ms, ping median {:.2} ms, max {:.2} ms",
            self.welcome.as_secs_f64() * 1e3,
            self.ping_median.as_secs_f64() * 1e3,
            self.ping_max.as_secs_f64() * 1e3
        )
    }
}

/// Two bystanders in their own room.
async fn bystanders(server: &Banterd) -> (Client, Client) {
    let mut alice = server.login("alice").await;
    alice.send(":n quiet").await;
    alice.expect("created room quiet; you are in it").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr quiet").await;
    bob.expect_prefix("you are now in quiet").await;
    alice.expect("* bob joined quiet").await;
    (alice, bob)
}

/// A newcomer registers and the bystanders exchange pings; how long each took.
async fn measure(server: &Banterd, round: usize, alice: &mut Client, bob: &mut Client) -> Figures {
    let started = Instant::now();
    let newcomer = server.login(&format!("newcomer{round}")).await;
    let welcome = started.elapsed();
    drop(newcomer);
    let mut pings = Vec::with_capacity(PINGS);
    for seq in 0..PINGS {
        let (from, to, name) = if seq % 2 == 0 {
            (&mut *alice, &mut *bob, "alice")
        } else {
            (&mut *bob, &mut *alice, "bob")
        };
        let sent = Instant::now();
        from.send(&format!("ping {round}.{seq}")).await;
        to.expect(&format!("[quiet] {name}: ping {round}.{seq}"))
            .await;
        pings.push(sent.elapsed());
        // Stay well inside the rate limit.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    pings.sort();
    Figures {
        welcome,
        ping_median: pings[PINGS / 2],
        ping_max: pings[PINGS - 1],
    }
}

/// Streams `pattern` from an attacker while measuring; asserts nobody froze.
async fn survives(name: &str, register: bool, pattern: &[u8]) {
    let preamble: &[u8] = if register { b"mallory\n" } else { b"" };
    let pattern = pattern.to_vec();
    survives_with(name, &[], |server| {
        vec![Attacker::start(server.addr, preamble, pattern)]
    })
    .await;
}

/// Runs `attack` on a server started with `args` while measuring; asserts nobody froze.
async fn survives_with(name: &str, args: &[&str], attack: impl FnOnce(&Banterd) -> Vec<Attacker>) {
    let server = Banterd::start(args, &[]);
    let (mut alice, mut bob) = bystanders(&server).await;
    let calm = measure(&server, 0, &mut alice, &mut bob).await;
    let attackers = attack(&server);
    // Let the stream get going.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ticks, started) = (server.cpu_ticks(), Instant::now());
    let attacked = measure(&server, 1, &mut alice, &mut bob).await;
    // Clock ticks are hundredths of a second of CPU.
    let cpu = (server.cpu_ticks() - ticks) as f64 / 100.0 / started.elapsed().as_secs_f64();
    let sent: u64 = attackers
        .iter()
        .map(|attacker| attacker.sent.load(Ordering::Relaxed))
        .sum();
    eprintln!(
        "{name}: calm: {calm}; under attack: {attacked}, server CPU {:.0}% of a core; \
         the attackers got {} KiB into their sockets",
        cpu * 100.0,
        sent / 1024
    );
    assert!(
        attacked.welcome < BOUND,
        "{name}: the newcomer waited {:?}",
        attacked.welcome
    );
    assert!(
        attacked.ping_max < BOUND,
        "{name}: a ping took {:?}",
        attacked.ping_max
    );
    // Reading and discarding as fast as the client sends would keep a core busy.
    assert!(
        cpu < 0.5,
        "{name}: the server spent {:.0}% of a core on the stream",
        cpu * 100.0
    );
    // SIGTERM while the stream goes on: the documented few seconds.
    let mut server = server;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    drop(attackers);
}

#[tokio::test]
async fn a_stream_of_telnet_negotiation_freezes_nobody() {
    // IAC WILL TTYPE, over and over, never a newline.
    survives("telnet negotiation", true, &[255, 251, 24]).await;
}

#[tokio::test]
async fn a_stream_of_nuls_freezes_nobody() {
    survives("NULs", false, &[0]).await;
}

#[tokio::test]
async fn one_endless_line_freezes_nobody() {
    survives("one endless line", true, b"a").await;
}

#[tokio::test]
async fn over_long_lines_from_a_client_that_never_reads_freeze_nobody() {
    let mut line = vec![b'x'; 5000];
    line.push(b'\n');
    survives("over-long lines", true, &line).await;
}

/// A client's WebSocket upgrade request for the HTTP listener at `http`.
fn upgrade_request(http: SocketAddr) -> Vec<u8> {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {http}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn sixteen_websockets_streaming_pings_freeze_nobody() {
    // A masked ping frame with 125 bytes of payload, the most a ping carries.
    let mut ping = vec![0x89, 0x80 | 125, 1, 2, 3, 4];
    ping.extend(std::iter::repeat_n(b'p' ^ 1, 125));
    survives_with(
        "websocket pings",
        &["--http-listen", "127.0.0.1:0"],
        |server| {
            let http = server.listener("http");
            (0..16)
                .map(|_| Attacker::start(http, &upgrade_request(http), ping.clone()))
                .collect()
        },
    )
    .await;
}

#[tokio::test]
async fn a_thousand_idle_http_connections_freeze_nobody_and_are_closed() {
    let args = ["--http-listen", "127.0.0.1:0", "--http-header-timeout", "3"];
    let server = Banterd::start(&args, &[]);
    let http = server.listener("http");
    let (mut alice, mut bob) = bystanders(&server).await;
    let calm = measure(&server, 0, &mut alice, &mut bob).await;
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(http).unwrap())
        .collect();
    let attacked = measure(&server, 1, &mut alice, &mut bob).await;
    eprintln!("1,000 idle http connections: calm: {calm}; under attack: {attacked}");
    assert!(
        attacked.welcome < BOUND && attacked.ping_max < BOUND,
        "{attacked}"
    );
    // Each is closed when its header time is up.
    for mut stream in idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut stream, &mut byte).unwrap_or(0), 0);
    }
}
