//! The client's brain: keys and server frames in, state changes and
//! requests out. No terminal and no socket here, so every flow (joining a
//! locked room, a reconnect with its gap fill, a paste) is tested by feeding
//! events and reading the state and the requests it made.
//!
//! Each request gets an id and a [`Pending`] entry saying what it was for;
//! its answer (or its error) is matched by that id and lands in the
//! conversation it concerns. Requests go out as [`Effect`]s that the main
//! loop hands to the connection.
//!
//! The connection's side is here; what the server sends is handled in
//! `frames`, the keyboard, mouse and paste in `keys`, typed lines and
//! commands in `execute`, lines to be said (nonces, pace, re-sending after
//! a reconnect) in `lines`.

use std::collections::HashMap;

use crate::connection::{Incoming, Link};
use crate::input::{Completion, Editor, History};
use crate::protocol::{Envelope, Membership, Request};
use crate::secret::Secret;
use crate::state::{Conversations, Kind, What};

/// Messages per page when scrolling back.
const OLDER_PAGE: usize = 50;
/// Messages per page when filling a gap (the server's maximum).
const GAP_PAGE: usize = 200;
/// Messages asked for after a resume, to catch any lost in flight (more
/// pages follow if they do not reach what we had).
const GAP_CHECK: usize = 50;
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
#[derive(Debug, Clone)]
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
    /// Lines to be said, in order: waiting, or sent and not yet answered.
    lines: lines::Lines,
    pacer: lines::Pacer,
    /// Lines of the paste being sent, for its progress.
    paste_total: usize,
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
            lines: lines::Lines::new(),
            pacer: lines::Pacer::default(),
            paste_total: 0,
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
            body: request,
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
        self.pump();
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
            .map(|entry| crate::ui::messages::rows(entry, width))
            .sum();
        conversation.scroll += rows;
        conversation.new_below += added;
    }

    fn handle_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Link(link) => self.link = link,
            Incoming::Registered {
                name,
                resumed: Some(rooms),
                ..
            } => self.resumed(name, &rooms),
            Incoming::Registered { name, wanted, .. } => self.registered(name, &wanted),
            Incoming::Frame(frame) => self.on_frame(frame),
            Incoming::Lost { why } => self.lost(&why),
            Incoming::Fatal(why) => {
                self.fatal = Some(why);
                self.quit = true;
            }
        }
    }

    /// Registered as `name`, having asked for `wanted`.
    fn registered(&mut self, name: String, wanted: &str) {
        self.online = true;
        self.last_failure = None;
        // Said in the status pane, in the conversation on screen and in every
        // room being rejoined, so the user sees it wherever they look.
        let told = |app: &Self, index: usize| {
            index == 0
                || index == app.conversations.selected
                || app.conversations.list[index].rejoin
        };
        if !name.eq_ignore_ascii_case(wanted) {
            let text =
                format!("the name {wanted} is taken; you are {name} (:nick {wanted} to try again)");
            for index in 0..self.conversations.list.len() {
                if told(self, index) {
                    self.error(index, text.clone());
                }
            }
        } else if self.registered_before && !name.eq_ignore_ascii_case(&self.me) {
            for index in 0..self.conversations.list.len() {
                if told(self, index) {
                    self.notice(index, format!("you are {name} again"));
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
                        since: None,
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
            // Only what came after the newest message held; the gap rule
            // pages back if more came than the join shows.
            let since = conversation.newest_id();
            self.request(
                Request::Join {
                    room: room.clone(),
                    password: password.clone(),
                    since,
                },
                Pending::Join {
                    room,
                    password,
                    rejoin: true,
                },
            );
        }
    }

    /// Back in the same session (`resume`): the server kept our name,
    /// rooms and host rights, and sends what we missed while away, so
    /// nothing is joined again and nobody saw us go. Each room's history
    /// is still checked past the newest message we hold, for what was on
    /// its way when the connection broke.
    fn resumed(&mut self, name: String, rooms: &[Membership]) {
        self.online = true;
        self.last_failure = None;
        if name != self.me {
            // The session's name wins over the one asked for.
            self.effects.push(Effect::Rename(name.clone()));
        }
        self.me = name;
        self.notice(0, "reconnected; the session was resumed");
        for index in 1..self.conversations.list.len() {
            let conversation = &mut self.conversations.list[index];
            if conversation.kind != Kind::Room {
                continue;
            }
            let kept = rooms.iter().any(|r| conversation.is(Kind::Room, &r.room));
            let was_in = conversation.joined || conversation.rejoin;
            conversation.rejoin = false;
            conversation.joined = kept;
            if was_in && !kept {
                let room = conversation.name.clone();
                self.error(index, format!("you are no longer in {room}"));
            }
        }
        for room in rooms {
            let index = self.room_index(&room.room);
            let me = self.me.clone();
            let conversation = &mut self.conversations.list[index];
            conversation.joined = true;
            match conversation
                .members
                .iter_mut()
                .find(|m| m.name.eq_ignore_ascii_case(&me))
            {
                Some(member) => {
                    member.host = room.host;
                    member.voice = room.voice;
                }
                None => conversation.members.push(crate::protocol::Member {
                    name: me,
                    host: room.host,
                    voice: room.voice,
                }),
            }
            let since = conversation.newest_id();
            let name = conversation.name.clone();
            self.notice(index, "reconnected");
            if since.is_some() {
                self.request(
                    Request::History {
                        room: name.clone(),
                        limit: Some(GAP_CHECK),
                        before: None,
                    },
                    Pending::History {
                        room: name,
                        purpose: Fetch::Gap { since },
                        limit: GAP_CHECK,
                    },
                );
            }
        }
    }

    /// Quits as `:quit` does (also on SIGTERM and SIGHUP).
    pub fn execute_quit(&mut self) {
        self.execute(crate::commands::Command::Quit);
    }

    fn lost(&mut self, why: &str) {
        let was_online = std::mem::replace(&mut self.online, false);
        self.pending.clear();
        self.lines_unsent();
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
}

mod execute;
mod frames;
mod keys;
mod lines;

pub use lines::MAX_LINE_BYTES;

#[cfg(test)]
mod tests;
