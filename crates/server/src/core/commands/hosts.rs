//! Host requests: hosts, topic, password, kick, invite.
//!
//! A kick or an invite changes another user's state, which only that user's
//! session may touch: the host's session checks the rules and sends a
//! [`Control`] request; the target's session carries it out.

use std::sync::Arc;

use banter_proto::refusal::HostAction;
use banter_proto::{Event, Refusal};
use tracing::{info, warn};

use crate::core::control::{Control, Undelivered};
use crate::core::room::Room;
use crate::core::user::UserState;

impl UserState {
    /// Makes a member a host; a server operator may do it without being
    /// one (to themselves, say), which is logged.
    pub(super) fn host_add(&mut self, room: Option<&str>, name: &str) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let overriding =
            self.operator.is_some() && room.check_host(self.id, HostAction::HostAdd).is_err();
        room.add_host(
            self.id,
            self.registered_nick(),
            name,
            self.operator.is_some(),
        )?;
        if overriding {
            info!(
                operator = self.operator.as_deref(),
                by = %self.registered_nick(),
                room = %room.name(),
                host = name,
                "operator made a host"
            );
        }
        Ok(())
    }

    pub(super) fn host_remove(&mut self, room: Option<&str>, name: &str) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        room.remove_host(self.id, self.registered_nick(), name)
    }

    pub(super) async fn topic(
        &mut self,
        room: Option<&str>,
        text: Option<String>,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        match text {
            None => {
                self.reply(Event::Topic {
                    room: room.name().to_string(),
                    topic: room.topic(),
                });
                Ok(())
            }
            Some(topic) => room.set_topic(self.id, self.registered_nick(), topic).await,
        }
    }

    /// Checks that this user may set the password of `room` (asked before a
    /// door prompts for it); returns the room's name and its password epoch,
    /// to pass back in `Request::SetPassword { if_epoch }`.
    pub(crate) fn may_set_password(&self, room: Option<&str>) -> Result<(String, u64), Refusal> {
        let (room, epoch) = self.password_setter(room)?;
        Ok((room.name().to_string(), epoch))
    }

    fn password_setter(&self, room: Option<&str>) -> Result<(Arc<Room>, u64), Refusal> {
        let room = self.room_for(room)?;
        room.check_host(self.id, HostAction::Password)?;
        let (_, epoch) = room.lock_state();
        Ok((room, epoch))
    }

    pub(super) async fn set_password(
        &mut self,
        room: Option<&str>,
        password: Option<String>,
        if_epoch: Option<u64>,
    ) -> Result<(), Refusal> {
        let (room, epoch) = self.password_setter(room)?;
        let if_epoch = if_epoch.unwrap_or(epoch);
        let hash = match password {
            None if !room.is_locked() => {
                return Err(Refusal::NoPassword {
                    room: room.name().to_string(),
                })
            }
            None => None,
            Some(password) if password.is_empty() => return Err(Refusal::EmptyPassword),
            Some(password) => match self
                .hub
                .services
                .passwords
                .hash(self.peer.ip(), password)
                .await
            {
                Ok(hash) => Some(hash),
                Err(err) => {
                    warn!(%err, "password hashing failed");
                    return Err(Refusal::HashFailed);
                }
            },
        };
        let locking = hash.is_some();
        let epoch = room
            .set_password(self.id, self.registered_nick(), hash, if_epoch)
            .await?;
        if locking {
            info!(room = %room.name(), by = %self.registered_nick(), "room locked");
            self.passes_mut()
                .grants
                .insert(room.name().key().to_owned(), epoch);
        }
        Ok(())
    }

    pub(super) fn kick(
        &mut self,
        room: Option<&str>,
        name: &str,
        reason: Option<String>,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let target = room.kick_target(self.id, name)?;
        let Some(user) = self.hub.user(name).filter(|user| user.id == target) else {
            return Err(Refusal::JustLeft {
                name: name.to_owned(),
            });
        };
        let request = Control::Kicked {
            room,
            by: self.registered_nick().to_string(),
            reason,
        };
        self.hub
            .broker()
            .send(user.id, request)
            .map_err(|undelivered| match undelivered {
                Undelivered::Busy => Refusal::Busy {
                    name: name.to_owned(),
                },
                Undelivered::Gone => Refusal::JustLeft {
                    name: name.to_owned(),
                },
            })
    }

    pub(super) fn invite(&mut self, room: Option<&str>, name: &str) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        room.check_host(self.id, HostAction::Invite)?;
        let (hash, epoch) = room.lock_state();
        if hash.is_none() {
            return Err(Refusal::InviteUnlocked {
                room: room.name().to_string(),
            });
        }
        let Some(user) = self.hub.user(name) else {
            return Err(Refusal::NoSuchUser {
                name: name.to_owned(),
            });
        };
        if room.is_member(user.id) {
            return Err(Refusal::AlreadyThere {
                name: user.nick.to_string(),
                room: room.name().to_string(),
            });
        }
        let request = Control::Invited {
            room: Arc::clone(&room),
            by: self.registered_nick().to_string(),
            epoch,
        };
        match self.hub.broker().send(user.id, request) {
            Ok(()) => {}
            Err(Undelivered::Busy) => {
                return Err(Refusal::Busy {
                    name: name.to_owned(),
                })
            }
            Err(Undelivered::Gone) => {
                return Err(Refusal::NoSuchUser {
                    name: name.to_owned(),
                })
            }
        }
        room.invited(self.id, self.registered_nick(), &user.nick);
        self.reply(Event::InviteSent {
            room: room.name().to_string(),
            nick: user.nick.to_string(),
        });
        Ok(())
    }
}
