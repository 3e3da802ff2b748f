//! What the chat core uses but does not own: settings, the store, the
//! password hasher, metrics and the room-making quota.
//!
//! Made once by whoever builds the server (`Server::open`) and handed to
//! [`Hub::new`](super::Hub::new), which holds them beside, not inside, the
//! registry: the registry is names and sessions only, so a cluster's
//! registry (issue 20) has nothing else to carry.

use std::sync::Arc;

use crate::config::Config;
use crate::core::password::Passwords;
use crate::core::room_quota::RoomQuota;
use crate::metrics::Metrics;
use crate::store::Store;

pub(crate) struct Services {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    /// Argon2id hashing of room passwords, shared by every session.
    pub passwords: Passwords,
    pub metrics: Arc<Metrics>,
    /// How fast each address may make rooms.
    pub(super) room_quota: RoomQuota,
}

impl Services {
    pub(crate) fn new(config: Arc<Config>, store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self {
            room_quota: RoomQuota::new(config.max_new_rooms_per_minute),
            config,
            store,
            passwords: Passwords::default(),
            metrics,
        }
    }
}
