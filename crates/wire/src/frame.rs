//! What a server sends: one [`Frame`] per WebSocket text frame, a reply to
//! a request (with the request's id beside it, see [`crate::Envelope`]) or
//! an event, and how a client reads one ([`parse_frame`]).
//!
//! Fields PROTOCOL.md shows as `null` when empty are `Option`s that are
//! always written; fields it says appear only sometimes (`from_room`, a
//! leave's `by` and `message`, `welcome`'s `joined`) are left out when empty.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Envelope;

/// How a room message was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain chat.
    Chat,
    /// An emote (`:me`).
    Emote,
    /// Sent into the room from another (`say_elsewhere`, `:erm`); the
    /// message's `from_room` names that room.
    FromRoom,
    /// A notice (IRC's NOTICE to a channel).
    Notice,
}

/// A stored room message: the `message` event, and each entry of a
/// `history` reply or of `joined`'s history (each written with its
/// `"type":"message"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage<S = String> {
    /// The room.
    pub room: S,
    /// Who said it.
    pub from: S,
    /// What was said.
    pub text: S,
    /// The stored message id: strictly increasing within a room.
    pub id: i64,
    /// When, in Unix milliseconds.
    pub at: i64,
    /// How it was said.
    pub kind: MessageKind,
    /// The room it was sent from, when `kind` is `from_room`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_room: Option<S>,
}

/// A room member, as `joined` and `who` list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member<S = String> {
    /// The member's name.
    pub name: S,
    /// Whether the member is a host of the room.
    pub host: bool,
    /// Whether the member has a voice (speaks while the room is moderated);
    /// written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub voice: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One mode a host set or cleared, as `modes_changed` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeSwitch<S = String> {
    /// The mode's name (as `set_mode` takes it).
    pub mode: S,
    /// Set now, or cleared.
    pub on: bool,
}

/// One ban of a room, as the `bans` reply lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban<S = String> {
    /// The name pattern.
    pub mask: S,
    /// The host who set it.
    pub by: S,
    /// When, in Unix milliseconds.
    pub at: i64,
}

/// One room of a resumed session, as `welcome` lists them, or of a user
/// `whois` answers about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership<S = String> {
    /// The room.
    pub room: S,
    /// Whether the session (or user) is a host of it.
    pub host: bool,
    /// Whether the session (or user) has a voice there; written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub voice: bool,
}

/// One room of the `rooms` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo<S = String> {
    /// The room's name.
    pub name: S,
    /// How many are in it.
    pub members: usize,
    /// Whether the asker is one of them.
    pub joined: bool,
    /// Whether entering it needs a password.
    pub locked: bool,
    /// Its topic, shortened to 120 characters.
    pub topic: Option<S>,
    /// Whether it is the server's default room (where the text door puts
    /// everyone).
    #[serde(default)]
    pub default: bool,
}

/// The answer to `join` and `create`: the room as its new member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined<S = String> {
    /// The room.
    pub room: S,
    /// Whether the request made the room.
    pub created: bool,
    /// Whether the joiner is a host of it.
    pub host: bool,
    /// Whether it has a password.
    pub locked: bool,
    /// Its whole topic.
    pub topic: Option<S>,
    /// Everyone in it in order of arrival, the joiner included.
    pub members: Vec<Member<S>>,
    /// Its recent messages, oldest first (only those above `since`, when
    /// the `join` gave one).
    #[serde(with = "tagged_messages")]
    pub history: Vec<RoomMessage<S>>,
}

/// Why a member left a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// Left the chat.
    Quit,
    /// The connection ended without a goodbye.
    Disconnected,
    /// Left the room (and stays in others, or moved to another).
    Parted,
    /// Removed by a host.
    Kicked,
}

/// A server ban, in `server_ban_set` and `server_bans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerBan<S = String> {
    /// The name pattern or address.
    pub mask: S,
    /// Why.
    pub reason: S,
    /// The operator who set it.
    pub by: S,
    /// When it was set, in Unix milliseconds.
    pub at: i64,
    /// When it ends, in Unix milliseconds; `null` for never.
    pub until: Option<i64>,
}

/// One frame from the server: a reply, an event, or both (`room_closed`,
/// `topic_changed` and the like reach everyone, the asker included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame<S = String> {
    /// A name was taken (the answer to `hello`).
    Welcome {
        /// The name.
        name: S,
        /// Always [`crate::PROTOCOL`].
        protocol: S,
        /// The room a server put the user in on arrival, if it did.
        #[serde(skip_serializing_if = "Option::is_none")]
        joined: Option<Joined<S>>,
        /// The token that takes this session over after its connection ends
        /// (`hello`'s `resume`): a secret, at most 64 ASCII characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<S>,
        /// Whether this `welcome` resumed a waiting session.
        #[serde(default)]
        resumed: bool,
        /// A resumed session's rooms, in the order entered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rooms: Option<Vec<Membership<S>>>,
    },
    /// The user entered a room.
    Joined(Joined<S>),
    /// The user left a room (the answer to `part`).
    Parted {
        /// The room.
        room: S,
    },
    /// The user's `say` or `emote` was stored.
    Said {
        /// The room.
        room: S,
        /// The stored message's id.
        message_id: i64,
        /// When, in Unix milliseconds.
        at: i64,
    },
    /// A `say_elsewhere` arrived.
    SentElsewhere {
        /// The room it went to.
        room: S,
        /// How many got it.
        members: usize,
    },
    /// A page of a room's messages, oldest first.
    History {
        /// The room.
        room: S,
        /// The messages.
        #[serde(with = "tagged_messages")]
        messages: Vec<RoomMessage<S>>,
        /// The most one request may fetch, when more was asked for.
        capped_at: Option<usize>,
    },
    /// Every room.
    Rooms {
        /// The rooms.
        rooms: Vec<RoomInfo<S>>,
    },
    /// A room's members.
    Who {
        /// The room.
        room: S,
        /// Its members, in order of arrival.
        members: Vec<Member<S>>,
    },
    /// Everyone connected.
    Users {
        /// Their names.
        names: Vec<S>,
    },
    /// One user in detail (the answer to `whois`).
    Whois {
        /// Their name.
        name: S,
        /// The rooms they are in, sorted by name ignoring case; a secret
        /// room only when the asker is in it too.
        rooms: Vec<Membership<S>>,
        /// What they said on going away; `null` while they are not away.
        away: Option<S>,
        /// Whether they are a server operator.
        operator: bool,
        /// Their network address, for an asker who is a server operator
        /// (and not always then: a cluster's nodes know only their own
        /// users'); `null` otherwise.
        address: Option<S>,
    },
    /// A room's topic, as asked.
    Topic {
        /// The room.
        room: S,
        /// The topic, if it has one.
        topic: Option<S>,
    },
    /// A private message was delivered.
    PrivateSent {
        /// Its addressee.
        to: S,
        /// The text as delivered (cleaned).
        text: S,
    },
    /// The user's new name.
    NickSet {
        /// The name.
        name: S,
    },
    /// A room's bans (the answer to `bans`), oldest first.
    Bans {
        /// The room.
        room: S,
        /// Its bans.
        bans: Vec<Ban<S>>,
    },
    /// A room's modes (the answer to `modes`).
    Modes {
        /// The room.
        room: S,
        /// The names of the modes set, in alphabetical order of their IRC letters.
        modes: Vec<S>,
        /// Whether it has a password too.
        locked: bool,
    },
    /// An invitation was delivered.
    InviteSent {
        /// The room.
        room: S,
        /// Who was invited.
        name: S,
    },
    /// Done, with nothing more to say.
    Ok,
    /// The answer to `ping`.
    Pong,
    /// The answer to `quit`; the server then closes the connection.
    Bye,
    /// The server is stopping and closes the connection.
    Shutdown {
        /// Why, in words.
        message: S,
    },
    /// A refusal: the answer to a request, or unprompted (`rate_limited`,
    /// `history_not_saved`).
    Error {
        /// The stable code programs look at (PROTOCOL.md lists them).
        code: S,
        /// The sentence a person reads.
        message: S,
    },
    /// Someone said something in a room the user is in.
    Message(RoomMessage<S>),
    /// A private message to the user.
    Private {
        /// Its sender.
        from: S,
        /// What was said.
        text: S,
        /// When, in Unix milliseconds.
        at: i64,
        /// Sent as a notice (an IRC `NOTICE`): show it as one, never answer
        /// it automatically. Left out when false.
        #[serde(default, skip_serializing_if = "is_false")]
        notice: bool,
    },
    /// Someone entered a room the user is in.
    MemberJoined {
        /// The room.
        room: S,
        /// Who.
        name: S,
    },
    /// Someone left a room the user is in.
    MemberLeft {
        /// The room.
        room: S,
        /// Who.
        name: S,
        /// Why.
        reason: LeaveReason,
        /// The host who kicked them.
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<S>,
        /// What the kick, part or quit came with.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<S>,
    },
    /// Someone in a room the user is in changed their name (once per room).
    NickChanged {
        /// The room.
        room: S,
        /// The name they had.
        old: S,
        /// The name they have.
        new: S,
    },
    /// A member became a host.
    HostAdded {
        /// The room.
        room: S,
        /// The new host.
        name: S,
        /// The host who did it; `null` by succession (the last host left).
        by: Option<S>,
    },
    /// A host lost host rights.
    HostRemoved {
        /// The room.
        room: S,
        /// The former host.
        name: S,
        /// The host who did it (the same name when stepping down).
        by: S,
    },
    /// A room's topic was set.
    TopicChanged {
        /// The room.
        room: S,
        /// Who set it.
        by: S,
        /// The new topic.
        topic: S,
    },
    /// A room's password was set (`locked`) or removed.
    LockChanged {
        /// The room.
        room: S,
        /// The host who did it.
        by: S,
        /// Whether the room now has a password.
        locked: bool,
    },
    /// A host set or cleared some of a room's modes, in one change.
    ModesChanged {
        /// The room.
        room: S,
        /// The host who did it.
        by: S,
        /// Each mode that changed, in the order asked; never empty.
        changes: Vec<ModeSwitch<S>>,
    },
    /// A host gave (`on`) or took a member's voice.
    VoiceChanged {
        /// The room.
        room: S,
        /// The member.
        name: S,
        /// The host who did it.
        by: S,
        /// Voiced now, or not.
        on: bool,
    },
    /// A host banned (`on`) a name pattern from a room, or lifted the ban.
    BanChanged {
        /// The room.
        room: S,
        /// The host who did it.
        by: S,
        /// The pattern.
        mask: S,
        /// Banned now, or lifted.
        on: bool,
    },
    /// The user was removed from a room.
    Kicked {
        /// The room.
        room: S,
        /// The host who did it.
        by: S,
        /// The reason the host gave.
        message: Option<S>,
    },
    /// A room was deleted (the answer to `close`, and an event to its
    /// members).
    RoomClosed {
        /// The room.
        room: S,
        /// The host who closed it.
        by: S,
    },
    /// The user may enter a locked room once without its password.
    Invited {
        /// The room.
        room: S,
        /// The host who invited.
        by: S,
    },
    /// Messages dropped because the user read too slowly.
    Missed {
        /// Their room; `null` for private messages.
        room: Option<S>,
        /// How many.
        count: u64,
    },
    /// The user is now a server operator (the answer to `oper`).
    Operator {
        /// The operator name they authenticated as.
        name: S,
    },
    /// A server operator disconnected the user; the connection closes next.
    Killed {
        /// The operator.
        by: S,
        /// Why, if they said.
        reason: Option<S>,
    },
    /// A user was disconnected (the answer to `kill`).
    UserKilled {
        /// Who.
        name: S,
    },
    /// A server ban is in force (the answer to `server_ban`).
    ServerBanSet {
        /// The ban.
        #[serde(flatten)]
        ban: ServerBan<S>,
        /// How many connected users it disconnected.
        disconnected: usize,
    },
    /// A server ban was lifted (the answer to `server_unban`).
    ServerBanLifted {
        /// Its mask.
        mask: S,
    },
    /// The server bans in force (the answer to `server_bans`).
    ServerBans {
        /// The bans, oldest first.
        bans: Vec<ServerBan<S>>,
    },
    /// A server operator's notice to everyone connected.
    Announcement {
        /// The operator.
        from: S,
        /// What they said.
        text: S,
    },
    /// A type this version does not know (from a newer server): read, so a
    /// client can ignore it, and never written by a server.
    #[serde(other)]
    Unknown,
}

/// Reads one server frame. A `message` event's `id` is its message id, so
/// it answers no request; on every other frame `id` is the id of the request
/// it answers, if any.
pub fn parse_frame(text: &str) -> Result<Envelope<Frame>, serde_json::Error> {
    let mut value: Value = serde_json::from_str(text)?;
    let id = match value.get("type").and_then(Value::as_str) {
        Some("message") => None,
        _ => value.as_object_mut().and_then(|object| object.remove("id")),
    };
    Ok(Envelope {
        body: serde_json::from_value(value)?,
        id,
    })
}

/// Lists of room messages, each written as the `message` event is: with
/// `"type":"message"` first.
mod tagged_messages {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::RoomMessage;

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Written<'a, S> {
        Message(&'a RoomMessage<S>),
    }

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Read<S> {
        Message(RoomMessage<S>),
    }

    pub(super) fn serialize<S, W>(messages: &[RoomMessage<S>], out: W) -> Result<W::Ok, W::Error>
    where
        S: Serialize,
        W: Serializer,
    {
        out.collect_seq(messages.iter().map(Written::Message))
    }

    pub(super) fn deserialize<'de, S, D>(input: D) -> Result<Vec<RoomMessage<S>>, D::Error>
    where
        S: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let read = Vec::<Read<S>>::deserialize(input)?;
        Ok(read
            .into_iter()
            .map(|Read::Message(message)| message)
            .collect())
    }
}
