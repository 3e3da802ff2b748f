//! A session's identity, named by rooms, the registry and the broker alike.
//!
//! Its own module so that none of them imports another just for it (`room`
//! and `fanout` used to import each other). A session is addressed by its
//! node and its number there, never by its outbox: with several nodes (issue
//! 20) a kick or a private message may be for a session elsewhere, and the
//! [`Broker`](super::fanout::Broker) carries it there.

/// Which banterd process a session lives on. A node that restarts (or is
/// fenced off a cluster) comes back under a new one, so no id of its old
/// sessions can name a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub(super) u32);

impl NodeId {
    /// The only node of a server that runs alone.
    pub const SINGLE: NodeId = NodeId(0);
}

/// A session's identity for its whole connection; names can change, this
/// cannot. Unique across nodes: the node's id and a number the node never
/// gives twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    pub(super) node: NodeId,
    pub(super) serial: u64,
}

impl SessionId {
    pub const fn new(node: NodeId, serial: u64) -> Self {
        Self { node, serial }
    }
}
