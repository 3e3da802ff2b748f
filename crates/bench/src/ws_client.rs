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
//!
//! What it sends, and the answers it waits for while logging in, are
//! banter-wire's types, the server's own definition of banter/1; events
//! during the run go through [`payload::classify_object`], which finds a
//! message's text without a full parse (the load generator's hottest path).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use banter_wire::{parse_frame, Envelope, Frame, Request};
use futures::stream::{SplitSink, SplitStream};
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::client::{send_loop, Arrival, Outcome, Outlet, READ_CHUNK_BYTES};
use crate::payload::{self, Object, Stamp};
use crate::shared::{Latencies, Shared};
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
    let mut socket = match tokio::time::timeout_at(
        shared.login_deadline,
        connect(shared.addr_of(index)),
    )
    .await
    {
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
        quit(&mut socket).await;
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
    if let Ok(mut socket) = sink.reunite(stream) {
        quit(&mut socket).await;
    }
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

/// Sends one request, without an id (the answers are told apart by type).
async fn request(socket: &mut Socket, request: Request<&str>) -> Result<(), String> {
    let frame = Envelope::<_, u64> {
        body: request,
        id: None,
    };
    socket
        .send(Message::text(frame.to_json()))
        .await
        .map_err(|err| format!("sending a request: {err}"))
}

/// Ends the session for good, so the server does not hold it for a resume
/// after the run (PROTOCOL.md, "Resuming a session"); briefly, since a
/// client that stopped reading may find its socket full.
async fn quit(socket: &mut Socket) {
    const QUIT_TIMEOUT: Duration = Duration::from_millis(500);
    let quitting = request(socket, Request::Quit);
    let _ = tokio::time::timeout(QUIT_TIMEOUT, quitting).await;
}

/// Reads until the answer to a login request (`welcome`, `joined` or an
/// `error`), skipping events such as others joining.
async fn answer(socket: &mut Socket) -> Result<Frame, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => match parse_frame(&text) {
                Ok(Envelope {
                    body: frame @ (Frame::Welcome { .. } | Frame::Joined(_) | Frame::Error { .. }),
                    ..
                }) => return Ok(frame),
                Ok(_) => {}
                Err(err) => return Err(format!("not a banter/1 frame: {err}: {text}")),
            },
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
    let name = shared.name(index);
    request(
        socket,
        Request::Hello {
            name: &name,
            resume: None,
        },
    )
    .await?;
    match answer(socket).await? {
        Frame::Welcome { .. } => {}
        Frame::Error { code, message } => return Err(format!("hello refused: {code}: {message}")),
        other => return Err(format!("hello answered with {other:?}")),
    }
    let mut creating = creates;
    loop {
        let (kind, asked) = if creating {
            ("create", Request::Create { room })
        } else {
            (
                "join",
                Request::Join {
                    room,
                    password: None,
                    since: None,
                },
            )
        };
        request(socket, asked).await?;
        match answer(socket).await? {
            Frame::Joined(_) => return Ok(()),
            // Left over from an earlier run against the same server.
            Frame::Error { code, .. } if code == "room_exists" && creating => {
                creating = false;
            }
            // Its first client has not created it yet.
            Frame::Error { code, .. } if code == "no_such_room" && !creates => {
                tokio::time::sleep(JOIN_RETRY).await;
            }
            Frame::Error { code, message } => {
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
    let mut latencies = Latencies::default();
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
        let mut text = Vec::with_capacity(shared.params.size + 64);
        for &stamp in stamps {
            text.clear();
            payload::text(&mut text, &shared.tag, stamp, shared.params.size);
            let text = std::str::from_utf8(&text).expect("a message's text is ASCII");
            let say = Envelope::<_, u64> {
                body: Request::<&str>::Say {
                    room: self.room,
                    text,
                    nonce: None,
                },
                id: None,
            };
            self.sink
                .feed(Message::text(say.to_json()))
                .await
                .map_err(|err| format!("sending: {err}"))?;
        }
        self.sink
            .flush()
            .await
            .map_err(|err| format!("sending: {err}"))
    }
}
