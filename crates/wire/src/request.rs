//! What a client sends: one [`Request`] per frame, and how a server reads
//! one ([`parse_request`]) so that every way a frame can be wrong is told
//! apart ([`RequestError`]) and answered with the frame's id when it had one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Envelope;

/// One request, written `{"type": ..., fields...}` (PROTOCOL.md). Fields a
/// request does not know are ignored when read; an absent optional field is
/// left out when written.
///
/// `S` holds names and text; `P` holds passwords, so a client can keep them
/// in a type whose `Debug` never shows them (it needs only to serialise as a
/// string), and `Debug` of a request is then safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request<S = String, P = S> {
    /// Take a name: the first request of a connection.
    Hello {
        /// The name wanted.
        name: S,
        /// The token of an earlier `welcome`: takes that session over (its
        /// name wins over `name`) if it is waiting to be resumed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<S>,
    },
    /// Enter an existing room.
    Join {
        /// The room.
        room: S,
        /// The room's password, when it is locked.
        #[serde(skip_serializing_if = "Option::is_none")]
        password: Option<P>,
        /// Only history with an id above this one in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
    },
    /// Create a room and enter it as its host.
    Create {
        /// The new room's name.
        room: S,
    },
    /// Leave a room.
    Part {
        /// The room.
        room: S,
        /// Shown to the room on the way out.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<S>,
    },
    /// Say something in a room.
    Say {
        /// The room.
        room: S,
        /// What is said.
        text: S,
        /// The client's mark for this line (1-64 printable ASCII bytes): a
        /// request repeating a nonce the session used is answered as the
        /// first was and delivered nowhere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<S>,
    },
    /// Act something out in a room (the text door's `:me`).
    Emote {
        /// The room.
        room: S,
        /// The action.
        text: S,
        /// The client's mark for this line (1-64 printable ASCII bytes): a
        /// request repeating a nonce the session used is answered as the
        /// first was and delivered nowhere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<S>,
    },
    /// Say something into a room one is not in (the text door's `:erm`).
    SayElsewhere {
        /// The room it goes to.
        room: S,
        /// One of the sender's rooms, named as where it came from.
        from_room: S,
        /// What is said.
        text: S,
        /// The client's mark for this line (1-64 printable ASCII bytes): a
        /// request repeating a nonce the session used is answered as the
        /// first was and delivered nowhere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<S>,
    },
    /// A private message.
    Msg {
        /// Who it is for.
        to: S,
        /// What is said.
        text: S,
        /// The client's mark for this line (1-64 printable ASCII bytes): a
        /// request repeating a nonce the session used is answered as the
        /// first was and delivered nowhere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<S>,
    },
    /// Change one's name.
    Nick {
        /// The new name.
        name: S,
    },
    /// List every room.
    Rooms,
    /// List a room's members.
    Who {
        /// The room.
        room: S,
    },
    /// List everyone connected.
    Users,
    /// One user in detail: their rooms, away message, whether they are a
    /// server operator, and (to operators) their address.
    Whois {
        /// Their name.
        name: S,
    },
    /// Read a room's topic, or (with `topic`) set it.
    Topic {
        /// The room.
        room: S,
        /// The new topic.
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<S>,
    },
    /// Page back through a room's messages.
    History {
        /// The room.
        room: S,
        /// How many (50 when absent, at most 200).
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
        /// Only messages with an id below this one (the newest when absent).
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
    },
    /// Make a member a host.
    HostAdd {
        /// The room.
        room: S,
        /// The member.
        name: S,
    },
    /// Take host rights away.
    HostRemove {
        /// The room.
        room: S,
        /// The host.
        name: S,
    },
    /// Lock a room with a password, or change it.
    SetPassword {
        /// The room.
        room: S,
        /// The new password.
        password: P,
    },
    /// Unlock a room.
    RemovePassword {
        /// The room.
        room: S,
    },
    /// Remove a member from a room.
    Kick {
        /// The room.
        room: S,
        /// The member.
        name: S,
        /// Told to the member and the room.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<S>,
    },
    /// Let someone into a locked room once without its password.
    Invite {
        /// The room.
        room: S,
        /// Who may come in.
        name: S,
    },
    /// Delete a room and its history.
    Close {
        /// The room.
        room: S,
    },
    /// Set (`on`) or clear a room's mode: `invite_only`, `moderated`,
    /// `no_external`, `secret` or `topic_lock`.
    SetMode {
        /// The room.
        room: S,
        /// The mode's name.
        mode: S,
        /// Set it, or clear it.
        on: bool,
    },
    /// Give (`on`) or take a member's voice.
    Voice {
        /// The room.
        room: S,
        /// The member.
        name: S,
        /// Give it, or take it.
        on: bool,
    },
    /// Ban a name pattern (`*` and `?` wildcards) from a room.
    Ban {
        /// The room.
        room: S,
        /// The pattern.
        mask: S,
    },
    /// Lift a ban.
    Unban {
        /// The room.
        room: S,
        /// The pattern, as `bans` lists it.
        mask: S,
    },
    /// A room's bans (hosts only).
    Bans {
        /// The room.
        room: S,
    },
    /// A room's modes.
    Modes {
        /// The room.
        room: S,
    },
    /// Ask for a `pong`.
    Ping,
    /// Leave: the server says `bye` and closes the connection.
    Quit,
    /// Become a server operator (named in the server's config file).
    Oper {
        /// The operator's name.
        name: S,
        /// Their password.
        password: P,
    },
    /// (operator) Disconnect a user.
    Kill {
        /// Who.
        name: S,
        /// Told to them and their rooms.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<S>,
    },
    /// (operator) Ban a name pattern or an address from the server.
    ServerBan {
        /// A name pattern (`troll*`) or an address (`203.0.113.7`, `203.0.113.*`).
        mask: S,
        /// How long, in seconds; absent for good.
        #[serde(skip_serializing_if = "Option::is_none")]
        seconds: Option<u64>,
        /// Told to those it refuses.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<S>,
    },
    /// (operator) Lift a server ban.
    ServerUnban {
        /// The mask as it was set.
        mask: S,
    },
    /// (operator) The server bans in force.
    ServerBans,
    /// (operator) A notice to everyone connected.
    Announce {
        /// What to say.
        text: S,
    },
}

/// Every request `type`, to tell an unknown type from a malformed request.
pub const REQUEST_TYPES: &[&str] = &[
    "hello",
    "join",
    "create",
    "part",
    "say",
    "emote",
    "say_elsewhere",
    "msg",
    "nick",
    "rooms",
    "who",
    "users",
    "whois",
    "topic",
    "history",
    "host_add",
    "host_remove",
    "set_password",
    "remove_password",
    "kick",
    "invite",
    "close",
    "set_mode",
    "voice",
    "ban",
    "unban",
    "bans",
    "modes",
    "ping",
    "quit",
    "oper",
    "kill",
    "server_ban",
    "server_unban",
    "server_bans",
    "announce",
];

/// Why a frame is not a request, with PROTOCOL.md's error code for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON at all (`bad_json`); the detail is the JSON reader's.
    BadJson(String),
    /// JSON, but not an object, without a `type` string, or with a missing
    /// or mistyped field (`bad_request`); the detail says which.
    BadRequest(String),
    /// A `type` no request has (`unknown_type`).
    UnknownType(String),
}

impl RequestError {
    /// The stable code an `error` frame carries for it.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::BadJson(_) => "bad_json",
            RequestError::BadRequest(_) => "bad_request",
            RequestError::UnknownType(_) => "unknown_type",
        }
    }
}

/// Reads one client frame: its id, whenever the frame is an object that has
/// one (even if the rest is wrong, so the error can answer it), and the
/// request or why it is none.
pub fn parse_request(frame: &str) -> Envelope<Result<Request, RequestError>> {
    let mut value: Value = match serde_json::from_str(frame) {
        Ok(value) => value,
        Err(err) => {
            return Envelope {
                body: Err(RequestError::BadJson(err.to_string())),
                id: None,
            }
        }
    };
    let Some(object) = value.as_object_mut() else {
        return Envelope {
            body: Err(RequestError::BadRequest(
                "a request is a JSON object".into(),
            )),
            id: None,
        };
    };
    let id = object.remove("id");
    let body = match object.get("type") {
        Some(Value::String(kind)) if !REQUEST_TYPES.contains(&kind.as_str()) => {
            Err(RequestError::UnknownType(kind.clone()))
        }
        Some(Value::String(_)) => {
            serde_json::from_value(value).map_err(|err| RequestError::BadRequest(err.to_string()))
        }
        _ => Err(RequestError::BadRequest(
            "a request needs a \"type\" string".into(),
        )),
    };
    Envelope { body, id }
}
