//! One task per connection: read lines, act on them, end cleanly.
//!
//! The session task owns the read half and all per-user state (name, room);
//! its writer task (see `writer`) owns the write half. Every way a connection
//! ends (`:exit`, EOF, reset, write stall, registration timeout, flood,
//! shutdown) goes through [`Session`]'s `Drop`, which leaves the room and
//! releases the name, so nothing of a connection outlives it.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use banter_proto::event::{LeaveReason, Prompt};
use banter_proto::{Event, Input, LineCodec, Nick, TelnetCommand};
use bytes::BytesMut;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::control::Mailbox;
use crate::flood::{ByteBudget, Flood, Verdict};
use crate::hub::Hub;
use crate::outbox::Outbox;
use crate::password::Lockout;
use crate::render::Renderer;
use crate::room::{Room, SessionId};
use crate::writer::{self, WriteTiming};

/// How long the last lines (goodbye, shutdown notice, error) may take to reach
/// a client after its session ends.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 2048;
/// The telnet option a telnet client answers the probe with.
const TELNET_TTYPE: u8 = 24;

/// An answer the session is waiting for; the next line is that answer, never
/// a command or chat. `epoch` is the room's password epoch when the prompt
/// was shown: an answer to a password that has changed since is refused.
#[derive(Debug)]
pub enum Pending {
    /// The password of a locked room the user wants to enter.
    RoomEntry {
        room: Arc<Room>,
        epoch: u64,
    },
    NewPassword {
        room: Arc<Room>,
        epoch: u64,
    },
    RepeatPassword {
        room: Arc<Room>,
        first: String,
        epoch: u64,
    },
    /// The prompt was cancelled (a kick, a closed room) while the user may
    /// still be typing the hidden answer: the next line is that secret, and
    /// it is dropped unread.
    Abandoned,
}

/// Why a session ended.
#[derive(Debug)]
pub enum End {
    Exit,
    Eof,
    ReadError(io::Error),
    WriterGone,
    /// No name within this many seconds.
    RegistrationTimeout(u64),
    Flood,
    Shutdown,
}

impl End {
    /// The last line the client gets, sent after it has left its room so that
    /// no room traffic follows it.
    fn farewell(&self) -> Option<Event> {
        match self {
            End::Exit => Some(Event::Goodbye),
            End::Shutdown => Some(Event::ShuttingDown),
            End::RegistrationTimeout(seconds) => Some(Event::Error(format!(
                "no name chosen in time ({seconds} s); closing the connection"
            ))),
            End::Flood => Some(Event::Error(
                "too many lines too fast; disconnecting".to_owned(),
            )),
            End::Eof | End::ReadError(_) | End::WriterGone => None,
        }
    }
}

/// A connected client's state, owned by its task.
pub struct Session {
    pub(crate) id: SessionId,
    pub(crate) peer: SocketAddr,
    pub(crate) hub: Arc<Hub>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) nick: Option<Nick>,
    pub(crate) room: Option<Arc<Room>>,
    pub(crate) control: Arc<Mailbox>,
    pub(crate) pending: Option<Pending>,
    /// Locked rooms this connection has entered with the password, by room
    /// key, with the password epoch it was good for.
    pub(crate) grants: HashMap<String, u64>,
    /// Invitations into locked rooms, by room key, with their password epoch.
    pub(crate) invites: HashMap<String, u64>,
    pub(crate) lockout: Lockout,
    /// When this user was last told that the store is failing.
    pub(crate) store_problem_told: Option<Instant>,
    /// Set when the client answers the telnet probe; read by the writer's renderer.
    telnet: Arc<AtomicBool>,
    /// What the room is told when this session leaves it; `None` at shutdown,
    /// when everyone is leaving and the notices would only be noise.
    leave_reason: Option<LeaveReason>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(room) = self.room.take() {
            room.leave(self.id, self.leave_reason.clone());
        }
        if let Some(nick) = self.nick.take() {
            self.hub.unregister(self.id, &nick);
        }
    }
}

/// Client input: the read half, its line codec and the byte budget that
/// every byte read is charged to.
struct Reader {
    socket: OwnedReadHalf,
    codec: LineCodec,
    buffer: BytesMut,
    budget: Option<ByteBudget>,
    /// Set when the budget is overspent: nothing is read before then.
    resume_at: Option<Instant>,
}

impl Reader {
    /// The next input item, or `None` at EOF. Cancel-safe: partial input stays
    /// buffered and an unpaid byte debt stays recorded.
    ///
    /// The read buffer exists only while there is input to decode: an idle
    /// connection waits for readability holding no buffer at all.
    async fn next(&mut self) -> io::Result<Option<Input>> {
        loop {
            // A socket that always has data must still give its worker back
            // to the other connections now and then.
            tokio::task::consume_budget().await;
            if let Some(input) = self.codec.decode(&mut self.buffer)? {
                return Ok(Some(input));
            }
            if self.buffer.capacity() > 0 {
                // Everything read so far is decoded (the codec keeps partial lines).
                self.buffer = BytesMut::new();
            }
            if let Some(resume_at) = self.resume_at {
                // Overspent: leave the bytes in the kernel, so TCP pushes back.
                tokio::time::sleep_until(resume_at).await;
                self.resume_at = None;
            }
            self.socket.readable().await?;
            self.buffer.reserve(READ_CHUNK_BYTES);
            match self.socket.try_read_buf(&mut self.buffer) {
                Ok(0) => return self.codec.decode_eof(&mut self.buffer),
                Ok(read) => {
                    if let Some(budget) = &mut self.budget {
                        self.resume_at = budget.spend(read, Instant::now());
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// Serves one accepted connection to its end.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let config = Arc::clone(&hub.config);
    let (read, write) = stream.into_split();
    let outbox = Arc::new(Outbox::new(config.outbox_bytes));
    let writer_gone = CancellationToken::new();
    let telnet = Arc::new(AtomicBool::new(false));
    let renderer = Renderer::new(!config.no_telnet_probe, Arc::clone(&telnet));
    let mut writer = tokio::spawn(writer::run(
        write,
        Arc::clone(&outbox),
        renderer,
        WriteTiming {
            coalesce: config.write_coalesce(),
            stall_timeout: config.write_stall_timeout(),
        },
        writer_gone.clone(),
    ));
    let control = Arc::new(Mailbox::default());
    let mut session = Session {
        id: hub.next_session_id(),
        peer,
        hub,
        outbox: Arc::clone(&outbox),
        nick: None,
        room: None,
        control: Arc::clone(&control),
        pending: None,
        grants: HashMap::new(),
        invites: HashMap::new(),
        lockout: Lockout::new(config.password_lockout()),
        store_problem_told: None,
        telnet,
        leave_reason: Some(LeaveReason::Disconnected),
    };
    let mut reader = Reader {
        socket: read,
        codec: LineCodec::new(config.max_line_bytes),
        buffer: BytesMut::new(),
        budget: ByteBudget::new(&config),
        resume_at: None,
    };
    let end = session
        .run(&mut reader, &control, &shutdown, &writer_gone)
        .await;
    session.leave_reason = match end {
        End::Exit => Some(LeaveReason::Quit),
        End::Shutdown => None,
        _ => Some(LeaveReason::Disconnected),
    };
    if let End::ReadError(err) = &end {
        debug!(%peer, %err, "read failed");
    }
    match &session.nick {
        Some(nick) => info!(%peer, %nick, ?end, "session ended"),
        None => debug!(%peer, ?end, "connection ended before a name was chosen"),
    }
    // Show typed input again if the session ended during a hidden answer.
    let hidden = session.pending.is_some();
    drop(session);
    if hidden {
        outbox.reply(Event::HiddenInputEnd);
    }
    if let Some(farewell) = end.farewell() {
        outbox.reply(farewell);
    }
    outbox.close();
    if tokio::time::timeout(FINAL_FLUSH_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

impl Session {
    async fn run(
        &mut self,
        reader: &mut Reader,
        requests: &Mailbox,
        shutdown: &CancellationToken,
        writer_gone: &CancellationToken,
    ) -> End {
        let config = Arc::clone(&self.hub.config);
        self.outbox.reply(Event::Greeting);
        self.outbox.reply(Event::Prompt(Prompt::Nick));
        let registration_deadline = Instant::now() + config.registration_timeout();
        let mut flood = Flood::new(&config);
        loop {
            // Stop reading a client that is not reading its own output.
            while self.outbox.is_full() {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return End::Shutdown,
                    _ = writer_gone.cancelled() => return End::WriterGone,
                    _ = self.outbox.drained() => {}
                }
            }
            let registering = self.nick.is_none();
            let input = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return End::Shutdown,
                _ = writer_gone.cancelled() => return End::WriterGone,
                _ = tokio::time::sleep_until(registration_deadline), if registering => {
                    return End::RegistrationTimeout(config.registration_timeout);
                }
                request = requests.recv() => {
                    self.handle_control(request);
                    continue;
                }
                input = reader.next() => input,
            };
            let input = match input {
                Err(err) => return End::ReadError(err),
                Ok(None) => return End::Eof,
                Ok(Some(input)) => input,
            };
            // Every item costs a line's worth, whether or not it is a line:
            // telnet negotiation and over-long lines are not free either.
            match flood.check(Instant::now()) {
                Verdict::Go => {}
                Verdict::Wait { delay, warn } => {
                    if warn {
                        self.error(format!(
                            "slow down: at most {} lines per second; your lines are being delayed",
                            config.rate_limit
                        ));
                    }
                    tokio::select! {
                        biased;
                        _ = shutdown.cancelled() => return End::Shutdown,
                        _ = writer_gone.cancelled() => return End::WriterGone,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Verdict::Disconnect => {
                    info!(peer = %self.peer, "disconnecting a flooding client");
                    return End::Flood;
                }
            }
            let text = match input {
                Input::Telnet(TelnetCommand::Will(TELNET_TTYPE)) => {
                    self.telnet.store(true, Ordering::Relaxed);
                    continue;
                }
                // Other negotiation changes nothing; the codec already took it out.
                Input::Telnet(_) => continue,
                Input::TooLong { limit } => {
                    self.error(format!(
                        "line too long (over {limit} bytes); it was dropped"
                    ));
                    continue;
                }
                Input::Line(text) => text,
            };
            // Boxed: the command futures (hashing, store round trips) are large and
            // live only while a line is handled, not in every idle connection.
            if let Some(end) = Box::pin(self.handle_line(text)).await {
                return end;
            }
        }
    }

    pub(crate) fn reply(&self, event: Event) {
        self.outbox.reply(event);
    }

    pub(crate) fn error(&self, text: String) {
        self.outbox.reply(Event::Error(text));
    }
}
