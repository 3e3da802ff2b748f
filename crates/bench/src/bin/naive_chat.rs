//! The baseline banterd is measured against: the textbook tokio chat server.
//!
//! One shared `Mutex<HashMap>` of every peer's unbounded channel; a message is
//! cloned into the channel of every other peer of its room (found by scanning
//! the whole map); each peer's task writes each message with its own socket
//! write; Nagle's algorithm is left on. It speaks banter's line format (the
//! name line `name` or `name:room`, then `[room] name: text` to the others) so
//! the same load generator drives both. Not for real use: it has no limits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

/// naive_chat: the textbook design, as a baseline for banter-bench.
#[derive(Debug, Parser)]
struct Cli {
    /// Address to listen on; port 0 lets the system choose (it is logged).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

struct Peer {
    room: String,
    tx: mpsc::UnboundedSender<String>,
}

type Peers = Arc<Mutex<HashMap<u64, Peer>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rlimit::increase_nofile_limit(u64::MAX)?;
    let listener = TcpListener::bind(cli.listen).await?;
    eprintln!("naive_chat listening on {}", listener.local_addr()?);
    let peers: Peers = Arc::default();
    let ids = AtomicU64::new(1);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = terminate.recv() => return Ok(()),
        };
        let peers = Arc::clone(&peers);
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _ = serve(stream, id, peers).await;
        });
    }
}

/// Sends `line` to every other peer in `room`.
async fn broadcast(peers: &Peers, from: u64, room: &str, line: &str) {
    let peers = peers.lock().await;
    for (id, peer) in peers.iter() {
        if *id != from && peer.room == room {
            let _ = peer.tx.send(line.to_owned());
        }
    }
}

async fn serve(stream: TcpStream, id: u64, peers: Peers) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"choose a screen name, or name:room\r\n")
        .await?;
    let Some(first) = lines.next_line().await? else {
        return Ok(());
    };
    let (name, room) = match first.trim().split_once(':') {
        Some((name, room)) => (name.to_owned(), room.to_owned()),
        None => (first.trim().to_owned(), "lobby".to_owned()),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let others = {
        let mut peers = peers.lock().await;
        let others = peers.values().filter(|p| p.room == room).count();
        peers.insert(
            id,
            Peer {
                room: room.clone(),
                tx,
            },
        );
        others
    };
    write
        .write_all(format!("hello {name}, you are in {room} with {others} others.\r\n").as_bytes())
        .await?;
    broadcast(&peers, id, &room, &format!("* {name} joined {room}\r\n")).await;
    let result = loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(text)) => {
                    let text = text.trim_end_matches('\r');
                    broadcast(&peers, id, &room, &format!("[{room}] {name}: {text}\r\n")).await;
                }
                Ok(None) => break Ok(()),
                Err(err) => break Err(err),
            },
            Some(message) = rx.recv() => {
                if let Err(err) = write.write_all(message.as_bytes()).await {
                    break Err(err);
                }
            }
        }
    };
    peers.lock().await.remove(&id);
    broadcast(&peers, id, &room, &format!("* {name} disconnected\r\n")).await;
    result
}
