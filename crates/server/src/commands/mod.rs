//! What each line does: registration, chat, and every colon-command, one
//! family per file (`rooms`, `users`, `hosts`).
//!
//! Each handler checks everything first and changes state only when it can
//! succeed, so a failed command leaves things as they were and answers with
//! exactly one `error:` line. A line that answers a prompt (a password) is
//! never parsed as a command.

mod hosts;
mod rooms;
mod users;

use std::sync::Arc;

use banter_proto::command::parse;
use banter_proto::event::{Prompt, PromptCancel};
use banter_proto::{Command, CommandSpec, Event, Line, Nick, RoomName};

use std::time::Duration;

use tokio::time::Instant;

use crate::hub::User;
use crate::room::{now_millis, Member, Room};
use crate::session::{End, Pending, Session};
use crate::store::{MessageKind, StoredMessage};

/// How often a user is reminded that the store is failing while it lasts.
const STORE_PROBLEM_REMINDER: Duration = Duration::from_secs(60);

impl Session {
    /// Handles one line of client input; returns how the session ends, if it does.
    pub(crate) async fn handle_line(&mut self, text: String) -> Option<End> {
        if let Some(pending) = self.pending.take() {
            self.answer(pending, text).await;
            return None;
        }
        if self.nick.is_none() {
            return self.register(&text).await;
        }
        match parse(&text) {
            Ok(Line::Chat(chat)) => self.chat(chat),
            Ok(Line::Command(command)) => return self.execute(command).await,
            Err(err) => self.error(err.to_string()),
        }
        None
    }

    pub(crate) fn nick(&self) -> &Nick {
        self.nick.as_ref().expect("registered")
    }

    pub(crate) fn member(&self) -> Member {
        Member {
            id: self.id,
            nick: self.nick().clone(),
            outbox: Arc::clone(&self.outbox),
        }
    }

    pub(crate) fn current_room(&self) -> &Arc<Room> {
        self.room
            .as_ref()
            .expect("a registered session is always in a room")
    }

    /// Before a name is chosen: a name (or `name:room`), `:help` or `:exit`.
    async fn register(&mut self, text: &str) -> Option<End> {
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
        if let Err(err) = self.try_register(text).await {
            self.error(err);
            self.reply(Event::Prompt(Prompt::Nick));
        }
        None
    }

    async fn try_register(&mut self, text: &str) -> Result<(), String> {
        let (name, room) = match text.split_once(':') {
            Some((name, room)) => (name, Some(room)),
            None => (text, None),
        };
        let nick = Nick::parse(name).map_err(|err| err.to_string())?;
        let room_name = room
            .map(RoomName::parse)
            .transpose()
            .map_err(|err| err.to_string())?;
        if let Some(locked) = room_name
            .as_ref()
            .and_then(|name| self.hub.room(name.as_str()))
            .filter(|room| room.is_locked())
        {
            return Err(format!(
                "{} is locked; choose just a name, then :cr {} and enter its password",
                locked.name(),
                locked.name()
            ));
        }
        self.hub
            .register(User {
                id: self.id,
                nick: nick.clone(),
                outbox: Arc::clone(&self.outbox),
                control: Arc::clone(&self.control),
            })
            .map_err(|err| err.to_string())?;
        let room = match room_name {
            None => Ok(Arc::clone(self.hub.default_room())),
            Some(name) => self.open_room(name).await,
        };
        let joined = room.and_then(|room| {
            let entry = room
                .join(Member {
                    id: self.id,
                    nick: nick.clone(),
                    outbox: Arc::clone(&self.outbox),
                })
                .map_err(|err| err.to_string())?;
            Ok((room, entry))
        });
        let (room, entry) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                self.hub.unregister(self.id, &nick);
                return Err(err);
            }
        };
        self.nick = Some(nick.clone());
        self.reply(Event::Welcome {
            nick: nick.to_string(),
            room: room.name().to_string(),
            others: entry.others,
        });
        self.show_entry(&room, entry);
        self.room = Some(room);
        Ok(())
    }

    /// The room `name:room` asks for, created (and stored) if it does not exist.
    async fn open_room(&self, name: RoomName) -> Result<Arc<Room>, String> {
        let (room, created) = self
            .hub
            .room_or_create(name)
            .map_err(|err| err.to_string())?;
        if created {
            if let Err(err) = room.persist().await {
                self.hub.remove_room(&room);
                return Err(err.to_string());
            }
        }
        Ok(room)
    }

    async fn execute(&mut self, command: Command) -> Option<End> {
        match command {
            Command::Help(topic) => self.help(topic),
            Command::Exit => return Some(End::Exit),
            Command::ChangeRoom(name) => self.change_room(&name),
            Command::NewRoom(name) => self.new_room(&name).await,
            Command::ExtraRoom { room, text } => self.extra_room(&room, text),
            Command::Rooms => self.rooms(),
            Command::Who(room) => self.who(room.as_deref()),
            Command::Msg { to, text } => self.private(&to, text),
            Command::Nick(name) => self.change_nick(&name),
            Command::Me(action) => self.emote(action),
            Command::HostAdd(name) => self.host_add(&name),
            Command::HostRemove(name) => self.host_remove(&name),
            Command::Password { remove: false } => self.ask_new_password(),
            Command::Password { remove: true } => self.remove_password().await,
            Command::Kick { name, reason } => self.kick(&name, reason),
            Command::Topic(topic) => self.topic(topic).await,
            Command::Invite(name) => self.invite(&name),
            Command::History(count) => self.history(count.as_deref()).await,
            Command::Close => self.close_room().await,
        }
        self.report_store_problem();
        None
    }

    fn chat(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let message = self.message(MessageKind::Chat, text.to_owned());
        self.current_room().say(message, Some(self.id));
        self.report_store_problem();
    }

    /// A message from this user, said now in their room.
    pub(crate) fn message(&self, kind: MessageKind, text: String) -> StoredMessage {
        StoredMessage {
            id: 0,
            room: self.current_room().name().to_string(),
            sender: self.nick().to_string(),
            text,
            kind,
            at: now_millis(),
            from_room: None,
            recipient: None,
        }
    }

    /// Tells the user that messages are not being saved, at most once per
    /// [`STORE_PROBLEM_REMINDER`] while the problem lasts.
    pub(crate) fn report_store_problem(&mut self) {
        let Some(problem) = self.hub.store.problem() else {
            return;
        };
        let now = Instant::now();
        if self
            .store_problem_told
            .is_some_and(|told| now.duration_since(told) < STORE_PROBLEM_REMINDER)
        {
            return;
        }
        self.store_problem_told = Some(now);
        self.error(format!("history is not being saved right now: {problem}"));
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

    /// Handles the answer to a prompt.
    async fn answer(&mut self, pending: Pending, text: String) {
        // The Enter that ended a hidden answer: show input again.
        self.reply(Event::HiddenInputEnd);
        match pending {
            Pending::Abandoned => {
                self.reply(Event::AnswerDropped);
                self.outbox.release();
            }
            _ if text.is_empty() => {
                self.reply(Event::Cancelled);
                self.outbox.release();
            }
            Pending::RoomEntry { room, epoch } => self.enter_with_password(room, epoch, text).await,
            Pending::NewPassword { room, epoch } => self.repeat_new_password(room, epoch, text),
            Pending::RepeatPassword { room, first, epoch } => {
                self.set_password(room, epoch, first, text).await
            }
        }
    }

    /// Asks for a hidden answer; nothing but replies reach the client until it comes.
    pub(crate) fn ask_hidden(&mut self, pending: Pending, prompt: Prompt) {
        self.outbox.hold();
        self.pending = Some(pending);
        self.reply(Event::Prompt(prompt));
    }

    /// Gives up on a pending hidden answer (kicked meanwhile, for one). The
    /// user may be typing the secret right now: input stays hidden and the
    /// next line is dropped unread (see [`Pending::Abandoned`]).
    pub(crate) fn cancel_pending(&mut self, why: PromptCancel) {
        match self.pending {
            None | Some(Pending::Abandoned) => {}
            Some(_) => {
                self.pending = Some(Pending::Abandoned);
                self.reply(Event::PromptCancelled(why));
            }
        }
    }
}
