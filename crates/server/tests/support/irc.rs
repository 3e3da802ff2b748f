//! A raw IRC test client: lines in, lines out, over plain TCP.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::LINE_TIMEOUT;

pub struct IrcClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    pub nick: String,
}

impl IrcClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (read, write) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer: write,
            nick: "*".into(),
        }
    }

    /// Connects and registers as `nick` without capabilities; reads up to
    /// the end of the MOTD.
    pub async fn register(addr: SocketAddr, nick: &str) -> Self {
        let mut client = Self::connect(addr).await;
        client.send(&format!("NICK {nick}")).await;
        client.send(&format!("USER {nick} 0 * :{nick} Test")).await;
        client.expect_prefix(&format!(":banter 001 {nick} ")).await;
        client.skip_to(" 376 ").await;
        client.nick = nick.into();
        client
    }

    /// Registers with the capabilities `caps` acknowledged.
    pub async fn register_with(addr: SocketAddr, nick: &str, caps: &str) -> Self {
        let mut client = Self::connect(addr).await;
        client.send("CAP LS 302").await;
        client.send(&format!("NICK {nick}")).await;
        client.send(&format!("USER {nick} 0 * :{nick}")).await;
        client.expect_prefix(":banter CAP * LS :").await;
        client.send(&format!("CAP REQ :{caps}")).await;
        client.expect(&format!(":banter CAP * ACK :{caps}")).await;
        client.send("CAP END").await;
        client.expect_prefix(&format!(":banter 001 {nick} ")).await;
        client.skip_to(" 376 ").await;
        client.nick = nick.into();
        client
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// The next line without CRLF; `None` at EOF; panics after the timeout.
    pub async fn try_line(&mut self) -> Option<String> {
        let mut raw = Vec::new();
        let read = tokio::time::timeout(LINE_TIMEOUT, self.reader.read_until(b'\n', &mut raw))
            .await
            .expect("timed out waiting for an IRC line")
            .unwrap();
        if read == 0 {
            return None;
        }
        assert!(raw.ends_with(b"\r\n"), "IRC lines end in CRLF: {raw:?}");
        raw.truncate(raw.len() - 2);
        Some(String::from_utf8(raw).expect("server output is UTF-8"))
    }

    pub async fn line(&mut self) -> String {
        self.try_line().await.expect("connection closed")
    }

    pub async fn expect(&mut self, want: &str) {
        assert_eq!(self.line().await, want);
    }

    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.line().await;
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        line
    }

    /// Reads lines up to one containing `part`; returns it.
    pub async fn skip_to(&mut self, part: &str) -> String {
        loop {
            let line = self.line().await;
            if line.contains(part) {
                return line;
            }
        }
    }

    /// Reads lines up to and including one containing `part`; returns them all.
    pub async fn lines_to(&mut self, part: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.contains(part);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let mut line = String::new();
        if let Ok(read) = tokio::time::timeout(wait, self.reader.read_line(&mut line)).await {
            panic!("expected silence, got {read:?} {line:?}");
        }
    }

    /// Reads what is left until the server closes; returns it.
    pub async fn expect_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = self.try_line().await {
            lines.push(line);
        }
        lines
    }
}
