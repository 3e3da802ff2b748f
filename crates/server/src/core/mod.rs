//! The chat core: rooms, users and rules, never a wire format.
//!
//! Every door drives it the same way: a [`UserState`] per connection,
//! [`UserState::register`], then [`UserState::execute`] for each
//! [`banter_proto::Request`]. Answers are typed events in the user's outbox
//! and typed refusals, which each door renders in its own protocol; queries
//! (who is in a room, who is this user, what is this room like) are
//! `UserState` methods returning typed data. A door's own output (prompts,
//! IRC numerics) travels in the same outbox as a [`DoorItem`]. Nothing
//! here touches a socket, so the rules are tested once, without one (see
//! `harness`).
//!
//! The modules are private: the rest of the crate sees only what is
//! re-exported here, the face below.

mod cluster;
mod commands;
mod control;
mod delivery;
mod fanout;
#[cfg(test)]
mod harness;
mod hub;
mod outbox;
mod password;
mod registry;
mod resume;
mod room;
mod room_quota;
mod seams;
mod server_bans;
mod services;
mod session_id;
mod user;

pub(crate) use cluster::Cluster;
pub(crate) use commands::MAX_HISTORY_COUNT;
pub(crate) use control::Control;
pub(crate) use delivery::{Delivery, DoorItem, Format, Payload, RequestTag};
pub(crate) use hub::Hub;
pub(crate) use outbox::{Batch, Missed, Outbox};
pub(crate) use resume::valid_nonce;
pub(crate) use room::{now_millis, MAX_BANS};
pub(crate) use seams::Seams;
pub(crate) use services::Services;
pub(crate) use user::{Departure, Door, UserState};

/// What `crate::bench_support` hands the criterion benches; no door needs it.
pub(crate) mod bench_support {
    pub use super::delivery::Delivery;
    pub use super::outbox::Outbox;
    pub use super::room::{Member, Room, RoomSetup};
    pub use super::seams::InProcessBroker;
    pub use super::session_id::{NodeId, SessionId};
}
