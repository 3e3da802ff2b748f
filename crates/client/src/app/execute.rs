//! A typed line: parsed by [`crate::commands`], then carried out as
//! requests or as the client's own actions.

use super::lines::too_long;
use super::{Answer, App, Effect, Fetch, Pending, Prompt, HISTORY_DEFAULT, MAX_LINE_BYTES};
use crate::commands::{self, Command};
use crate::protocol::Request;
use crate::secret::Secret;
use crate::state::Kind;

impl App {
    pub(super) fn submit(&mut self) {
        let line = self.editor.take();
        if line.trim().is_empty() {
            return;
        }
        self.history.push(&line);
        let here = self.conversations.selected;
        match commands::parse(&line) {
            // Given back selected: typing replaces it, the arrows edit it.
            Err(why) => {
                self.error(here, why);
                self.editor.set_selected(&line);
            }
            Ok(command) => {
                if said(&command).is_some_and(too_long) {
                    let bytes = said(&command).map_or(0, str::len);
                    self.error(
                        here,
                        format!(
                            "that line is {bytes} bytes, more than the server takes \
                             ({MAX_LINE_BYTES}); it is still in the input to shorten"
                        ),
                    );
                    self.editor.set(&line);
                    return;
                }
                if said(&command).is_some() && !self.online {
                    self.notice(
                        here,
                        "not connected: the line will be sent once reconnected",
                    );
                } else if needs_server(&command) && !self.online {
                    self.error(
                        here,
                        "not connected: the line was kept; Enter sends it once reconnected",
                    );
                    self.editor.set(&line);
                    return;
                }
                let conversation = self.conversations.current_mut();
                conversation.scroll = 0;
                conversation.new_below = 0;
                self.execute(command);
            }
        }
    }

    /// The room on screen for a line to be said: one we are in, or were in
    /// when the connection was lost (the line waits for the rejoin).
    fn line_room(&mut self) -> Option<String> {
        let conversation = self.conversations.current();
        if conversation.kind == Kind::Room && conversation.rejoin {
            return Some(conversation.name.clone());
        }
        self.current_room()
    }

    /// The room on screen, or an error line saying a room is needed.
    fn current_room(&mut self) -> Option<String> {
        let conversation = self.conversations.current();
        if conversation.kind == Kind::Room && conversation.joined {
            return Some(conversation.name.clone());
        }
        let here = self.conversations.selected;
        self.error(
            here,
            "this needs a room you are in: switch to one (Alt-1..9) or :cr ROOM",
        );
        None
    }

    pub(super) fn say(&mut self, text: String, emote: bool) {
        self.say_line(text, emote, false);
    }

    /// Queues `text` for the conversation on screen (`pasted`: one line of
    /// a paste).
    pub(super) fn say_line(&mut self, text: String, emote: bool, pasted: bool) {
        let conversation = self.conversations.current();
        match conversation.kind {
            Kind::Private if !emote => {
                let to = conversation.name.clone();
                self.queue_line(
                    Request::Msg {
                        to: to.clone(),
                        text,
                        nonce: None,
                    },
                    Pending::Msg { to },
                    pasted,
                );
            }
            _ => {
                let Some(room) = self.line_room() else {
                    return;
                };
                let request = if emote {
                    Request::Emote {
                        room: room.clone(),
                        text: text.clone(),
                        nonce: None,
                    }
                } else {
                    Request::Say {
                        room: room.clone(),
                        text: text.clone(),
                        nonce: None,
                    }
                };
                self.queue_line(request, Pending::Say { room, text, emote }, pasted);
            }
        }
    }

    fn room_request(&mut self, make: impl FnOnce(String) -> Request) {
        if let Some(room) = self.current_room() {
            self.request(make(room.clone()), Pending::Room { room });
        }
    }

    pub(super) fn execute(&mut self, command: Command) {
        let here = self.conversations.selected;
        match command {
            Command::Say(text) => self.say(text, false),
            Command::Me(text) => self.say(text, true),
            Command::Join(room) => match self.conversations.find(Kind::Room, &room) {
                Some(index) if self.conversations.list[index].joined => {
                    self.conversations.select(index);
                }
                _ => {
                    let password = self
                        .conversations
                        .room(&room)
                        .and_then(|c| c.password.clone());
                    self.request(
                        Request::Join {
                            room: room.clone(),
                            password: password.clone(),
                            since: None,
                        },
                        Pending::Join {
                            room,
                            password,
                            rejoin: false,
                        },
                    );
                }
            },
            Command::Create(room) => {
                self.request(
                    Request::Create { room: room.clone() },
                    Pending::Create { room },
                );
            }
            Command::ExtraRoom { room, text } => match self.conversations.find(Kind::Room, &room) {
                Some(index)
                    if self.conversations.list[index].joined
                        || self.conversations.list[index].rejoin =>
                {
                    let room = self.conversations.list[index].name.clone();
                    self.notice(here, format!("sent to {room}"));
                    self.queue_line(
                        Request::Say {
                            room: room.clone(),
                            text: text.clone(),
                            nonce: None,
                        },
                        Pending::Say {
                            room,
                            text,
                            emote: false,
                        },
                        false,
                    );
                }
                // Into a room we are not in, from the one on screen.
                _ => {
                    if let Some(from_room) = self.line_room() {
                        self.queue_line(
                            Request::SayElsewhere {
                                room,
                                from_room: from_room.clone(),
                                text,
                                nonce: None,
                            },
                            Pending::Room { room: from_room },
                            false,
                        );
                    }
                }
            },
            Command::Msg { to, text } => {
                self.conversations.open(Kind::Private, &to);
                let index = self
                    .conversations
                    .find(Kind::Private, &to)
                    .expect("just opened");
                self.conversations.select(index);
                if let Some(text) = text {
                    self.say(text, false);
                }
            }
            Command::Nick(name) => self.request(Request::Nick { name }, Pending::General),
            Command::Topic(topic) => self.room_request(|room| Request::Topic { room, topic }),
            Command::Who(None) => self.room_request(|room| Request::Who { room }),
            Command::Who(Some(room)) if room == "*" => {
                self.request(Request::Users, Pending::General);
            }
            Command::Who(Some(room)) => {
                self.request(Request::Who { room: room.clone() }, Pending::Room { room });
            }
            Command::Whois(name) => self.request(Request::Whois { name }, Pending::General),
            Command::Rooms => self.request(Request::Rooms, Pending::General),
            Command::HostAdd(name) => self.room_request(|room| Request::HostAdd { room, name }),
            Command::HostRemove(name) => {
                self.room_request(|room| Request::HostRemove { room, name });
            }
            Command::Password { off: true } => {
                self.room_request(|room| Request::RemovePassword { room });
            }
            Command::Password { off: false } => {
                if let Some(room) = self.current_room() {
                    self.prompt = Some(Prompt {
                        label: format!("new password for {room}"),
                        secret: Secret::default(),
                        purpose: Answer::NewPassword { room },
                    });
                }
            }
            Command::Kick { name, reason } => {
                self.room_request(|room| Request::Kick { room, name, reason });
            }
            Command::Invite(name) => self.room_request(|room| Request::Invite { room, name }),
            Command::History(count) => {
                if let Some(room) = self.current_room() {
                    let limit = count.unwrap_or(HISTORY_DEFAULT);
                    self.request(
                        Request::History {
                            room: room.clone(),
                            limit: Some(limit),
                            before: None,
                        },
                        Pending::History {
                            room,
                            purpose: Fetch::Command,
                            limit,
                        },
                    );
                }
            }
            Command::Close => self.room_request(|room| Request::Close { room }),
            Command::Mode(None) => self.room_request(|room| Request::Modes { room }),
            Command::Mode(Some(changes)) => {
                for (mode, on) in changes {
                    let mode = mode.to_owned();
                    self.room_request(|room| Request::SetMode { room, mode, on });
                }
            }
            Command::Voice { name, on } => {
                self.room_request(|room| Request::Voice { room, name, on });
            }
            Command::Ban { mask, on: true } => {
                self.room_request(|room| Request::Ban { room, mask });
            }
            Command::Ban { mask, on: false } => {
                self.room_request(|room| Request::Unban { room, mask });
            }
            Command::Bans(None) => self.room_request(|room| Request::Bans { room }),
            Command::Bans(Some(room)) => {
                self.request(Request::Bans { room: room.clone() }, Pending::Room { room });
            }
            Command::Part(Some(room)) => {
                self.request(
                    Request::Part {
                        room: room.clone(),
                        message: None,
                    },
                    Pending::Room { room },
                );
            }
            Command::Part(None) => {
                let conversation = self.conversations.current();
                match conversation.kind {
                    Kind::Private => self.conversations.close(here),
                    Kind::Room if !conversation.joined => self.conversations.close(here),
                    _ => self.room_request(|room| Request::Part {
                        room,
                        message: None,
                    }),
                }
            }
            Command::Members => self.show_members = !self.show_members,
            Command::Help => {
                for line in HELP_KEYS {
                    self.info(here, *line);
                }
                for spec in commands::commands() {
                    let mut usage = format!(":{} {}", spec.name, spec.usage)
                        .trim_end()
                        .to_owned();
                    for alias in spec.names().skip(1) {
                        usage.push_str(&format!(" :{alias}"));
                    }
                    self.info(here, format!("  {usage}  {}", spec.help));
                }
            }
            Command::Quit => {
                self.quit = true;
                self.effects.push(Effect::Quit);
            }
        }
    }
}

/// The text a command says, when it is a line to be said (queued, paced,
/// sent again after a reconnect, so it may be typed offline).
fn said(command: &Command) -> Option<&str> {
    match command {
        Command::Say(text)
        | Command::Me(text)
        | Command::ExtraRoom { text, .. }
        | Command::Msg {
            text: Some(text), ..
        } => Some(text),
        _ => None,
    }
}

/// Whether a command needs the connection (the others are the client's own).
fn needs_server(command: &Command) -> bool {
    !matches!(
        command,
        Command::Members
            | Command::Help
            | Command::Quit
            | Command::Msg { text: None, .. }
            | Command::Part(None)
    )
}

/// The keys, as `:help` shows them.
const HELP_KEYS: &[&str] = &[
    "keys:",
    "  Enter sends; a line starting with :: sends one starting with ':'",
    "  /join #room is :join room (the IRC habit, any command); //join sends '/join'",
    "  Alt-1..9, Ctrl-N / Ctrl-P: switch conversations; Alt-A: the next with unread lines",
    "  PgUp / PgDn, mouse wheel: scroll (past the top loads older history)",
    "  Tab: complete nicks, commands, rooms; Up / Down: lines sent before",
    "  Ctrl-A / Ctrl-E: start / end; Alt-B / Alt-F: a word back / on",
    "  Ctrl-K / Ctrl-U / Ctrl-W: delete to the end / to the start / a word",
    "  F2: members on / off; Ctrl-L: redraw; Esc: cancel a password prompt; Ctrl-C: quit",
    "commands (aliases after the arguments):",
];
