//! One task per connection: read lines, act on them, end cleanly.
//!
//! The session task owns the read half and all per-user state (name, room);
//! its writer task (see `writer`) owns the write half. Every way a connection
//! ends (`:exit`, EOF, reset, write stall, registration timeout, flood,
//! shutdown) goes through [`Session`]'s `Drop`, which leaves the room and
//! releases the name, so nothing of a connection outlives it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::event::{LeaveReason, Prompt};
use banter_proto::{Event, Input, LineCodec, Nick};
use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::flood::{Flood, Verdict};
use crate::hub::Hub;
use crate::outbox::Outbox;
use crate::room::{Room, SessionId};
use crate::writer;

/// How long the last lines (goodbye, shutdown notice, error) may take to reach
/// a client after its session ends.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 2048;

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

/// Client input: the read half and its line codec.
struct Reader {
    socket: OwnedReadHalf,
    codec: LineCodec,
    buffer: BytesMut,
}

impl Reader {
    /// The next input item, or `None` at EOF. Cancel-safe: partial input stays buffered.
    async fn next(&mut self) -> io::Result<Option<Input>> {
        loop {
            if let Some(input) = self.codec.decode(&mut self.buffer)? {
                return Ok(Some(input));
            }
            self.buffer.reserve(READ_CHUNK_BYTES);
            if self.socket.read_buf(&mut self.buffer).await? == 0 {
                return self.codec.decode_eof(&mut self.buffer);
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
    let mut writer = tokio::spawn(writer::run(
        write,
        Arc::clone(&outbox),
        config.write_stall_timeout(),
        writer_gone.clone(),
    ));
    let mut session = Session {
        id: hub.next_session_id(),
        peer,
        hub,
        outbox: Arc::clone(&outbox),
        nick: None,
        room: None,
        leave_reason: Some(LeaveReason::Disconnected),
    };
    let mut reader = Reader {
        socket: read,
        codec: LineCodec::new(config.max_line_bytes),
        buffer: BytesMut::new(),
    };
    let end = session.run(&mut reader, &shutdown, &writer_gone).await;
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
    drop(session);
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
                input = reader.next() => input,
            };
            let text = match input {
                Err(err) => return End::ReadError(err),
                Ok(None) => return End::Eof,
                // Telnet negotiation carries no chat; the codec already took it out.
                Ok(Some(Input::Telnet(_))) => continue,
                Ok(Some(Input::TooLong { limit })) => {
                    self.error(format!(
                        "line too long (over {limit} bytes); it was dropped"
                    ));
                    continue;
                }
                Ok(Some(Input::Line(text))) => text,
            };
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
            if let Some(end) = self.handle_line(&text) {
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
