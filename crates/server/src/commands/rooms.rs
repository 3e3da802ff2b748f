//! Commands about rooms: `:cr` (with the password of a locked room), `:new`,
//! `:erm`, `:rooms`, `:who`.

use std::sync::Arc;

use banter_proto::event::{LeaveReason, Prompt};
use banter_proto::{Event, RoomName};
use tokio::time::Instant;
use tracing::warn;

use crate::room::Room;
use crate::session::{Pending, Session};

impl Session {
    /// Leaves the current room for `room` and says so.
    pub(crate) fn move_to(&mut self, room: Arc<Room>, created: bool) {
        if let Some(old) = self.room.take() {
            old.leave(self.id, Some(LeaveReason::ChangedRoom));
        }
        let entry = room.join(self.member());
        self.reply(Event::Entered {
            room: room.name().to_string(),
            others: entry.others,
            created,
        });
        if entry.topic.is_some() {
            self.reply(Event::Topic {
                room: room.name().to_string(),
                topic: entry.topic,
            });
        }
        self.room = Some(room);
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
        self.ask_hidden(Pending::RoomEntry { room }, prompt);
    }

    /// The answer to a room's password prompt.
    pub(super) async fn enter_with_password(&mut self, room: Arc<Room>, password: String) {
        let key = room.name().key().to_owned();
        let (hash, epoch) = room.lock_state();
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

    pub(super) fn new_room(&mut self, name: &str) {
        let name = match RoomName::parse(name) {
            Ok(name) => name,
            Err(err) => return self.error(err.to_string()),
        };
        match self.hub.create_room(name) {
            Ok(room) => self.move_to(room, true),
            Err(err) => self.error(err.to_string()),
        }
    }

    pub(super) fn extra_room(&self, name: &str, text: String) {
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
        let members = target.broadcast(
            Event::ExtraRoom {
                to_room: target.name().to_string(),
                from_room: here.name().to_string(),
                from: self.nick().to_string(),
                text,
            },
            None,
        );
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
