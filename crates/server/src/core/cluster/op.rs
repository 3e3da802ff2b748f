//! What travels between the nodes of a cluster, as JSON: the operations of
//! the log (one JetStream stream, `BANTER`), the mail one node sends
//! another's sessions (core NATS), name claims and heartbeats.
//!
//! An operation carries everything a node needs to apply it the same way
//! every other node does: names as said, session ids, the message as said.
//! The proto types have no serde form (the doors own wire formats), so the
//! few that travel have a mirror here.

use banter_proto::event::LeaveReason;
use serde::{Deserialize, Serialize};

use crate::core::session_id::{NodeId, SessionId};
use crate::store::MessageKind;

/// A session id as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sid {
    pub node: u32,
    pub serial: u64,
}

impl From<SessionId> for Sid {
    fn from(id: SessionId) -> Self {
        Self {
            node: id.node.0,
            serial: id.serial,
        }
    }
}

impl From<Sid> for SessionId {
    fn from(sid: Sid) -> Self {
        SessionId::new(NodeId(sid.node), sid.serial)
    }
}

/// One entry of the log: who published it, its number on that node (also
/// its `Nats-Msg-Id`, so a retried publish is stored once) and what it does.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Envelope {
    pub node: u32,
    pub serial: u64,
    /// For an op whose session waits for it: the Unix milliseconds after
    /// which that session has been told the chat was unreachable. An op the
    /// stream stored later (sent by the client library once the broker came
    /// back) is skipped by every node, so a refused message never appears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    pub op: Op,
}

/// What a room (or the cluster) does, applied by every node in log order.
/// Every check that depends on the room is made when it is applied, from
/// the node's replica, so all replicas decide alike.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Op {
    Create {
        room: String,
        at: i64,
    },
    Join {
        room: String,
        session: Sid,
        nick: String,
        list: bool,
        /// The session holds an invitation to the room (it lets it past
        /// invite-only, `+i`, when the join is applied).
        #[serde(default)]
        invited: bool,
    },
    Leave {
        room: String,
        session: Sid,
        reason: Option<Reason>,
    },
    Say {
        room: String,
        session: Sid,
        /// The sender is not offered it (they see their own line, or the `said` id).
        skip_sender: bool,
        kind: Kind,
        sender: String,
        text: String,
        at: i64,
        from_room: Option<String>,
    },
    Rename {
        session: Sid,
        nick: String,
        rooms: Vec<String>,
    },
    Away {
        session: Sid,
        nick: String,
        message: Option<String>,
        rooms: Vec<String>,
    },
    HostAdd {
        room: String,
        session: Sid,
        by: String,
        name: String,
    },
    HostRemove {
        room: String,
        session: Sid,
        by: String,
        name: String,
    },
    Topic {
        room: String,
        session: Sid,
        by: String,
        topic: String,
    },
    Password {
        room: String,
        session: Sid,
        by: String,
        hash: Option<String>,
        if_epoch: u64,
    },
    Kick {
        room: String,
        session: Sid,
        by: String,
        name: String,
        reason: Option<String>,
    },
    Close {
        room: String,
        session: Sid,
        by: String,
    },
    /// A host sets (`on`) or clears one of the room's modes, by its letter:
    /// what nodes wrote before [`Op::Modes`], applied still so that an
    /// older log replays.
    Mode {
        room: String,
        session: Sid,
        by: String,
        mode: char,
        on: bool,
    },
    /// A host sets (`true`) or clears room modes, by their letters, in
    /// order, as one change (members are told once).
    Modes {
        room: String,
        session: Sid,
        by: String,
        changes: Vec<(char, bool)>,
    },
    /// A host gives (`on`) or takes a member's voice.
    Voice {
        room: String,
        session: Sid,
        by: String,
        name: String,
        on: bool,
    },
    /// A host bans a name pattern (`on`; members it matches leave) or lifts
    /// its ban; `at` is when, the same on every node.
    Ban {
        room: String,
        session: Sid,
        by: String,
        mask: String,
        on: bool,
        at: i64,
    },
    /// A node stopped answering: its sessions leave every room.
    NodeGone {
        node: u32,
    },
    /// A server operator's ban, set on the node that publishes it; every
    /// other node keeps it too and disconnects its own users it matches.
    ServerBan {
        mask: String,
        reason: String,
        by: String,
        at: i64,
        until: Option<i64>,
    },
    /// A server operator lifted the ban on `mask`.
    ServerUnban {
        mask: String,
    },
}

/// [`LeaveReason`] as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub(super) enum Reason {
    Quit { message: Option<String> },
    Disconnected,
    ChangedRoom,
    Parted { message: Option<String> },
    Kicked { by: String, reason: Option<String> },
}

impl From<LeaveReason> for Reason {
    fn from(reason: LeaveReason) -> Self {
        match reason {
            LeaveReason::Quit { message } => Self::Quit { message },
            LeaveReason::Disconnected => Self::Disconnected,
            LeaveReason::ChangedRoom => Self::ChangedRoom,
            LeaveReason::Parted { message } => Self::Parted { message },
            LeaveReason::Kicked { by, reason } => Self::Kicked { by, reason },
        }
    }
}

impl From<Reason> for LeaveReason {
    fn from(reason: Reason) -> Self {
        match reason {
            Reason::Quit { message } => Self::Quit { message },
            Reason::Disconnected => Self::Disconnected,
            Reason::ChangedRoom => Self::ChangedRoom,
            Reason::Parted { message } => Self::Parted { message },
            Reason::Kicked { by, reason } => Self::Kicked { by, reason },
        }
    }
}

/// A room message's kind as it travels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Kind {
    Chat,
    Emote,
    FromRoom,
    Notice,
}

impl From<MessageKind> for Kind {
    fn from(kind: MessageKind) -> Self {
        match kind {
            MessageKind::Emote => Self::Emote,
            MessageKind::ExtraRoom => Self::FromRoom,
            MessageKind::Notice => Self::Notice,
            MessageKind::Chat | MessageKind::Private => Self::Chat,
        }
    }
}

impl From<Kind> for MessageKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Chat => Self::Chat,
            Kind::Emote => Self::Emote,
            Kind::FromRoom => Self::ExtraRoom,
            Kind::Notice => Self::Notice,
        }
    }
}

/// What one node sends a session on another, to that node's subject.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub(super) enum Mail {
    Private {
        to: u64,
        from: String,
        text: String,
        at: i64,
        /// An IRC `NOTICE` (absent from older nodes' mail: a message).
        #[serde(default)]
        notice: bool,
    },
    Invited {
        to: u64,
        room: String,
        by: String,
        epoch: u64,
    },
    /// A server operator disconnects the session.
    Killed {
        to: u64,
        by: String,
        reason: Option<String>,
    },
}

/// Who holds a name: the value of its key in the names bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Holder {
    pub nick: String,
    pub session: Sid,
}

/// A node saying it is alive, every second.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Heartbeat {
    pub node: u32,
    pub name: String,
}
