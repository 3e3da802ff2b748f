//! Attacks on the doors added after the text door, over real sockets, each
//! with bystanders who must not notice: WebSocket control-frame and
//! continuation floods, a WebSocket that pings and never reads, HTTP
//! connections that idle or trickle headers, replies asked for and never
//! read, and one client making every room it can.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use support::banterd::Banterd;
use support::irc::IrcClient;
use support::ws::WsClient;
use support::{Client, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A WebSocket opened by hand, to send frames no polite library would.
struct RawWebSocket {
    stream: TcpStream,
}

impl RawWebSocket {
    async fn open(http: SocketAddr) -> Self {
        let mut stream = TcpStream::connect(http).await.unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {http}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "handshake cut");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self { stream }
    }

    /// A masked client frame.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mask = [7u8, 1, 9, 3];
        let mut out = vec![
            if fin { 0x80 } else { 0 } | opcode,
            0x80 | payload.len() as u8,
        ];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    /// Sends `frame` over and over, reading nothing, until the server
    /// closes or `limit` passes; true when the connection was closed.
    async fn flood(&mut self, frame: &[u8], limit: Duration) -> bool {
        let batch: Vec<u8> = frame.repeat(64);
        // Whole batches only: a write cut off midway would garble the frames.
        let flooding = async {
            loop {
                if self.stream.write_all(&batch).await.is_err() {
                    return true;
                }
            }
        };
        tokio::time::timeout(limit, flooding).await.unwrap_or(false)
    }

    /// Everything the server sent until it closed, as text.
    async fn read_to_close(&mut self, wait: Duration) -> String {
        let mut all = Vec::new();
        let _ = tokio::time::timeout(wait, self.stream.read_to_end(&mut all)).await;
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// A text user and a WebSocket user chatting, and newcomers arriving: each
/// line must reach the other within `limit` while an attack runs.
async fn bystanders_chat(server: &TestServer, rounds: usize, limit: Duration) -> Duration {
    let http = server.http.unwrap();
    let mut nc = server.login("nc_bystander").await;
    let mut web = WsClient::login(http, "ws_bystander").await;
    web.ask(json!({"type": "join", "room": "lobby"}), 1).await;
    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        let started = Instant::now();
        nc.send(&format!("ping {round}")).await;
        loop {
            let frame = web.recv().await;
            if frame["type"] == "message" && frame["text"] == format!("ping {round}") {
                break;
            }
        }
        web.send(json!({"type": "say", "room": "lobby", "text": format!("pong {round}")}))
            .await;
        nc.expect_past_notices(&format!("[lobby] ws_bystander: pong {round}"))
            .await;
        let mut newcomer = Client::connect(server.addr).await;
        newcomer.skip_greeting().await;
        worst = worst.max(started.elapsed());
    }
    assert!(worst < limit, "a bystander waited {worst:?}");
    worst
}

#[tokio::test]
async fn websocket_ping_pong_and_continuation_floods_are_slowed_and_cut_off() {
    let server = TestServer::start_with_websocket(|_| {}).await;
    let http = server.http.unwrap();
    let ping = RawWebSocket::frame(true, 0x9, &[b'p'; 125]);
    let pong = RawWebSocket::frame(true, 0xA, b"");
    let continuation = RawWebSocket::frame(false, 0x0, b"");
    let mut attackers = Vec::new();
    for (kind, frame) in [
        ("ping", ping),
        ("pong", pong),
        ("continuation", continuation),
    ] {
        for _ in 0..4 {
            let frame = frame.clone();
            attackers.push(tokio::spawn(async move {
                let mut socket = RawWebSocket::open(http).await;
                if kind == "continuation" {
                    // A text message begun and never finished.
                    let opening = RawWebSocket::frame(false, 0x1, b"{");
                    socket.stream.write_all(&opening).await.unwrap();
                }
                let closed = socket.flood(&frame, Duration::from_secs(20)).await;
                let said = socket.read_to_close(Duration::from_secs(2)).await;
                (kind, closed, said)
            }));
        }
    }
    bystanders_chat(&server, 5, Duration::from_secs(2)).await;
    for attacker in attackers {
        let (kind, closed, said) = attacker.await.unwrap();
        assert!(closed, "a {kind} flood was never cut off");
        assert!(
            said.is_empty() || said.contains("flooding") || !said.contains("\"type\""),
            "{kind}: {said}"
        );
    }
    server.stop().await;
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_websocket_that_pings_and_never_reads_cannot_grow_server_memory() {
    // Flood control off, so only the bound on queued output protects the server.
    let server = Banterd::start(
        &[
            "--http-listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--input-byte-rate",
            "0",
        ],
        &[],
    );
    let http = server.listener("http");
    let pid = server.child.id();
    let before = rss(pid);
    let mut socket = RawWebSocket::open(http).await;
    let ping = RawWebSocket::frame(true, 0x9, &[b'p'; 125]);
    socket.flood(&ping, Duration::from_secs(4)).await;
    // Unbounded, the pongs grew a debug build by over 50 MB here in 4 s.
    let grown = rss(pid).saturating_sub(before);
    assert!(
        grown < 24 << 20,
        "the server grew by {} MB for one client that never reads",
        grown >> 20
    );
    // The server is fine: a newcomer chats.
    let mut alice = server.login("alice").await;
    alice.send(":who").await;
    alice.expect_prefix("in lobby").await;
}

/// Reads from `stream` until the server closes it, within `wait`.
async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn idle_and_trickling_http_connections_hold_a_slot_and_time_out() {
    let server = TestServer::start_with_websocket(|config| {
        config.max_connections = 3;
        config.http_header_timeout = 2;
        config.http_idle_timeout = 1;
    })
    .await;
    let http = server.http.unwrap();
    let opened = Instant::now();
    // One sends nothing, one trickles a header, one keeps a connection alive after a request.
    let mut idle = TcpStream::connect(http).await.unwrap();
    let mut trickle = TcpStream::connect(http).await.unwrap();
    trickle.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut kept = TcpStream::connect(http).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let read = kept.read(&mut answer).await.unwrap();
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
    // They fill the server: a text user and another HTTP client are refused.
    let mut refused = server.connect().await;
    refused.expect_prefix("error: the server is full").await;
    let mut refused_http = TcpStream::connect(http).await.unwrap();
    let mut response = String::new();
    refused_http.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("error: the server is full"), "{response}");

    let trickler = tokio::spawn(async move {
        for _ in 0..100 {
            if trickle.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if closed_by_server(&mut trickle, Duration::from_millis(1)).await {
                return true;
            }
        }
        false
    });
    assert!(closed_by_server(&mut kept, Duration::from_secs(5)).await);
    assert!(closed_by_server(&mut idle, Duration::from_secs(5)).await);
    assert!(
        trickler.await.unwrap(),
        "a trickled header was never cut off"
    );
    assert!(opened.elapsed() >= Duration::from_secs(1));
    // Their slots are free again.
    let mut alice = server.login("alice").await;
    alice.send(":who").await;
    alice.expect_prefix("in lobby").await;
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_keeps_its_connection_slot_after_the_upgrade() {
    let server = TestServer::start_with_websocket(|config| {
        config.max_connections_per_ip = 2;
    })
    .await;
    let http = server.http.unwrap();
    let _web = WsClient::login(http, "web").await;
    let _nc = server.login("nc").await;
    let mut refused = server.connect().await;
    refused.expect_prefix("error: too many connections").await;
    server.stop().await;
}

#[tokio::test]
async fn irc_names_of_one_channel_many_times_is_answered_once_per_channel() {
    let server = TestServer::start_with(|config| {
        config.irc_listen =
            banter_server::config::OptionalAddr(Some("127.0.0.1:0".parse().unwrap()))
    })
    .await;
    let irc = server.irc.unwrap();
    let mut alice = IrcClient::register(irc, "alice").await;
    alice.send("JOIN #lobby").await;
    alice.skip_to("366").await;
    let targets = vec!["#lobby"; 72].join(",");
    alice.send(&format!("NAMES {targets}")).await;
    alice.send("PING :done").await;
    let lines = alice.lines_to("PONG").await;
    let names = lines.iter().filter(|line| line.contains(" 353 ")).count();
    assert_eq!(names, 1, "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn clients_that_ask_for_big_listings_and_never_read_cannot_grow_server_memory() {
    let server = Banterd::start(
        &[
            "--irc-listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--max-new-rooms-per-minute",
            "0",
        ],
        &[],
    );
    let irc = server.listener("irc");
    // 300 rooms with 4 KB topics, made by a text user.
    // 150 rooms with 4 KB topics, made by a text user who writes while reading.
    let maker = TcpStream::connect(server.addr).await.unwrap();
    let (read, mut write) = maker.into_split();
    let mut script = String::from("maker\n");
    let topic = "t".repeat(4000);
    for room in 0..150 {
        script.push_str(&format!(":n room{room}\n:topic {topic}\n"));
    }
    script.push_str(":rooms\n");
    let writing = tokio::spawn(async move {
        write.write_all(script.as_bytes()).await.unwrap();
        write
    });
    let mut lines = tokio::io::BufReader::new(read);
    let mut line = Vec::new();
    while !String::from_utf8_lossy(&line).contains("rooms (151):") {
        line.clear();
        assert!(lines.read_until(b'\n', &mut line).await.unwrap() > 0);
    }
    let mut maker = Client::from_halves(lines.into_inner(), writing.await.unwrap());
    // A reader still gets every room listed.
    let mut reader = IrcClient::register(irc, "reader").await;
    reader.send("LIST").await;
    let listed = reader.lines_to(" 323 ").await;
    assert_eq!(listed.iter().filter(|l| l.contains(" 322 ")).count(), 151);

    let before = rss(server.child.id());
    let mut hogs = Vec::new();
    for hog in 0..50 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(irc).await.unwrap();
        let hello = format!(
            "NICK hog{hog}\r\nUSER hog 0 * :hog\r\n{}",
            "LIST\r\n".repeat(20)
        );
        let mut stream = tokio::io::BufReader::new(stream);
        stream.get_mut().write_all(hello.as_bytes()).await.unwrap();
        // Its listing has begun; from here on it reads nothing.
        let mut line = Vec::new();
        while !String::from_utf8_lossy(&line).contains(" 321 ") {
            line.clear();
            assert!(stream.read_until(b'\n', &mut line).await.unwrap() > 0);
        }
        hogs.push(stream);
    }
    let grown = rss(server.child.id()).saturating_sub(before);
    // Unpaced and uncut, each hog held a whole 600 KB listing: 30 MB.
    assert!(
        grown < 12 << 20,
        "50 hogs grew the server by {} MB",
        grown >> 20
    );
    // Nobody else noticed.
    reader.send("JOIN #room1").await;
    reader.skip_to(" 366 ").await;
    maker.send(":cr room1").await;
    maker.send("hello reader").await;
    reader.skip_to("hello reader").await;
}

#[tokio::test]
async fn one_address_cannot_use_up_the_rooms() {
    let server = TestServer::start_with(|config| {
        config.irc_listen =
            banter_server::config::OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
        config.max_new_rooms_per_minute = 10;
    })
    .await;
    let irc = server.irc.unwrap();
    let mut attacker = IrcClient::register(irc, "attacker").await;
    // Fifty channels in one line are more than a JOIN takes.
    let fifty: Vec<String> = (0..50).map(|n| format!("#spam{n}")).collect();
    attacker.send(&format!("JOIN {}", fifty.join(","))).await;
    attacker
        .expect_prefix(":banter 407 attacker #spam10 ")
        .await;
    // Ten at a time, leaving them at once: the address's quota runs out.
    let mut refused = 0;
    for batch in 0..3 {
        let ten: Vec<String> = (0..10).map(|n| format!("#spam{batch}x{n}")).collect();
        attacker.send(&format!("JOIN {}", ten.join(","))).await;
        attacker.send("JOIN 0").await;
    }
    attacker.send("PING :done").await;
    for line in attacker.lines_to("PONG").await {
        refused += usize::from(line.contains(" 437 "));
    }
    assert_eq!(refused, 20, "ten rooms a minute from one address");
    // Someone at another address still makes rooms.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut bystander = Client::from_stream(socket.connect(server.addr).await.unwrap());
    bystander.skip_greeting().await;
    bystander.send("bystander").await;
    bystander.expect_prefix("hello bystander").await;
    bystander.send(":n fresh").await;
    bystander.expect("created room fresh; you are in it").await;
    server.stop().await;
}

/// A WebSocket from the loopback address `local`, speaking banter/1.
async fn websocket_from(
    local: &str,
    http: SocketAddr,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(http).await.unwrap();
    let (websocket, _) = tokio_tungstenite::client_async(format!("ws://{http}/ws"), stream)
        .await
        .unwrap();
    websocket
}

async fn send_json(
    websocket: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    value: serde_json::Value,
) {
    use futures::SinkExt;
    let text = value.to_string();
    websocket
        .send(tokio_tungstenite::tungstenite::Message::text(text))
        .await
        .unwrap();
}

/// The next JSON frame whose type is one of `types`; `None` once closed.
async fn next_of(
    websocket: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    types: &[&str],
) -> Option<serde_json::Value> {
    use futures::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), websocket.next())
            .await
            .expect("a frame in time");
        let Some(Ok(frame)) = frame else {
            return None;
        };
        let Ok(text) = frame.into_text() else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if types.iter().any(|kind| value["type"] == *kind) {
            return Some(value);
        }
    }
}

/// `count` banter/1 users from `local`, each named `prefix` and a number.
async fn guessers(
    http: SocketAddr,
    local: &str,
    prefix: &str,
    count: usize,
) -> Vec<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let mut all = Vec::new();
    for n in 0..count {
        let mut websocket = websocket_from(local, http).await;
        send_json(
            &mut websocket,
            json!({"type": "hello", "name": format!("{prefix}{n}")}),
        )
        .await;
        next_of(&mut websocket, &["welcome"]).await.unwrap();
        all.push(websocket);
    }
    all
}

#[tokio::test]
async fn a_crowd_guessing_from_one_address_delays_a_user_elsewhere_by_a_hash_or_two() {
    let server = TestServer::start_with_websocket(|_| {}).await;
    let http = server.http.unwrap();
    let mut host = server.login("host").await;
    host.send(":n vault").await;
    host.expect("created room vault; you are in it").await;
    host.lock_room("host", "vault", "right").await;
    let crowd = guessers(http, "127.0.0.1", "g", 40).await;
    let mut user = guessers(http, "127.0.0.2", "user", 1).await.remove(0);
    let started = Instant::now();
    let mut answers = tokio::task::JoinSet::new();
    for mut guesser in crowd {
        answers.spawn(async move {
            send_json(
                &mut guesser,
                json!({"type": "join", "room": "vault", "password": "wrong"}),
            )
            .await;
            let answer = next_of(&mut guesser, &["error"]).await.unwrap();
            assert_eq!(answer["code"], "wrong_password", "{answer}");
            started.elapsed()
        });
    }
    // Once the crowd's hashing has begun, the user from elsewhere asks.
    let first = answers.join_next().await.unwrap().unwrap();
    send_json(
        &mut user,
        json!({"type": "join", "room": "vault", "password": "right"}),
    )
    .await;
    let joined = next_of(&mut user, &["joined", "error"]).await.unwrap();
    assert_eq!(joined["type"], "joined", "{joined}");
    let user_done = started.elapsed();
    let mut last = first;
    while let Some(done) = answers.join_next().await {
        last = last.max(done.unwrap());
    }
    assert!(
        user_done < last,
        "the user waited for the whole crowd ({user_done:?}; the crowd's last answer {last:?})"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_queued_password_guesses() {
    let server = Banterd::start(&["--http-listen", "127.0.0.1:0"], &[]);
    let http = server.listener("http");
    let mut host = server.login("host").await;
    host.send(":n vault").await;
    host.expect("created room vault; you are in it").await;
    host.lock_room("host", "vault", "right").await;
    let crowd = guessers(http, "127.0.0.1", "g", 100).await;
    let mut answers = tokio::task::JoinSet::new();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    let first_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(first_tx)));
    for mut guesser in crowd {
        let first_tx = std::sync::Arc::clone(&first_tx);
        answers.spawn(async move {
            send_json(
                &mut guesser,
                json!({"type": "join", "room": "vault", "password": "wrong"}),
            )
            .await;
            let answer = next_of(&mut guesser, &["error", "shutdown"]).await;
            if let Some(first) = first_tx.lock().unwrap().take() {
                let _ = first.send(());
            }
            answer.map(|answer| answer["code"].as_str().unwrap_or("shutdown").to_owned())
        });
    }
    first_rx.await.unwrap();
    let mut server = server;
    server.signal("TERM");
    let mut hashed = 0;
    while let Some(answer) = answers.join_next().await {
        hashed += usize::from(answer.unwrap().as_deref() == Some("wrong_password"));
    }
    server.wait_exit(Duration::from_secs(5));
    // Those hashed before the signal, and those already hashing: not the whole queue.
    assert!(
        hashed < 30,
        "{hashed} of 100 guesses were hashed after shutdown began"
    );
}

#[tokio::test]
async fn refused_origins_are_logged_a_few_times_a_second_and_cut_short() {
    let server = Banterd::start(&["--http-listen", "127.0.0.1:0"], &[]);
    let http = server.listener("http");
    let mut stream = TcpStream::connect(http).await.unwrap();
    let origin = format!("https://{}.example", "e".repeat(3000));
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {http}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let mut buffer = vec![0u8; 65536];
    let mut seen = String::new();
    let started = Instant::now();
    for refused in 0..100 {
        stream.write_all(request.as_bytes()).await.unwrap();
        while seen.matches("HTTP/1.1 403").count() <= refused {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "closed after {refused} refusals");
            seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    }
    // Five a second at most, in every second begun.
    let most = 5 * (started.elapsed().as_secs() as usize + 1);
    // The log thread may lag a moment behind the answers.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.log.lock().unwrap().clone();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("another origin"))
            .collect();
        if !lines.is_empty() || Instant::now() > deadline {
            assert!(
                !lines.is_empty() && lines.len() <= most,
                "{} refusal lines",
                lines.len()
            );
            assert!(lines.iter().all(|line| line.len() < 500), "{lines:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
