//! What each request does, for every door: [`UserState::execute`] and
//! registration, one family of requests per file (`rooms`, `people`,
//! `hosts`), and the queries doors ask with typed answers (`queries`).
//!
//! Each handler checks everything first and changes state only when it can
//! succeed, so a refused request leaves things as they were and answers with
//! exactly one [`Refusal`]. Answers go to the user's outbox as events.

mod hosts;
mod operators;
mod people;
mod queries;
mod rooms;

pub(crate) use rooms::MAX_HISTORY_COUNT;

use std::sync::Arc;
use std::time::Duration;

use banter_proto::event::{LeaveReason, PromptCancel};
use banter_proto::request::Request;
use banter_proto::{Event, Nick, Refusal, RoomName};
use tokio::time::Instant;

use crate::core::control::Control;
use crate::core::registry::User;
use crate::core::room::{now_millis, Room};
use crate::core::user::UserState;
use crate::store::{MessageKind, StoredMessage};

/// How often a user is reminded that the store is failing while it lasts.
const STORE_PROBLEM_REMINDER: Duration = Duration::from_secs(60);

impl UserState {
    /// Carries out one request and answers it (see [`UserState::answer`]).
    pub(crate) async fn request(&mut self, request: Request) {
        let result = self.execute(request).await;
        self.answer(result);
    }

    /// Answers a request that was carried out (or refused): the refusal, or
    /// `Done` for doors that answer every request when nothing else was
    /// said; then, if the store is failing, a reminder that history is not
    /// being saved.
    pub(crate) fn answer(&mut self, result: Result<(), Refusal>) {
        match result {
            Err(refusal) => self.refuse(refusal),
            Ok(()) if self.door.answers_every_request && !self.replied => self.reply(Event::Done),
            Ok(()) => {}
        }
        self.report_store_problem();
    }

    /// Carries out one request of a registered user; the caller answers it.
    pub(crate) async fn execute(&mut self, request: Request) -> Result<(), Refusal> {
        if self.nick.is_none() {
            return Err(Refusal::NameFirst);
        }
        let result = match request {
            Request::Join {
                room,
                password,
                if_epoch,
                since,
            } => self.join(&room, password, if_epoch, since).await,
            Request::Create { room } => self.create(&room).await,
            Request::Part { room, message } => self.part(&room, message),
            Request::Say { room, kind, text } => self.say(room.as_deref(), kind, &text).await,
            Request::SayElsewhere { room, from, text } => {
                self.say_elsewhere(&room, from.as_deref(), text).await
            }
            Request::Private { to, text, notice } => self.private(&to, text, notice),
            Request::Nick { name } => self.change_nick(&name).await,
            Request::Away { message } => {
                let nick = self.registered_nick().clone();
                self.hub.set_away(self.id, &nick, message.as_deref());
                match self.hub.cluster() {
                    None => {
                        for room in &self.rooms {
                            room.away_changed(self.id, &nick, message.as_deref());
                        }
                    }
                    Some(cluster) => {
                        let rooms = self.rooms.iter().map(|room| room.name().to_string());
                        cluster.away(self.id, &nick, message.as_deref(), rooms.collect());
                    }
                }
                Ok(())
            }
            Request::Rooms => {
                let list = self.hub.room_summaries(&self.rooms, self.id);
                self.reply(Event::RoomList(list));
                Ok(())
            }
            Request::Who { room } => self.who(room.as_deref()),
            Request::Users => {
                let nicks = self.hub.nicks();
                self.reply(Event::Users(nicks));
                Ok(())
            }
            Request::Whois { name } => self.whois(&name),
            Request::Topic { room, text } => self.topic(room.as_deref(), text).await,
            Request::History {
                room,
                limit,
                before,
            } => self.history(room.as_deref(), limit, before).await,
            Request::HostAdd { room, name } => self.host_add(room.as_deref(), &name).await,
            Request::HostRemove { room, name } => self.host_remove(room.as_deref(), &name).await,
            Request::SetPassword {
                room,
                password,
                if_epoch,
            } => self.set_password(room.as_deref(), password, if_epoch).await,
            Request::Kick { room, name, reason } => self.kick(room.as_deref(), &name, reason).await,
            Request::Invite { room, name } => self.invite(room.as_deref(), &name),
            Request::Close { room } => self.close(room.as_deref()).await,
            Request::SetModes { room, changes } => self.set_modes(room.as_deref(), changes).await,
            Request::Voice { room, name, on } => self.voice(room.as_deref(), &name, on).await,
            Request::Ban { room, mask, on } => self.ban(room.as_deref(), &mask, on).await,
            Request::Bans { room } => self.bans(room.as_deref()),
            Request::Modes { room } => self.modes(room.as_deref()),
            Request::Oper { name, password } => self.oper(&name, password).await,
            Request::Kill { name, reason } => self.kill(&name, reason),
            Request::ServerBan {
                mask,
                duration_secs,
                reason,
            } => self.server_ban(&mask, duration_secs, reason).await,
            Request::ServerUnban { mask } => self.server_unban(&mask).await,
            Request::ServerBans => self.server_bans(),
            Request::Announce { text } => self.announce(text),
        };
        result
    }

    /// Takes a name and, for a one-room door, enters the default room or
    /// `room` (created if it does not exist).
    pub(crate) async fn register(&mut self, name: &str, room: Option<&str>) -> Result<(), Refusal> {
        if self.nick.is_some() {
            return Err(Refusal::AlreadyRegistered);
        }
        let nick = Nick::parse(name)?;
        self.hub
            .server_bans
            .check(nick.as_str(), self.peer.ip(), now_millis())?;
        let room_name = room.map(RoomName::parse).transpose()?;
        if let Some(locked) = room_name
            .as_ref()
            .and_then(|name| self.hub.room(name.as_str()))
            .filter(|room| room.is_locked())
        {
            return Err(Refusal::LockedAtLogin {
                room: locked.name().to_string(),
            });
        }
        let user = User {
            id: self.id,
            nick: nick.clone(),
            profile: self.profile.clone(),
            away: None,
            address: self.peer.ip(),
            operator: false,
        };
        self.hub
            .register(user, Arc::clone(&self.outbox), Arc::clone(&self.control))
            .await?;
        if !self.door.one_room {
            self.nick = Some(nick.clone());
            let resume = self.issue_token();
            self.reply(Event::Welcome {
                nick: nick.to_string(),
                room: None,
                resume,
                resumed: None,
            });
            return Ok(());
        }
        let room = match room_name {
            None => Ok(Arc::clone(self.hub.default_room())),
            Some(name) => self.open_room(name).await,
        };
        self.nick = Some(nick.clone());
        let entered = match room {
            Ok(room) => self
                .join_room(&room, false)
                .await
                .map(|entry| (room, entry)),
            Err(refusal) => Err(refusal),
        };
        let (room, (entry, held)) = match entered {
            Ok(entered) => entered,
            Err(refusal) => {
                self.nick = None;
                self.hub.unregister(self.id, &nick);
                return Err(refusal);
            }
        };
        let view = self.view(&room, entry, false, None);
        let resume = self.issue_token();
        self.reply(Event::Welcome {
            nick: nick.to_string(),
            room: Some(view),
            resume,
            resumed: None,
        });
        if let Some(held) = held {
            room.adopt(self.id, Arc::clone(&self.outbox), &held);
        }
        self.rooms.push(room);
        Ok(())
    }

    /// The room `name:room` asks for, created (and stored) if it does not exist.
    async fn open_room(&self, name: RoomName) -> Result<Arc<Room>, Refusal> {
        if self.hub.room(name.as_str()).is_none() {
            self.hub.services.room_quota.take(self.peer.ip())?;
        }
        if let Some(cluster) = self.hub.cluster() {
            return match Box::pin(cluster.create(&self.hub, name.clone())).await {
                Err(Refusal::RoomExists { room }) => self
                    .hub
                    .room(name.as_str())
                    .ok_or(Refusal::RoomGone { room }),
                created => created,
            };
        }
        let (room, created) = self.hub.room_or_create(name)?;
        if created {
            if let Err(refusal) = room.persist().await {
                self.hub.remove_room(&room);
                return Err(refusal);
            }
        }
        Ok(room)
    }

    /// The room a request is about: the one named, which the user must be
    /// in, or their only room.
    pub(in crate::core) fn room_for(&self, name: Option<&str>) -> Result<Arc<Room>, Refusal> {
        match name {
            Some(name) => {
                // A key is the folded (lowercased) name: no copy needed to match it.
                if let Some(room) = self
                    .rooms
                    .iter()
                    .find(|r| r.name().key().eq_ignore_ascii_case(name))
                {
                    return Ok(Arc::clone(room));
                }
                match self.hub.room(name) {
                    Some(room) => Err(Refusal::NotMember {
                        room: room.name().to_string(),
                    }),
                    None => Err(Refusal::NoSuchRoom {
                        room: name.to_owned(),
                    }),
                }
            }
            None => match self.rooms.as_slice() {
                [only] => Ok(Arc::clone(only)),
                [] => Err(Refusal::NoRoom),
                _ => Err(Refusal::WhichRoom),
            },
        }
    }

    /// A message from this user, said now in `room`.
    pub(in crate::core) fn message(
        &self,
        room: &Room,
        kind: MessageKind,
        text: &str,
    ) -> StoredMessage {
        StoredMessage {
            id: 0,
            room: room.name().shared(),
            sender: self.registered_nick().shared(),
            text: text.into(),
            kind,
            at: now_millis(),
            from_room: None,
            recipient: None,
        }
    }

    /// Tells the user that messages are not being saved, at most once per
    /// [`STORE_PROBLEM_REMINDER`] while the problem lasts.
    fn report_store_problem(&mut self) {
        let Some(problem) = self.hub.services.store.problem() else {
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
        self.refuse(Refusal::HistoryNotSaved { detail: problem });
    }

    /// If `request` would take this user out of a room, why: a door with
    /// prompts cancels them first.
    pub(crate) fn removes_from_room(&self, request: &Control) -> Option<PromptCancel> {
        match request {
            Control::Kicked { room, .. } if self.is_in(room) => Some(PromptCancel::Kicked {
                room: room.name().to_string(),
            }),
            Control::RoomClosed { room, .. } if self.is_in(room) => {
                Some(PromptCancel::RoomClosed {
                    room: room.name().to_string(),
                })
            }
            _ => None,
        }
    }

    /// Carries out another session's request on this one; `Some` (with
    /// what its rooms are told) when it ends the session: an operator
    /// disconnected the user.
    pub(crate) async fn handle_control(&mut self, request: Control) -> Option<String> {
        self.begin_request(None);
        match request {
            Control::Killed { by, reason } => {
                let message = match &reason {
                    Some(reason) => format!("Killed by {by}: {reason}"),
                    None => format!("Killed by {by}"),
                };
                self.reply(Event::Killed { by, reason });
                return Some(message);
            }
            Control::Kicked { room, by, reason } => {
                if !self.is_in(&room) {
                    return None;
                }
                let key = room.name().key().to_owned();
                if let Some(passes) = &mut self.passes {
                    passes.grants.remove(&key);
                    passes.invites.remove(&key);
                }
                self.leave_room(
                    &room,
                    Some(LeaveReason::Kicked {
                        by: by.clone(),
                        reason: reason.clone(),
                    }),
                );
                self.reply(Event::YouWereKicked {
                    room: room.name().to_string(),
                    by,
                    reason,
                });
                self.back_to_default_room().await;
            }
            Control::RoomClosed { room, by } => {
                if !self.is_in(&room) {
                    return None;
                }
                self.forget_room(&room);
                self.reply(Event::RoomClosed {
                    room: room.name().to_string(),
                    by,
                });
                self.back_to_default_room().await;
            }
            // Only a parked session hands itself over (`core::resume`);
            // dropping the handoff fails the asker's resume.
            Control::TakeOver(_) => {}
            Control::Invited { room, by, epoch } => {
                self.passes_mut()
                    .invites
                    .insert(room.name().key().to_owned(), epoch);
                self.reply(Event::Invited {
                    room: room.name().to_string(),
                    by,
                });
            }
        }
        None
    }

    /// Leaves `room`, telling its members why.
    pub(in crate::core) fn leave_room(&mut self, room: &Arc<Room>, reason: Option<LeaveReason>) {
        self.hub.leave(room, self.id, reason);
        self.forget_room(room);
    }

    /// A one-room door's user who lost their room goes to the default room.
    pub(in crate::core) async fn back_to_default_room(&mut self) {
        if self.door.one_room && self.rooms.is_empty() {
            let lobby = Arc::clone(self.hub.default_room());
            if let Err(refusal) = self.enter(lobby, false, None).await {
                self.refuse(refusal);
            }
        }
    }
}
