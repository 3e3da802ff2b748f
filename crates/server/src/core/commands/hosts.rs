//! Host requests: hosts, topic, password, kick, invite, modes, voices and
//! bans.
//!
//! A kick or an invite changes another user's state, which only that user's
//! session may touch: the host's session checks the rules and sends a
//! [`Control`] request; the target's session carries it out.

use std::sync::Arc;

use banter_proto::modes::{mode_changes_letters, MaskError};
use banter_proto::refusal::HostAction;
use banter_proto::{BanMask, Event, Refusal, RoomMode};
use tracing::{info, warn};

use crate::core::cluster::HostChange;
use crate::core::control::{Control, Undelivered};
use crate::core::room::{now_millis, Room};
use crate::core::user::UserState;

impl UserState {
    /// Makes a member a host; a server operator may do it without being
    /// one (to themselves, say), which is logged. On a cluster node the
    /// log's op checks the host rule where it is applied, operators included.
    pub(super) async fn host_add(&mut self, room: Option<&str>, name: &str) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        if let Some(cluster) = self.hub.cluster() {
            let change = HostChange::Add {
                session: self.id,
                by: self.registered_nick().to_string(),
                name: name.to_owned(),
            };
            return Box::pin(cluster.host_change(&room, change)).await;
        }
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

    pub(super) async fn host_remove(
        &mut self,
        room: Option<&str>,
        name: &str,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let Some(cluster) = self.hub.cluster() else {
            return room.remove_host(self.id, self.registered_nick(), name);
        };
        let change = HostChange::Remove {
            session: self.id,
            by: self.registered_nick().to_string(),
            name: name.to_owned(),
        };
        Box::pin(cluster.host_change(&room, change)).await
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
            Some(topic) => match self.hub.cluster() {
                None => room.set_topic(self.id, self.registered_nick(), topic).await,
                Some(cluster) => {
                    let change = HostChange::Topic {
                        session: self.id,
                        by: self.registered_nick().to_string(),
                        topic,
                    };
                    Box::pin(cluster.host_change(&room, change)).await
                }
            },
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
        let by = self.registered_nick();
        let epoch = match self.hub.cluster() {
            None => room.set_password(self.id, by, hash, if_epoch).await?,
            Some(cluster) => {
                Box::pin(cluster.set_password(&room, self.id, by, hash, if_epoch)).await?
            }
        };
        if locking {
            info!(room = %room.name(), by = %self.registered_nick(), "room locked");
            self.passes_mut()
                .grants
                .insert(room.name().key().to_owned(), epoch);
        }
        Ok(())
    }

    pub(super) async fn kick(
        &mut self,
        room: Option<&str>,
        name: &str,
        reason: Option<String>,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        if let Some(cluster) = self.hub.cluster() {
            // Decided as the log is applied: the seat goes on every node, and
            // the member's own node tells its session.
            let change = HostChange::Kick {
                session: self.id,
                by: self.registered_nick().to_string(),
                name: name.to_owned(),
                reason,
            };
            return Box::pin(cluster.host_change(&room, change)).await;
        }
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
        if hash.is_none() && !room.modes().has(RoomMode::InviteOnly) {
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

    /// Sets or clears room modes, in order, as one change; on a cluster
    /// node, through the log as one op (the host rule checked where it is
    /// applied, on every node).
    pub(super) async fn set_modes(
        &mut self,
        room: Option<&str>,
        changes: Vec<(RoomMode, bool)>,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let shown = mode_changes_letters(&changes);
        match self.hub.cluster() {
            None => {
                room.set_modes(self.id, self.registered_nick(), &changes)
                    .await?
            }
            Some(cluster) => {
                let change = HostChange::Modes {
                    session: self.id,
                    by: self.registered_nick().to_string(),
                    changes,
                };
                Box::pin(cluster.host_change(&room, change)).await?
            }
        }
        info!(room = %room.name(), by = %self.registered_nick(), modes = %shown, "room modes");
        Ok(())
    }

    pub(super) async fn voice(
        &mut self,
        room: Option<&str>,
        name: &str,
        on: bool,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let Some(cluster) = self.hub.cluster() else {
            return room.set_voice(self.id, self.registered_nick(), name, on);
        };
        let change = HostChange::Voice {
            session: self.id,
            by: self.registered_nick().to_string(),
            name: name.to_owned(),
            on,
        };
        Box::pin(cluster.host_change(&room, change)).await
    }

    /// Bans `mask` from the room (or lifts the ban); members it matches,
    /// other than hosts, are kicked by their own sessions, with the ban as
    /// the reason. One whose mailbox is full stays in, but cannot speak
    /// while banned (see `Room::may_speak`). On a cluster node the ban is an
    /// op of the log, and every node removes the members it matches.
    pub(super) async fn ban(
        &mut self,
        room: Option<&str>,
        mask: &str,
        on: bool,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let parsed = BanMask::parse(mask).map_err(Refusal::BadMask)?;
        // Setting or lifting a ban by address is for server operators only.
        if parsed.is_address() && self.operator.is_none() {
            let part = mask.rsplit_once('@').map_or(mask, |(_, host)| host);
            return Err(Refusal::BadMask(MaskError::Address {
                mask: mask.to_owned(),
                part: part.to_owned(),
            }));
        }
        let mask = parsed;
        let shown = mask.to_string();
        let by = self.registered_nick().to_string();
        if let Some(cluster) = self.hub.cluster() {
            // Only a member's own node knows their address: the nodes would
            // not agree on whom an address ban removes.
            if mask.is_address() {
                return Err(Refusal::AddressBanOnCluster);
            }
            let change = HostChange::Ban {
                session: self.id,
                by: by.clone(),
                mask: shown.clone(),
                on,
            };
            Box::pin(cluster.host_change(&room, change)).await?;
            info!(room = %room.name(), %by, mask = %shown, on, "room ban");
            return Ok(());
        }
        let victims = room
            .set_ban(self.id, self.registered_nick(), mask, on, now_millis())
            .await?;
        info!(room = %room.name(), %by, mask = %shown, on, "room ban");
        for victim in victims {
            let request = Control::Kicked {
                room: Arc::clone(&room),
                by: by.clone(),
                reason: Some(format!("banned ({shown})")),
            };
            if let Err(undelivered) = self.hub.broker().send(victim, request) {
                warn!(room = %room.name(), ?undelivered, "a banned member was not kicked");
            }
        }
        Ok(())
    }

    pub(super) fn bans(&mut self, room: Option<&str>) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let bans = room.bans(self.id)?;
        self.reply(Event::BanList {
            room: room.name().to_string(),
            bans,
        });
        Ok(())
    }

    pub(super) fn modes(&mut self, room: Option<&str>) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        self.reply(Event::RoomModes {
            room: room.name().to_string(),
            modes: room.modes(),
            locked: room.is_locked(),
        });
        Ok(())
    }
}
