//! What each line does: registration, chat, and every colon-command.
//!
//! Each handler checks everything first and changes state only when it can
//! succeed, so a failed command leaves things as they were and answers with
//! exactly one `error:` line.

use std::sync::Arc;

use banter_proto::command::parse;
use banter_proto::event::{LeaveReason, Prompt};
use banter_proto::{Command, CommandSpec, Event, Line, Nick, RoomName};

use crate::hub::User;
use crate::room::{Member, Room};
use crate::session::{End, Session};

impl Session {
    /// Handles one line of client input; returns how the session ends, if it does.
    pub(crate) fn handle_line(&mut self, text: &str) -> Option<End> {
        if self.nick.is_none() {
            return self.register(text);
        }
        match parse(text) {
            Ok(Line::Chat(chat)) => self.chat(chat),
            Ok(Line::Command(command)) => return self.execute(command),
            Err(err) => self.error(err.to_string()),
        }
        None
    }

    fn member(&self) -> Member {
        Member {
            id: self.id,
            nick: self.nick.clone().expect("registered"),
            outbox: Arc::clone(&self.outbox),
        }
    }

    fn current_room(&self) -> &Arc<Room> {
        self.room
            .as_ref()
            .expect("a registered session is always in a room")
    }

    /// Before a name is chosen: a name (or `name:room`), `:help` or `:exit`.
    fn register(&mut self, text: &str) -> Option<End> {
        let text = text.trim();
        if text.starts_with(':') {
            match parse(text) {
                Ok(Line::Command(Command::Help(topic))) => self.help(topic),
                Ok(Line::Command(Command::Exit)) => return Some(End::Exit),
                Ok(_) => self.error(
                    "choose a screen name first; before that only :help and :exit work".into(),
                ),
                Err(err) => self.error(err.to_string()),
            }
            self.reply(Event::Prompt(Prompt::Nick));
            return None;
        }
        if let Err(err) = self.try_register(text) {
            self.error(err);
            self.reply(Event::Prompt(Prompt::Nick));
        }
        None
    }

    fn try_register(&mut self, text: &str) -> Result<(), String> {
        let (name, room) = match text.split_once(':') {
            Some((name, room)) => (name, Some(room)),
            None => (text, None),
        };
        let nick = Nick::parse(name).map_err(|err| err.to_string())?;
        let room_name = room
            .map(RoomName::parse)
            .transpose()
            .map_err(|err| err.to_string())?;
        self.hub
            .register(User {
                id: self.id,
                nick: nick.clone(),
                outbox: Arc::clone(&self.outbox),
            })
            .map_err(|err| err.to_string())?;
        let room = match room_name {
            None => Arc::clone(self.hub.default_room()),
            Some(name) => match self.hub.room_or_create(name) {
                Ok(room) => room,
                Err(err) => {
                    self.hub.unregister(self.id, &nick);
                    return Err(err.to_string());
                }
            },
        };
        self.nick = Some(nick.clone());
        let others = room.join(self.member());
        self.reply(Event::Welcome {
            nick: nick.to_string(),
            room: room.name().to_string(),
            others,
        });
        self.room = Some(room);
        Ok(())
    }

    fn execute(&mut self, command: Command) -> Option<End> {
        match command {
            Command::Help(topic) => self.help(topic),
            Command::Exit => return Some(End::Exit),
            Command::ChangeRoom(name) => self.change_room(&name),
            Command::NewRoom(name) => self.new_room(&name),
            Command::ExtraRoom { room, text } => self.extra_room(&room, text),
            Command::Rooms => {
                let list = self.hub.room_summaries(self.room.as_ref());
                self.reply(Event::RoomList(list));
            }
            Command::Who(room) => self.who(room.as_deref()),
            Command::Msg { to, text } => self.private(&to, text),
            Command::Nick(name) => self.change_nick(&name),
            Command::Me(action) => {
                let room = self.current_room();
                let emote = Event::Emote {
                    room: room.name().to_string(),
                    from: self.nick.as_ref().expect("registered").to_string(),
                    text: action,
                };
                // The sender sees their emote too: ":me waves" on their screen is not what others see.
                room.broadcast(emote, None);
            }
        }
        None
    }

    fn chat(&self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let room = self.current_room();
        room.broadcast(
            Event::Chat {
                room: room.name().to_string(),
                from: self.nick.as_ref().expect("registered").to_string(),
                text: text.to_owned(),
            },
            Some(self.id),
        );
    }

    fn help(&self, topic: Option<String>) {
        match topic {
            None => self.reply(Event::Help { command: None }),
            Some(name) => match CommandSpec::find(name.trim_start_matches(':')) {
                Some(spec) => self.reply(Event::Help {
                    command: Some(spec),
                }),
                None => self.error(format!(
                    "there is no command :{} (type :h to list them)",
                    name.trim_start_matches(':')
                )),
            },
        }
    }

    /// Leaves the current room for `room` and says so.
    fn move_to(&mut self, room: Arc<Room>, created: bool) {
        if let Some(old) = self.room.take() {
            old.leave(self.id, Some(LeaveReason::ChangedRoom));
        }
        let others = room.join(self.member());
        self.reply(Event::Entered {
            room: room.name().to_string(),
            others,
            created,
        });
        self.room = Some(room);
    }

    fn change_room(&mut self, name: &str) {
        let Some(room) = self.hub.room(name) else {
            return self.error(format!(
                "there is no room {name}; create it with :new {name} or see :rooms"
            ));
        };
        if Arc::ptr_eq(&room, self.current_room()) {
            return self.error(format!("you are already in {}", room.name()));
        }
        self.move_to(room, false);
    }

    fn new_room(&mut self, name: &str) {
        let name = match RoomName::parse(name) {
            Ok(name) => name,
            Err(err) => return self.error(err.to_string()),
        };
        match self.hub.create_room(name) {
            Ok(room) => self.move_to(room, true),
            Err(err) => self.error(err.to_string()),
        }
    }

    fn extra_room(&self, name: &str, text: String) {
        let Some(target) = self.hub.room(name) else {
            return self.error(format!("there is no room {name} (see :rooms)"));
        };
        let here = self.current_room();
        if Arc::ptr_eq(&target, here) {
            return self.error(format!(
                "you are in {}; just type your message",
                here.name()
            ));
        }
        let members = target.broadcast(
            Event::ExtraRoom {
                to_room: target.name().to_string(),
                from_room: here.name().to_string(),
                from: self.nick.as_ref().expect("registered").to_string(),
                text,
            },
            None,
        );
        self.reply(Event::ExtraRoomSent {
            to_room: target.name().to_string(),
            members,
        });
    }

    fn who(&self, name: Option<&str>) {
        let room = match name {
            None => Arc::clone(self.current_room()),
            Some(name) => match self.hub.room(name) {
                Some(room) => room,
                None => return self.error(format!("there is no room {name} (see :rooms)")),
            },
        };
        self.reply(Event::Who {
            room: room.name().to_string(),
            members: room.member_names(),
        });
    }

    fn private(&self, to: &str, text: String) {
        let Some(user) = self.hub.user(to) else {
            return self.error(format!("nobody named {to} is connected (see :who)"));
        };
        if user.id == self.id {
            return self.error("that is you; :msg sends to someone else".into());
        }
        let from = self.nick.as_ref().expect("registered").to_string();
        user.outbox
            .offer(crate::render::Delivery::new(Event::Private {
                from,
                text: text.clone(),
            }));
        self.reply(Event::PrivateSent {
            to: user.nick.to_string(),
            text,
        });
    }

    fn change_nick(&mut self, name: &str) {
        let new = match Nick::parse(name) {
            Ok(nick) => nick,
            Err(err) => return self.error(err.to_string()),
        };
        let old = self.nick.clone().expect("registered");
        if new.as_str() == old.as_str() {
            return self.error(format!("you are already {old}"));
        }
        if let Err(err) = self.hub.rename(self.id, &old, &new) {
            return self.error(err.to_string());
        }
        self.nick = Some(new.clone());
        self.current_room().rename(self.id, &new);
        self.reply(Event::NickSet {
            nick: new.to_string(),
        });
    }
}
