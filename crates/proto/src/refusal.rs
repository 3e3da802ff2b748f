//! Typed refusals: every way a request can fail, with its data.
//!
//! The core never writes an error sentence; it returns one of these and each
//! door renders it: the text door as `error: ` and the [`Display`] sentence
//! (byte for byte what nc users always read), the JSON door as a stable
//! [`Refusal::code`] plus the same sentence, IRC as a numeric. A refusal always
//! means nothing changed.
//!
//! [`Display`]: std::fmt::Display

use crate::command::ParseError;
use crate::names::NameError;

/// What a host tried to do in a room that has no hosts (the default room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAction {
    Topic,
    Password,
    Kick,
    Invite,
    HostAdd,
    HostRemove,
    Close,
}

/// Why a request was refused; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // --- names and registration
    #[error("{0}")]
    BadName(NameError),
    #[error("the name {name} is taken; choose another")]
    NameTaken { name: String },
    #[error("you are already {name}")]
    AlreadyNamed { name: String },
    #[error("choose a screen name first; before that only :help and :exit work")]
    NameFirst,
    #[error("you have a name already")]
    AlreadyRegistered,
    #[error("{room} is locked; choose just a name, then :cr {room} and enter its password")]
    LockedAtLogin { room: String },

    // --- rooms
    #[error("there is no room {room}; create it with :new {room} or see :rooms")]
    NoSuchRoomToEnter { room: String },
    #[error("there is no room {room} (see :rooms)")]
    NoSuchRoom { room: String },
    #[error("room {room} already exists; join it with :cr {room}")]
    RoomExists { room: String },
    #[error("the server already has its limit of {max} rooms")]
    ServerRoomLimit { max: usize },
    #[error("rooms are being made too fast from your address (at most {per_minute} a minute); try again in {retry_secs} s")]
    RoomCreationLimited { per_minute: u32, retry_secs: u64 },
    #[error("you are in {max} rooms already; leave one first")]
    UserRoomLimit { max: usize },
    #[error("you are already in {room}")]
    AlreadyInRoom { room: String },
    #[error("you are not in {room}")]
    NotMember { room: String },
    #[error("you are in no room; join one first")]
    NoRoom,
    #[error("you are in several rooms; say which one")]
    WhichRoom,
    #[error("{room} was just closed")]
    RoomGone { room: String },
    #[error("you are in {room}; just type your message")]
    ExtraRoomIsHere { room: String },
    #[error("{room} is locked; only its members and those who entered it with its password can :erm it. Try :cr {room} first")]
    ExtraRoomLocked { room: String },
    #[error("the default room cannot be left")]
    DefaultRoomStays,

    // --- passwords
    #[error("{room} is locked; its password is needed")]
    PasswordNeeded { room: String },
    #[error("{}", wrong_password(room, here.as_deref(), *locked_out_secs))]
    WrongPassword {
        room: String,
        /// Where the user still is, for doors with one room at a time.
        here: Option<String>,
        /// Set when this miss started a lockout.
        locked_out_secs: Option<u64>,
    },
    #[error("too many wrong passwords for {room}; try again in {secs} s")]
    LockedOut { room: String, secs: u64 },
    #[error(
        "the password of {room} changed while you typed; nothing happened. Try :cr {room} again"
    )]
    PasswordChangedWhileTyping { room: String },
    #[error("the password of {room} was changed by someone else meanwhile; nothing changed")]
    PasswordChangedMeanwhile { room: String },
    #[error("the two passwords did not match; nothing changed")]
    PasswordsDiffer,
    #[error("a password cannot be empty")]
    EmptyPassword,
    #[error("the password could not be set; try again")]
    HashFailed,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("{room} has no password")]
    NoPassword { room: String },

    // --- hosts
    #[error("only a host of {room} can do that (see :who)")]
    NotHost { room: String },
    #[error("{}", default_room(room, *action))]
    DefaultRoom { room: String, action: HostAction },
    #[error("nobody named {name} is in {room}")]
    NoSuchMember { name: String, room: String },
    #[error("{name} is already a host of {room}")]
    AlreadyHost { name: String, room: String },
    #[error("{name} is not a host of {room}")]
    NotAHost { name: String, room: String },
    #[error("{room} would be left without a host; make someone else a host first")]
    LastHost { room: String },
    #[error("{name} is a host; take their host rights first with :hostrm {name}")]
    KickHost { name: String },
    #[error("you cannot kick yourself; use :cr to leave")]
    KickSelf,
    #[error("{room} has no password; anyone can :cr {room} already")]
    InviteUnlocked { room: String },
    #[error("{name} is already in {room}")]
    AlreadyThere { name: String, room: String },
    #[error("{name} is busy; try again in a moment")]
    Busy { name: String },
    #[error("{name} has just left")]
    JustLeft { name: String },

    // --- people
    #[error("nobody named {name} is connected (see :who *)")]
    NoSuchUser { name: String },
    #[error("that is you; :msg sends to someone else")]
    MessageToSelf,

    // --- history
    #[error(":history takes a number from 1 to {max}")]
    BadHistoryCount { max: usize },
    #[error("history is unavailable: {detail}")]
    HistoryUnavailable { detail: String },

    // --- the store
    #[error("{detail}")]
    NotSaved { detail: String },
    #[error("history is not being saved right now: {detail}")]
    HistoryNotSaved { detail: String },

    // --- input and limits
    #[error("{0}")]
    BadCommand(ParseError),
    #[error("there is no command :{name} (type :h to list them)")]
    NoSuchCommand { name: String },
    #[error("line too long (over {limit} bytes); it was dropped")]
    LineTooLong { limit: usize },
    #[error("slow down: at most {per_second} lines per second; your lines are being delayed")]
    SlowDown { per_second: u32 },
    #[error("too many lines too fast; disconnecting")]
    Flooding,
    #[error("no name chosen in time ({secs} s); closing the connection")]
    RegistrationTimeout { secs: u64 },
    #[error("the server is full ({max} connections); try again later")]
    ServerFull { max: usize },
    #[error("too many connections from your address (at most {max})")]
    TooManyFromAddress { max: usize },
    #[error("{detail}")]
    BadRequest { detail: String },
    #[error("not JSON: {detail}")]
    BadJson { detail: String },
    #[error("unknown request type {kind:?}")]
    UnknownType { kind: String },
    #[error("binary frames are not part of banter/1; send JSON in text frames")]
    BinaryFrame,
    #[error("that line was not sent: it answered a cancelled password prompt")]
    AnswerDropped,
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
        HostAction::Topic => "it has no topic; create a room with :new to have one",
        HostAction::Password => "it cannot be locked; create a room with :new to lock one",
        HostAction::Kick => "nobody can be kicked from it",
        HostAction::Invite => "everyone may enter it, so there is nothing to invite to",
        HostAction::HostAdd | HostAction::HostRemove => {
            "it has no hosts; create a room with :new to host one"
        }
        HostAction::Close => "it cannot be closed",
    };
    format!("{room} is the default room: {what}")
}

impl Refusal {
    /// A stable identifier for machine doors; never changed once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "bad_name",
            Refusal::NameTaken { .. } => "name_taken",
            Refusal::AlreadyNamed { .. } => "already_named",
            Refusal::NameFirst => "not_registered",
            Refusal::AlreadyRegistered => "already_registered",
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

    #[test]
    fn sentences_keep_their_text_door_wording() {
        assert_eq!(
            Refusal::NoSuchRoomToEnter { room: "x".into() }.to_string(),
            "there is no room x; create it with :new x or see :rooms"
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
            "lobby is the default room: it has no topic; create a room with :new to have one"
        );
    }

    #[test]
    fn codes_are_snake_case_words() {
        for refusal in [
            Refusal::NoSuchRoom { room: "r".into() },
            Refusal::WrongPassword {
                room: "r".into(),
                here: None,
                locked_out_secs: None,
            },
            Refusal::NotHost { room: "r".into() },
        ] {
            let code = refusal.code();
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
