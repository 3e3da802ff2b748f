//! Typed refusals: every way a request can fail, with its data.
//!
//! The core never writes an error sentence; it returns one of these and each
//! door renders it: the JSON door as a stable [`Refusal::code`] plus the
//! [`Display`] sentence, IRC as a numeric (or a NOTICE with the sentence), the
//! text door as `error: ` and its own wording (`doors/text/render.rs`), which
//! adds the colon-command that helps. The [`Display`] sentence is for any
//! client and for the server's log, so it names no door's commands: a JSON
//! client or an irssi user cannot type `:cr`. A refusal always means nothing
//! changed.
//!
//! [`Display`]: std::fmt::Display

use crate::command::ParseError;
use crate::modes::{MaskError, ModeError};
use crate::names::NameError;

/// What a host tried to do in a room that has no hosts (the default room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAction {
    /// Setting the topic.
    Topic,
    /// Setting or removing the password.
    Password,
    /// Kicking a member.
    Kick,
    /// Inviting someone past the password.
    Invite,
    /// Making a member a host.
    HostAdd,
    /// Taking a member's host rights.
    HostRemove,
    /// Closing the room.
    Close,
    /// Setting a mode.
    Mode,
    /// Giving or taking a voice.
    Voice,
    /// Banning, lifting a ban or listing the bans.
    Ban,
}

/// Why a request was refused; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // --- names and registration
    /// The name asked for is not a valid screen or room name.
    #[error("{0}")]
    BadName(NameError),
    /// Another connection holds the screen name.
    #[error("the name {name} is taken; choose another")]
    NameTaken {
        /// The screen name asked for.
        name: String,
    },
    /// The user asked to be renamed to the name they have.
    #[error("you are already {name}")]
    AlreadyNamed {
        /// Their current screen name.
        name: String,
    },
    /// A request came before the connection chose a screen name.
    #[error("choose a screen name first")]
    NameFirst,
    /// A second registration on a connection that has a name.
    #[error("you have a name already")]
    AlreadyRegistered,
    /// A resume token that names no session waiting to be resumed: unknown,
    /// past its grace, ended by a quit, or its connection is still live.
    #[error("that session cannot be resumed; say hello without a token for a new one")]
    ResumeFailed,
    /// The room asked for at registration has a password, which registration
    /// cannot carry.
    #[error("{room} is locked; choose just a name, then enter {room} with its password")]
    LockedAtLogin {
        /// The locked room.
        room: String,
    },

    // --- rooms
    /// Entering a room that does not exist (a join, which could create it).
    #[error("there is no room {room}; create it or enter one that exists")]
    NoSuchRoomToEnter {
        /// The room asked for.
        room: String,
    },
    /// Any other request about a room that does not exist.
    #[error("there is no room {room}")]
    NoSuchRoom {
        /// The room asked for.
        room: String,
    },
    /// Creating a room whose name is in use.
    #[error("room {room} already exists; enter it instead")]
    RoomExists {
        /// The existing room.
        room: String,
    },
    /// Creating a room when the server holds `--max-rooms` already.
    #[error("the server already has its limit of {max} rooms")]
    ServerRoomLimit {
        /// The server's room limit.
        max: usize,
    },
    /// Creating a room past the address's per-minute quota.
    #[error("rooms are being made too fast from your address (at most {per_minute} a minute); try again in {retry_secs} s")]
    RoomCreationLimited {
        /// Rooms one address may create a minute.
        per_minute: u32,
        /// Seconds until the address may create one again.
        retry_secs: u64,
    },
    /// Entering a room past the per-user room limit.
    #[error("you are in {max} rooms already; leave one first")]
    UserRoomLimit {
        /// How many rooms one user may be in.
        max: usize,
    },
    /// Entering a room the user is in.
    #[error("you are already in {room}")]
    AlreadyInRoom {
        /// The room.
        room: String,
    },
    /// A request about a room the user is not a member of.
    #[error("you are not in {room}")]
    NotMember {
        /// The room.
        room: String,
    },
    /// A request about "the room you are in" from a user in none.
    #[error("you are in no room; join one first")]
    NoRoom,
    /// A request about "the room you are in" from a user in several.
    #[error("you are in several rooms; say which one")]
    WhichRoom,
    /// The room was closed between the request and its execution.
    #[error("{room} was just closed")]
    RoomGone {
        /// The closed room.
        room: String,
    },
    /// Saying something into another room that is the user's own room.
    #[error("you are in {room}; just type your message")]
    ExtraRoomIsHere {
        /// The user's room.
        room: String,
    },
    /// Saying something into another room that is locked to the user.
    #[error("{room} is locked; only its members and those who entered it with its password can send to it. Enter it first")]
    ExtraRoomLocked {
        /// The locked room.
        room: String,
    },
    /// Leaving the default room, which one-room users always have.
    #[error("the default room cannot be left")]
    DefaultRoomStays,

    // --- passwords
    /// Entering a locked room without a password.
    #[error("{room} is locked; its password is needed")]
    PasswordNeeded {
        /// The locked room.
        room: String,
    },
    /// Entering a locked room with the wrong password.
    #[error("{}", wrong_password(room, here.as_deref(), *locked_out_secs))]
    WrongPassword {
        /// The locked room.
        room: String,
        /// Where the user still is, for doors with one room at a time.
        here: Option<String>,
        /// Set when this miss started a lockout.
        locked_out_secs: Option<u64>,
    },
    /// Entering a locked room while this connection is locked out of it.
    #[error("too many wrong passwords for {room}; try again in {secs} s")]
    LockedOut {
        /// The locked room.
        room: String,
        /// Seconds until the lockout ends.
        secs: u64,
    },
    /// The room's password changed after the door asked the user for it.
    #[error("the password of {room} changed while you typed; nothing happened. Try again")]
    PasswordChangedWhileTyping {
        /// The room being entered.
        room: String,
    },
    /// A host's password change raced another host's.
    #[error("the password of {room} was changed by someone else meanwhile; nothing changed")]
    PasswordChangedMeanwhile {
        /// The room whose password changed.
        room: String,
    },
    /// A new password and its confirmation differ.
    #[error("the two passwords did not match; nothing changed")]
    PasswordsDiffer,
    /// A password set to the empty string.
    #[error("a password cannot be empty")]
    EmptyPassword,
    /// Hashing the new password failed on the server.
    #[error("the password could not be set; try again")]
    HashFailed,
    /// The server stopped before the request could finish.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Removing the password of a room that has none.
    #[error("{room} has no password")]
    NoPassword {
        /// The unlocked room.
        room: String,
    },

    // --- hosts
    /// A host's request from a member who is not a host.
    #[error("only a host of {room} can do that")]
    NotHost {
        /// The room.
        room: String,
    },
    /// A host's request in the default room, which has no hosts.
    #[error("{}", default_room(room, *action))]
    DefaultRoom {
        /// The default room.
        room: String,
        /// What was asked for.
        action: HostAction,
    },
    /// A host's request about someone who is not in the room.
    #[error("nobody named {name} is in {room}")]
    NoSuchMember {
        /// The screen name asked about.
        name: String,
        /// The room.
        room: String,
    },
    /// Making a host of someone who is one.
    #[error("{name} is already a host of {room}")]
    AlreadyHost {
        /// The member.
        name: String,
        /// The room.
        room: String,
    },
    /// Taking host rights from someone who has none.
    #[error("{name} is not a host of {room}")]
    NotAHost {
        /// The member.
        name: String,
        /// The room.
        room: String,
    },
    /// Taking the host rights of the room's only host.
    #[error("{room} would be left without a host; make someone else a host first")]
    LastHost {
        /// The room.
        room: String,
    },
    /// Kicking a host.
    #[error("{name} is a host; take their host rights first")]
    KickHost {
        /// The host.
        name: String,
    },
    /// A host kicking themselves.
    #[error("you cannot kick yourself; leave the room instead")]
    KickSelf,
    /// Inviting someone to a room anyone may enter.
    #[error("{room} has no password and is not invite-only; anyone can enter it already")]
    InviteUnlocked {
        /// The unlocked room.
        room: String,
    },
    /// Inviting a member of the room.
    #[error("{name} is already in {room}")]
    AlreadyThere {
        /// The member.
        name: String,
        /// The room.
        room: String,
    },
    /// The person's queue of requests from others is full for now.
    #[error("{name} is busy; try again in a moment")]
    Busy {
        /// The person.
        name: String,
    },
    /// The person disconnected while the request was on its way.
    #[error("{name} has just left")]
    JustLeft {
        /// The person.
        name: String,
    },

    // --- moderation
    /// Entering (or sending into) a room that bans the user's name.
    #[error("you are banned from {room}")]
    Banned {
        /// The room.
        room: String,
    },
    /// Speaking in a moderated room without a voice.
    #[error("{room} is moderated: only its hosts and voiced members may speak")]
    Moderated {
        /// The room.
        room: String,
    },
    /// Entering an invite-only room without an invitation.
    #[error("{room} is invite-only; a host of it must invite you first")]
    InviteOnly {
        /// The room.
        room: String,
    },
    /// A ban mask that is not one.
    #[error("{0}")]
    BadMask(MaskError),
    /// A mode change typed as letters that is not one.
    #[error("{0}")]
    BadModes(ModeError),
    /// Banning a pattern that is banned already.
    #[error("{mask} is already banned from {room}")]
    AlreadyBanned {
        /// The pattern, as banned.
        mask: String,
        /// The room.
        room: String,
    },
    /// Lifting a ban the room does not have.
    #[error("{room} has no ban {mask}")]
    NotBanned {
        /// The pattern asked about.
        mask: String,
        /// The room.
        room: String,
    },
    /// A ban past the most one room keeps.
    #[error("{room} has its limit of {max} bans; lift one first")]
    BanListFull {
        /// The room.
        room: String,
        /// The most bans a room keeps.
        max: usize,
    },

    // --- people
    /// A request about a screen name nobody connected holds.
    #[error("nobody named {name} is connected")]
    NoSuchUser {
        /// The screen name asked about.
        name: String,
    },
    /// A private message to oneself.
    #[error("that is you; private messages go to someone else")]
    MessageToSelf,

    // --- history
    /// A history request for no messages or too many.
    #[error("a history count is a number from 1 to {max}")]
    BadHistoryCount {
        /// The most messages one request may ask for.
        max: usize,
    },
    /// The store could not read the history.
    #[error("history is unavailable: {detail}")]
    HistoryUnavailable {
        /// The store's problem, in words.
        detail: String,
    },

    // --- the store
    /// The store could not save a change, so nothing changed.
    #[error("{detail}")]
    NotSaved {
        /// The whole sentence: what was not saved, and why.
        detail: String,
    },
    /// A message went out but the store is not saving history.
    #[error("history is not being saved right now: {detail}")]
    HistoryNotSaved {
        /// The store's problem, in words.
        detail: String,
    },

    // --- input and limits
    /// A colon-command the text door could not parse.
    #[error("{}", bad_command(.0))]
    BadCommand(ParseError),
    /// A colon-command the text door does not know.
    #[error("there is no command {name}")]
    NoSuchCommand {
        /// The word typed, without its colon.
        name: String,
    },
    /// An input line over the limit, dropped unread.
    #[error("line too long (over {limit} bytes); it was dropped")]
    LineTooLong {
        /// The line limit in bytes.
        limit: usize,
    },
    /// Input is arriving faster than the flood limit and is being delayed.
    #[error("slow down: at most {per_second} lines per second; your lines are being delayed")]
    SlowDown {
        /// The sustained rate allowed.
        per_second: u32,
    },
    /// Input far past the flood limit; the connection is closed.
    #[error("too many lines too fast; disconnecting")]
    Flooding,
    /// No screen name was chosen within the registration deadline.
    #[error("no name chosen in time ({secs} s); closing the connection")]
    RegistrationTimeout {
        /// The registration deadline.
        secs: u64,
    },
    /// A connection past the server's total; it is closed at once.
    #[error("the server is full ({max} connections); try again later")]
    ServerFull {
        /// The server's connection limit.
        max: usize,
    },
    /// A connection past the per-address limit; it is closed at once.
    #[error("too many connections from your address (at most {max})")]
    TooManyFromAddress {
        /// The per-address connection limit.
        max: usize,
    },
    /// A machine door's request that is well-formed but not valid.
    #[error("{detail}")]
    BadRequest {
        /// What is wrong with it, as a sentence.
        detail: String,
    },
    /// A JSON door's frame that is not JSON.
    #[error("not JSON: {detail}")]
    BadJson {
        /// The JSON parser's complaint.
        detail: String,
    },
    /// A JSON door's request of a type banter/1 does not have.
    #[error("unknown request type {kind:?}")]
    UnknownType {
        /// The `type` the client sent.
        kind: String,
    },
    /// A binary WebSocket frame.
    #[error("binary frames are not part of banter/1; send JSON in text frames")]
    BinaryFrame,
    /// A line typed for a password prompt that had been cancelled meanwhile.
    #[error("that line was not sent: it answered a cancelled password prompt")]
    AnswerDropped,

    // --- server operators
    /// An operator's request from someone who has not authenticated as one.
    #[error("only server operators may do that")]
    NotOperator,
    /// The server has no operators configured, so nobody can become one.
    #[error("this server has no operators")]
    NoOperators,
    /// An operator name or password that did not match (which of the two is
    /// not said).
    #[error("{}", wrong_operator_password(*locked_out_secs))]
    WrongOperatorPassword {
        /// Set when this miss started a lockout.
        locked_out_secs: Option<u64>,
    },
    /// Too many wrong operator passwords lately.
    #[error("too many wrong operator passwords; wait {secs} s before trying again")]
    OperatorLockedOut {
        /// Seconds until the lockout ends.
        secs: u64,
    },
    /// A name or address the server bans, at registration.
    #[error("{}", server_banned(reason, *until))]
    ServerBanned {
        /// Why, as the operator gave it.
        reason: String,
        /// When the ban ends (Unix milliseconds); `None` for never.
        until: Option<i64>,
    },
    /// A server ban that is not a name pattern, an address or a duration.
    #[error("{detail}")]
    BadServerBan {
        /// What is wrong with it, as a sentence.
        detail: String,
    },
    /// Lifting a server ban that is not in force.
    #[error("there is no server ban on {mask}")]
    NoSuchServerBan {
        /// The mask asked about.
        mask: String,
    },
    /// A room ban by address asked of a cluster node: only a member's own
    /// node knows their address, so the nodes would not agree on it.
    #[error("room bans by address are not available on a cluster; ban the name, or the address server-wide")]
    AddressBanOnCluster,
}

fn wrong_operator_password(locked_out_secs: Option<u64>) -> String {
    let mut text = "wrong operator name or password".to_owned();
    if let Some(secs) = locked_out_secs {
        text.push_str(&format!(
            ". Too many tries: wait {secs} s before trying again"
        ));
    }
    text
}

fn server_banned(reason: &str, until: Option<i64>) -> String {
    let until = match until {
        Some(at) => format!(" until {}", crate::event::utc_minute(at)),
        None => String::new(),
    };
    format!("you are banned from this server{until}: {reason}")
}

fn wrong_password(room: &str, here: Option<&str>, locked_out_secs: Option<u64>) -> String {
    let mut text = format!("wrong password for {room}");
    if let Some(here) = here {
        text.push_str(&format!("; you are still in {here}"));
    }
    if let Some(secs) = locked_out_secs {
        text.push_str(&format!(
            ". Too many tries: wait {secs} s before trying again"
        ));
    }
    text
}

fn default_room(room: &str, action: HostAction) -> String {
    let what = match action {
        HostAction::Topic => "it has no topic; create a room to have one",
        HostAction::Password => "it cannot be locked; create a room to lock one",
        HostAction::Kick => "nobody can be kicked from it",
        HostAction::Invite => "everyone may enter it, so there is nothing to invite to",
        HostAction::HostAdd | HostAction::HostRemove => {
            "it has no hosts; create a room to host one"
        }
        HostAction::Close => "it cannot be closed",
        HostAction::Mode => "its modes are fixed (n and t); create a room to set them",
        HostAction::Voice => "nobody is moderated there, so there is no voice to give",
        HostAction::Ban => "nobody can be banned from it",
    };
    format!("{room} is the default room: {what}")
}

/// A parse error's sentence without the colon-command usage the text door
/// shows (that is [`ParseError`]'s own `Display`).
fn bad_command(err: &ParseError) -> String {
    match err {
        ParseError::Empty => "the command is empty".to_owned(),
        ParseError::Unknown(name) => format!("there is no command {name}"),
        ParseError::MissingArgument { typed, missing, .. } => {
            format!("the command {typed} is missing {missing}")
        }
        ParseError::TooManyArguments {
            typed, expected, ..
        } => format!("the command {typed} takes {expected}"),
        ParseError::BadArguments {
            typed, expected, ..
        } => format!("the command {typed} takes {expected}"),
    }
}

impl Refusal {
    /// A stable identifier for machine doors; never changed once shipped.
    /// Retired codes are never given to another refusal: `not_on_cluster`
    /// (a cluster node refusing room modes, voices and bans, before they
    /// were ops of its log).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "bad_name",
            Refusal::NameTaken { .. } => "name_taken",
            Refusal::AlreadyNamed { .. } => "already_named",
            Refusal::NameFirst => "not_registered",
            Refusal::AlreadyRegistered => "already_registered",
            Refusal::ResumeFailed => "resume_failed",
            Refusal::LockedAtLogin { .. } => "password_needed",
            Refusal::NoSuchRoomToEnter { .. } | Refusal::NoSuchRoom { .. } => "no_such_room",
            Refusal::RoomExists { .. } => "room_exists",
            Refusal::ServerRoomLimit { .. } => "server_room_limit",
            Refusal::RoomCreationLimited { .. } => "room_creation_limited",
            Refusal::UserRoomLimit { .. } => "user_room_limit",
            Refusal::AlreadyInRoom { .. } => "already_in_room",
            Refusal::NotMember { .. } => "not_member",
            Refusal::NoRoom => "no_room",
            Refusal::WhichRoom => "which_room",
            Refusal::RoomGone { .. } => "room_closed",
            Refusal::ExtraRoomIsHere { .. } => "already_in_room",
            Refusal::ExtraRoomLocked { .. } => "room_locked",
            Refusal::DefaultRoomStays => "default_room",
            Refusal::PasswordNeeded { .. } => "password_needed",
            Refusal::WrongPassword { .. } => "wrong_password",
            Refusal::LockedOut { .. } => "locked_out",
            Refusal::PasswordChangedWhileTyping { .. }
            | Refusal::PasswordChangedMeanwhile { .. } => "password_changed",
            Refusal::PasswordsDiffer => "passwords_differ",
            Refusal::EmptyPassword => "empty_password",
            Refusal::HashFailed => "internal",
            Refusal::ShuttingDown => "shutting_down",
            Refusal::NoPassword { .. } => "no_password",
            Refusal::NotHost { .. } => "not_host",
            Refusal::DefaultRoom { .. } => "default_room",
            Refusal::NoSuchMember { .. } => "no_such_member",
            Refusal::AlreadyHost { .. } => "already_host",
            Refusal::NotAHost { .. } => "not_a_host",
            Refusal::LastHost { .. } => "last_host",
            Refusal::KickHost { .. } => "kick_host",
            Refusal::KickSelf => "kick_self",
            Refusal::InviteUnlocked { .. } => "no_password",
            Refusal::AlreadyThere { .. } => "already_member",
            Refusal::Busy { .. } => "busy",
            Refusal::JustLeft { .. } => "no_such_user",
            Refusal::NoSuchUser { .. } => "no_such_user",
            Refusal::Banned { .. } => "banned",
            Refusal::Moderated { .. } => "moderated",
            Refusal::InviteOnly { .. } => "invite_only",
            Refusal::BadMask(_) => "bad_mask",
            Refusal::BadModes(_) => "bad_mode",
            Refusal::AlreadyBanned { .. } => "already_banned",
            Refusal::NotBanned { .. } => "not_banned",
            Refusal::BanListFull { .. } => "ban_list_full",
            Refusal::MessageToSelf => "message_to_self",
            Refusal::BadHistoryCount { .. } => "bad_count",
            Refusal::HistoryUnavailable { .. } => "history_unavailable",
            Refusal::NotSaved { .. } => "not_saved",
            Refusal::HistoryNotSaved { .. } => "history_not_saved",
            Refusal::BadCommand(_) => "bad_command",
            Refusal::NoSuchCommand { .. } => "no_such_command",
            Refusal::LineTooLong { .. } => "too_long",
            Refusal::SlowDown { .. } => "rate_limited",
            Refusal::Flooding => "flooding",
            Refusal::RegistrationTimeout { .. } => "registration_timeout",
            Refusal::ServerFull { .. } => "server_full",
            Refusal::TooManyFromAddress { .. } => "too_many_connections",
            Refusal::BadRequest { .. } => "bad_request",
            Refusal::BadJson { .. } => "bad_json",
            Refusal::UnknownType { .. } => "unknown_type",
            Refusal::BinaryFrame => "binary_frame",
            Refusal::AnswerDropped => "answer_dropped",
            Refusal::NotOperator => "not_operator",
            Refusal::NoOperators => "no_operators",
            Refusal::WrongOperatorPassword { .. } => "wrong_password",
            Refusal::OperatorLockedOut { .. } => "locked_out",
            Refusal::ServerBanned { .. } => "server_banned",
            Refusal::BadServerBan { .. } => "bad_server_ban",
            Refusal::NoSuchServerBan { .. } => "no_such_server_ban",
            Refusal::AddressBanOnCluster => "address_ban_on_cluster",
        }
    }
}

impl From<NameError> for Refusal {
    fn from(err: NameError) -> Self {
        Refusal::BadName(err)
    }
}

impl From<ParseError> for Refusal {
    fn from(err: ParseError) -> Self {
        Refusal::BadCommand(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One refusal of every kind (and every kind of the data that words
    /// them), with a number per kind: the match has no catch-all, so a new
    /// refusal does not compile here until it has a number and a sample.
    fn one_of_each() -> Vec<Refusal> {
        let room = || "games".to_owned();
        let name = || "bob".to_owned();
        let mut all = vec![
            Refusal::BadName(NameError::BadChar {
                kind: "a screen name",
                allowed: "letters",
                found: ':',
            }),
            Refusal::NameTaken { name: name() },
            Refusal::AlreadyNamed { name: name() },
            Refusal::NameFirst,
            Refusal::AlreadyRegistered,
            Refusal::ResumeFailed,
            Refusal::LockedAtLogin { room: room() },
            Refusal::NoSuchRoomToEnter { room: room() },
            Refusal::NoSuchRoom { room: room() },
            Refusal::RoomExists { room: room() },
            Refusal::ServerRoomLimit { max: 5 },
            Refusal::RoomCreationLimited {
                per_minute: 5,
                retry_secs: 9,
            },
            Refusal::UserRoomLimit { max: 5 },
            Refusal::AlreadyInRoom { room: room() },
            Refusal::NotMember { room: room() },
            Refusal::NoRoom,
            Refusal::WhichRoom,
            Refusal::RoomGone { room: room() },
            Refusal::ExtraRoomIsHere { room: room() },
            Refusal::ExtraRoomLocked { room: room() },
            Refusal::DefaultRoomStays,
            Refusal::PasswordNeeded { room: room() },
            Refusal::WrongPassword {
                room: room(),
                here: Some("lobby".into()),
                locked_out_secs: Some(30),
            },
            Refusal::LockedOut {
                room: room(),
                secs: 30,
            },
            Refusal::PasswordChangedWhileTyping { room: room() },
            Refusal::PasswordChangedMeanwhile { room: room() },
            Refusal::PasswordsDiffer,
            Refusal::EmptyPassword,
            Refusal::HashFailed,
            Refusal::ShuttingDown,
            Refusal::NoPassword { room: room() },
            Refusal::NotHost { room: room() },
            Refusal::NoSuchMember {
                name: name(),
                room: room(),
            },
            Refusal::AlreadyHost {
                name: name(),
                room: room(),
            },
            Refusal::NotAHost {
                name: name(),
                room: room(),
            },
            Refusal::LastHost { room: room() },
            Refusal::KickHost { name: name() },
            Refusal::KickSelf,
            Refusal::InviteUnlocked { room: room() },
            Refusal::AlreadyThere {
                name: name(),
                room: room(),
            },
            Refusal::Busy { name: name() },
            Refusal::JustLeft { name: name() },
            Refusal::NoSuchUser { name: name() },
            Refusal::MessageToSelf,
            Refusal::BadHistoryCount { max: 200 },
            Refusal::HistoryUnavailable {
                detail: "the disk is full".into(),
            },
            Refusal::NotSaved {
                detail: "the room was not saved: the disk is full".into(),
            },
            Refusal::HistoryNotSaved {
                detail: "the disk is full".into(),
            },
            Refusal::NoSuchCommand {
                name: "dance".into(),
            },
            Refusal::LineTooLong { limit: 4096 },
            Refusal::SlowDown { per_second: 5 },
            Refusal::Flooding,
            Refusal::RegistrationTimeout { secs: 60 },
            Refusal::ServerFull { max: 100 },
            Refusal::TooManyFromAddress { max: 10 },
            Refusal::BadRequest {
                detail: "room must be a string".into(),
            },
            Refusal::BadJson {
                detail: "expected value at line 1 column 1".into(),
            },
            Refusal::UnknownType {
                kind: "dance".into(),
            },
            Refusal::BinaryFrame,
            Refusal::AnswerDropped,
            Refusal::Banned { room: room() },
            Refusal::Moderated { room: room() },
            Refusal::InviteOnly { room: room() },
            Refusal::BadMask(MaskError::Empty),
            Refusal::BadModes(ModeError::NoSign),
            Refusal::AlreadyBanned {
                mask: "troll*".into(),
                room: room(),
            },
            Refusal::NotBanned {
                mask: "troll*".into(),
                room: room(),
            },
            Refusal::BanListFull {
                room: room(),
                max: 100,
            },
            Refusal::NotOperator,
            Refusal::NoOperators,
            Refusal::WrongOperatorPassword {
                locked_out_secs: Some(30),
            },
            Refusal::OperatorLockedOut { secs: 30 },
            Refusal::ServerBanned {
                reason: "spam".into(),
                until: Some(1_764_619_200_000),
            },
            Refusal::BadServerBan {
                detail: "a duration is a number and a unit".into(),
            },
            Refusal::NoSuchServerBan {
                mask: "troll*".into(),
            },
            Refusal::AddressBanOnCluster,
        ];
        all.extend(
            [
                HostAction::Topic,
                HostAction::Password,
                HostAction::Kick,
                HostAction::Invite,
                HostAction::HostAdd,
                HostAction::HostRemove,
                HostAction::Close,
                HostAction::Mode,
                HostAction::Voice,
                HostAction::Ban,
            ]
            .map(|action| Refusal::DefaultRoom {
                room: "lobby".into(),
                action,
            }),
        );
        let usage = || ":change-room <room>".to_owned();
        all.extend(
            [
                ParseError::Empty,
                ParseError::Unknown("dance".into()),
                ParseError::MissingArgument {
                    typed: "cr".into(),
                    missing: "<room>",
                    usage: usage(),
                },
                ParseError::TooManyArguments {
                    typed: "cr".into(),
                    expected: "a single word (names have no spaces)",
                    usage: usage(),
                },
                ParseError::BadArguments {
                    typed: "set".into(),
                    expected: "'timestamps on' or 'timestamps off'".into(),
                    usage: ":set timestamps on|off".into(),
                },
            ]
            .map(Refusal::BadCommand),
        );
        all
    }

    fn kind_number(refusal: &Refusal) -> usize {
        match refusal {
            Refusal::BadName(_) => 0,
            Refusal::NameTaken { .. } => 1,
            Refusal::AlreadyNamed { .. } => 2,
            Refusal::NameFirst => 3,
            Refusal::AlreadyRegistered => 4,
            Refusal::LockedAtLogin { .. } => 5,
            Refusal::NoSuchRoomToEnter { .. } => 6,
            Refusal::NoSuchRoom { .. } => 7,
            Refusal::RoomExists { .. } => 8,
            Refusal::ServerRoomLimit { .. } => 9,
            Refusal::RoomCreationLimited { .. } => 10,
            Refusal::UserRoomLimit { .. } => 11,
            Refusal::AlreadyInRoom { .. } => 12,
            Refusal::NotMember { .. } => 13,
            Refusal::NoRoom => 14,
            Refusal::WhichRoom => 15,
            Refusal::RoomGone { .. } => 16,
            Refusal::ExtraRoomIsHere { .. } => 17,
            Refusal::ExtraRoomLocked { .. } => 18,
            Refusal::DefaultRoomStays => 19,
            Refusal::PasswordNeeded { .. } => 20,
            Refusal::WrongPassword { .. } => 21,
            Refusal::LockedOut { .. } => 22,
            Refusal::PasswordChangedWhileTyping { .. } => 23,
            Refusal::PasswordChangedMeanwhile { .. } => 24,
            Refusal::PasswordsDiffer => 25,
            Refusal::EmptyPassword => 26,
            Refusal::HashFailed => 27,
            Refusal::ShuttingDown => 28,
            Refusal::NoPassword { .. } => 29,
            Refusal::NotHost { .. } => 30,
            Refusal::DefaultRoom { .. } => 31,
            Refusal::NoSuchMember { .. } => 32,
            Refusal::AlreadyHost { .. } => 33,
            Refusal::NotAHost { .. } => 34,
            Refusal::LastHost { .. } => 35,
            Refusal::KickHost { .. } => 36,
            Refusal::KickSelf => 37,
            Refusal::InviteUnlocked { .. } => 38,
            Refusal::AlreadyThere { .. } => 39,
            Refusal::Busy { .. } => 40,
            Refusal::JustLeft { .. } => 41,
            Refusal::NoSuchUser { .. } => 42,
            Refusal::MessageToSelf => 43,
            Refusal::BadHistoryCount { .. } => 44,
            Refusal::HistoryUnavailable { .. } => 45,
            Refusal::NotSaved { .. } => 46,
            Refusal::HistoryNotSaved { .. } => 47,
            Refusal::BadCommand(_) => 48,
            Refusal::NoSuchCommand { .. } => 49,
            Refusal::LineTooLong { .. } => 50,
            Refusal::SlowDown { .. } => 51,
            Refusal::Flooding => 52,
            Refusal::RegistrationTimeout { .. } => 53,
            Refusal::ServerFull { .. } => 54,
            Refusal::TooManyFromAddress { .. } => 55,
            Refusal::BadRequest { .. } => 56,
            Refusal::BadJson { .. } => 57,
            Refusal::UnknownType { .. } => 58,
            Refusal::BinaryFrame => 59,
            Refusal::AnswerDropped => 60,
            Refusal::ResumeFailed => 61,
            Refusal::Banned { .. } => 62,
            Refusal::Moderated { .. } => 63,
            Refusal::InviteOnly { .. } => 64,
            Refusal::BadMask(_) => 65,
            Refusal::BadModes(_) => 66,
            Refusal::AlreadyBanned { .. } => 67,
            Refusal::NotBanned { .. } => 68,
            Refusal::BanListFull { .. } => 69,
            Refusal::NotOperator => 70,
            Refusal::NoOperators => 71,
            Refusal::WrongOperatorPassword { .. } => 72,
            Refusal::OperatorLockedOut { .. } => 73,
            Refusal::ServerBanned { .. } => 74,
            Refusal::BadServerBan { .. } => 75,
            Refusal::NoSuchServerBan { .. } => 76,
            Refusal::AddressBanOnCluster => 77,
        }
    }

    #[test]
    fn the_samples_hold_every_kind_of_refusal() {
        let mut seen: Vec<usize> = one_of_each().iter().map(kind_number).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..=77).collect::<Vec<_>>());
    }

    #[test]
    fn no_sentence_names_a_colon_command() {
        for refusal in one_of_each() {
            let sentence = refusal.to_string();
            let cites_a_command = sentence
                .as_bytes()
                .windows(2)
                .any(|pair| pair[0] == b':' && pair[1].is_ascii_alphabetic());
            assert!(!cites_a_command, "{refusal:?} reads {sentence:?}");
        }
    }

    #[test]
    fn sentences_suit_any_client() {
        assert_eq!(
            Refusal::NoSuchRoomToEnter { room: "x".into() }.to_string(),
            "there is no room x; create it or enter one that exists"
        );
        assert_eq!(
            Refusal::WrongPassword {
                room: "vault".into(),
                here: Some("lobby".into()),
                locked_out_secs: Some(30)
            }
            .to_string(),
            "wrong password for vault; you are still in lobby. Too many tries: wait 30 s before trying again"
        );
        assert_eq!(
            Refusal::DefaultRoom {
                room: "lobby".into(),
                action: HostAction::Topic
            }
            .to_string(),
            "lobby is the default room: it has no topic; create a room to have one"
        );
        assert_eq!(
            Refusal::BadCommand(ParseError::MissingArgument {
                typed: "cr".into(),
                missing: "<room>",
                usage: ":change-room <room>".into(),
            })
            .to_string(),
            "the command cr is missing <room>"
        );
    }

    #[test]
    fn codes_are_snake_case_words() {
        for refusal in one_of_each() {
            let code = refusal.code();
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
