//! The client's brain: keys and server frames in, state changes and
//! requests out. No terminal and no socket here, so every flow (joining a
//! locked room, a reconnect with its gap fill, a paste) is tested by feeding
//! events and reading the state and the requests it made.
//!
//! Each request gets an id and a [`Pending`] entry saying what it was for;
//! its answer (or its error) is matched by that id and lands in the
//! conversation it concerns. Requests go out as [`Effect`]s that the main
//! loop hands to the connection.

use std::collections::HashMap;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use crate::commands::{self, Command};
use crate::connection::{Incoming, Link};
use crate::input::{Completion, Editor, History};
use crate::protocol::{Body, Envelope, Frame, Member, MessageKind, Request, RoomMessage};
use crate::secret::Secret;
use crate::state::{mentions, next_gap_page, Conversations, Kind, What};

/// Messages per page when scrolling back.
const OLDER_PAGE: usize = 50;
/// Messages per page when filling a gap (the server's maximum).
const GAP_PAGE: usize = 200;
/// `:history` without a count.
const HISTORY_DEFAULT: usize = 20;
/// Rows the mouse wheel scrolls.
const WHEEL_ROWS: usize = 3;

/// What the main loop must do for the app.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this frame.
    Send(String),
    /// Register as this name on the next connection.
    Rename(String),
    /// Say goodbye to the server and exit.
    Quit,
}

/// What a request was for, to place its answer.
#[derive(Debug)]
enum Pending {
    Join {
        room: String,
        password: Option<Secret>,
        rejoin: bool,
    },
    Create {
        room: String,
    },
    Say {
        room: String,
        text: String,
        emote: bool,
    },
    Msg {
        to: String,
    },
    History {
        room: String,
        purpose: Fetch,
        limit: usize,
    },
    /// A request about a room whose only answer worth showing is an error
    /// (or the events it causes): part, topic, host commands.
    Room {
        room: String,
    },
    /// A request about no room in particular (rooms, users, nick).
    General,
}

/// Why history was fetched.
#[derive(Debug, Clone, Copy)]
enum Fetch {
    /// Scrolling up past the top.
    Older,
    /// Filling the gap after message `since` (a reconnect, or "missed").
    Gap { since: Option<i64> },
    /// `:history n`.
    Command,
}

/// The masked prompt, and what its answer is for.
#[derive(Debug)]
pub struct Prompt {
    pub label: String,
    pub secret: Secret,
    purpose: Answer,
}

#[derive(Debug)]
enum Answer {
    /// `rejoin`: entering again after a reconnect, so the gap is filled.
    Join {
        room: String,
        rejoin: bool,
    },
    NewPassword {
        room: String,
    },
    Confirm {
        room: String,
        first: Secret,
    },
}

/// Viewport facts from the last drawing, for scrolling.
#[derive(Debug, Clone, Copy, Default)]
pub struct Viewport {
    /// Rows of the message pane.
    pub rows: usize,
    /// Columns of the message pane.
    pub width: usize,
    /// How far the selected conversation can scroll up.
    pub max_scroll: usize,
}

pub struct App {
    /// The name we are registered as.
    pub me: String,
    /// The server URL, for the status line.
    pub server: String,
    pub link: Link,
    pub online: bool,
    pub conversations: Conversations,
    pub editor: Editor,
    pub history: History,
    completion: Option<Completion>,
    pub prompt: Option<Prompt>,
    /// A multi-line paste waiting for y/n.
    pub paste: Option<Vec<String>>,
    pub show_members: bool,
    pub viewport: Viewport,
    /// Ring the bell after the next drawing.
    pub ring: bool,
    /// Clear the terminal and draw everything anew (Ctrl-L).
    pub repaint: bool,
    bell: bool,
    pub quit: bool,
    /// Why the client gave up, if it did.
    pub fatal: Option<String>,
    /// The current time in Unix milliseconds; the main loop sets it.
    pub now: i64,
    rooms_at_start: Vec<String>,
    registered_before: bool,
    /// Why the last connection attempt failed, to say it once.
    last_failure: Option<String>,
    /// Room names seen in `:rooms`, for completion.
    known_rooms: Vec<String>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
    effects: Vec<Effect>,
}

impl App {
    pub fn new(me: &str, server: &str, rooms: Vec<String>, bell: bool, show_members: bool) -> Self {
        Self {
            me: me.to_owned(),
            server: server.to_owned(),
            link: Link::Connecting { attempt: 0 },
            online: false,
            conversations: Conversations::default(),
            editor: Editor::default(),
            history: History::default(),
            completion: None,
            prompt: None,
            paste: None,
            show_members,
            viewport: Viewport::default(),
            ring: false,
            repaint: false,
            bell,
            quit: false,
            fatal: None,
            now: 0,
            rooms_at_start: rooms,
            registered_before: false,
            last_failure: None,
            known_rooms: Vec::new(),
            pending: HashMap::new(),
            next_id: 1,
            effects: Vec::new(),
        }
    }

    /// A request could not be queued: the connection is far behind.
    pub fn refuse_busy(&mut self) {
        let here = self.conversations.selected;
        self.error(
            here,
            "too many requests are waiting to be sent; that one was dropped",
        );
    }

    /// The effects produced since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    fn request(&mut self, request: Request, pending: Pending) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, pending);
        let envelope = Envelope {
            request,
            id: Some(id),
        };
        self.effects.push(Effect::Send(envelope.to_json()));
    }

    fn notice(&mut self, index: usize, text: impl Into<String>) {
        let now = self.now;
        self.conversations.list[index].push(now, What::Notice(text.into()));
    }

    fn info(&mut self, index: usize, text: impl Into<String>) {
        let now = self.now;
        self.conversations.list[index].push(now, What::Info(text.into()));
    }

    fn error(&mut self, index: usize, text: impl Into<String>) {
        let now = self.now;
        self.conversations.list[index].push(now, What::Error(text.into()));
    }

    /// The room conversation's index, opened if new.
    fn room_index(&mut self, room: &str) -> usize {
        self.conversations.open(Kind::Room, room);
        self.conversations
            .find(Kind::Room, room)
            .expect("just opened")
    }

    /// Where a line about `room` goes: its conversation, or the one on screen.
    fn about(&self, room: &str) -> usize {
        self.conversations
            .find(Kind::Room, room)
            .unwrap_or(self.conversations.selected)
    }

    // ---- the connection -------------------------------------------------

    pub fn on_incoming(&mut self, incoming: Incoming) {
        let selected = self.conversations.selected;
        let before = self.conversations.current().entries.len();
        self.handle_incoming(incoming);
        self.keep_view(selected, before);
    }

    /// While the pane on screen is scrolled up, lines arriving at its end
    /// push the scroll position up by their rows, so what is being read
    /// stays where it is.
    fn keep_view(&mut self, selected: usize, before: usize) {
        let width = self.viewport.width;
        if selected != self.conversations.selected || width == 0 {
            return;
        }
        let conversation = self.conversations.current_mut();
        if conversation.scroll == 0 || conversation.entries.len() <= before {
            return;
        }
        let added = conversation.entries.len() - before;
        let start = conversation.entries.len() - added;
        let rows: usize = conversation.entries[start..]
            .iter()
            .map(|entry| crate::ui::entry_rows(entry, width))
            .sum();
        conversation.scroll += rows;
    }

    fn handle_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Link(link) => self.link = link,
            Incoming::Registered { name } => self.registered(name),
            Incoming::Frame(frame) => self.on_frame(frame),
            Incoming::Lost { why } => self.lost(&why),
            Incoming::Fatal(why) => {
                self.fatal = Some(why);
                self.quit = true;
            }
        }
    }

    fn registered(&mut self, name: String) {
        self.online = true;
        self.last_failure = None;
        if !name.eq_ignore_ascii_case(&self.me) {
            let wanted = std::mem::replace(&mut self.me, name.clone());
            self.error(
                0,
                format!("the name {wanted} is taken; you are {name} (:nick {wanted} to try again)"),
            );
            for index in 0..self.conversations.list.len() {
                if self.conversations.list[index].rejoin {
                    self.error(index, format!("the name {wanted} is taken; you are {name}"));
                }
            }
        }
        self.me = name;
        if !self.registered_before {
            self.registered_before = true;
            let server = self.server.clone();
            let me = self.me.clone();
            self.notice(
                0,
                format!("connected to {server} as {me}; :help shows the keys and commands"),
            );
            for room in std::mem::take(&mut self.rooms_at_start) {
                self.request(
                    Request::Join {
                        room: room.clone(),
                        password: None,
                    },
                    Pending::Join {
                        room,
                        password: None,
                        rejoin: false,
                    },
                );
            }
            return;
        }
        self.notice(0, "reconnected");
        for index in 0..self.conversations.list.len() {
            let conversation = &mut self.conversations.list[index];
            // `rejoin` stays set until the room is joined or refused, so a
            // connection lost again before the answer tries again.
            if conversation.kind != Kind::Room || !conversation.rejoin {
                continue;
            }
            let room = conversation.name.clone();
            let password = conversation.password.clone();
            self.request(
                Request::Join {
                    room: room.clone(),
                    password: password.clone(),
                },
                Pending::Join {
                    room,
                    password,
                    rejoin: true,
                },
            );
        }
    }

    fn lost(&mut self, why: &str) {
        let was_online = std::mem::replace(&mut self.online, false);
        self.pending.clear();
        if !was_online {
            // Failed attempts: say why once, and again only when it changes.
            if self.last_failure.as_deref() != Some(why) {
                self.last_failure = Some(why.to_owned());
                self.error(0, format!("cannot connect to {}: {why}", self.server));
            }
            return;
        }
        self.error(0, format!("connection lost: {why}"));
        for index in 1..self.conversations.list.len() {
            let conversation = &mut self.conversations.list[index];
            if conversation.kind == Kind::Room && (conversation.joined || conversation.rejoin) {
                conversation.joined = false;
                conversation.rejoin = true;
                self.error(index, "connection lost; reconnecting");
            }
        }
    }

    // ---- server frames --------------------------------------------------

    pub fn on_frame(&mut self, frame: Frame) {
        let pending = frame.request_id().and_then(|id| self.pending.remove(&id));
        match frame.body {
            Body::Joined {
                room,
                locked,
                topic,
                members,
                history,
            } => self.joined(pending, room, locked, topic, members, history),
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
            Body::History { room, messages } => self.history_page(pending, &room, &messages),
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
            Body::Private { from, text, at } => {
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
                    let line = match reason.as_str() {
                        "quit" => format!("{name} left the chat"),
                        "disconnected" => format!("{name} disconnected"),
                        "kicked" => format!(
                            "{name} was kicked by {}{}",
                            by.unwrap_or_default(),
                            message.map(|m| format!(": {m}")).unwrap_or_default()
                        ),
                        _ => format!("{name} left {room}"),
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
                let by = by.unwrap_or_default();
                self.notice(index, format!("{by} took host rights from {name}"));
            }
            Body::TopicChanged { room, by, topic } => {
                let index = self.about(&room);
                match &topic {
                    Some(topic) => self.notice(index, format!("{by} set the topic: {topic}")),
                    None => self.notice(index, format!("{by} cleared the topic")),
                }
                self.conversations.list[index].topic = topic;
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
            Body::Missed { room, count } => {
                let now = self.now;
                match room {
                    Some(room) => {
                        let index = self.about(&room);
                        let since = self.conversations.list[index].newest_id();
                        self.conversations.list[index].push(now, What::Missed(count));
                        self.request(
                            Request::History {
                                room: room.clone(),
                                limit: GAP_PAGE,
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
        if history.is_empty() {
            conversation.history_start = true;
        }
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
                        limit: GAP_PAGE,
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
                            limit,
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

    // ---- the keyboard and the mouse -------------------------------------

    pub fn on_terminal(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) => self.on_paste(&text),
            Event::Mouse(mouse) => match mouse.kind {
                MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
                MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if self.paste.is_some() {
            return self.confirm_paste(key.code);
        }
        if self.prompt.is_some() {
            return self.prompt_key(key.code, ctrl);
        }
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        match key.code {
            KeyCode::Char('c') if ctrl => self.execute(Command::Quit),
            KeyCode::Char('n') if ctrl => self.conversations.cycle(true),
            KeyCode::Char('p') if ctrl => self.conversations.cycle(false),
            KeyCode::Char('a') if ctrl => self.editor.home(),
            KeyCode::Char('e') if ctrl => self.editor.end(),
            KeyCode::Char('k') if ctrl => self.editor.kill_to_end(),
            KeyCode::Char('u') if ctrl => self.editor.kill_to_start(),
            KeyCode::Char('w') if ctrl => self.editor.kill_word_back(),
            KeyCode::Char('b') if alt => self.editor.word_left(),
            KeyCode::Char('f') if alt => self.editor.word_right(),
            KeyCode::Char(digit @ '1'..='9') if alt => {
                self.conversations.select(digit as usize - '1' as usize);
            }
            KeyCode::Char('l') if ctrl => self.repaint = true,
            KeyCode::Char(c) if !ctrl && !alt => self.editor.insert(c.encode_utf8(&mut [0; 4])),
            KeyCode::Left => self.editor.left(),
            KeyCode::Right => self.editor.right(),
            KeyCode::Home => self.editor.home(),
            KeyCode::End => self.editor.end(),
            KeyCode::Backspace => self.editor.delete_back(),
            KeyCode::Delete => self.editor.delete_forward(),
            KeyCode::Up => {
                let current = self.editor.text().to_owned();
                if let Some(line) = self.history.older(&current) {
                    let line = line.to_owned();
                    self.editor.set(&line);
                }
            }
            KeyCode::Down => {
                if let Some(line) = self.history.newer() {
                    let line = line.to_owned();
                    self.editor.set(&line);
                }
            }
            KeyCode::PageUp => self.scroll_up(self.viewport.rows.saturating_sub(1).max(1)),
            KeyCode::PageDown => self.scroll_down(self.viewport.rows.saturating_sub(1).max(1)),
            KeyCode::F(2) => self.show_members = !self.show_members,
            KeyCode::Tab => self.complete(),
            KeyCode::Enter => self.submit(),
            _ => {}
        }
    }

    fn complete(&mut self) {
        let conversation = self.conversations.current();
        let mut nicks: Vec<String> = conversation
            .members
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let mut rooms: Vec<String> = self.known_rooms.clone();
        for c in &self.conversations.list[1..] {
            match c.kind {
                Kind::Room => rooms.push(c.name.clone()),
                Kind::Private => nicks.push(c.name.clone()),
                Kind::Status => {}
            }
        }
        let me = self.me.clone();
        let previous = self.completion.take();
        self.completion = Completion::complete(&mut self.editor, previous, |word, first| {
            if first && word.starts_with(':') {
                return commands::names().collect();
            }
            nicks.retain(|n| !n.eq_ignore_ascii_case(&me));
            if first {
                // Addressing someone: `bob: `.
                nicks = nicks.into_iter().map(|n| format!("{n}: ")).collect();
            }
            nicks.into_iter().chain(rooms).collect()
        });
    }

    fn on_paste(&mut self, text: &str) {
        if self.prompt.is_some() {
            // Pasting a password is fine; its line breaks end nothing.
            if let Some(prompt) = &mut self.prompt {
                for c in text.chars().filter(|c| !c.is_control()) {
                    prompt.secret.push(c);
                }
            }
            return;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.replace('\t', "    ")
                    .chars()
                    .filter(|&c| shown(c))
                    .collect()
            })
            .collect();
        match lines.len() {
            0 => {}
            1 => self.editor.insert(&lines[0]),
            _ => self.paste = Some(lines),
        }
    }

    fn confirm_paste(&mut self, key: KeyCode) {
        let Some(lines) = self.paste.take() else {
            return;
        };
        if matches!(key, KeyCode::Char('y') | KeyCode::Char('Y')) {
            // Pasted lines are chat, even one that starts with ':'.
            for line in lines {
                self.say(line, false);
            }
        } else {
            let here = self.conversations.selected;
            self.notice(
                here,
                format!("the paste of {} lines was not sent", lines.len()),
            );
        }
    }

    fn prompt_key(&mut self, key: KeyCode, ctrl: bool) {
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        match key {
            KeyCode::Esc | KeyCode::Char('c') if ctrl || key == KeyCode::Esc => {
                self.prompt = None;
                let here = self.conversations.selected;
                self.notice(here, "cancelled");
            }
            KeyCode::Char('u') if ctrl => prompt.secret = Secret::default(),
            KeyCode::Char(c) if !ctrl => prompt.secret.push(c),
            KeyCode::Backspace => prompt.secret.pop(),
            KeyCode::Enter => {
                let prompt = self.prompt.take().expect("checked above");
                self.answer(prompt);
            }
            _ => {}
        }
    }

    fn answer(&mut self, prompt: Prompt) {
        let here = self.conversations.selected;
        if prompt.secret.is_empty() {
            return self.notice(here, "cancelled");
        }
        match prompt.purpose {
            Answer::Join { room, rejoin } => self.request(
                Request::Join {
                    room: room.clone(),
                    password: Some(prompt.secret.clone()),
                },
                Pending::Join {
                    room,
                    password: Some(prompt.secret),
                    rejoin,
                },
            ),
            Answer::NewPassword { room } => {
                self.prompt = Some(Prompt {
                    label: format!("the new password for {room} again"),
                    secret: Secret::default(),
                    purpose: Answer::Confirm {
                        room,
                        first: prompt.secret,
                    },
                });
            }
            Answer::Confirm { room, first } => {
                if first != prompt.secret {
                    return self.error(here, "the two passwords differ; nothing changed");
                }
                if let Some(conversation) = self.conversations.room(&room) {
                    conversation.password = Some(first.clone());
                }
                self.request(
                    Request::SetPassword {
                        room: room.clone(),
                        password: first,
                    },
                    Pending::Room { room },
                );
            }
        }
    }

    fn scroll_up(&mut self, rows: usize) {
        let max = self.viewport.max_scroll;
        let online = self.online;
        let conversation = self.conversations.current_mut();
        let at_top = conversation.scroll >= max;
        conversation.scroll = (conversation.scroll + rows).min(max);
        if at_top
            && online
            && conversation.kind == Kind::Room
            && conversation.joined
            && !conversation.history_start
            && !conversation.loading_older
        {
            conversation.loading_older = true;
            let room = conversation.name.clone();
            let before = conversation.oldest_id();
            self.request(
                Request::History {
                    room: room.clone(),
                    limit: OLDER_PAGE,
                    before,
                },
                Pending::History {
                    room,
                    purpose: Fetch::Older,
                    limit: OLDER_PAGE,
                },
            );
        }
    }

    fn scroll_down(&mut self, rows: usize) {
        let conversation = self.conversations.current_mut();
        conversation.scroll = conversation.scroll.saturating_sub(rows);
    }

    // ---- commands -------------------------------------------------------

    fn submit(&mut self) {
        let line = self.editor.take();
        if line.trim().is_empty() {
            return;
        }
        self.history.push(&line);
        let here = self.conversations.selected;
        match commands::parse(&line) {
            Err(why) => {
                self.error(here, why);
                self.editor.set(&line);
            }
            Ok(command) => {
                if needs_server(&command) && !self.online {
                    self.error(
                        here,
                        "not connected: the line was kept; Enter sends it once reconnected",
                    );
                    self.editor.set(&line);
                    return;
                }
                self.conversations.current_mut().scroll = 0;
                self.execute(command);
            }
        }
    }

    /// The room on screen, or an error line saying a room is needed.
    fn current_room(&mut self) -> Option<String> {
        let conversation = self.conversations.current();
        if conversation.kind == Kind::Room && conversation.joined {
            return Some(conversation.name.clone());
        }
        let here = self.conversations.selected;
        self.error(
            here,
            "this needs a room you are in: switch to one (Alt-1..9) or :cr ROOM",
        );
        None
    }

    fn say(&mut self, text: String, emote: bool) {
        let conversation = self.conversations.current();
        match conversation.kind {
            Kind::Private if !emote => {
                let to = conversation.name.clone();
                self.request(
                    Request::Msg {
                        to: to.clone(),
                        text,
                    },
                    Pending::Msg { to },
                );
            }
            _ => {
                let Some(room) = self.current_room() else {
                    return;
                };
                let request = if emote {
                    Request::Emote {
                        room: room.clone(),
                        text: text.clone(),
                    }
                } else {
                    Request::Say {
                        room: room.clone(),
                        text: text.clone(),
                    }
                };
                self.request(request, Pending::Say { room, text, emote });
            }
        }
    }

    fn room_request(&mut self, make: impl FnOnce(String) -> Request) {
        if let Some(room) = self.current_room() {
            self.request(make(room.clone()), Pending::Room { room });
        }
    }

    fn execute(&mut self, command: Command) {
        let here = self.conversations.selected;
        match command {
            Command::Say(text) => self.say(text, false),
            Command::Me(text) => self.say(text, true),
            Command::Join(room) => match self.conversations.find(Kind::Room, &room) {
                Some(index) if self.conversations.list[index].joined => {
                    self.conversations.select(index);
                }
                _ => {
                    let password = self
                        .conversations
                        .room(&room)
                        .and_then(|c| c.password.clone());
                    self.request(
                        Request::Join {
                            room: room.clone(),
                            password: password.clone(),
                        },
                        Pending::Join {
                            room,
                            password,
                            rejoin: false,
                        },
                    );
                }
            },
            Command::Create(room) => {
                self.request(
                    Request::Create { room: room.clone() },
                    Pending::Create { room },
                );
            }
            Command::ExtraRoom { room, text } => match self.conversations.find(Kind::Room, &room) {
                Some(index) if self.conversations.list[index].joined => {
                    let room = self.conversations.list[index].name.clone();
                    self.notice(here, format!("sent to {room}"));
                    self.request(
                        Request::Say {
                            room: room.clone(),
                            text: text.clone(),
                        },
                        Pending::Say {
                            room,
                            text,
                            emote: false,
                        },
                    );
                }
                // Into a room we are not in, from the one on screen.
                _ => {
                    if let Some(from_room) = self.current_room() {
                        self.request(
                            Request::SayElsewhere {
                                room,
                                from_room: from_room.clone(),
                                text,
                            },
                            Pending::Room { room: from_room },
                        );
                    }
                }
            },
            Command::Msg { to, text } => {
                self.conversations.open(Kind::Private, &to);
                let index = self
                    .conversations
                    .find(Kind::Private, &to)
                    .expect("just opened");
                self.conversations.select(index);
                if let Some(text) = text {
                    self.say(text, false);
                }
            }
            Command::Nick(name) => self.request(Request::Nick { name }, Pending::General),
            Command::Topic(topic) => self.room_request(|room| Request::Topic { room, topic }),
            Command::Who(None) => self.room_request(|room| Request::Who { room }),
            Command::Who(Some(room)) if room == "*" => {
                self.request(Request::Users, Pending::General);
            }
            Command::Who(Some(room)) => {
                self.request(Request::Who { room: room.clone() }, Pending::Room { room });
            }
            Command::Rooms => self.request(Request::Rooms, Pending::General),
            Command::HostAdd(name) => self.room_request(|room| Request::HostAdd { room, name }),
            Command::HostRemove(name) => {
                self.room_request(|room| Request::HostRemove { room, name });
            }
            Command::Password { off: true } => {
                self.room_request(|room| Request::RemovePassword { room });
            }
            Command::Password { off: false } => {
                if let Some(room) = self.current_room() {
                    self.prompt = Some(Prompt {
                        label: format!("new password for {room}"),
                        secret: Secret::default(),
                        purpose: Answer::NewPassword { room },
                    });
                }
            }
            Command::Kick { name, reason } => {
                self.room_request(|room| Request::Kick { room, name, reason });
            }
            Command::Invite(name) => self.room_request(|room| Request::Invite { room, name }),
            Command::History(count) => {
                if let Some(room) = self.current_room() {
                    let limit = count.unwrap_or(HISTORY_DEFAULT);
                    self.request(
                        Request::History {
                            room: room.clone(),
                            limit,
                            before: None,
                        },
                        Pending::History {
                            room,
                            purpose: Fetch::Command,
                            limit,
                        },
                    );
                }
            }
            Command::Close => self.room_request(|room| Request::Close { room }),
            Command::Part(Some(room)) => {
                self.request(Request::Part { room: room.clone() }, Pending::Room { room });
            }
            Command::Part(None) => {
                let conversation = self.conversations.current();
                match conversation.kind {
                    Kind::Private => self.conversations.close(here),
                    Kind::Room if !conversation.joined => self.conversations.close(here),
                    _ => self.room_request(|room| Request::Part { room }),
                }
            }
            Command::Members => self.show_members = !self.show_members,
            Command::Help => {
                for line in HELP_KEYS {
                    self.info(here, *line);
                }
                for spec in commands::COMMANDS {
                    let mut usage = format!(":{} {}", spec.name, spec.usage)
                        .trim_end()
                        .to_owned();
                    for alias in spec.aliases {
                        usage.push_str(&format!(" :{alias}"));
                    }
                    self.info(here, format!("  {usage}  {}", spec.help));
                }
            }
            Command::Quit => {
                self.quit = true;
                self.effects.push(Effect::Quit);
            }
        }
    }
}

/// Whether a pasted character may be kept: no control characters (an
/// escape sequence would reach our own screen before the server cleans the
/// line) and no bidi embeddings, overrides or isolates, which the server
/// removes too.
fn shown(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a command needs the connection (the others are the client's own).
fn needs_server(command: &Command) -> bool {
    !matches!(
        command,
        Command::Members
            | Command::Help
            | Command::Quit
            | Command::Msg { text: None, .. }
            | Command::Part(None)
    )
}

/// The keys, as `:help` shows them.
const HELP_KEYS: &[&str] = &[
    "keys:",
    "  Enter sends; a line starting with :: sends one starting with ':'",
    "  Alt-1..9, Ctrl-N / Ctrl-P: switch conversations",
    "  PgUp / PgDn, mouse wheel: scroll (past the top loads older history)",
    "  Tab: complete nicks, commands, rooms; Up / Down: lines sent before",
    "  Ctrl-A / Ctrl-E: start / end; Alt-B / Alt-F: a word back / on",
    "  Ctrl-K / Ctrl-U / Ctrl-W: delete to the end / to the start / a word",
    "  F2: members on / off; Ctrl-L: redraw; Esc: cancel a password prompt; Ctrl-C: quit",
    "commands (aliases after the arguments):",
];

#[cfg(test)]
mod tests;
