//! The text door's side of a connection: lines in, colon-commands turned
//! into core requests, hidden password prompts.
//!
//! The session engine (`doors::session`) reads, paces and ends the
//! connection; this [`Session`] handles each line it decodes with
//! [`LineCodec`]. A line is chat for the user's room, a colon-command, or
//! the answer to a prompt. Prompts are this door's way of taking a secret:
//! the core's requests carry the password itself. A prompt interrupted by a
//! kick, a closed room or the end of the session is ended here too.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use banter_proto::command::{parse, Setting};
use banter_proto::event::PromptCancel;
use banter_proto::modes::parse_mode_changes;
use banter_proto::request::{Request, SayKind};
use banter_proto::{Command, CommandSpec, Event, Input, Line, LineCodec, Refusal, TelnetCommand};
use bytes::BytesMut;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use super::render::{Prompt, Terminal, TextItem, TextRenderer};
use crate::config::Config;
use crate::core::{Control, Door, Payload, UserState, MAX_HISTORY_COUNT};
use crate::doors::session::{Decode, DoorSession, End};

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
    resumable: false,
};

/// An answer the session is waiting for; the next line is that answer, never
/// a command or chat. `epoch` is the room's password epoch when the prompt
/// was shown, passed back to the core with the answer: an answer to a
/// password that has changed since is refused.
#[derive(Debug)]
enum Pending {
    /// The password of a locked room the user wants to enter.
    RoomEntry {
        room: String,
        epoch: u64,
    },
    NewPassword {
        room: String,
        epoch: u64,
    },
    RepeatPassword {
        room: String,
        first: String,
        epoch: u64,
    },
    /// The password of the server operator `name` (`:oper`).
    Operator {
        name: String,
    },
    /// The prompt was cancelled (a kick, a closed room) while the user may
    /// still be typing the hidden answer: the next line is that secret, and
    /// it is dropped unread.
    Abandoned,
}

/// A text-door connection's state, owned by its task.
pub(crate) struct Session {
    user: UserState,
    pending: Option<Pending>,
    /// Set here (telnet answered the probe, `:set timestamps`), read by the
    /// writer's renderer.
    terminal: Arc<Terminal>,
}

impl DoorSession for Session {
    type Item = Input;
    type Renderer = TextRenderer;

    fn door(_config: &Config) -> Door {
        TEXT_DOOR
    }

    fn open(user: UserState, _shutdown: &CancellationToken) -> (Self, TextRenderer) {
        let terminal = Arc::new(Terminal::default());
        let renderer = TextRenderer::new(
            !user.hub.services.config.no_telnet_probe,
            Arc::clone(&terminal),
        );
        let session = Session {
            user,
            pending: None,
            terminal,
        };
        (session, renderer)
    }

    fn user(&mut self) -> &mut UserState {
        &mut self.user
    }

    fn greet(&mut self) {
        self.show(TextItem::Greeting);
        self.show(TextItem::Prompt(Prompt::Nick));
    }

    async fn handle_input(&mut self, input: Input) -> Option<End> {
        let text = match input {
            Input::Telnet(TelnetCommand::Will(TELNET_TTYPE)) => {
                self.terminal.telnet.store(true, Ordering::Relaxed);
                return None;
            }
            // Other negotiation changes nothing; the codec already took it out.
            Input::Telnet(_) => return None,
            Input::TooLong { limit } => {
                self.refuse(Refusal::LineTooLong { limit });
                return None;
            }
            Input::Line(text) => text,
        };
        if self.pending.is_some() || self.user.nick().is_none() {
            // Boxed: prompt answers, registration and commands (hashing,
            // store round trips) make large futures; the engine's box for
            // this one stays the size of the chat line's, nearly every line.
            Box::pin(self.answer_or_register(text)).await
        } else {
            match parse(&text) {
                Ok(Line::Chat(chat)) => {
                    self.chat(chat).await;
                    None
                }
                Ok(Line::Command(command)) => Box::pin(self.command(command)).await,
                Err(err) => {
                    self.refuse(err.into());
                    None
                }
            }
        }
    }

    /// A kick or a closed room cancels a prompt about it.
    fn before_control(&mut self, control: &Control) {
        if let Some(why) = self.user.removes_from_room(control) {
            self.cancel_pending(why);
        }
    }

    /// Shows typed input again if the session ended during a hidden answer.
    fn unfinished(&self) -> Option<Payload> {
        self.pending
            .is_some()
            .then(|| Payload::door(TextItem::HiddenInputCut))
    }
}

/// Lines, telnet negotiation and over-long lines' notices.
impl Decode for LineCodec {
    type Item = Input;

    fn decode(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Input>> {
        Decoder::decode(self, buffer)
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Input>> {
        Decoder::decode_eof(self, buffer)
    }
}

impl Session {
    fn reply(&mut self, event: Event) {
        self.user.reply(event);
    }

    /// Queues one of this door's own items, after everything queued so far.
    fn show(&self, item: TextItem) {
        self.user.outbox.reply_door(item);
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
    async fn chat(&mut self, text: &str) {
        if !text.trim().is_empty() {
            let said = self.user.say(None, SayKind::Chat, text).await;
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
            self.show(TextItem::Prompt(Prompt::Nick));
            return None;
        }
        let (name, room) = match text.split_once(':') {
            Some((name, room)) => (name, Some(room)),
            None => (text, None),
        };
        if let Err(refusal) = self.user.register(name, room).await {
            self.refuse(refusal);
            self.show(TextItem::Prompt(Prompt::Nick));
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
            Command::Exit => return Some(End::Quit(None)),
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
            Command::Whois(name) => Request::Whois { name },
            Command::Msg { to, text } => Request::Private {
                to,
                text,
                notice: false,
            },
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
            Command::Mode(None) => Request::Modes { room: None },
            Command::Mode(Some(changes)) => match parse_mode_changes(&changes) {
                Ok(changes) => Request::SetModes {
                    room: None,
                    changes,
                },
                Err(err) => {
                    self.refuse(Refusal::BadModes(err));
                    return None;
                }
            },
            Command::Voice { name, on } => Request::Voice {
                room: None,
                name,
                on,
            },
            Command::Ban { mask, on } => Request::Ban {
                room: None,
                mask,
                on,
            },
            Command::Bans(room) => Request::Bans { room },
            Command::Oper(name) => {
                let prompt = Prompt::OperatorPassword { name: name.clone() };
                self.ask_hidden(Pending::Operator { name }, prompt);
                return None;
            }
            Command::Kill { name, reason } => Request::Kill { name, reason },
            Command::ServerBan {
                mask,
                duration_secs,
                reason,
            } => Request::ServerBan {
                mask,
                duration_secs,
                reason,
            },
            Command::ServerUnban(mask) => Request::ServerUnban { mask },
            Command::ServerBans => Request::ServerBans,
            Command::Announce(text) => Request::Announce { text },
        };
        self.execute(request).await;
        None
    }

    fn help(&mut self, topic: Option<String>) {
        match topic {
            None => self.show(TextItem::Help(None)),
            Some(name) => {
                let name = name.trim_start_matches(':');
                match CommandSpec::find(name) {
                    Some(spec) => self.show(TextItem::Help(Some(spec))),
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
                self.show(TextItem::Timestamps(on));
            }
        }
    }

    /// `:cr`: enters a room, asking for its password (hidden) when it needs one.
    async fn change_room(&mut self, name: String) {
        let join = Request::Join {
            room: name.clone(),
            password: None,
            if_epoch: None,
            since: None,
        };
        match self.user.execute(join).await {
            Err(Refusal::PasswordNeeded { room }) => {
                let Ok(status) = self.user.room_status(&room) else {
                    return self.refuse(Refusal::NoSuchRoomToEnter { room: name });
                };
                let prompt = Prompt::RoomPassword {
                    room: status.room.clone(),
                };
                let pending = Pending::RoomEntry {
                    room: status.room,
                    epoch: status.password_epoch,
                };
                self.ask_hidden(pending, prompt);
            }
            other => self.user.answer(other),
        }
    }

    /// `:passwd`: asks a host for the new password, twice, hidden.
    fn ask_new_password(&mut self) {
        match self.user.may_set_password(None) {
            Ok((room, epoch)) => {
                let prompt = Prompt::NewPassword { room: room.clone() };
                self.ask_hidden(Pending::NewPassword { room, epoch }, prompt);
            }
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Asks for a hidden answer; nothing but replies reach the client until it comes.
    fn ask_hidden(&mut self, pending: Pending, prompt: Prompt) {
        self.user.outbox.hold();
        self.pending = Some(pending);
        self.show(TextItem::Prompt(prompt));
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
        self.show(TextItem::HiddenInputEnd);
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
                self.user.outbox.release();
                // Refused by the core if the password changed while it was typed.
                let join = Request::Join {
                    room,
                    password: Some(text),
                    if_epoch: Some(epoch),
                    since: None,
                };
                self.execute(join).await;
            }
            Pending::NewPassword { room, epoch } => {
                match self.user.room_status(&room) {
                    Ok(status) if status.password_epoch == epoch => {}
                    Ok(_) => {
                        self.refuse(Refusal::PasswordChangedMeanwhile { room });
                        return self.user.outbox.release();
                    }
                    Err(refusal) => {
                        self.refuse(refusal);
                        return self.user.outbox.release();
                    }
                }
                let prompt = Prompt::RepeatPassword { room: room.clone() };
                let pending = Pending::RepeatPassword {
                    room,
                    first: text,
                    epoch,
                };
                self.ask_hidden(pending, prompt);
            }
            Pending::Operator { name } => {
                self.user.outbox.release();
                let oper = Request::Oper {
                    name,
                    password: text,
                };
                self.execute(oper).await;
            }
            Pending::RepeatPassword { room, first, epoch } => {
                self.user.outbox.release();
                if first != text {
                    return self.refuse(Refusal::PasswordsDiffer);
                }
                let set = Request::SetPassword {
                    room: Some(room),
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
