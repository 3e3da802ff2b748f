//! Typed events: everything the chat core tells a user, and the typed
//! answers to their queries.
//!
//! The core never writes bytes. It produces these events and each door
//! renders them for its own wire (plain text for nc and telnet, JSON over
//! WebSocket, IRC), so a new door needs no change to the core. Every event
//! that concerns a room names it, so a client in several rooms can update
//! its view without asking again. What only one door says (the text door's
//! greeting, prompts and help, IRC's numerics) is not here: each door keeps
//! its own output items beside these events.

use std::sync::Arc;

use crate::refusal::Refusal;

/// Why a member left a room, as the remaining members are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// `:exit`, IRC's `QUIT`, with what the user said on the way out.
    Quit { message: Option<String> },
    /// The connection ended without `:exit` (EOF, reset, timeout, flood, ...).
    Disconnected,
    /// Moved to another room with `:cr` or `:new`.
    ChangedRoom,
    /// Left this room and stays in others (doors with several rooms), with
    /// what the user said on the way out.
    Parted { message: Option<String> },
    /// Removed by a host.
    Kicked { by: String, reason: Option<String> },
}

/// One room in a `:rooms` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    pub name: String,
    pub members: usize,
    /// The listener is in it.
    pub joined: bool,
    /// A password is needed to enter.
    pub locked: bool,
    pub topic: Option<String>,
    /// The server's default room (`--default-room`), where the text door
    /// puts everyone.
    pub default: bool,
}

/// One member in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoEntry {
    pub nick: String,
    pub host: bool,
}

/// How a room message was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    Chat,
    Emote,
    /// Sent from `from_room` with `:erm`.
    FromRoom(String),
}

/// A message said in a room, live or from history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMessage {
    /// The stored message id: strictly increasing within a room.
    pub id: i64,
    /// Unix milliseconds, UTC.
    pub at: i64,
    pub room: String,
    pub from: String,
    pub text: String,
    pub kind: MessageKind,
}

/// What a user learns on entering a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    pub room: String,
    /// Just made by this user (`:new`).
    pub created: bool,
    /// The user is a host of it (its creator, or first into it while empty).
    pub host: bool,
    pub locked: bool,
    pub topic: Option<String>,
    /// Everyone in it, the user included, in order of arrival; empty for
    /// doors that show only how many (`count`).
    pub members: Vec<WhoEntry>,
    /// How many are in it, the user included.
    pub count: usize,
    /// Recent messages not seen before on this connection, oldest first.
    pub recent: Vec<RoomMessage>,
}

impl RoomView {
    /// Members other than the user.
    pub fn others(&self) -> usize {
        self.count.saturating_sub(1)
    }
}

/// What a user says about themselves when they log in, if their door asks
/// (IRC's `USER` username and real name). Doors that do not ask leave it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub username: String,
    pub realname: String,
}

/// A connected user, as a query shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub nick: String,
    pub profile: Option<Arc<Profile>>,
    /// Set while the user says they are away, with what they said.
    pub away: Option<Arc<str>>,
}

/// One member of a room, as a query shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub user: UserInfo,
    pub host: bool,
}

/// A room's members in order of arrival (the answer to "who is in it").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMembers {
    pub room: String,
    pub members: Vec<MemberInfo>,
}

/// A room one user is in, and whether they host it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub room: String,
    pub host: bool,
}

/// One user in detail (the answer to "who is this").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetails {
    pub user: UserInfo,
    /// The rooms they are in, sorted by name ignoring case.
    pub rooms: Vec<Membership>,
}

/// Who last set a room's topic, and when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSet {
    pub by: String,
    pub at: i64,
}

/// A room's settings (the answer to "what is this room like").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomStatus {
    pub room: String,
    /// A password is needed to enter.
    pub locked: bool,
    /// Changes whenever the password is set or removed: a door that asked
    /// for a password passes it back (`Request::Join { if_epoch }`), so an
    /// answer typed for an older password is refused rather than tried.
    pub password_epoch: u64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub topic: Option<String>,
    pub topic_set: Option<TopicSet>,
    /// Its hosts, in order of arrival.
    pub hosts: Vec<String>,
    /// The server's default room (no hosts, topic or password).
    pub default: bool,
}

/// Why a hidden prompt ended before its answer arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptCancel {
    /// A host kicked the user out of `room`.
    Kicked { room: String },
    /// A host closed `room`.
    RoomClosed { room: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A name was accepted; `room` is the room a one-room door put the user in.
    Welcome {
        nick: String,
        room: Option<RoomView>,
    },
    /// The user entered a room.
    Entered(RoomView),
    /// The user left a room and stays in the others.
    Parted {
        room: String,
        /// What the user said on the way out, if anything.
        message: Option<String>,
    },
    /// Earlier messages of a room: on entering it (`live_follows`), or asked for.
    History {
        room: String,
        messages: Vec<RoomMessage>,
        live_follows: bool,
        /// Only the newest of more than the most one request may show.
        capped_at: Option<usize>,
    },
    /// To the members of a room a host deleted with `:close`.
    RoomClosed {
        room: String,
        by: String,
    },
    /// A prompt was answered with nothing; nothing changed.
    Cancelled,
    /// A hidden prompt was ended by something else while the user may still
    /// be typing the answer; that answer will be dropped unread.
    PromptCancelled(PromptCancel),
    Message(RoomMessage),
    /// The user's own room message was stored with this id (machine doors).
    Said {
        room: String,
        id: i64,
        at: i64,
    },
    /// Confirmation to the sender of an extra-room message.
    ExtraRoomSent {
        to_room: String,
        members: usize,
    },
    Private {
        from: String,
        text: String,
        at: i64,
    },
    /// Confirmation to the sender of a private message.
    PrivateSent {
        to: String,
        text: String,
    },
    Joined {
        room: String,
        nick: String,
    },
    Left {
        room: String,
        nick: String,
        reason: LeaveReason,
    },
    /// Someone in the room changed their name.
    NickChanged {
        room: String,
        old: String,
        new: String,
    },
    /// The user's own name change succeeded.
    NickSet {
        nick: String,
    },
    RoomList(Vec<RoomSummary>),
    Who {
        room: String,
        members: Vec<WhoEntry>,
    },
    /// Everyone connected.
    Users(Vec<String>),
    /// A room's topic, when asked.
    Topic {
        room: String,
        topic: Option<String>,
    },
    TopicChanged {
        room: String,
        by: String,
        topic: String,
    },
    /// `nick` became a host; `by` is `None` when it happened by succession.
    HostAdded {
        room: String,
        nick: String,
        by: Option<String>,
    },
    HostRemoved {
        room: String,
        nick: String,
        by: String,
    },
    /// A room's password was set (`locked`) or removed.
    LockChanged {
        room: String,
        by: String,
        locked: bool,
    },
    /// To the kicked user.
    YouWereKicked {
        room: String,
        by: String,
        reason: Option<String>,
    },
    /// To an invited user.
    Invited {
        room: String,
        by: String,
    },
    /// Confirmation to the host who invited.
    InviteSent {
        room: String,
        nick: String,
    },
    /// Messages of `room` (private ones when `None`) dropped because this
    /// client read too slowly.
    Missed {
        room: Option<String>,
        count: u64,
    },
    Refused(Refusal),
    /// Answer to a ping.
    Pong,
    /// A request was carried out and there is nothing more to say about it
    /// (machine doors answer every request).
    Done,
    /// Reply to `:exit`.
    Goodbye,
    ShuttingDown,
}

impl Event {
    /// What the event costs in a client's outbox, in bytes: about its size on
    /// any wire, and the same whatever door renders it, so the outbox bound
    /// means the same for every client and is known before rendering.
    pub fn weight(&self) -> usize {
        /// Framing, names of fields, punctuation.
        const OVERHEAD: usize = 32;
        let text = match self {
            Event::Message(message) => message_weight(message),
            Event::History { messages, .. } => messages.iter().map(message_weight).sum(),
            Event::Entered(view)
            | Event::Welcome {
                room: Some(view), ..
            } => {
                view.recent.iter().map(message_weight).sum::<usize>()
                    + view.members.iter().map(|m| m.nick.len() + 8).sum::<usize>()
                    + view.topic.as_ref().map_or(0, String::len)
            }
            Event::Private { from, text, .. } | Event::PrivateSent { to: from, text } => {
                from.len() + text.len()
            }
            Event::RoomList(rooms) => rooms
                .iter()
                .map(|r| r.name.len() + r.topic.as_ref().map_or(0, String::len) + 16)
                .sum(),
            Event::Who { members, .. } => members.iter().map(|m| m.nick.len() + 8).sum(),
            Event::Users(names) => names.iter().map(|n| n.len() + 2).sum(),
            Event::Topic { topic, .. } => topic.as_ref().map_or(0, String::len),
            Event::TopicChanged { topic, .. } => topic.len(),
            _ => 0,
        };
        OVERHEAD + text
    }

    /// The room this event is about, if one.
    pub fn room(&self) -> Option<&str> {
        match self {
            Event::Message(RoomMessage { room, .. })
            | Event::Joined { room, .. }
            | Event::Left { room, .. }
            | Event::NickChanged { room, .. }
            | Event::TopicChanged { room, .. }
            | Event::HostAdded { room, .. }
            | Event::HostRemoved { room, .. }
            | Event::LockChanged { room, .. } => Some(room),
            _ => None,
        }
    }
}

fn message_weight(message: &RoomMessage) -> usize {
    let from_room = match &message.kind {
        MessageKind::FromRoom(room) => room.len(),
        _ => 0,
    };
    message.room.len() + message.from.len() + message.text.len() + from_room + 24
}
