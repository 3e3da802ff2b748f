//! One WebSocket connection of the JSON door: frames in, core requests,
//! events out as frames.
//!
//! Like the text door's session, this task owns the connection's
//! [`UserState`]; a writer task owns the sending half,
//! drains the outbox, and pings the client. The same limits apply as on the
//! text door (registration timeout, rate limit, outbox bound with "missed N",
//! the shared connection limits), plus the WebSocket's own: the message size
//! (set at the upgrade), and keepalive: a client that sends nothing, not even
//! a pong, for [`SILENCE_LIMIT`] is dropped. Input is charged where it is
//! read (`doors::http::metered`): every byte and every frame, control frames
//! and continuation fragments included; this session only says what the
//! meter decided (slow down, or goodbye for flooding).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::{Event, Refusal};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::protocol::{self, ClientRequest};
use super::render::JsonRenderer;
use crate::core::{Departure, Door, Hub, Outbox, UserState};
use crate::doors::http::metered::{Meter, Metered};
use crate::doors::{close_output, Renderer, WriteTiming};
use crate::metrics::Metrics;

/// How often the writer pings the client.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A client silent this long (no frame, no pong) is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// Why a session ended.
#[derive(Debug)]
enum End {
    Quit,
    Closed,
    Silent,
    WriterGone,
    RegistrationTimeout(u64),
    Flood,
    /// It asked for more output than `--max-output-bytes` without reading it.
    Overflow,
    Shutdown,
}

impl End {
    fn farewell(&self) -> Option<Event> {
        match self {
            End::Quit => Some(Event::Goodbye),
            End::Shutdown => Some(Event::ShuttingDown),
            End::RegistrationTimeout(secs) => {
                Some(Event::Refused(Refusal::RegistrationTimeout { secs: *secs }))
            }
            End::Flood => Some(Event::Refused(Refusal::Flooding)),
            End::Closed | End::Silent | End::WriterGone | End::Overflow => None,
        }
    }

    /// Why the session ended, in words, for the log.
    fn describe(&self) -> &'static str {
        match self {
            End::Quit => "quit",
            End::Closed => "closed by the client",
            End::Silent => "silent too long",
            End::WriterGone => "output stalled or failed",
            End::RegistrationTimeout(_) => "no name in time",
            End::Flood => "flooding",
            End::Overflow => "asked for more output than it read",
            End::Shutdown => "server shutdown",
        }
    }
}

/// One upgraded WebSocket, over its connection's metered stream.
pub type WebSocket = WebSocketStream<Metered>;

/// Serves one upgraded WebSocket to its end; `meter` is its input's account.
pub async fn serve(
    socket: WebSocket,
    meter: Arc<Meter>,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let config = Arc::clone(&hub.services.config);
    let (sink, mut stream) = socket.split();
    let outbox =
        Arc::new(Outbox::new(config.outbox_bytes).with_max_output(config.max_output_bytes));
    let writer_gone = CancellationToken::new();
    let mut writer = tokio::spawn(write(
        sink,
        Arc::clone(&outbox),
        Arc::clone(&hub.services.metrics),
        WriteTiming {
            coalesce: config.write_coalesce(),
            stall_timeout: config.write_stall_timeout(),
        },
        writer_gone.clone(),
    ));
    let door = Door {
        name: "json",
        one_room: false,
        max_rooms: config.max_rooms_per_user,
        lists_members: true,
        answers_every_request: true,
    };
    let mut user = UserState::new(hub, peer, Arc::clone(&outbox), door);
    let end = run(&mut user, &mut stream, &meter, &shutdown, &writer_gone).await;
    user.set_departure(match end {
        End::Quit => Departure::Quit { message: None },
        End::Shutdown => Departure::Silent,
        _ => Departure::Disconnected,
    });
    match user.nick() {
        Some(nick) => {
            debug!(%peer, %nick, end = end.describe(), door = user.door(), "session ended")
        }
        None => debug!(%peer, end = end.describe(), "websocket ended before a name was chosen"),
    }
    drop(user);
    close_output(&outbox, end.farewell(), &mut writer).await;
}

async fn run(
    user: &mut UserState,
    stream: &mut SplitStream<WebSocket>,
    meter: &Meter,
    shutdown: &CancellationToken,
    writer_gone: &CancellationToken,
) -> End {
    let config = Arc::clone(&user.hub.services.config);
    let registration_deadline = Instant::now() + config.registration_timeout();
    let requests = user.mailbox();
    let mut heard = Instant::now();
    loop {
        if user.outbox.overflowed() {
            user.hub.services.metrics.disconnected("output_overflow");
            return End::Overflow;
        }
        while user.outbox.is_full() {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return End::Shutdown,
                _ = writer_gone.cancelled() => return End::WriterGone,
                _ = user.outbox.drained() => {}
            }
        }
        let registering = user.nick().is_none();
        let frame = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return End::Shutdown,
            _ = writer_gone.cancelled() => return End::WriterGone,
            _ = meter.warned() => {
                user.begin_request(None);
                user.refuse(Refusal::SlowDown {
                    per_second: config.rate_limit,
                });
                continue;
            }
            _ = meter.flooded().cancelled() => {
                user.hub.services.metrics.disconnected("flooding");
                info!(peer = %user.peer, "disconnecting a flooding websocket client");
                return End::Flood;
            }
            _ = tokio::time::sleep_until(registration_deadline), if registering => {
                return End::RegistrationTimeout(config.registration_timeout);
            }
            _ = tokio::time::sleep_until(heard + SILENCE_LIMIT) => return End::Silent,
            request = requests.recv() => {
                user.handle_control(request);
                continue;
            }
            frame = stream.next() => frame,
        };
        let message = match frame {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return End::Closed,
            Some(Ok(message)) => message,
        };
        heard = Instant::now();
        // Pings are answered by the WebSocket itself; pongs only prove life.
        // Every frame was charged as it was read.
        if matches!(
            message,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_)
        ) {
            continue;
        }
        let Message::Text(text) = message else {
            user.begin_request(None);
            user.refuse(Refusal::BinaryFrame);
            continue;
        };
        let frame = protocol::parse(text.as_str(), config.max_line_bytes);
        user.begin_request(frame.id);
        // Boxed: request futures (hashing, store round trips) are large and
        // live only while one is handled.
        if Box::pin(handle(user, frame.request)).await {
            return End::Quit;
        }
    }
}

/// Carries out one request and answers it; true when the client quits.
async fn handle(user: &mut UserState, request: Result<ClientRequest, Refusal>) -> bool {
    let result = match request {
        Err(refusal) => Err(refusal),
        Ok(ClientRequest::Quit) => return true,
        Ok(ClientRequest::Ping) => {
            user.reply(Event::Pong);
            Ok(())
        }
        Ok(ClientRequest::Hello { name }) => user.register(&name, None).await,
        Ok(ClientRequest::Core(request)) => user.execute(request).await,
    };
    user.answer(result);
    false
}

/// The writer: one text frame per event, flushed once per batch, batches at
/// most one per `--write-coalesce-ms` as on the text door; pings the client
/// every [`PING_INTERVAL`]. A client that takes nothing for the stall
/// timeout ends the session.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
    timing: WriteTiming,
    gone: CancellationToken,
) {
    let _gone = gone.drop_guard();
    let stall_timeout = timing.stall_timeout;
    let mut renderer = JsonRenderer;
    let stalled = |err: &WsError| {
        // The frames and pongs waiting exceed the bound: a client that does not read.
        if matches!(err, WsError::WriteBufferFull(_)) {
            metrics.disconnected("write_stall");
        }
    };
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut last_write: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = outbox.ready() => {}
            _ = ping.tick() => {
                let sent = tokio::time::timeout(stall_timeout, sink.send(Message::Ping(Default::default()))).await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => return stalled(&err),
                    Err(_) => return metrics.disconnected("write_stall"),
                }
                continue;
            }
        }
        if let Some(until) = last_write.map(|at| at + timing.coalesce) {
            if Instant::now() < until {
                tokio::time::sleep_until(until).await;
            }
        }
        let batch = outbox.next_batch().await;
        metrics.delivered(batch.deliveries.len() as u64);
        metrics.deliveries_dropped(batch.missed.iter().map(|missed| missed.count).sum());
        let mut frames = Vec::with_capacity(batch.deliveries.len() + batch.missed.len());
        for delivery in &batch.deliveries {
            if let Some(bytes) = renderer.shared(delivery).filter(|b| !b.is_empty()) {
                frames.push(bytes.clone());
            }
        }
        let missed = batch.missed.iter().map(|missed| {
            let mut frame = bytes::BytesMut::new();
            renderer.missed(std::slice::from_ref(missed), &mut frame);
            frame.freeze()
        });
        if batch.closed {
            // The last batch ends with the farewell: what was missed goes before it.
            frames.splice(0..0, missed);
        } else {
            frames.extend(missed);
        }
        let sent = tokio::time::timeout(stall_timeout, async {
            for frame in frames {
                let text = tokio_tungstenite::tungstenite::Utf8Bytes::try_from(frame)
                    .expect("rendered JSON is UTF-8");
                sink.feed(Message::Text(text)).await?;
            }
            if batch.closed {
                sink.send(Message::Close(None)).await
            } else {
                sink.flush().await
            }
        })
        .await;
        match &sent {
            Err(_) => metrics.disconnected("write_stall"),
            Ok(Err(err)) => stalled(err),
            Ok(Ok(())) => {}
        }
        if !matches!(sent, Ok(Ok(()))) || batch.closed {
            return;
        }
        if !timing.coalesce.is_zero() {
            last_write = Some(Instant::now());
        }
    }
}
