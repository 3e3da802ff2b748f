//! The chat core: rooms, users and rules, never a wire format.
//!
//! Every door drives it the same way: a [`UserState`] per connection,
//! [`UserState::register`], then [`UserState::execute`] for each
//! [`banter_proto::Request`]. Answers are typed events in the user's outbox
//! and typed refusals, which each door renders in its own protocol. Nothing
//! here touches a socket, so the rules are tested once, without one (see
//! `harness`).

mod commands;
pub(crate) mod control;
pub(crate) mod delivery;
pub(crate) mod fanout;
#[cfg(test)]
mod harness;
pub(crate) mod hub;
pub(crate) mod outbox;
pub(crate) mod password;
pub(crate) mod room;
pub(crate) mod room_quota;
mod session_id;
mod user;

pub use commands::MAX_HISTORY_COUNT;
pub use hub::Hub;
pub use user::{Departure, Door, UserState};
