//! One text-door connection: read lines, turn them into core requests, end
//! cleanly.
//!
//! The session task owns the read half, the line codec, the flood buckets,
//! the hidden-prompt state and the connection's [`UserState`]; its writer
//! task (see `writer`) owns the write half. A line is chat for the user's
//! room, a colon-command, or the answer to a prompt. Prompts are this door's
//! way of taking a secret: the core's requests carry the password itself.
//! Every way a connection ends (`:exit`, EOF, reset, write stall,
//! registration timeout, flood, shutdown) drops the `UserState`, which
//! leaves the room and releases the name.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use banter_proto::command::{parse, Setting};
use banter_proto::event::{Prompt, PromptCancel};
use banter_proto::request::{Request, SayKind};
use banter_proto::{Command, CommandSpec, Event, Input, Line, LineCodec, Refusal, TelnetCommand};
use bytes::BytesMut;
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::render::{Terminal, TextRenderer};
use crate::core::{Departure, Door, Hub, Mailbox, Outbox, Room, UserState, MAX_HISTORY_COUNT};
use crate::doors::transport::{ByteStream, ReadChunk};
use crate::doors::writer;
use crate::doors::{close_output, WriteTiming};
use crate::flood::{ByteBudget, Flood, Verdict};

/// The telnet option a telnet client answers the probe with.
const TELNET_TTYPE: u8 = 24;
/// Messages `:history` shows without a number.
const DEFAULT_HISTORY_COUNT: usize = 20;

/// How text-door users live in rooms: one at a time.
const TEXT_DOOR: Door = Door {
    name: "text",
    one_room: true,
    max_rooms: 1,
    lists_members: false,
    answers_every_request: false,
};

/// An answer the session is waiting for; the next line is that answer, never
/// a command or chat. `epoch` is the room's password epoch when the prompt
/// was shown: an answer to a password that has changed since is refused.
#[derive(Debug)]
enum Pending {
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
enum End {
    Exit,
    Eof,
    ReadError(io::Error),
    WriterGone,
    /// No name within this many seconds.
    RegistrationTimeout(u64),
    Flood,
    /// It asked for more output than `--max-output-bytes` without reading it.
    Overflow,
    Shutdown,
}

impl End {
    /// The last line the client gets, sent after it has left its room so that
    /// no room traffic follows it.
    fn farewell(&self) -> Option<Event> {
        match self {
            End::Exit => Some(Event::Goodbye),
            End::Shutdown => Some(Event::ShuttingDown),
            End::RegistrationTimeout(secs) => {
                Some(Event::Refused(Refusal::RegistrationTimeout { secs: *secs }))
            }
            End::Flood => Some(Event::Refused(Refusal::Flooding)),
            End::Eof | End::ReadError(_) | End::WriterGone | End::Overflow => None,
        }
    }

    /// Why the session ended, in words, for the log.
    fn describe(&self) -> &'static str {
        match self {
            End::Exit => "quit",
            End::Eof => "closed by the client",
            End::ReadError(_) => "read failed",
            End::WriterGone => "output stalled or failed",
            End::RegistrationTimeout(_) => "no name in time",
            End::Flood => "flooding",
            End::Overflow => "asked for more output than it read",
            End::Shutdown => "server shutdown",
        }
    }
}

/// Client input: the read half, its line codec and the byte budget that
/// every byte read is charged to. Holds no buffer while the client is idle.
struct Reader<R> {
    socket: R,
    codec: LineCodec,
    buffer: BytesMut,
    budget: Option<ByteBudget>,
    /// Set when the budget is overspent: nothing is read before then.
    resume_at: Option<Instant>,
}

impl<R: ReadChunk> Reader<R> {
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
                // Boxed: a timer in the future itself would cost every idle
                // connection its size.
                Box::pin(tokio::time::sleep_until(resume_at)).await;
                self.resume_at = None;
            }
            match self.socket.read_chunk(&mut self.buffer).await? {
                0 => return self.codec.decode_eof(&mut self.buffer),
                read => {
                    if let Some(budget) = &mut self.budget {
                        self.resume_at = budget.spend(read, Instant::now());
                    }
                }
            }
        }
    }
}

/// A text-door connection's state, owned by its task.
struct Session {
    user: UserState,
    pending: Option<Pending>,
    /// Set here (telnet answered the probe, `:set timestamps`), read by the
    /// writer's renderer.
    terminal: Arc<Terminal>,
}

/// Serves one accepted connection to its end.
pub async fn serve<S: ByteStream>(
    stream: S,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let config = Arc::clone(&hub.services.config);
    let (read, write) = stream.into_halves();
    let outbox =
        Arc::new(Outbox::new(config.outbox_bytes).with_max_output(config.max_output_bytes));
    // Cancelled when the writer stops, and with the server's shutdown too:
    // the session needs to wait for one token only.
    let writer_gone = shutdown.child_token();
    let terminal = Arc::new(Terminal::default());
    let renderer = TextRenderer::new(!config.no_telnet_probe, Arc::clone(&terminal));
    let mut writer = tokio::spawn(writer::run(
        write,
        Arc::clone(&outbox),
        Arc::clone(&hub.services.metrics),
        renderer,
        WriteTiming {
            coalesce: config.write_coalesce(),
            stall_timeout: config.write_stall_timeout(),
        },
        writer_gone.clone(),
    ));
    let user = UserState::new(hub, peer, Arc::clone(&outbox), TEXT_DOOR);
    let control = user.mailbox();
    let mut session = Session {
        user,
        pending: None,
        terminal,
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
    session.user.set_departure(match end {
        End::Exit => Departure::Quit { message: None },
        End::Shutdown => Departure::Silent,
        _ => Departure::Disconnected,
    });
    if let End::ReadError(err) = &end {
        debug!(%peer, %err, "read failed");
    }
    match session.user.nick() {
        Some(nick) => {
            debug!(%peer, %nick, end = end.describe(), door = session.user.door(), "session ended")
        }
        None => debug!(%peer, end = end.describe(), "connection ended before a name was chosen"),
    }
    // Show typed input again if the session ended during a hidden answer.
    let hidden = session.pending.is_some();
    drop(session);
    if hidden {
        outbox.reply(Event::HiddenInputCut);
    }
    close_output(&outbox, end.farewell(), &mut writer).await;
}

impl Session {
    async fn run<R: ReadChunk>(
        &mut self,
        reader: &mut Reader<R>,
        requests: &Mailbox,
        shutdown: &CancellationToken,
        writer_gone: &CancellationToken,
    ) -> End {
        let config = Arc::clone(&self.user.hub.services.config);
        self.reply(Event::Greeting);
        self.reply(Event::Prompt(Prompt::Nick));
        // Boxed and dropped once a name is chosen, for the same reason.
        let mut registration_deadline =
            Some(Box::pin(tokio::time::sleep(config.registration_timeout())));
        let mut flood = Flood::new(&config);
        // Made once and polled on every turn, so that waiting for them costs
        // no new registration per line.
        let stopped = writer_gone.cancelled();
        let request = requests.recv();
        tokio::pin!(stopped, request);
        // Why `stopped` fired.
        let stop = || {
            if shutdown.is_cancelled() {
                End::Shutdown
            } else {
                End::WriterGone
            }
        };
        loop {
            if self.user.outbox.overflowed() {
                self.user
                    .hub
                    .services
                    .metrics
                    .disconnected("output_overflow");
                return End::Overflow;
            }
            // Stop reading a client that is not reading its own output.
            while self.user.outbox.is_full() {
                tokio::select! {
                    biased;
                    _ = &mut stopped => return stop(),
                    _ = self.user.outbox.drained() => {}
                }
            }
            if self.user.nick().is_some() {
                registration_deadline = None;
            }
            let input = tokio::select! {
                biased;
                _ = &mut stopped => return stop(),
                _ = async { registration_deadline.as_mut()?.await; Some(()) }, if registration_deadline.is_some() => {
                    return End::RegistrationTimeout(config.registration_timeout);
                }
                control = &mut request => {
                    request.set(requests.recv());
                    if let Some(why) = self.user.removes_from_room(&control) {
                        self.cancel_pending(why);
                    }
                    self.user.handle_control(control);
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
                    self.user.hub.services.metrics.flood_delayed();
                    if warn {
                        self.refuse(Refusal::SlowDown {
                            per_second: config.rate_limit,
                        });
                    }
                    tokio::select! {
                        biased;
                        _ = &mut stopped => return stop(),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Verdict::Disconnect => {
                    self.user.hub.services.metrics.disconnected("flooding");
                    info!(peer = %self.user.peer, "disconnecting a flooding client");
                    return End::Flood;
                }
            }
            let text = match input {
                Input::Telnet(TelnetCommand::Will(TELNET_TTYPE)) => {
                    self.terminal.telnet.store(true, Ordering::Relaxed);
                    continue;
                }
                // Other negotiation changes nothing; the codec already took it out.
                Input::Telnet(_) => continue,
                Input::TooLong { limit } => {
                    self.refuse(Refusal::LineTooLong { limit });
                    continue;
                }
                Input::Line(text) => text,
            };
            let end = if self.pending.is_some() || self.user.nick().is_none() {
                // Boxed: prompt answers, registration and commands (hashing,
                // store round trips) make large futures that live only while a
                // line is handled, not in every idle connection.
                Box::pin(self.answer_or_register(text)).await
            } else {
                match parse(&text) {
                    // Chat, the line nearly every line is, needs no future at all.
                    Ok(Line::Chat(chat)) => {
                        self.chat(chat);
                        None
                    }
                    Ok(Line::Command(command)) => Box::pin(self.command(command)).await,
                    Err(err) => {
                        self.refuse(err.into());
                        None
                    }
                }
            };
            if let Some(end) = end {
                return end;
            }
        }
    }

    fn reply(&mut self, event: Event) {
        self.user.reply(event);
    }

    fn refuse(&mut self, refusal: Refusal) {
        self.user.refuse(refusal);
    }

    /// Handles one line of client input; returns how the session ends, if it does.
    async fn answer_or_register(&mut self, text: String) -> Option<End> {
        match self.pending.take() {
            Some(pending) => {
                self.answer(pending, text).await;
                None
            }
            None => self.register(&text).await,
        }
    }

    /// A chat line for the user's room (blank lines say nothing).
    fn chat(&mut self, text: &str) {
        if !text.trim().is_empty() {
            let said = self.user.say(None, SayKind::Chat, text.to_owned());
            self.user.answer(said);
        }
    }

    /// Before a name is chosen: a name (or `name:room`), or one of the
    /// commands the table allows before a name (`before_name`).
    async fn register(&mut self, text: &str) -> Option<End> {
        let text = text.trim();
        if let Some(body) = text.strip_prefix(':') {
            let word = body.split_whitespace().next().unwrap_or_default();
            let allowed = CommandSpec::find(word).is_some_and(|spec| spec.before_name);
            match parse(text) {
                Ok(Line::Command(command)) if allowed => {
                    if let Some(end) = self.command(command).await {
                        return Some(end);
                    }
                }
                Ok(_) => self.refuse(Refusal::NameFirst),
                Err(err) => self.refuse(err.into()),
            }
            self.reply(Event::Prompt(Prompt::Nick));
            return None;
        }
        let (name, room) = match text.split_once(':') {
            Some((name, room)) => (name, Some(room)),
            None => (text, None),
        };
        if let Err(refusal) = self.user.register(name, room).await {
            self.refuse(refusal);
            self.reply(Event::Prompt(Prompt::Nick));
        }
        None
    }

    /// Runs a core request and answers it.
    async fn execute(&mut self, request: Request) {
        self.user.request(request).await;
    }

    /// One colon-command: what it asks of the core, or of this door.
    async fn command(&mut self, command: Command) -> Option<End> {
        let request = match command {
            Command::Help(topic) => {
                self.help(topic);
                return None;
            }
            Command::Exit => return Some(End::Exit),
            Command::ChangeRoom(room) => {
                self.change_room(room).await;
                return None;
            }
            Command::Password { remove: false } => {
                self.ask_new_password();
                return None;
            }
            Command::Set(setting) => {
                self.set(setting);
                return None;
            }
            Command::History(count) => match history_count(count.as_deref()) {
                Ok(limit) => Request::History {
                    room: None,
                    limit,
                    before: None,
                },
                Err(refusal) => {
                    self.refuse(refusal);
                    return None;
                }
            },
            Command::NewRoom(room) => Request::Create { room },
            Command::ExtraRoom { room, text } => Request::SayElsewhere {
                room,
                from: None,
                text,
            },
            Command::Rooms => Request::Rooms,
            Command::Who(Some(room)) if room == "*" => Request::Users,
            Command::Who(room) => Request::Who { room },
            Command::Msg { to, text } => Request::Private { to, text },
            Command::Nick(name) => Request::Nick { name },
            Command::Me(text) => Request::Say {
                room: None,
                kind: SayKind::Emote,
                text,
            },
            Command::HostAdd(name) => Request::HostAdd { room: None, name },
            Command::HostRemove(name) => Request::HostRemove { room: None, name },
            Command::Password { remove: true } => Request::SetPassword {
                room: None,
                password: None,
                if_epoch: None,
            },
            Command::Kick { name, reason } => Request::Kick {
                room: None,
                name,
                reason,
            },
            Command::Topic(text) => Request::Topic { room: None, text },
            Command::Invite(name) => Request::Invite { room: None, name },
            Command::Close => Request::Close { room: None },
        };
        self.execute(request).await;
        None
    }

    fn help(&mut self, topic: Option<String>) {
        match topic {
            None => self.reply(Event::Help { command: None }),
            Some(name) => {
                let name = name.trim_start_matches(':');
                match CommandSpec::find(name) {
                    Some(spec) => self.reply(Event::Help {
                        command: Some(spec),
                    }),
                    None => self.refuse(Refusal::NoSuchCommand {
                        name: name.to_owned(),
                    }),
                }
            }
        }
    }

    /// `:set`: a setting of this connection, kept by this door alone.
    fn set(&mut self, setting: Setting) {
        match setting {
            Setting::Timestamps(on) => {
                self.terminal.timestamps.store(on, Ordering::Relaxed);
                self.reply(Event::Timestamps { on });
            }
        }
    }

    /// `:cr`: enters a room, asking for its password (hidden) when it needs one.
    async fn change_room(&mut self, name: String) {
        let join = Request::Join {
            room: name.clone(),
            password: None,
        };
        match self.user.execute(join).await {
            Err(Refusal::PasswordNeeded { room }) => {
                let Some(room) = self.user.hub.room(&room) else {
                    return self.refuse(Refusal::NoSuchRoomToEnter { room: name });
                };
                let (_, epoch) = room.lock_state();
                let prompt = Prompt::RoomPassword {
                    room: room.name().to_string(),
                };
                self.ask_hidden(Pending::RoomEntry { room, epoch }, prompt);
            }
            other => self.user.answer(other),
        }
    }

    /// `:passwd`: asks a host for the new password, twice, hidden.
    fn ask_new_password(&mut self) {
        match self.user.may_set_password(None) {
            Ok((room, epoch)) => {
                let prompt = Prompt::NewPassword {
                    room: room.name().to_string(),
                };
                self.ask_hidden(Pending::NewPassword { room, epoch }, prompt);
            }
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Asks for a hidden answer; nothing but replies reach the client until it comes.
    fn ask_hidden(&mut self, pending: Pending, prompt: Prompt) {
        self.user.outbox.hold();
        self.pending = Some(pending);
        self.reply(Event::Prompt(prompt));
    }

    /// Gives up on a pending hidden answer (kicked meanwhile, for one). The
    /// user may be typing the secret right now: input stays hidden and the
    /// next line is dropped unread (see [`Pending::Abandoned`]).
    fn cancel_pending(&mut self, why: PromptCancel) {
        match self.pending {
            None | Some(Pending::Abandoned) => {}
            Some(_) => {
                self.pending = Some(Pending::Abandoned);
                self.reply(Event::PromptCancelled(why));
            }
        }
    }

    /// Handles the answer to a prompt.
    async fn answer(&mut self, pending: Pending, text: String) {
        // The Enter that ended a hidden answer: show input again.
        self.reply(Event::HiddenInputEnd);
        match pending {
            Pending::Abandoned => {
                self.refuse(Refusal::AnswerDropped);
                self.user.outbox.release();
            }
            _ if text.is_empty() => {
                self.reply(Event::Cancelled);
                self.user.outbox.release();
            }
            Pending::RoomEntry { room, epoch } => {
                let (hash, now) = room.lock_state();
                if now != epoch && hash.is_some() {
                    // The answer was for the old password; it is no guess at the new one.
                    self.refuse(Refusal::PasswordChangedWhileTyping {
                        room: room.name().to_string(),
                    });
                    return self.user.outbox.release();
                }
                self.user.outbox.release();
                let join = Request::Join {
                    room: room.name().to_string(),
                    password: Some(text),
                };
                self.execute(join).await;
            }
            Pending::NewPassword { room, epoch } => {
                if room.lock_state().1 != epoch {
                    self.refuse(Refusal::PasswordChangedMeanwhile {
                        room: room.name().to_string(),
                    });
                    return self.user.outbox.release();
                }
                let prompt = Prompt::RepeatPassword {
                    room: room.name().to_string(),
                };
                let pending = Pending::RepeatPassword {
                    room,
                    first: text,
                    epoch,
                };
                self.ask_hidden(pending, prompt);
            }
            Pending::RepeatPassword { room, first, epoch } => {
                self.user.outbox.release();
                if first != text {
                    return self.refuse(Refusal::PasswordsDiffer);
                }
                let set = Request::SetPassword {
                    room: Some(room.name().to_string()),
                    password: Some(first),
                    if_epoch: Some(epoch),
                };
                self.execute(set).await;
            }
        }
    }
}

/// `:history [n]`: how many to show; more than the most is capped by the core.
fn history_count(count: Option<&str>) -> Result<usize, Refusal> {
    match count.map(str::parse::<usize>) {
        None => Ok(DEFAULT_HISTORY_COUNT),
        Some(Ok(count)) if count >= 1 => Ok(count),
        Some(_) => Err(Refusal::BadHistoryCount {
            max: MAX_HISTORY_COUNT,
        }),
    }
}
