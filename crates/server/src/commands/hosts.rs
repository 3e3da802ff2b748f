//! Host commands (`:hostadd`, `:hostrm`, `:passwd`, `:unlock`, `:kick`,
//! `:topic`, `:invite`) and the requests they send to other sessions.
//!
//! A kick or an invite changes another user's state, which only that user's
//! session may touch: the host's session checks the rules and sends a
//! [`Control`] request; the target's session carries it out.

use std::sync::Arc;

use banter_proto::event::{LeaveReason, Prompt, PromptCancel};
use banter_proto::Event;
use tracing::{info, warn};

use crate::control::Control;
use crate::room::{Room, RoomError};
use crate::session::{Pending, Session};

impl Session {
    pub(super) fn host_add(&self, name: &str) {
        if let Err(err) = self.current_room().add_host(self.id, self.nick(), name) {
            self.error(err.to_string());
        }
    }

    pub(super) fn host_remove(&self, name: &str) {
        if let Err(err) = self.current_room().remove_host(self.id, self.nick(), name) {
            self.error(err.to_string());
        }
    }

    pub(super) async fn topic(&self, topic: Option<String>) {
        let room = self.current_room();
        match topic {
            None => self.reply(Event::Topic {
                room: room.name().to_string(),
                topic: room.topic(),
            }),
            Some(topic) => {
                if let Err(err) = room.set_topic(self.id, self.nick(), topic).await {
                    self.error(err.to_string());
                }
            }
        }
    }

    pub(super) fn ask_new_password(&mut self) {
        let room = Arc::clone(self.current_room());
        if let Err(err) = room.check_host(self.id) {
            return self.error(err.to_string());
        }
        let prompt = Prompt::NewPassword {
            room: room.name().to_string(),
        };
        let (_, epoch) = room.lock_state();
        self.ask_hidden(Pending::NewPassword { room, epoch }, prompt);
    }

    pub(super) fn repeat_new_password(&mut self, room: Arc<Room>, epoch: u64, first: String) {
        if room.lock_state().1 != epoch {
            self.error(RoomError::PasswordChanged(room.name().to_string()).to_string());
            return self.outbox.release();
        }
        let prompt = Prompt::RepeatPassword {
            room: room.name().to_string(),
        };
        self.ask_hidden(Pending::RepeatPassword { room, first, epoch }, prompt);
    }

    pub(super) async fn set_password(
        &mut self,
        room: Arc<Room>,
        epoch: u64,
        first: String,
        second: String,
    ) {
        self.outbox.release();
        if first != second {
            return self.error("the two passwords did not match; nothing changed".into());
        }
        let hash = match self.hub.passwords.hash(first).await {
            Ok(hash) => hash,
            Err(err) => {
                warn!(%err, "password hashing failed");
                return self.error("the password could not be set; try again".into());
            }
        };
        match room
            .set_password(self.id, self.nick(), Some(hash), epoch)
            .await
        {
            Ok(epoch) => {
                info!(room = %room.name(), by = %self.nick(), "room locked");
                self.grants.insert(room.name().key().to_owned(), epoch);
            }
            Err(err) => self.error(err.to_string()),
        }
    }

    pub(super) async fn remove_password(&self) {
        let room = self.current_room();
        if let Err(err) = room.check_host(self.id) {
            return self.error(err.to_string());
        }
        if !room.is_locked() {
            return self.error(format!("{} has no password", room.name()));
        }
        let (_, epoch) = room.lock_state();
        if let Err(err) = room.set_password(self.id, self.nick(), None, epoch).await {
            self.error(err.to_string());
        }
    }

    pub(super) fn kick(&self, name: &str, reason: Option<String>) {
        let room = self.current_room();
        let target = match room.kick_target(self.id, name) {
            Ok(target) => target,
            Err(err) => return self.error(err.to_string()),
        };
        let Some(user) = self.hub.user(name).filter(|user| user.id == target) else {
            return self.error(format!("{name} has just left"));
        };
        let request = Control::Kicked {
            room: Arc::clone(room),
            by: self.nick().to_string(),
            reason,
        };
        if user.control.try_send(request).is_err() {
            self.error(format!("{name} is busy; try again in a moment"));
        }
    }

    pub(super) fn invite(&self, name: &str) {
        let room = self.current_room();
        if let Err(err) = room.check_host(self.id) {
            return self.error(err.to_string());
        }
        let (hash, epoch) = room.lock_state();
        if hash.is_none() {
            return self.error(format!(
                "{} has no password; anyone can :cr {} already",
                room.name(),
                room.name()
            ));
        }
        let Some(user) = self.hub.user(name) else {
            return self.error(format!("nobody named {name} is connected (see :who)"));
        };
        if room.is_member(user.id) {
            return self.error(format!("{} is already in {}", user.nick, room.name()));
        }
        let request = Control::Invited {
            room: Arc::clone(room),
            by: self.nick().to_string(),
            epoch,
        };
        if user.control.try_send(request).is_err() {
            return self.error(format!("{name} is busy; try again in a moment"));
        }
        self.reply(Event::InviteSent {
            room: room.name().to_string(),
            nick: user.nick.to_string(),
        });
    }

    /// Carries out another session's request on this one.
    pub(crate) fn handle_control(&mut self, request: Control) {
        match request {
            Control::Kicked { room, by, reason } => {
                let here = self.room.as_ref().is_some_and(|r| Arc::ptr_eq(r, &room));
                if !here {
                    return;
                }
                self.cancel_pending(PromptCancel::Kicked {
                    room: room.name().to_string(),
                });
                let key = room.name().key();
                self.grants.remove(key);
                self.invites.remove(key);
                room.leave(
                    self.id,
                    Some(LeaveReason::Kicked {
                        by: by.clone(),
                        reason: reason.clone(),
                    }),
                );
                self.room = None;
                self.reply(Event::YouWereKicked {
                    room: room.name().to_string(),
                    by,
                    reason,
                });
                let lobby = Arc::clone(self.hub.default_room());
                self.move_to(lobby, false);
            }
            Control::RoomClosed { room, by } => self.leave_closed_room(&room, by),
            Control::Invited { room, by, epoch } => {
                self.invites.insert(room.name().key().to_owned(), epoch);
                self.reply(Event::Invited {
                    room: room.name().to_string(),
                    by,
                });
            }
        }
    }
}
