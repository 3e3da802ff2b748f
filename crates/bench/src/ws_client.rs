//! One load client on the WebSocket door, speaking banter/1 (one JSON object
//! per text frame) instead of lines; otherwise it does what [`crate::client`]
//! does and is checked the same way.
//!
//! Login is `hello`, then `create` of its room for the room's first client
//! and `join` for the others (which ask again, a little later, while the room
//! does not exist yet). Each message is one `say`; the others in the room get
//! it as a `message` event whose `text` carries the same stamp as on the text
//! door, and its sender gets a `said` reply instead of an echo, which counts
//! for nothing, as the text door's missing echo does. `missed` events are
//! summed as *server dropped*; an `error` after login is reported as the
//! run's first error (its message then shows up as lost).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::client::{send_loop, Arrival, Outcome, Outlet, READ_CHUNK_BYTES};
use crate::payload::{self, Object, Stamp};
use crate::shared::Shared;
use crate::tracker::Tracker;

type Socket = WebSocketStream<TcpStream>;

/// Pause before asking again to join a room its first client has not created yet.
const JOIN_RETRY: Duration = Duration::from_millis(20);

/// Runs client `index` until the run is done.
pub async fn run(shared: Arc<Shared>, index: usize) -> Outcome {
    let mut outcome = Outcome {
        index,
        ..Outcome::default()
    };
    let params = &shared.params;
    let room = params.room_of(index);
    let room_name = format!("r{room}");
    let checked = index < params.clients;
    let begun = Instant::now();
    let permit = shared.login_gate.acquire().await;
    let mut socket =
        match tokio::time::timeout_at(shared.login_deadline, connect(shared.addr)).await {
            Ok(Ok(socket)) => socket,
            Ok(Err(err)) => return outcome.login_failed(&shared, err),
            Err(_) => return outcome.login_failed(&shared, "connect timed out".into()),
        };
    // The room's first checked client creates it; everyone else joins.
    let creates = checked && params.slot_of(index) == 0;
    let logged_in = tokio::time::timeout_at(
        shared.login_deadline,
        log_in(&mut socket, &shared, index, &room_name, creates),
    )
    .await
    .unwrap_or_else(|_| Err(format!("not in {room_name} before the login timeout")));
    drop(permit);
    if let Err(err) = logged_in {
        return outcome.login_failed(&shared, err);
    }
    outcome.login = Some(Ok(begun.elapsed()));
    shared.logged_in.fetch_add(1, Ordering::Relaxed);
    shared.login_progress.notify_one();
    if !checked {
        // A slow reader: holds its connection and never reads again.
        shared.done.cancelled().await;
        return outcome;
    }

    let (mut sink, mut stream) = socket.split();
    let mut tracker = Tracker::new(params.members_of(room));
    let reading = read_loop(&shared, &mut stream, &mut tracker, &mut outcome);
    let mut sending_outcome = (0, 0, None);
    let sending = async {
        if params.is_sender(index) {
            let mut says = Says {
                sink: &mut sink,
                room: &room_name,
            };
            sending_outcome = send_loop(&shared, index, &mut says).await;
        }
    };
    tokio::select! {
        _ = shared.done.cancelled() => {}
        _ = async { tokio::join!(reading, sending) } => {}
    }
    outcome.finish(params, &tracker, sending_outcome);
    outcome
}

/// Opens the TCP connection (no Nagle, as the text clients) and the WebSocket at `/ws`.
async fn connect(addr: SocketAddr) -> Result<Socket, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect: {err}"))?;
    stream
        .set_nodelay(true)
        .map_err(|err| format!("connect: {err}"))?;
    let config = WebSocketConfig::default().read_buffer_size(READ_CHUNK_BYTES);
    let (socket, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/ws"),
        stream,
        Some(config),
    )
    .await
    .map_err(|err| format!("websocket handshake: {err}"))?;
    Ok(socket)
}

/// Sends one request object.
async fn request(socket: &mut Socket, object: serde_json::Value) -> Result<(), String> {
    socket
        .send(Message::text(object.to_string()))
        .await
        .map_err(|err| format!("sending a request: {err}"))
}

/// Reads until the answer to a login request (`welcome`, `joined` or an
/// `error`), skipping events such as others joining.
async fn answer(socket: &mut Socket, tag: &[u8]) -> Result<Object, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let object = payload::classify_object(&text, tag);
                if matches!(
                    object,
                    Object::Welcome | Object::Joined | Object::Error { .. }
                ) {
                    return Ok(object);
                }
            }
            Some(Ok(Message::Close(_))) | None => return Err("closed while logging in".into()),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(format!("reading: {err}")),
        }
    }
}

/// `hello`, then `create` (the room's first client) or `join` until in the room.
async fn log_in(
    socket: &mut Socket,
    shared: &Shared,
    index: usize,
    room: &str,
    creates: bool,
) -> Result<(), String> {
    let tag = shared.tag.as_bytes();
    request(socket, json!({"type": "hello", "name": shared.name(index)})).await?;
    match answer(socket, tag).await? {
        Object::Welcome => {}
        Object::Error { code, message } => return Err(format!("hello refused: {code}: {message}")),
        other => return Err(format!("hello answered with {other:?}")),
    }
    let mut kind = if creates { "create" } else { "join" };
    loop {
        request(socket, json!({"type": kind, "room": room})).await?;
        match answer(socket, tag).await? {
            Object::Joined => return Ok(()),
            // Left over from an earlier run against the same server.
            Object::Error { code, .. } if code == "room_exists" && kind == "create" => {
                kind = "join";
            }
            // Its first client has not created it yet.
            Object::Error { code, .. } if code == "no_such_room" && !creates => {
                tokio::time::sleep(JOIN_RETRY).await;
            }
            Object::Error { code, message } => {
                return Err(format!("{kind} {room} refused: {code}: {message}"))
            }
            other => return Err(format!("{kind} {room} answered with {other:?}")),
        }
    }
}

/// Reads and checks events until the connection ends (which, before the run
/// is done, means this client was cut off).
async fn read_loop(
    shared: &Shared,
    stream: &mut SplitStream<Socket>,
    tracker: &mut Tracker,
    outcome: &mut Outcome,
) {
    let tag = shared.tag.as_bytes();
    let mut latencies = Vec::new();
    loop {
        let mut frame = stream.next().await;
        // Take every frame already here before recording their latencies.
        loop {
            let end = match frame {
                Some(Ok(Message::Text(text))) => {
                    match payload::classify_object(&text, tag) {
                        Object::Message(stamp) => {
                            let now_ns = shared.now_ns();
                            let in_window = shared.window.get().is_some_and(|w| w.contains(now_ns));
                            let arrival = Arrival {
                                stamp,
                                now_ns,
                                in_window,
                            };
                            arrival.check(shared, tracker, outcome, &mut latencies);
                        }
                        Object::Missed(count) => outcome.missed += count,
                        Object::Error { code, message } => {
                            outcome
                                .refused
                                .get_or_insert_with(|| format!("refused: {code}: {message}"));
                        }
                        Object::Said | Object::Welcome | Object::Joined | Object::Other => {}
                    }
                    None
                }
                Some(Ok(Message::Close(_))) | None => {
                    Some("the server closed the connection".to_owned())
                }
                Some(Ok(_)) => None,
                Some(Err(err)) => Some(format!("reading: {err}")),
            };
            if let Some(end) = end {
                shared.record_latencies(&latencies);
                outcome.cut_off = Some(end);
                return;
            }
            // `None` when nothing more is ready (or the stream ended, which
            // the next wait finds out).
            match stream.next().now_or_never().flatten() {
                Some(next) => frame = Some(next),
                None => break,
            }
        }
        if !latencies.is_empty() {
            shared.record_latencies(&latencies);
            latencies.clear();
        }
    }
}

/// The WebSocket door: one `say` object per message, flushed together.
struct Says<'s> {
    sink: &'s mut SplitSink<Socket, Message>,
    room: &'s str,
}

impl Outlet for Says<'_> {
    async fn send(&mut self, shared: &Shared, stamps: &[Stamp]) -> Result<(), String> {
        for &stamp in stamps {
            let mut frame = Vec::with_capacity(shared.params.size + 64);
            write!(frame, r#"{{"type":"say","room":"{}","text":""#, self.room)
                .expect("writing to a Vec cannot fail");
            // The text is ASCII with nothing to escape.
            payload::text(&mut frame, &shared.tag, stamp, shared.params.size);
            frame.extend_from_slice(b"\"}");
            let frame = String::from_utf8(frame).expect("a say object is ASCII");
            self.sink
                .feed(Message::text(frame))
                .await
                .map_err(|err| format!("sending: {err}"))?;
        }
        self.sink
            .flush()
            .await
            .map_err(|err| format!("sending: {err}"))
    }
}
