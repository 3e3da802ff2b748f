//! A session's identity, named by rooms, the registry and the fan-out alike.
//!
//! Its own module so that none of them imports another just for it (`room`
//! and `fanout` used to import each other).

/// A session's identity for its whole connection; names can change, this cannot.
pub(super) type SessionId = u64;
