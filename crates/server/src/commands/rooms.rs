//! Commands about rooms: `:cr` (with the password of a locked room), `:new`,
//! `:erm`, `:rooms`, `:who`.

use std::sync::Arc;

use banter_proto::event::{HistoryEntry, HistoryKind, LeaveReason, Prompt, PromptCancel};
use banter_proto::{Event, RoomName};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::room::{Entry, Room};
use crate::session::{Pending, Session};
use crate::store::{MessageKind, StoredMessage};

/// Messages `:history` shows without a number.
const DEFAULT_HISTORY_COUNT: usize = 20;
/// Most messages one `:history` shows.
const MAX_HISTORY_COUNT: usize = 200;

fn history_entry(message: &StoredMessage) -> HistoryEntry {
    HistoryEntry {
        at: message.at,
        kind: match message.kind {
            MessageKind::Emote => HistoryKind::Emote,
            MessageKind::ExtraRoom => HistoryKind::ExtraRoom,
            MessageKind::Chat | MessageKind::Private => HistoryKind::Chat,
        },
        from: message.sender.clone(),
        text: message.text.clone(),
        from_room: message.from_room.clone(),
    }
}

impl Session {
    /// Moves into `room` and out of the current one, and says so. Entering
    /// comes first: if the room was closed meanwhile, the user stays put.
    pub(crate) fn move_to(&mut self, room: Arc<Room>, created: bool) {
        let entry = match room.join(self.member()) {
            Ok(entry) => entry,
            Err(err) => return self.error(err.to_string()),
        };
        if let Some(old) = self.room.take() {
            old.leave(self.id, Some(LeaveReason::ChangedRoom));
        }
        self.reply(Event::Entered {
            room: room.name().to_string(),
            others: entry.others,
            created,
        });
        self.show_entry(&room, entry);
        self.room = Some(room);
    }

    /// What someone entering a room sees after the welcome: its topic, and its
    /// recent messages up to where the live feed starts.
    pub(crate) fn show_entry(&self, room: &Room, entry: Entry) {
        if entry.topic.is_some() {
            self.reply(Event::Topic {
                room: room.name().to_string(),
                topic: entry.topic,
            });
        }
        if !entry.recent.is_empty() {
            self.reply(Event::History {
                room: room.name().to_string(),
                entries: entry.recent.iter().map(history_entry).collect(),
                live_follows: true,
            });
        }
    }

    /// True if this connection may act in locked `room` without typing its
    /// password: it entered with the current password before.
    pub(super) fn has_grant(&self, room: &Room) -> bool {
        let (_, epoch) = room.lock_state();
        self.grants.get(room.name().key()) == Some(&epoch)
    }

    pub(super) fn change_room(&mut self, name: &str) {
        let Some(room) = self.hub.room(name) else {
            return self.error(format!(
                "there is no room {name}; create it with :new {name} or see :rooms"
            ));
        };
        if Arc::ptr_eq(&room, self.current_room()) {
            return self.error(format!("you are already in {}", room.name()));
        }
        let (hash, epoch) = room.lock_state();
        if hash.is_none() || self.has_grant(&room) {
            return self.move_to(room, false);
        }
        let key = room.name().key().to_owned();
        if self.invites.get(&key) == Some(&epoch) {
            // An invitation is good for one entry; it grants nothing else.
            self.invites.remove(&key);
            return self.move_to(room, false);
        }
        if let Err(wait) = self.lockout.check(&key, Instant::now()) {
            return self.error(format!(
                "too many wrong passwords for {}; try again in {} s",
                room.name(),
                wait.as_secs_f64().ceil()
            ));
        }
        let prompt = Prompt::RoomPassword {
            room: room.name().to_string(),
        };
        self.ask_hidden(Pending::RoomEntry { room, epoch }, prompt);
    }

    /// The answer to a room's password prompt shown at password `asked_epoch`.
    pub(super) async fn enter_with_password(
        &mut self,
        room: Arc<Room>,
        asked_epoch: u64,
        password: String,
    ) {
        let key = room.name().key().to_owned();
        let (hash, epoch) = room.lock_state();
        if epoch != asked_epoch && hash.is_some() {
            // The answer was for the old password; it is no guess at the new one.
            self.error(format!(
                "the password of {} changed while you typed; nothing happened. Try :cr {} again",
                room.name(),
                room.name()
            ));
            return self.outbox.release();
        }
        let entered = match hash {
            // Unlocked while the user was typing.
            None => true,
            Some(hash) => self.hub.passwords.verify(password, hash).await,
        };
        self.outbox.release();
        if entered {
            self.lockout.succeeded(&key);
            self.grants.insert(key, epoch);
            return self.move_to(room, false);
        }
        warn!(peer = %self.peer, room = %room.name(), "wrong room password");
        let here = self.current_room().name().to_string();
        if self.lockout.failed(&key, Instant::now()) {
            warn!(peer = %self.peer, room = %room.name(), "room password lockout");
            self.error(format!(
                "wrong password for {}; you are still in {here}. Too many tries: wait {} s before trying again",
                room.name(),
                self.hub.config.password_lockout
            ));
        } else {
            self.error(format!(
                "wrong password for {}; you are still in {here}",
                room.name()
            ));
        }
    }

    pub(super) async fn new_room(&mut self, name: &str) {
        let name = match RoomName::parse(name) {
            Ok(name) => name,
            Err(err) => return self.error(err.to_string()),
        };
        let room = match self.hub.create_room(name) {
            Ok(room) => room,
            Err(err) => return self.error(err.to_string()),
        };
        // Durable before anyone is told it exists.
        if let Err(err) = room.persist().await {
            self.hub.remove_room(&room);
            return self.error(err.to_string());
        }
        self.move_to(room, true);
    }

    pub(super) async fn history(&self, count: Option<&str>) {
        let count = match count.map(str::parse::<usize>) {
            None => DEFAULT_HISTORY_COUNT,
            Some(Ok(count)) if (1..=MAX_HISTORY_COUNT).contains(&count) => count,
            Some(_) => {
                return self.error(format!(
                    ":history takes a number from 1 to {MAX_HISTORY_COUNT}"
                ))
            }
        };
        let room = Arc::clone(self.current_room());
        let history = match self
            .hub
            .store
            .history(room.name().as_str(), count, None)
            .await
        {
            Ok(Ok(history)) => history,
            Ok(Err(err)) => return self.error(format!("history is unavailable: {err}")),
            Err(_) => return self.error("history is unavailable: the store has stopped".into()),
        };
        self.reply(Event::History {
            room: room.name().to_string(),
            entries: history.iter().map(history_entry).collect(),
            live_follows: false,
        });
    }

    /// `:close`: deletes the room and its history; everyone in it goes to the
    /// default room. Store first: a close the store refuses changes nothing.
    pub(super) async fn close_room(&mut self) {
        let room = Arc::clone(self.current_room());
        let members = match room.close(self.id).await {
            Ok(members) => members,
            Err(err) => {
                warn!(room = %room.name(), %err, "room not closed");
                return self.error(err.to_string());
            }
        };
        self.hub.remove_room(&room);
        info!(room = %room.name(), by = %self.nick(), "room closed");
        let by = self.nick().to_string();
        for id in members.into_iter().filter(|&id| id != self.id) {
            if let Some(user) = self.hub.user_by_id(id) {
                user.control.room_closed(Arc::clone(&room), by.clone());
            }
        }
        self.leave_closed_room(&room, by);
    }

    /// Tells the user their room was closed and moves them to the default room.
    pub(crate) fn leave_closed_room(&mut self, room: &Arc<Room>, by: String) {
        if !self
            .room
            .as_ref()
            .is_some_and(|here| Arc::ptr_eq(here, room))
        {
            return;
        }
        self.cancel_pending(PromptCancel::RoomClosed {
            room: room.name().to_string(),
        });
        self.room = None;
        self.reply(Event::RoomClosed {
            room: room.name().to_string(),
            by,
        });
        let lobby = Arc::clone(self.hub.default_room());
        self.move_to(lobby, false);
    }

    pub(super) fn extra_room(&mut self, name: &str, text: String) {
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
        if target.is_locked() && !self.has_grant(&target) {
            return self.error(format!(
                "{} is locked; only its members and those who entered it with its password can :erm it. Try :cr {} first",
                target.name(),
                target.name()
            ));
        }
        let mut message = self.message(MessageKind::ExtraRoom, text);
        message.room = target.name().to_string();
        message.from_room = Some(here.name().to_string());
        let members = target.say(message, None);
        self.reply(Event::ExtraRoomSent {
            to_room: target.name().to_string(),
            members,
        });
    }

    pub(super) fn rooms(&self) {
        let list = self.hub.room_summaries(self.room.as_ref());
        self.reply(Event::RoomList(list));
    }

    pub(super) fn who(&self, name: Option<&str>) {
        let room = match name {
            None => Arc::clone(self.current_room()),
            Some(name) => match self.hub.room(name) {
                Some(room) => room,
                None => return self.error(format!("there is no room {name} (see :rooms)")),
            },
        };
        self.reply(Event::Who {
            room: room.name().to_string(),
            members: room.who(),
        });
    }
}
