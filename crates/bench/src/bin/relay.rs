//! The floor banterd is measured against in small rooms: a minimal relay.
//!
//! Single-threaded tokio. A client gets a greeting, sends `name:room` (or just
//! `name` for the lobby), and from then on each complete line it sends is
//! written, with its `[room] name: ` prefix, straight to the socket of every
//! other member of its room from the reading task itself: one read and one
//! write per message in a room of two, no queues, no store, no limits, no
//! join or leave notices. A member whose socket is full misses the line
//! (`try_write`; the load generator reads everything, so in a benchmark that
//! does not happen). It speaks the line format banter-bench drives, so the
//! same generator measures it beside banterd and the `naive_chat` baseline.
//! Not for real use.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

/// relay: the least work a chat server can do per message, as a floor for banter-bench.
#[derive(Debug, Parser)]
struct Cli {
    /// Address to listen on; port 0 lets the system choose (it is logged).
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
}

/// Every room's members: id and the write half of their socket.
type Rooms = Rc<RefCell<HashMap<String, Vec<(u64, Rc<OwnedWriteHalf>)>>>>;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rlimit::increase_nofile_limit(u64::MAX)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve_all(cli.listen))
}

async fn serve_all(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!("relay listening on {}", listener.local_addr()?);
    let rooms: Rooms = Rc::default();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut next_id = 0u64;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = terminate.recv() => return Ok(()),
        };
        stream.set_nodelay(true)?;
        next_id += 1;
        let id = next_id;
        let rooms = Rc::clone(&rooms);
        tokio::task::spawn_local(async move {
            let _ = serve(stream, id, rooms).await;
        });
    }
}

async fn serve(stream: TcpStream, id: u64, rooms: Rooms) -> std::io::Result<()> {
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"choose a screen name, or name:room\r\n")
        .await?;
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    // The name line.
    let first = loop {
        if let Some(end) = buf[..filled].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
            buf.copy_within(end + 1..filled, 0);
            filled -= end + 1;
            break line;
        }
        if filled == buf.len() {
            return Ok(());
        }
        let n = read.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    };
    let (name, room) = match first.split_once(':') {
        Some((name, room)) => (name.to_owned(), room.to_owned()),
        None => (first, "lobby".to_owned()),
    };
    write
        .write_all(format!("hello {name}, you are in {room}.\r\n").as_bytes())
        .await?;
    let prefix = format!("[{room}] {name}: ");
    rooms
        .borrow_mut()
        .entry(room.clone())
        .or_default()
        .push((id, Rc::new(write)));
    let mut out = Vec::with_capacity(4096);
    let result = loop {
        // Every complete line read so far goes out in one write per member.
        let mut start = 0;
        out.clear();
        while let Some(end) = buf[start..filled].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            start += end + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if !out.is_empty() {
            if let Some(members) = rooms.borrow().get(&room) {
                for (other, socket) in members {
                    if *other != id {
                        let _ = socket.try_write(&out);
                    }
                }
            }
        }
        if filled == buf.len() {
            // A line longer than the buffer: drop it.
            filled = 0;
        }
        match read.read(&mut buf[filled..]).await {
            Ok(0) => break Ok(()),
            Ok(n) => filled += n,
            Err(err) => break Err(err),
        }
    };
    if let Some(members) = rooms.borrow_mut().get_mut(&room) {
        members.retain(|(other, _)| *other != id);
    }
    result
}
