//! Requests about rooms: entering (with the password of a locked room),
//! creating, leaving, saying, `:erm`, who, history and closing.

use std::sync::Arc;

use banter_proto::event::{LeaveReason, RoomMessage};
use banter_proto::refusal::HostAction;
use banter_proto::request::SayKind;
use banter_proto::{Event, Refusal, RoomName};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::core::outbox::Outbox;
use crate::core::room::{room_message, Entry, Room, Said};
use crate::core::session_id::SessionId;
use crate::core::user::UserState;
use crate::store::{MessageKind, StoredMessage};

/// Most messages one history request returns.
pub(crate) const MAX_HISTORY_COUNT: usize = 200;

impl UserState {
    /// True if this connection may act in locked `room` without typing its
    /// password: it entered with the current password before.
    pub(in crate::core) fn has_grant(&self, room: &Room) -> bool {
        let (_, epoch) = room.lock_state();
        self.passes
            .as_ref()
            .is_some_and(|passes| passes.grants.get(room.name().key()) == Some(&epoch))
    }

    /// Enters `room` (leaving the current one on a one-room door) and says so.
    /// Entering comes first: if the room was closed meanwhile, the user stays put.
    /// `since`: show only recent messages with an id above it. An invitation
    /// to the room, whatever its password epoch, lets the user past
    /// invite-only (`+i`), and is used up by entering.
    pub(in crate::core) async fn enter(
        &mut self,
        room: Arc<Room>,
        created: bool,
        since: Option<i64>,
    ) -> Result<(), Refusal> {
        let key = room.name().key();
        let invited = self
            .passes
            .as_ref()
            .is_some_and(|passes| passes.invites.contains_key(key));
        let (entry, held) = self.join_room(&room, invited).await?;
        if invited {
            self.passes_mut().invites.remove(room.name().key());
        }
        if self.door.one_room {
            for old in self.rooms.clone() {
                self.leave_room(&old, Some(LeaveReason::ChangedRoom));
            }
        }
        let view = self.view(&room, entry, created, since);
        self.reply(Event::Entered(view));
        if let Some(held) = held {
            room.adopt(self.id, Arc::clone(&self.outbox), &held);
        }
        // Someone away who enters says so to the room, after their join.
        let nick = self.registered_nick().clone();
        if let Some(away) = self.hub.user(nick.as_str()).and_then(|user| user.away) {
            match self.hub.cluster() {
                None => room.away_changed(self.id, &nick, Some(&away)),
                Some(cluster) => {
                    cluster.away(self.id, &nick, Some(&away), vec![room.name().to_string()]);
                }
            }
        }
        self.rooms.push(room);
        Ok(())
    }

    /// Seats this user in `room`: at once on a node alone, through the log
    /// (as every node applies it) in a cluster.
    /// In a cluster, the user's deliveries from the room wait in the
    /// outbox returned until the caller has answered, then go on through
    /// `Room::adopt`, so nothing from the room comes before the answer.
    pub(in crate::core) async fn join_room(
        &self,
        room: &Arc<Room>,
        invited: bool,
    ) -> Result<(Entry, Option<Arc<Outbox>>), Refusal> {
        match self.hub.cluster() {
            None => Ok((
                room.join(self.member(), self.door.lists_members, invited)?,
                None,
            )),
            Some(cluster) => {
                let nick = self.registered_nick();
                room.check_entry(nick, self.peer.ip(), invited)?;
                let joining = cluster.join(room, self.id, nick, self.door.lists_members, invited);
                let (entry, held) = Box::pin(joining).await?;
                Ok((entry, Some(held)))
            }
        }
    }

    /// Says a message in `room`: numbered by the store on a node alone, by
    /// the cluster's log in a cluster.
    async fn say_in(
        &self,
        room: &Room,
        message: StoredMessage,
        except: Option<SessionId>,
    ) -> Result<Said, Refusal> {
        match self.hub.cluster() {
            None => room.say(message, except, self.id),
            Some(cluster) => Box::pin(cluster.say(room, message, except, self.id)).await,
        }
    }

    /// Whether this user may take another room.
    fn check_room_limit(&self) -> Result<(), Refusal> {
        if !self.door.one_room && self.rooms.len() >= self.door.max_rooms {
            return Err(Refusal::UserRoomLimit {
                max: self.door.max_rooms,
            });
        }
        Ok(())
    }

    pub(super) async fn join(
        &mut self,
        name: &str,
        password: Option<String>,
        if_epoch: Option<u64>,
        since: Option<i64>,
    ) -> Result<(), Refusal> {
        let Some(room) = self.hub.room(name) else {
            return Err(Refusal::NoSuchRoomToEnter {
                room: name.to_owned(),
            });
        };
        if self.is_in(&room) {
            return Err(Refusal::AlreadyInRoom {
                room: room.name().to_string(),
            });
        }
        self.check_room_limit()?;
        let invited = self
            .passes
            .as_ref()
            .is_some_and(|passes| passes.invites.contains_key(room.name().key()));
        room.check_entry(self.registered_nick(), self.peer.ip(), invited)?;
        let (hash, epoch) = room.lock_state();
        let Some(hash) = hash else {
            return self.enter(room, false, since).await;
        };
        if if_epoch.is_some_and(|asked| asked != epoch) {
            // The answer was for an older password; it is no guess at this one.
            return Err(Refusal::PasswordChangedWhileTyping {
                room: room.name().to_string(),
            });
        }
        if self.has_grant(&room) {
            return self.enter(room, false, since).await;
        }
        let key = room.name().key().to_owned();
        let passes = self.passes_mut();
        if passes.invites.get(&key) == Some(&epoch) {
            // An invitation is good for one entry (`enter` uses it up); it
            // grants nothing else.
            return self.enter(room, false, since).await;
        }
        if let Err(wait) = passes.lockout.check(&key, Instant::now()) {
            return Err(Refusal::LockedOut {
                room: room.name().to_string(),
                secs: wait.as_secs_f64().ceil() as u64,
            });
        }
        let Some(password) = password else {
            return Err(Refusal::PasswordNeeded {
                room: room.name().to_string(),
            });
        };
        let matched = self
            .hub
            .services
            .passwords
            .verify(self.peer.ip(), password, hash)
            .await
            .map_err(|_| Refusal::ShuttingDown)?;
        if matched {
            let passes = self.passes_mut();
            passes.lockout.succeeded(&key);
            passes.grants.insert(key, epoch);
            return self.enter(room, false, since).await;
        }
        warn!(peer = %self.peer, room = %room.name(), "wrong room password");
        self.hub.services.metrics.password_failed();
        let locked_out = self.passes_mut().lockout.failed(&key, Instant::now());
        if locked_out {
            warn!(peer = %self.peer, room = %room.name(), "room password lockout");
            self.hub.services.metrics.password_locked_out();
        }
        Err(Refusal::WrongPassword {
            room: room.name().to_string(),
            here: self
                .door
                .one_room
                .then(|| self.current_room().map(|r| r.name().to_string()))
                .flatten(),
            locked_out_secs: locked_out.then_some(self.hub.services.config.password_lockout),
        })
    }

    pub(super) async fn create(&mut self, name: &str) -> Result<(), Refusal> {
        let name = RoomName::parse(name)?;
        self.check_room_limit()?;
        // Asking for a room that exists costs no quota (`create_room` checks again, atomically).
        if let Some(existing) = self.hub.room(name.as_str()) {
            return Err(Refusal::RoomExists {
                room: existing.name().to_string(),
            });
        }
        self.hub.services.room_quota.take(self.peer.ip())?;
        let room = match self.hub.cluster() {
            // Every node saves it as it applies the creation.
            Some(cluster) => Box::pin(cluster.create(&self.hub, name)).await?,
            None => {
                let room = self.hub.create_room(name)?;
                // Durable before anyone is told it exists.
                if let Err(refusal) = room.persist().await {
                    self.hub.remove_room(&room);
                    return Err(refusal);
                }
                room
            }
        };
        self.enter(room, true, None).await
    }

    pub(super) fn part(&mut self, name: &str, message: Option<String>) -> Result<(), Refusal> {
        let room = self.room_for(Some(name))?;
        if self.door.one_room {
            return Err(Refusal::DefaultRoomStays);
        }
        self.leave_room(
            &room,
            Some(LeaveReason::Parted {
                message: message.clone(),
            }),
        );
        self.reply(Event::Parted {
            room: room.name().to_string(),
            message,
        });
        Ok(())
    }

    /// Says `text` in `room`: the one request that never waits, so a door
    /// may call it directly rather than through [`UserState::execute`].
    pub(crate) async fn say(
        &mut self,
        room: Option<&str>,
        kind: SayKind,
        text: &str,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let (kind, except) = match kind {
            SayKind::Chat => (MessageKind::Chat, Some(self.id)),
            // Text-door users see their own emote, as the room does.
            SayKind::Emote if !self.door.answers_every_request => (MessageKind::Emote, None),
            SayKind::Emote => (MessageKind::Emote, Some(self.id)),
            SayKind::Notice => (MessageKind::Notice, Some(self.id)),
        };
        let message = self.message(&room, kind, text);
        let said = self.say_in(&room, message, except).await?;
        let kind_name = match kind {
            MessageKind::Emote => "emote",
            _ => "chat",
        };
        self.hub
            .services
            .metrics
            .message_received(self.door.name, kind_name);
        if self.door.answers_every_request {
            self.reply(Event::Said {
                room: room.name().to_string(),
                id: said.id,
                at: said.at,
            });
        }
        Ok(())
    }

    /// Says `text` in `room` to everyone there but this user, and returns
    /// the message as said (its id and time), for a door that shows users
    /// their own messages itself, exactly as the room got them (IRC's
    /// `echo-message`), or not at all. A user outside the room reaches it
    /// only if it takes messages from outside (`-n`), and a locked one only
    /// with a grant, as with `:erm`.
    pub(crate) async fn say_to_others(
        &mut self,
        room: &str,
        kind: SayKind,
        text: &str,
    ) -> Result<RoomMessage, Refusal> {
        let room = match self.room_for(Some(room)) {
            Ok(room) => room,
            Err(Refusal::NotMember { room: name }) => match self.hub.room(&name) {
                Some(room) if !room.is_locked() || self.has_grant(&room) => room,
                _ => return Err(Refusal::NotMember { room: name }),
            },
            Err(refusal) => return Err(refusal),
        };
        let (kind, kind_name) = match kind {
            SayKind::Chat => (MessageKind::Chat, "chat"),
            SayKind::Emote => (MessageKind::Emote, "emote"),
            // Counted with chat: the metric's kinds are chat and emote.
            SayKind::Notice => (MessageKind::Notice, "chat"),
        };
        let mut message = self.message(&room, kind, text);
        let said = self.say_in(&room, message.clone(), Some(self.id)).await?;
        self.hub
            .services
            .metrics
            .message_received(self.door.name, kind_name);
        message.id = said.id;
        Ok(room_message(&message))
    }

    /// `:erm`: a message into a room the user is not in, from the one they are in.
    pub(super) async fn say_elsewhere(
        &mut self,
        name: &str,
        from: Option<&str>,
        text: String,
    ) -> Result<(), Refusal> {
        let Some(target) = self.hub.room(name) else {
            return Err(Refusal::NoSuchRoom {
                room: name.to_owned(),
            });
        };
        if self.is_in(&target) {
            return Err(Refusal::ExtraRoomIsHere {
                room: target.name().to_string(),
            });
        }
        let here = self.room_for(from)?;
        if target.is_locked() && !self.has_grant(&target) {
            return Err(Refusal::ExtraRoomLocked {
                room: target.name().to_string(),
            });
        }
        let mut message = self.message(&target, MessageKind::ExtraRoom, &text);
        message.from_room = Some(here.name().to_string());
        let said = self.say_in(&target, message, None).await?;
        self.hub
            .services
            .metrics
            .message_received(self.door.name, "from_room");
        self.reply(Event::ExtraRoomSent {
            to_room: target.name().to_string(),
            members: said.offered,
        });
        Ok(())
    }

    pub(super) fn who(&mut self, name: Option<&str>) -> Result<(), Refusal> {
        let room = match name {
            None => self.room_for(None)?,
            // A secret room is not there for outsiders.
            Some(name) => self
                .hub
                .room(name)
                .filter(|room| !room.hidden_from(self.id))
                .ok_or_else(|| Refusal::NoSuchRoom {
                    room: name.to_owned(),
                })?,
        };
        self.reply(Event::Who {
            room: room.name().to_string(),
            members: room.who(),
        });
        Ok(())
    }

    pub(super) async fn history(
        &mut self,
        room: Option<&str>,
        limit: usize,
        before: Option<i64>,
    ) -> Result<(), Refusal> {
        let room = self.room_for(room)?;
        let capped_at = (limit > MAX_HISTORY_COUNT).then_some(MAX_HISTORY_COUNT);
        let limit = limit.clamp(1, MAX_HISTORY_COUNT);
        let messages = match self
            .hub
            .services
            .store
            .history(room.name().as_str(), limit, before)
            .await
        {
            Ok(Ok(messages)) => messages,
            Ok(Err(err)) => {
                return Err(Refusal::HistoryUnavailable {
                    detail: err.to_string(),
                })
            }
            Err(_) => {
                return Err(Refusal::HistoryUnavailable {
                    detail: "the store has stopped".into(),
                })
            }
        };
        self.reply(Event::History {
            room: room.name().to_string(),
            messages: messages.iter().map(room_message).collect(),
            live_follows: false,
            capped_at,
        });
        Ok(())
    }

    /// Deletes the room and its history; everyone in it is told (and a
    /// one-room door's users go to the default room). Store first: a close
    /// the store refuses changes nothing.
    /// Closes a room the user hosts; a server operator may close any room,
    /// one they are not in too, which is logged (on a node alone: a
    /// cluster's log checks the host rule where the close is applied).
    pub(super) async fn close(&mut self, name: Option<&str>) -> Result<(), Refusal> {
        let operator = self.operator.is_some();
        let room = match (self.room_for(name), name) {
            (Err(Refusal::NotMember { .. }), Some(name)) if operator => {
                self.hub.room(name).ok_or_else(|| Refusal::NoSuchRoom {
                    room: name.to_owned(),
                })?
            }
            (room, _) => room?,
        };
        let overriding = operator && room.check_host(self.id, HostAction::Close).is_err();
        let closed = match self.hub.cluster() {
            None => room.close(self.id, operator).await,
            Some(cluster) => {
                // Every node takes it out of its directory and tells its members.
                Box::pin(cluster.close(&room, self.id, self.registered_nick())).await
            }
        };
        let members = match closed {
            Ok(members) => members,
            Err(refusal) => {
                warn!(room = %room.name(), %refusal, "room not closed");
                return Err(refusal);
            }
        };
        let by = self.registered_nick().to_string();
        if overriding {
            info!(operator = self.operator.as_deref(), room = %room.name(), %by, "operator closed a room");
        } else {
            info!(room = %room.name(), %by, "room closed");
        }
        if self.hub.cluster().is_none() {
            self.hub.remove_room(&room);
            for id in members.into_iter().filter(|&id| id != self.id) {
                self.hub
                    .broker()
                    .room_closed(id, Arc::clone(&room), by.clone());
            }
        }
        self.forget_room(&room);
        self.reply(Event::RoomClosed {
            room: room.name().to_string(),
            by,
        });
        self.back_to_default_room().await;
        Ok(())
    }
}
