//! What a registered user asks of the chat core, whichever door they came in by.
//!
//! Every door turns its own wire format into these: the text door from
//! colon-commands (`:cr games`), the JSON door from objects
//! (`{"type":"join","room":"games"}`), IRC from its commands. `room: None`
//! means "the room you are in" and works only for a user in exactly one
//! room, as every text-door user is; machine doors always name the room.
//! Names are not validated here: the core does it, so that a refusal can say
//! what was wrong.

use crate::modes::RoomMode;

/// A message said to a room: chat, or an emote (`:me`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SayKind {
    /// An ordinary line of chat.
    Chat,
    /// An action, shown as "* nick text".
    Emote,
    /// A notice (IRC's NOTICE): shown as one, and never answered
    /// automatically by bots.
    Notice,
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
        /// The room to enter.
        room: String,
        /// Its password, for a locked room.
        password: Option<String>,
        /// The password epoch the door asked under (`RoomStatus::password_epoch`).
        if_epoch: Option<u64>,
        /// Show only recent messages with an id above this one (a client
        /// that has the rest); without it, the room's recent messages.
        since: Option<i64>,
    },
    /// Create a room and enter it as its host.
    Create {
        /// The new room's name.
        room: String,
    },
    /// Leave a room (doors with several rooms).
    Part {
        /// The room to leave.
        room: String,
        /// Shown to the room as the user leaves (IRC's part message).
        message: Option<String>,
    },
    /// Say something in a room the user is in.
    Say {
        /// The room to say it in.
        room: Option<String>,
        /// Chat or emote.
        kind: SayKind,
        /// What to say.
        text: String,
    },
    /// Say something into a room one is not in (`:erm`), marked as sent
    /// from `from`, one of one's own rooms (`None`: the one room one is in).
    SayElsewhere {
        /// The room to send into.
        room: String,
        /// The sender's own room the message is marked with.
        from: Option<String>,
        /// What to say.
        text: String,
    },
    /// A private message to one connected user.
    Private {
        /// The recipient's screen name.
        to: String,
        /// What to send.
        text: String,
        /// A notice (IRC `NOTICE`) rather than a message: the recipient's
        /// door shows it as one, and nothing answers it automatically.
        notice: bool,
    },
    /// Change the user's screen name.
    Nick {
        /// The name wanted.
        name: String,
    },
    /// Marks the user away with what they said (`Some`), or back (`None`);
    /// others see it when they ask about them.
    Away {
        /// Why they are away; `None` when they are back.
        message: Option<String>,
    },
    /// The rooms on the server.
    Rooms,
    /// The members of a room.
    Who {
        /// The room asked about.
        room: Option<String>,
    },
    /// Everyone connected.
    Users,
    /// One connected user in detail: the rooms they are in (a secret room
    /// only if the asker is in it too), whether they are away or a server
    /// operator, and, for an asker who is a server operator, their address.
    Whois {
        /// Their screen name, in any case.
        name: String,
    },
    /// Show a room's topic (`text: None`) or set it (a host only).
    Topic {
        /// The room.
        room: Option<String>,
        /// The new topic, when setting it.
        text: Option<String>,
    },
    /// Up to `limit` messages before message id `before` (the newest when `None`).
    History {
        /// The room whose messages to read.
        room: Option<String>,
        /// The most messages wanted.
        limit: usize,
        /// Only messages with a smaller id, for paging back.
        before: Option<i64>,
    },
    /// Make a member a host (a host only).
    HostAdd {
        /// The room.
        room: Option<String>,
        /// The member to make a host.
        name: String,
    },
    /// Take a member's host rights (a host only).
    HostRemove {
        /// The room.
        room: Option<String>,
        /// The host to take them from.
        name: String,
    },
    /// Sets (`Some`) or removes (`None`) the password. `if_epoch`, when set,
    /// refuses the change if the password changed since that epoch (the user
    /// was asked while someone else changed it).
    SetPassword {
        /// The room (a host only).
        room: Option<String>,
        /// The new password; `None` removes it.
        password: Option<String>,
        /// The password epoch the door asked under.
        if_epoch: Option<u64>,
    },
    /// Remove a member from a room (a host only).
    Kick {
        /// The room.
        room: Option<String>,
        /// The member to remove.
        name: String,
        /// Told to the room and to them, if given.
        reason: Option<String>,
    },
    /// Let someone enter a locked room once without its password (a host only).
    Invite {
        /// The room.
        room: Option<String>,
        /// Who to invite.
        name: String,
    },
    /// Delete a room; its members are told and put out of it (a host only).
    Close {
        /// The room.
        room: Option<String>,
    },
    /// Set (`true`) or clear room modes, in order, as one change (a host
    /// only): members are told once, of the modes that changed; a mode
    /// already so changes nothing, and if none changed no one is told.
    SetModes {
        /// The room.
        room: Option<String>,
        /// Each mode, with set (`true`) or clear.
        changes: Vec<(RoomMode, bool)>,
    },
    /// Give (`on`) or take a member's voice: in a moderated room only hosts
    /// and voiced members speak (a host only).
    Voice {
        /// The room.
        room: Option<String>,
        /// The member.
        name: String,
        /// Give it, or take it.
        on: bool,
    },
    /// Ban (`on`) a name pattern from a room, or lift the ban (a host only).
    /// Members the new ban matches, other than hosts, are kicked.
    Ban {
        /// The room.
        room: Option<String>,
        /// The pattern (`troll*`, or IRC's `troll*!*@*`), checked by the core.
        mask: String,
        /// Ban, or lift the ban.
        on: bool,
    },
    /// A room's modes (anyone in it).
    Modes {
        /// The room.
        room: Option<String>,
    },
    /// A room's bans (a host only).
    Bans {
        /// The room.
        room: Option<String>,
    },
    /// Authenticates as a server operator (`[[operator]]` in the config
    /// file). Wrong passwords count toward a lockout, as room passwords do.
    Oper {
        /// The operator's name (not necessarily the screen name).
        name: String,
        /// Their password; never logged or shown.
        password: String,
    },
    /// (operator) Disconnects a user, telling them and their rooms why.
    Kill {
        /// The screen name of the user to disconnect.
        name: String,
        /// Why, told to them and their rooms.
        reason: Option<String>,
    },
    /// (operator) Bans a screen-name pattern (`troll*`, case-insensitive,
    /// `*` and `?` as wildcards) or an address (`203.0.113.7`, `203.0.113.*`)
    /// from the whole server: connected users it matches are disconnected,
    /// and it refuses registration with `reason` until it ends.
    ServerBan {
        /// The name pattern or address.
        mask: String,
        /// How long it lasts, in seconds; `None` for good.
        duration_secs: Option<u64>,
        /// Why, told to those it refuses.
        reason: Option<String>,
    },
    /// (operator) Lifts a server ban.
    ServerUnban {
        /// The mask as it was set.
        mask: String,
    },
    /// (operator) The server bans in force.
    ServerBans,
    /// (operator) A notice to everyone connected (IRC's WALLOPS).
    Announce {
        /// What to tell everyone.
        text: String,
    },
}
