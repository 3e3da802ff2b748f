//! What the server sends: replies matched to their requests, and events,
//! each landing in the conversation it concerns.

use super::{Answer, App, Effect, Fetch, Pending, Prompt, GAP_PAGE};
use banter_proto::event::whois_line;
use banter_wire::{Joined, LeaveReason};

use crate::protocol::{Body, Frame, Member, MessageKind, Request, RoomMessage};
use crate::secret::Secret;
use crate::state::{mentions, next_gap_page, Kind, What};

impl App {
    pub fn on_frame(&mut self, frame: Frame) {
        let pending = frame.numeric_id().and_then(|id| self.pending.remove(&id));
        if pending.is_some() {
            // Answered, said or refused: a line's turn is over either way.
            if let Some(id) = frame.numeric_id() {
                self.line_answered(id);
            }
        }
        if matches!(&frame.body, Body::Error { code, .. } if code == "rate_limited") {
            self.pacer.slow_down();
        }
        match frame.body {
            Body::Joined(Joined {
                room,
                locked,
                topic,
                members,
                history,
                ..
            }) => self.joined(pending, room, locked, topic, members, history),
            Body::Parted { room } => {
                if let Some(index) = self.conversations.find(Kind::Room, &room) {
                    self.conversations.close(index);
                }
            }
            Body::Said {
                room,
                message_id,
                at,
            } => {
                if let Some(Pending::Say { text, emote, .. }) = pending {
                    let message = RoomMessage {
                        room: room.clone(),
                        from: self.me.clone(),
                        text,
                        id: message_id,
                        at,
                        kind: if emote {
                            MessageKind::Emote
                        } else {
                            MessageKind::Chat
                        },
                        from_room: None,
                    };
                    if let Some(conversation) = self.conversations.room(&room) {
                        conversation.insert_message(&message);
                    }
                }
            }
            Body::History { room, messages, .. } => self.history_page(pending, &room, &messages),
            Body::Rooms { rooms } => {
                let here = self.conversations.selected;
                self.known_rooms = rooms.iter().map(|r| r.name.clone()).collect();
                self.notice(here, format!("rooms ({}):", rooms.len()));
                for room in rooms {
                    let mut line = format!("  {} ({})", room.name, room.members);
                    if room.default {
                        line.push_str(" [default]");
                    }
                    if room.locked {
                        line.push_str(" [locked]");
                    }
                    if room.joined {
                        line.push_str(" [joined]");
                    }
                    if let Some(topic) = room.topic {
                        line.push_str(&format!(" - {topic}"));
                    }
                    self.info(here, line);
                }
            }
            Body::Who { room, members } => {
                let names: Vec<String> = members
                    .iter()
                    .map(|m| {
                        if m.host {
                            format!("@{}", m.name)
                        } else if m.voice {
                            format!("+{}", m.name)
                        } else {
                            m.name.clone()
                        }
                    })
                    .collect();
                let index = self.about(&room);
                self.notice(
                    index,
                    format!("in {room} ({}): {}", names.len(), names.join(" ")),
                );
                if let Some(conversation) = self.conversations.room(&room) {
                    if conversation.joined {
                        conversation.members = members;
                    }
                }
            }
            Body::Users { names } => {
                let here = self.conversations.selected;
                self.notice(
                    here,
                    format!("connected ({}): {}", names.len(), names.join(" ")),
                );
            }
            Body::Whois {
                name,
                rooms,
                away,
                operator,
                address,
            } => {
                let rooms = rooms.iter().map(|m| (m.room.as_str(), m.host, m.voice));
                let line = whois_line(&name, rooms, away.as_deref(), operator, address.as_deref());
                let here = self.conversations.selected;
                self.notice(here, line);
            }
            Body::Topic { room, topic } => {
                let index = self.about(&room);
                match &topic {
                    Some(topic) => self.notice(index, format!("the topic of {room}: {topic}")),
                    None => self.notice(index, format!("{room} has no topic")),
                }
                self.conversations.list[index].topic = topic;
            }
            Body::PrivateSent { to, text } => {
                self.conversations.open(Kind::Private, &to);
                let now = self.now;
                let from = self.me.clone();
                self.conversations
                    .open(Kind::Private, &to)
                    .push(now, What::Chat { from, text });
            }
            Body::NickSet { name } => {
                // The server tells the others in each room, not us.
                let old = std::mem::replace(&mut self.me, name.clone());
                self.effects.push(Effect::Rename(name.clone()));
                for conversation in &mut self.conversations.list {
                    for member in &mut conversation.members {
                        if member.name.eq_ignore_ascii_case(&old) {
                            member.name = name.clone();
                        }
                    }
                }
                let here = self.conversations.selected;
                self.notice(here, format!("you are now known as {name}"));
            }
            Body::InviteSent { room, name } => {
                let index = self.about(&room);
                self.notice(index, format!("invited {name} into {room}"));
            }
            Body::Bans { room, bans } => {
                let index = self.about(&room);
                if bans.is_empty() {
                    self.notice(index, format!("{room} bans nobody"));
                }
                for ban in bans {
                    self.notice(index, format!("banned: {} (by {})", ban.mask, ban.by));
                }
            }
            Body::Modes {
                room,
                modes,
                locked,
            } => {
                let index = self.about(&room);
                let mut shown = modes.join(", ");
                if locked {
                    shown.push_str(if shown.is_empty() {
                        "locked"
                    } else {
                        ", locked"
                    });
                }
                if shown.is_empty() {
                    shown.push_str("none");
                }
                self.notice(index, format!("modes of {room}: {shown}"));
            }
            Body::SentElsewhere { room, members } => {
                let here = self.conversations.selected;
                let people = if members == 1 { "person" } else { "people" };
                self.notice(here, format!("sent to {room} ({members} {people} there)"));
            }
            Body::Ok | Body::Pong | Body::Bye | Body::Welcome { .. } | Body::Unknown => {}
            Body::Shutdown { message } => {
                for index in 0..self.conversations.list.len() {
                    if index == 0 || self.conversations.list[index].joined {
                        self.error(index, message.clone());
                    }
                }
            }
            Body::Error { code, message } => self.refused(pending, &code, message),
            Body::Message(message) => self.message(&message),
            Body::Private { from, text, at, .. } => {
                self.conversations.open(Kind::Private, &from);
                let index = self
                    .conversations
                    .find(Kind::Private, &from)
                    .expect("just opened");
                self.conversations.list[index].push(at, What::Chat { from, text });
                self.conversations.mark_unread(index, true);
                self.ring = self.bell;
            }
            Body::MemberJoined { room, name } => {
                if let Some(conversation) = self.conversations.room(&room) {
                    conversation.members.push(Member {
                        name: name.clone(),
                        host: false,
                        voice: false,
                    });
                    let index = self.about(&room);
                    self.notice(index, format!("{name} joined {room}"));
                }
            }
            Body::MemberLeft {
                room,
                name,
                reason,
                by,
                message,
            } => {
                if let Some(conversation) = self.conversations.room(&room) {
                    conversation
                        .members
                        .retain(|m| !m.name.eq_ignore_ascii_case(&name));
                    let line = match reason {
                        LeaveReason::Quit => format!("{name} left the chat"),
                        LeaveReason::Disconnected => format!("{name} disconnected"),
                        LeaveReason::Kicked => format!(
                            "{name} was kicked by {}{}",
                            by.unwrap_or_default(),
                            message.map(|m| format!(": {m}")).unwrap_or_default()
                        ),
                        LeaveReason::Parted => format!("{name} left {room}"),
                    };
                    let index = self.about(&room);
                    self.notice(index, line);
                }
            }
            Body::NickChanged { room, old, new } => {
                if let Some(conversation) = self.conversations.room(&room) {
                    for member in &mut conversation.members {
                        if member.name.eq_ignore_ascii_case(&old) {
                            member.name = new.clone();
                        }
                    }
                    let index = self.about(&room);
                    self.notice(index, format!("{old} is now known as {new}"));
                }
                if let Some(index) = self.conversations.find(Kind::Private, &old) {
                    self.conversations.list[index].name = new;
                }
            }
            Body::HostAdded { room, name, by } => {
                self.set_host(&room, &name, true);
                let index = self.about(&room);
                match by {
                    Some(by) => self.notice(index, format!("{by} made {name} a host")),
                    None => self.notice(index, format!("{name} is now a host")),
                }
            }
            Body::HostRemoved { room, name, by } => {
                self.set_host(&room, &name, false);
                let index = self.about(&room);
                self.notice(index, format!("{by} took host rights from {name}"));
            }
            Body::TopicChanged { room, by, topic } => {
                let index = self.about(&room);
                self.notice(index, format!("{by} set the topic: {topic}"));
                self.conversations.list[index].topic = Some(topic);
            }
            Body::LockChanged { room, by, locked } => {
                let index = self.about(&room);
                let conversation = &mut self.conversations.list[index];
                conversation.locked = locked;
                if !locked {
                    conversation.password = None;
                }
                let what = if locked {
                    "locked it with a password"
                } else {
                    "removed the password"
                };
                self.notice(index, format!("{by} {what}"));
            }
            Body::ModesChanged { room, by, changes } => {
                let index = self.about(&room);
                let what: Vec<String> = changes
                    .iter()
                    .map(|change| {
                        let what = if change.on { "set" } else { "cleared" };
                        format!("{what} {}", change.mode)
                    })
                    .collect();
                self.notice(index, format!("{by} {}", what.join(", ")));
            }
            Body::VoiceChanged { room, name, by, on } => {
                if let Some(conversation) = self.conversations.room(&room) {
                    if let Some(member) = conversation.members.iter_mut().find(|m| m.name == name) {
                        member.voice = on;
                    }
                }
                let index = self.about(&room);
                let what = if on { "gave" } else { "took" };
                self.notice(index, format!("{by} {what} {name} a voice"));
            }
            Body::BanChanged { room, by, mask, on } => {
                let index = self.about(&room);
                let what = if on { "banned" } else { "lifted the ban on" };
                self.notice(index, format!("{by} {what} {mask}"));
            }
            Body::Kicked { room, by, message } => {
                let index = self.about(&room);
                self.left_room(index);
                let why = message.map(|m| format!(": {m}")).unwrap_or_default();
                self.error(index, format!("you were kicked from {room} by {by}{why}"));
            }
            Body::RoomClosed { room, by } => {
                let index = self.about(&room);
                self.left_room(index);
                self.error(index, format!("{by} closed {room}; its history is gone"));
            }
            Body::Invited { room, by } => {
                let here = self.conversations.selected;
                self.notice(
                    here,
                    format!("{by} invited you into {room}: :cr {room} enters it"),
                );
                self.ring = self.bell;
            }
            Body::Announcement { from, text } => {
                let here = self.conversations.selected;
                self.notice(here, format!("[notice from server operator {from}] {text}"));
                self.ring = self.bell;
            }
            Body::Killed { by, reason } => {
                let here = self.conversations.selected;
                let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
                self.error(here, format!("server operator {by} disconnected you{why}"));
            }
            // Answers to the operators' requests, which this client does not make.
            Body::Operator { .. }
            | Body::UserKilled { .. }
            | Body::ServerBanSet { .. }
            | Body::ServerBanLifted { .. }
            | Body::ServerBans { .. } => {}
            Body::Missed { room, count } => {
                let now = self.now;
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                match room {
                    Some(room) => {
                        let index = self.about(&room);
                        let since = self.conversations.list[index].newest_id();
                        self.conversations.list[index].push(now, What::Missed(count));
                        self.request(
                            Request::History {
                                room: room.clone(),
                                limit: Some(GAP_PAGE),
                                before: None,
                            },
                            Pending::History {
                                room,
                                purpose: Fetch::Gap { since },
                                limit: GAP_PAGE,
                            },
                        );
                    }
                    None => self.conversations.status().push(now, What::Missed(count)),
                }
            }
        }
    }

    fn left_room(&mut self, index: usize) {
        let conversation = &mut self.conversations.list[index];
        conversation.joined = false;
        conversation.rejoin = false;
        conversation.members.clear();
        conversation.password = None;
    }

    fn set_host(&mut self, room: &str, name: &str, host: bool) {
        if let Some(conversation) = self.conversations.room(room) {
            for member in &mut conversation.members {
                if member.name.eq_ignore_ascii_case(name) {
                    member.host = host;
                }
            }
        }
    }

    fn message(&mut self, message: &RoomMessage) {
        let Some(index) = self.conversations.find(Kind::Room, &message.room) else {
            return;
        };
        if self.conversations.list[index].insert_message(message)
            && !message.from.eq_ignore_ascii_case(&self.me)
        {
            let mention = mentions(&message.text, &self.me);
            self.conversations.mark_unread(index, mention);
            if mention {
                self.ring = self.bell;
            }
        }
    }

    fn joined(
        &mut self,
        pending: Option<Pending>,
        room: String,
        locked: bool,
        topic: Option<String>,
        members: Vec<Member>,
        history: Vec<RoomMessage>,
    ) {
        let (password, rejoin) = match pending {
            Some(Pending::Join {
                password, rejoin, ..
            }) => (password, rejoin),
            _ => (None, false),
        };
        let index = self.room_index(&room);
        let conversation = &mut self.conversations.list[index];
        // The room's own spelling, which may differ in case from what was typed.
        conversation.name = room.clone();
        let since = conversation.newest_id();
        conversation.joined = true;
        conversation.rejoin = false;
        conversation.locked = locked;
        conversation.topic = topic.clone();
        conversation.members = members;
        if password.is_some() {
            conversation.password = password;
        }
        let mut new = 0;
        for message in &history {
            if conversation.insert_message(message) && rejoin {
                new += 1;
            }
        }
        // An empty history says nothing about the room's start (a join may
        // leave out what was seen before): scrolling up asks the server.
        if rejoin {
            for _ in 0..new {
                self.conversations.mark_unread(index, false);
            }
            self.notice(index, format!("rejoined {room}"));
            if since.is_some_and(|since| history.first().is_some_and(|m| m.id > since)) {
                let before = history.first().map(|m| m.id);
                self.request(
                    Request::History {
                        room: room.clone(),
                        limit: Some(GAP_PAGE),
                        before,
                    },
                    Pending::History {
                        room,
                        purpose: Fetch::Gap { since },
                        limit: GAP_PAGE,
                    },
                );
            }
            return;
        }
        let line = match &topic {
            Some(topic) => format!("you joined {room}; the topic is: {topic}"),
            None => format!("you joined {room}"),
        };
        self.notice(index, line);
        self.conversations.select(index);
    }

    fn history_page(&mut self, pending: Option<Pending>, room: &str, messages: &[RoomMessage]) {
        let Some(Pending::History { purpose, limit, .. }) = pending else {
            return;
        };
        let Some(index) = self.conversations.find(Kind::Room, room) else {
            return;
        };
        let conversation = &mut self.conversations.list[index];
        let mut new = 0;
        for message in messages {
            if conversation.insert_message(message) {
                new += 1;
            }
        }
        match purpose {
            Fetch::Older => {
                conversation.loading_older = false;
                if messages.len() < limit {
                    conversation.history_start = true;
                }
            }
            Fetch::Gap { since } => {
                for _ in 0..new {
                    self.conversations.mark_unread(index, false);
                }
                if let Some(before) = next_gap_page(since, messages, limit) {
                    self.request(
                        Request::History {
                            room: room.to_owned(),
                            limit: Some(limit),
                            before: Some(before),
                        },
                        Pending::History {
                            room: room.to_owned(),
                            purpose,
                            limit,
                        },
                    );
                }
            }
            Fetch::Command => {
                let line = format!(
                    "history: {} messages, {new} of them not shown before",
                    messages.len()
                );
                self.notice(index, line);
            }
        }
    }

    fn refused(&mut self, pending: Option<Pending>, code: &str, message: String) {
        let index = match &pending {
            Some(
                Pending::Join { room, .. }
                | Pending::Create { room }
                | Pending::Say { room, .. }
                | Pending::History { room, .. }
                | Pending::Room { room },
            ) => self.about(room),
            Some(Pending::Msg { to }) => self
                .conversations
                .find(Kind::Private, to)
                .unwrap_or(self.conversations.selected),
            Some(Pending::General) | None => self.conversations.selected,
        };
        if let Some(Pending::Join {
            room, rejoin: true, ..
        }) = &pending
        {
            if let Some(conversation) = self.conversations.room(room) {
                conversation.rejoin = false;
            }
        }
        match pending {
            Some(Pending::Join { room, rejoin, .. })
                if code == "password_needed" || (code == "wrong_password" && rejoin) =>
            {
                if rejoin {
                    // The password changed while we were away.
                    self.error(index, format!("{room}: {message}"));
                    if let Some(conversation) = self.conversations.room(&room) {
                        conversation.password = None;
                    }
                }
                self.prompt = Some(Prompt {
                    label: format!("password for {room}"),
                    secret: Secret::default(),
                    purpose: Answer::Join { room, rejoin },
                });
            }
            Some(Pending::History { room, .. }) => {
                if let Some(conversation) = self.conversations.room(&room) {
                    conversation.loading_older = false;
                }
                self.error(index, message);
            }
            _ => self.error(index, message),
        }
    }
}
