//! The session engine: one loop drives a connection of any door, so every
//! door reads, paces, times out and says goodbye alike.
//!
//! A door supplies a [`DoorSession`]: how its users live in rooms, its
//! renderer, what it does with one decoded item of input (a line, an IRC
//! line, a WebSocket message), its keepalive and its farewell. Input comes
//! from an [`Input`] (bytes cut into items by the door's [`Decode`], or
//! WebSocket messages) and output goes through the one writer
//! (`doors::writer`) to a byte stream or a WebSocket. The engine owns the
//! rest: the read loop, flood verdicts (warn, delay, cut off), the
//! registration deadline, silence, the pause while the outbox is over its
//! bound, the mailbox of requests from other sessions, shutdown, a writer
//! that stalled or failed, and the farewell, with their metrics and logs.
//!
//! Every way a session ends drops the door's session and with it the
//! connection's [`UserState`], which leaves every room and releases the
//! name; only then is the farewell queued, so no room traffic follows it.
//! The exception is a resumable session (the JSON door's) whose connection
//! ends without a quit: it parks instead (`core::resume`), in this task and
//! with this connection's limits slot, and a later connection that takes it
//! over has its writer and loop moved onto the session's outbox and mailbox.

mod input;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use banter_proto::{Event, Refusal};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

pub(crate) use input::{ByteInput, Decode, FrameInput, Input};

use crate::config::Config;
use crate::core::{Control, Departure, Door, Hub, Outbox, Payload, UserState};
use crate::doors::writer::{self, Sink};
use crate::doors::{Renderer, WriteTiming};
use crate::flood::Verdict;
use crate::metrics::Metrics;
use input::Arrival;

/// How long the last lines of a session (goodbye, shutdown notice, error) may
/// take to reach its client once the session has ended.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a session ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The client said goodbye (IRC's QUIT with its message).
    Quit(Option<String>),
    /// The client closed the connection.
    Closed,
    ReadError(io::Error),
    /// The writer stopped: the client stopped reading, or the socket failed.
    WriterGone,
    /// No name within this many seconds.
    RegistrationTimeout(u64),
    /// Nothing heard for the door's silence limit (after its probe, if any).
    Silent,
    Flood,
    /// It asked for more output than `--max-output-bytes` without reading it.
    Overflow,
    Shutdown,
    /// A server operator disconnected the user; what their rooms are told.
    Killed(String),
}

impl End {
    /// Why the session ended, in words, for the log.
    fn describe(&self) -> &'static str {
        match self {
            End::Quit(_) => "quit",
            End::Closed => "closed by the client",
            End::ReadError(_) => "read failed",
            End::WriterGone => "output stalled or failed",
            End::RegistrationTimeout(_) => "no name in time",
            End::Silent => "silent too long",
            End::Flood => "flooding",
            End::Overflow => "asked for more output than it read",
            End::Shutdown => "server shutdown",
            End::Killed(_) => "disconnected by an operator",
        }
    }

    /// Whether a resumable session waits for its client after this end:
    /// not after a quit, a shutdown, or an end the server chose for cause
    /// (flooding, overflow); not before a name.
    fn parks(&self) -> bool {
        matches!(
            self,
            End::Closed | End::ReadError(_) | End::WriterGone | End::Silent
        )
    }

    /// How the user's rooms are told they left.
    fn departure(&self) -> Departure {
        match self {
            End::Quit(message) => Departure::Quit {
                message: message.clone(),
            },
            End::Shutdown => Departure::Silent,
            End::Killed(message) => Departure::Quit {
                message: Some(message.clone()),
            },
            _ => Departure::Disconnected,
        }
    }
}

/// What a door adds to the engine for one connection: its state, its
/// commands and its wording. Owned by the session task.
pub(crate) trait DoorSession: Sized + Send + 'static {
    /// One decoded item of client input.
    type Item: Send;
    /// Turns this connection's deliveries into its bytes; the writer owns it.
    type Renderer: Renderer;

    /// How this door's users live in rooms.
    fn door(config: &Config) -> Door;

    /// The door's state for a new connection's user, and its renderer.
    /// `shutdown` is the server's, for a door that waits on its client's
    /// reading mid-answer (with [`Outbox::writer_ended`]).
    fn open(user: UserState, shutdown: &CancellationToken) -> (Self, Self::Renderer);

    fn user(&mut self) -> &mut UserState;

    /// The connection's user, for a session that parks (`Door::resumable`);
    /// doors whose sessions cannot be resumed have none to give.
    fn into_user(self) -> Option<UserState> {
        None
    }

    /// What the client is told as soon as it connects.
    fn greet(&mut self) {}

    /// Handles one item of input, after the flood bucket let it through;
    /// returns how the session ends, if it does. The engine boxes this
    /// future while it runs (one allocation per item), so a door keeps it
    /// small for the common item and boxes what is large and rare itself.
    fn handle_input(&mut self, item: Self::Item) -> impl Future<Output = Option<End>> + Send;

    /// Flood items the last handled item cost beyond itself (IRC's extra
    /// targets), taken once.
    fn surcharge(&mut self) -> usize {
        0
    }

    /// Before another session's request is carried out on this one (a door
    /// with prompts cancels them when it takes the user out of a room).
    fn before_control(&mut self, _control: &Control) {}

    /// How long the client may be silent, if the door bounds it.
    fn silence_limit(&self) -> Option<Duration> {
        None
    }

    /// Asks a silent client for a sign of life (IRC's PING); true if asked,
    /// which gives it one more silence limit. False ends the session.
    fn probe(&mut self) -> bool {
        false
    }

    /// What ends an exchange the session was in the middle of (hidden input
    /// being typed), queued after the user has left its rooms.
    fn unfinished(&self) -> Option<Payload> {
        None
    }

    /// The last thing the client is told, queued after everything else.
    fn farewell(end: &End) -> Option<Payload> {
        let event = match end {
            End::Quit(_) => Event::Goodbye,
            End::Shutdown => Event::ShuttingDown,
            End::RegistrationTimeout(secs) => {
                Event::Refused(Refusal::RegistrationTimeout { secs: *secs })
            }
            End::Flood => Event::Refused(Refusal::Flooding),
            // The user was told by `Event::Killed`.
            End::Closed
            | End::ReadError(_)
            | End::WriterGone
            | End::Silent
            | End::Overflow
            | End::Killed(_) => return None,
        };
        Some(event.into())
    }
}

/// Serves one connection of door `D` to its end: `input` is what the client
/// sends, `sink` where its output goes. The writer is spawned at once; the
/// future returned holds only what the session needs while it runs. A
/// resumable session whose connection ends without a quit parks here for
/// the resume grace (`core::resume`), holding the connection's slot.
pub(crate) fn serve<D: DoorSession, S: Sink>(
    mut input: impl Input<Item = D::Item>,
    sink: S,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send {
    let config = Arc::clone(&hub.services.config);
    let outbox =
        Arc::new(Outbox::new(config.outbox_bytes).with_max_output(config.max_output_bytes));
    let metrics = Arc::clone(&hub.services.metrics);
    let user = UserState::new(hub, peer, Arc::clone(&outbox), D::door(&config));
    let (mut session, renderer) = D::open(user, &shutdown);
    let timing = WriteTiming {
        coalesce: config.write_coalesce(),
        stall_timeout: config.write_stall_timeout(),
    };
    let writer = tokio::spawn(writer::run(
        sink,
        Arc::clone(&outbox),
        Arc::clone(&metrics),
        renderer,
        timing,
    ));
    let mut output = Output {
        outbox,
        writer,
        writer_ended: false,
        metrics,
        timing,
    };
    async move {
        let end = run(&mut session, &mut input, &config, &mut output, &shutdown).await;
        let user = session.user();
        user.set_departure(end.departure());
        let door = user.door();
        if let End::ReadError(err) = &end {
            debug!(%peer, door, %err, "read failed");
        }
        match user.nick() {
            Some(nick) => debug!(%peer, %nick, end = end.describe(), door, "session ended"),
            None => {
                debug!(%peer, end = end.describe(), door, "connection ended before a name was chosen")
            }
        }
        // What follows the session is boxed: inline, its futures would
        // make every connection's task as large as the largest of them.
        if end.parks() && user.can_park() {
            if let Some(user) = session.into_user() {
                drop(input);
                Box::pin(park(user, output, shutdown)).await;
            }
            return;
        }
        let unfinished = session.unfinished();
        drop(session);
        if let Some(event) = unfinished {
            output.outbox.reply(event);
        }
        let farewell = D::farewell(&end);
        Box::pin(close_output(&mut output, farewell)).await;
    }
}

/// Parks a resumable session whose connection ended, for the resume grace.
/// Parked before the connection is let go: what the writer had taken is
/// lost with the connection.
async fn park<S: Sink, R: Renderer>(
    user: UserState,
    mut output: Output<S, R>,
    shutdown: CancellationToken,
) {
    let parked = user.park();
    output.writer.abort();
    if !output.writer_ended {
        let _ = (&mut output.writer).await;
    }
    parked.wait(&shutdown).await;
}

/// A connection's output: the outbox its writer drains, and the writer.
/// The session learns that the writer ended by joining its task, which
/// costs a connection nothing more.
struct Output<S: Sink, R: Renderer> {
    outbox: Arc<Outbox>,
    writer: JoinHandle<Option<(S, R)>>,
    /// `writer` was joined: it must not be polled again.
    writer_ended: bool,
    metrics: Arc<Metrics>,
    timing: WriteTiming,
}

impl<S: Sink, R: Renderer> Output<S, R> {
    /// Moves the writer to `outbox` (a session this connection took over):
    /// what the old outbox holds goes out first, then the connection is the
    /// new outbox's. False when the writer could not finish the old one.
    async fn follow(&mut self, outbox: Arc<Outbox>) -> bool {
        self.outbox.hand_over();
        let Ok(joined) = tokio::time::timeout(FINAL_FLUSH_TIMEOUT, &mut self.writer).await else {
            self.writer.abort();
            return false;
        };
        let Ok(Some((sink, renderer))) = joined else {
            // Joined all the same: the session's end must not poll the
            // handle again (tokio panics on a second poll after completion).
            self.writer_ended = true;
            return false;
        };
        self.outbox = outbox;
        self.outbox.attach_writer();
        self.writer = tokio::spawn(writer::run(
            sink,
            Arc::clone(&self.outbox),
            Arc::clone(&self.metrics),
            renderer,
            self.timing,
        ));
        true
    }
}

/// Reads and handles the client's input until the session ends.
async fn run<D: DoorSession, I: Input<Item = D::Item>, S: Sink>(
    session: &mut D,
    input: &mut I,
    config: &Config,
    output: &mut Output<S, D::Renderer>,
    shutdown: &CancellationToken,
) -> End {
    session.greet();
    // Timers are boxed and dropped when done with: a timer in the future
    // itself would cost every idle connection its size.
    let mut registration_deadline =
        Some(Box::pin(tokio::time::sleep(config.registration_timeout())));
    let silence_limit = session.silence_limit();
    let mut silence = silence_limit.map(|limit| Box::pin(tokio::time::sleep(limit)));
    let mut heard = Instant::now();
    let mut probed = false;
    // Made once and polled on every turn, so that waiting for it costs no
    // new registration per item.
    let stopped = shutdown.cancelled();
    tokio::pin!(stopped);
    // Once per mailbox: a session taken over brings its own.
    loop {
        let requests = session.user().mailbox();
        let request = requests.recv();
        tokio::pin!(request);
        loop {
            let user = session.user();
            if user.outbox.overflowed() {
                user.hub.services.metrics.disconnected("output_overflow");
                return End::Overflow;
            }
            // Stop reading a client that is not reading its own output.
            while user.outbox.is_full() {
                tokio::select! {
                    biased;
                    _ = &mut stopped => return End::Shutdown,
                    _ = &mut output.writer => return writer_ended(output),
                    _ = user.outbox.drained() => {}
                }
            }
            if user.nick().is_some() {
                registration_deadline = None;
            }
            let woke = {
                let next = input.next();
                tokio::pin!(next);
                // Everything is looked at in order (shutdown first, input
                // last) when the loop comes round; once the session had to
                // wait, what woke it is most likely its client, so input
                // goes first then (see `Wake`).
                let mut waited = false;
                std::future::poll_fn(|cx| {
                    if waited {
                        if let Poll::Ready(arrival) = next.as_mut().poll(cx) {
                            return Poll::Ready(Wake::Input(arrival));
                        }
                    }
                    if stopped.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Wake::Shutdown);
                    }
                    if Pin::new(&mut output.writer).poll(cx).is_ready() {
                        return Poll::Ready(Wake::WriterEnded);
                    }
                    if ready(&mut registration_deadline, cx) {
                        return Poll::Ready(Wake::RegistrationDeadline);
                    }
                    if ready(&mut silence, cx) {
                        return Poll::Ready(Wake::Silence);
                    }
                    if let Poll::Ready(control) = request.as_mut().poll(cx) {
                        return Poll::Ready(Wake::Control(control));
                    }
                    if !waited {
                        if let Poll::Ready(arrival) = next.as_mut().poll(cx) {
                            return Poll::Ready(Wake::Input(arrival));
                        }
                    }
                    waited = true;
                    Poll::Pending
                })
                .await
            };
            let arrival = match woke {
                Wake::Input(arrival) => arrival,
                Wake::Shutdown => return End::Shutdown,
                Wake::WriterEnded => return writer_ended(output),
                Wake::RegistrationDeadline => {
                    return End::RegistrationTimeout(config.registration_timeout);
                }
                Wake::Silence => {
                    let (Some(limit), Some(timer)) = (silence_limit, silence.as_mut()) else {
                        continue;
                    };
                    // The timer is moved only when it fires, not on every item.
                    let due = heard + limit * if probed { 2 } else { 1 };
                    if Instant::now() < due {
                        timer.as_mut().reset(due);
                        continue;
                    }
                    if probed || !session.probe() {
                        return End::Silent;
                    }
                    probed = true;
                    timer.as_mut().reset(heard + limit * 2);
                    continue;
                }
                Wake::Control(control) => {
                    request.set(requests.recv());
                    session.before_control(&control);
                    // Boxed, as rare and large (it may take the user to
                    // another room): inline, every idle session would carry it.
                    let handled = Box::pin(session.user().handle_control(control));
                    if let Some(message) = handled.await {
                        return End::Killed(message);
                    }
                    continue;
                }
            };
            let item = match arrival {
                Err(err) => return End::ReadError(err),
                Ok(None) => return End::Closed,
                Ok(Some(Arrival::Warning)) => {
                    slow_down(session.user(), config);
                    continue;
                }
                Ok(Some(Arrival::Flood)) => return flooding(session.user()),
                Ok(Some(Arrival::Item(item, verdict))) => {
                    heard = Instant::now();
                    probed = false;
                    match verdict {
                        Verdict::Go => {}
                        Verdict::Wait { delay, warn } => {
                            session.user().hub.services.metrics.flood_delayed();
                            if warn {
                                slow_down(session.user(), config);
                            }
                            let pause = Box::pin(tokio::time::sleep(delay));
                            tokio::select! {
                                biased;
                                _ = &mut stopped => return End::Shutdown,
                                _ = &mut output.writer => return writer_ended(output),
                                _ = pause => {}
                            }
                        }
                        Verdict::Disconnect => return flooding(session.user()),
                    }
                    item
                }
            };
            // Boxed for as long as it runs, so an idle session does not
            // carry the largest request's future.
            let end = Box::pin(session.handle_input(item)).await;
            let extra = session.surcharge();
            if extra > 0 {
                input.surcharge(extra);
            }
            if let Some(end) = end {
                return end;
            }
            let taken_over = Arc::clone(&session.user().outbox);
            if !Arc::ptr_eq(&taken_over, &output.outbox) {
                if !Box::pin(output.follow(taken_over)).await {
                    return End::WriterGone;
                }
                break;
            }
        }
    }
}

/// The writer's task was joined: it ended on its own.
fn writer_ended<S: Sink, R: Renderer>(output: &mut Output<S, R>) -> End {
    output.writer_ended = true;
    End::WriterGone
}

/// What woke a session waiting for its client. Each turn of the read loop
/// looks at everything in order, shutdown first and input last, so a request
/// from another session (a kick, a room closed) or a shutdown waits for at most
/// the one item being handled. A session woken after waiting looks at its input
/// first: that is what woke it nearly always, and the rest was looked at
/// before it waited (about 380 instructions a message: shutdown, the writer
/// and the mailbox are polled once per item, not twice).
enum Wake<T> {
    Input(io::Result<Option<Arrival<T>>>),
    Shutdown,
    WriterEnded,
    RegistrationDeadline,
    Silence,
    Control(Control),
}

/// Whether a timer that is there has fired (one that is not never does).
fn ready(timer: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> bool {
    timer
        .as_mut()
        .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
}

/// The client went over its rate: it is told once per flood.
fn slow_down(user: &mut UserState, config: &Config) {
    user.begin_request(None);
    user.refuse(Refusal::SlowDown {
        per_second: config.rate_limit,
    });
}

/// The client kept flooding: it is cut off.
fn flooding(user: &mut UserState) -> End {
    user.hub.services.metrics.disconnected("flooding");
    info!(peer = %user.peer, door = user.door(), "disconnecting a flooding client");
    End::Flood
}

/// Ends a session's output: queues `farewell` last, closes the outbox, and
/// gives the writer [`FINAL_FLUSH_TIMEOUT`] to send what is queued before
/// stopping it, so a client that reads nothing cannot hold the session open.
async fn close_output<S: Sink, R: Renderer>(output: &mut Output<S, R>, farewell: Option<Payload>) {
    if let Some(farewell) = farewell {
        output.outbox.reply(farewell);
    }
    output.outbox.close();
    if output.writer_ended {
        return;
    }
    if tokio::time::timeout(FINAL_FLUSH_TIMEOUT, &mut output.writer)
        .await
        .is_err()
    {
        output.writer.abort();
    }
}
