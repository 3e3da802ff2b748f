//! A small test client and an in-process server on port 0, shared by the wire tests.
#![allow(dead_code)] // each test binary uses a different part of this support module

pub mod banterd;
pub mod browser;
pub mod cluster;
pub mod http;
pub mod irc;
pub mod screen;
pub mod store;
pub mod tls;
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use banter_server::config::OptionalAddr;
use banter_server::{Config, Listeners};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the server sends first: `IAC DO TTYPE`, then CR and erase-line.
pub const TELNET_PROBE: &[u8] = b"\xff\xfd\x18\r\x1b[2K";

/// Starts and ends a hidden answer for a client that is not telnet.
pub const CONCEAL: &[u8] = b"\x1b[8m";
/// Ends it: the attribute reset, then cursor up and erase the line the
/// answer was typed on, so the password is gone from the screen.
pub const RESET_ATTRIBUTES: &[u8] = b"\x1b[0m\x1b[1A\r\x1b[2K";

/// How long a test waits for a line it expects.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub addr: SocketAddr,
    /// The HTTP listener (WebSocket door at `/ws`), when the test asked for one.
    pub http: Option<SocketAddr>,
    /// The IRC door, when the test asked for it.
    pub irc: Option<SocketAddr>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with `adjust`ed settings; its HTTP listener is off unless the
    /// test sets `http_listen` (any address: the server gets a free port).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::defaults();
        config.in_memory = true;
        config.http_listen = OptionalAddr(None);
        config.irc_listen = OptionalAddr(None);
        adjust(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let http = match config.http_listen.0 {
            Some(_) => Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
            None => None,
        };
        let http_addr = http.as_ref().map(|http| http.local_addr().unwrap());
        let irc = match config.irc_listen.0 {
            Some(_) => Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
            None => None,
        };
        let irc_addr = irc.as_ref().map(|irc| irc.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let listeners = Listeners {
            text: listener,
            http,
            tls_text: None,
            metrics: None,
            irc,
            irc_tls: None,
        };
        let task = tokio::spawn(banter_server::run(listeners, config, shutdown.clone()));
        Self {
            addr,
            http: http_addr,
            irc: irc_addr,
            shutdown,
            task,
        }
    }

    /// A server with the WebSocket door on.
    pub async fn start_with_websocket(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_with(|config| {
            config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
            adjust(config);
        })
        .await
    }

    /// Shuts the server down and waits for every session to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops within 10 s")
            .unwrap()
            .unwrap();
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Connects, chooses `name`, and reads up to the welcome line.
    pub async fn login(&self, name: &str) -> Client {
        let mut client = self.connect().await;
        client.skip_greeting().await;
        client.send(name).await;
        let welcome = client.line().await;
        assert!(welcome.starts_with("hello "), "{name}: {welcome}");
        client
    }
}

/// A text-door client over any byte stream: TCP, or TLS over it.
pub struct Client {
    reader: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (read, write) = stream.into_split();
        Self::from_halves(read, write)
    }

    pub fn from_halves(read: OwnedReadHalf, write: OwnedWriteHalf) -> Self {
        Self {
            reader: BufReader::new(Box::new(read)),
            writer: Box::new(write),
        }
    }

    pub fn from_stream(stream: impl AsyncRead + AsyncWrite + Send + 'static) -> Self {
        let (read, write) = tokio::io::split(stream);
        Self {
            reader: BufReader::new(Box::new(read)),
            writer: Box::new(write),
        }
    }

    /// Reads the greeting, which starts with the telnet probe and its erasure.
    pub async fn skip_greeting(&mut self) {
        let raw = self.raw_line(LINE_TIMEOUT).await.expect("a greeting");
        let greeting = raw
            .strip_prefix(TELNET_PROBE)
            .expect("the greeting starts with the telnet probe");
        assert!(greeting.starts_with(b"welcome to banter"), "{raw:?}");
        assert!(self.line().await.starts_with("choose a screen name"));
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// The next line, without its CRLF; panics on EOF or after [`LINE_TIMEOUT`].
    pub async fn line(&mut self) -> String {
        self.try_line(LINE_TIMEOUT)
            .await
            .expect("connection closed while a line was expected")
    }

    /// The next line if one starts arriving within `wait` (then it is read
    /// whole, as by [`Client::line`]); `None` if nothing came. Waiting is
    /// cancel-safe: bytes are only looked at, not taken, until a line is there.
    pub async fn line_if_any(&mut self, wait: Duration) -> Option<String> {
        match tokio::time::timeout(wait, self.reader.fill_buf()).await {
            Ok(Ok(available)) if !available.is_empty() => Some(self.line().await),
            Ok(Ok(_)) => panic!("connection closed while waiting for a line"),
            Ok(Err(err)) => panic!("reading: {err}"),
            Err(_) => None,
        }
    }

    /// The next line within `wait`, `None` at EOF; panics on timeout.
    pub async fn try_line(&mut self, wait: Duration) -> Option<String> {
        let raw = self.raw_line(wait).await?;
        Some(String::from_utf8(raw).expect("server output is UTF-8"))
    }

    /// The next line's bytes without CRLF, `None` at EOF; panics on timeout.
    pub async fn raw_line(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let mut raw = Vec::new();
        let read = tokio::time::timeout(wait, self.reader.read_until(b'\n', &mut raw))
            .await
            .expect("timed out waiting for a line")
            .unwrap();
        if read == 0 {
            return None;
        }
        assert!(raw.ends_with(b"\r\n"), "server lines end in CRLF: {raw:?}");
        raw.truncate(raw.len() - 2);
        Some(raw)
    }

    /// Asserts the next line is exactly `want`.
    pub async fn expect(&mut self, want: &str) {
        assert_eq!(self.line().await, want);
    }

    /// Asserts the next line starts with `prefix`; returns it.
    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.line().await;
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        line
    }

    /// Reads lines until one contains `needle`.
    pub async fn expect_containing(&mut self, needle: &str) -> String {
        loop {
            let line = self.line().await;
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Reads past join/leave notices (`* ...`) from other users to the next
    /// other line, which must start with `prefix`.
    pub async fn expect_past_notices(&mut self, prefix: &str) -> String {
        loop {
            let line = self.line().await;
            if !line.starts_with("* ") {
                assert!(
                    line.starts_with(prefix),
                    "expected {prefix:?}, got {line:?}"
                );
                return line;
            }
        }
    }

    /// Answers a hidden prompt as nc would: the prompt line, then the conceal
    /// attribute and nothing else until the answer, then the attribute reset.
    pub async fn answer_hidden(&mut self, prompt: &str, answer: &str) {
        self.expect_prefix(prompt).await;
        self.expect_bytes(CONCEAL).await;
        self.expect_silence(Duration::from_millis(100)).await;
        self.send(answer).await;
        self.expect_bytes(RESET_ATTRIBUTES).await;
    }

    /// As `host_name`, a host of its room `room`, sets the room's password.
    pub async fn lock_room(&mut self, host_name: &str, room: &str, password: &str) {
        self.send(":passwd").await;
        self.answer_hidden(&format!("new password for {room}"), password)
            .await;
        self.answer_hidden(&format!("the new password for {room} again"), password)
            .await;
        self.expect(&format!("* {host_name} locked {room} with a password"))
            .await;
    }

    /// Asserts the next bytes are exactly `want`.
    pub async fn expect_bytes(&mut self, want: &[u8]) {
        let mut got = vec![0u8; want.len()];
        tokio::time::timeout(LINE_TIMEOUT, self.reader.read_exact(&mut got))
            .await
            .expect("timed out waiting for bytes")
            .unwrap();
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&got));
    }

    /// Every line (without CRLF) that arrives until none has for `quiet`.
    pub async fn lines_until_quiet(&mut self, quiet: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            match tokio::time::timeout(quiet, self.reader.read_until(b'\n', &mut raw)).await {
                Ok(Ok(read)) if read > 0 => {
                    lines.push(String::from_utf8_lossy(&raw).trim_end().to_owned())
                }
                _ => return lines,
            }
        }
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let mut byte = [0u8; 1];
        if let Ok(read) = tokio::time::timeout(wait, self.reader.read(&mut byte)).await {
            let mut rest = String::new();
            let _ =
                tokio::time::timeout(Duration::from_millis(100), self.reader.read_line(&mut rest))
                    .await;
            panic!(
                "expected silence, got {:?}{rest:?}",
                read.map(|n| String::from_utf8_lossy(&byte[..n]).into_owned())
            );
        }
    }

    /// Asserts the server closes the connection (after any remaining lines,
    /// which are returned).
    pub async fn expect_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = self.try_line(LINE_TIMEOUT).await {
            lines.push(line);
        }
        lines
    }
}

/// A free port below the kernel's ephemeral range, which port-0 binds (every
/// other test's listeners) never take: it stays free while the server that
/// had it restarts.
pub fn port_no_one_else_gets() -> u16 {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (start..32_000)
        .chain(20_000..start)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}
