//! What a registered user asks of the chat core, whichever door they came in by.
//!
//! Every door turns its own wire format into these: the text door from
//! colon-commands (`:cr games`), the JSON door from objects
//! (`{"type":"join","room":"games"}`), IRC from its commands. `room: None`
//! means "the room you are in" and works only for a user in exactly one
//! room, as every text-door user is; machine doors always name the room.
//! Names are not validated here: the core does it, so that a refusal can say
//! what was wrong.

/// A message said to a room: chat, or an emote (`:me`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SayKind {
    Chat,
    Emote,
}

/// One request; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Enter an existing room. Doors with one room at a time leave the one
    /// they are in. A locked room needs `password`, unless this connection
    /// has a grant or an invitation. `if_epoch`, when set, refuses the entry
    /// if the room's password changed since that epoch (the door asked for
    /// the password, and someone changed it while the user typed).
    Join {
        room: String,
        password: Option<String>,
        if_epoch: Option<u64>,
    },
    /// Create a room and enter it as its host.
    Create {
        room: String,
    },
    /// Leave a room (doors with several rooms).
    Part {
        room: String,
        /// Shown to the room as the user leaves (IRC's part message).
        message: Option<String>,
    },
    Say {
        room: Option<String>,
        kind: SayKind,
        text: String,
    },
    /// Say something into a room one is not in (`:erm`), marked as sent
    /// from `from`, one of one's own rooms (`None`: the one room one is in).
    SayElsewhere {
        room: String,
        from: Option<String>,
        text: String,
    },
    Private {
        to: String,
        text: String,
    },
    Nick {
        name: String,
    },
    /// Marks the user away with what they said (`Some`), or back (`None`);
    /// others see it when they ask about them.
    Away {
        message: Option<String>,
    },
    Rooms,
    /// The members of a room.
    Who {
        room: Option<String>,
    },
    /// Everyone connected.
    Users,
    Topic {
        room: Option<String>,
        text: Option<String>,
    },
    /// Up to `limit` messages before message id `before` (the newest when `None`).
    History {
        room: Option<String>,
        limit: usize,
        before: Option<i64>,
    },
    HostAdd {
        room: Option<String>,
        name: String,
    },
    HostRemove {
        room: Option<String>,
        name: String,
    },
    /// Sets (`Some`) or removes (`None`) the password. `if_epoch`, when set,
    /// refuses the change if the password changed since that epoch (the user
    /// was asked while someone else changed it).
    SetPassword {
        room: Option<String>,
        password: Option<String>,
        if_epoch: Option<u64>,
    },
    Kick {
        room: Option<String>,
        name: String,
        reason: Option<String>,
    },
    Invite {
        room: Option<String>,
        name: String,
    },
    Close {
        room: Option<String>,
    },
}
