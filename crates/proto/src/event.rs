//! Typed events: everything the chat core tells a session.
//!
//! The core never writes bytes. It produces these events and each session
//! renders them for its own wire (plain text today; JSON lines, telnet,
//! WebSocket and IRC later), so a new transport needs no change to the core.

use crate::command::CommandSpec;

/// Why a member left a room, as the remaining members are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// `:exit`.
    Quit,
    /// The connection ended without `:exit` (EOF, reset, timeout, flood, ...).
    Disconnected,
    /// Moved to another room with `:cr` or `:new`.
    ChangedRoom,
    /// Moved to the default room by a host.
    Kicked { by: String, reason: Option<String> },
}

/// One room in a `:rooms` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    pub name: String,
    pub members: usize,
    /// The listener's own room.
    pub current: bool,
    /// A password is needed to enter.
    pub locked: bool,
}

/// One member in a `:who` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoEntry {
    pub nick: String,
    pub host: bool,
}

/// What kind of line a history entry was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    Chat,
    Emote,
    /// Sent from `from_room` with `:erm`.
    ExtraRoom,
}

/// One remembered message of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Unix milliseconds, UTC.
    pub at: i64,
    pub kind: HistoryKind,
    pub from: String,
    pub text: String,
    pub from_room: Option<String>,
}

/// What the server is asking the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Nick,
    /// The password of a locked room, to enter it. Input is hidden.
    RoomPassword {
        room: String,
    },
    /// A new password for a room (`:passwd`). Input is hidden.
    NewPassword {
        room: String,
    },
    /// The new password again. Input is hidden.
    RepeatPassword {
        room: String,
    },
}

/// Why a hidden prompt ended before its answer arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptCancel {
    /// A host kicked the user out of `room`.
    Kicked { room: String },
    /// A host closed `room`.
    RoomClosed { room: String },
}

impl Prompt {
    /// The answer should not show on the user's screen.
    pub fn hides_input(&self) -> bool {
        !matches!(self, Prompt::Nick)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// First words on connect.
    Greeting,
    Prompt(Prompt),
    /// A name was accepted and the user placed in a room.
    Welcome {
        nick: String,
        room: String,
        others: usize,
    },
    /// The user moved into a room (`created` when it was just made by `:new`).
    Entered {
        room: String,
        others: usize,
        created: bool,
    },
    /// Earlier messages of a room: on entering it (`live_follows`), or for `:history`.
    History {
        room: String,
        entries: Vec<HistoryEntry>,
        live_follows: bool,
    },
    /// To the members of a room a host deleted with `:close`.
    RoomClosed {
        room: String,
        by: String,
    },
    /// A hidden answer arrived: the terminal may show input again.
    HiddenInputEnd,
    /// A prompt was answered with nothing; nothing changed.
    Cancelled,
    /// A hidden prompt was ended by something else while the user may still
    /// be typing the answer; that answer will be dropped unread.
    PromptCancelled(PromptCancel),
    /// The line typed at a cancelled prompt arrived and was dropped unread.
    AnswerDropped,
    Chat {
        room: String,
        from: String,
        text: String,
    },
    Emote {
        room: String,
        from: String,
        text: String,
    },
    /// An extra-room message, as the members of `to_room` see it.
    ExtraRoom {
        to_room: String,
        from_room: String,
        from: String,
        text: String,
    },
    /// Confirmation to the sender of an extra-room message.
    ExtraRoomSent {
        to_room: String,
        members: usize,
    },
    Private {
        from: String,
        text: String,
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
    /// A room's topic: the reply to `:topic`, and shown on entering a room.
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
    /// To the kicked user, now in the default room.
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
    /// `:help`, or `:help <command>` when `command` is set.
    Help {
        command: Option<&'static CommandSpec>,
    },
    /// Messages dropped because this client read too slowly.
    Missed {
        count: u64,
    },
    Error(String),
    /// Reply to `:exit`.
    Goodbye,
    ShuttingDown,
}
