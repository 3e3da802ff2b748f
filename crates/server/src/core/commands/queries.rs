//! Queries: what a door may ask about people and rooms, answered with typed
//! data (`banter_proto::event`'s `RoomMembers`, `UserDetails`, `RoomStatus`,
//! ...), never with lines.
//!
//! A door renders the answer in its own words (IRC's WHO, WHOIS, NAMES,
//! LIST, ISON, USERHOST, MODE and 333 numerics), so doors never read the
//! registry or a room themselves. Each query is a method with its own
//! answer type rather than one request with an answer enum: the compiler
//! then knows which answer each query gets, and no door matches answers it
//! cannot receive. Queries change nothing and never wait.

use std::sync::Arc;

use banter_proto::event::{RoomMembers, RoomStatus, RoomSummary, TopicSet, UserDetails, UserInfo};
use banter_proto::modes::glob;
use banter_proto::names::fold;
use banter_proto::Refusal;

use crate::core::room::Room;
use crate::core::user::UserState;

impl UserState {
    /// Who is in `room`, in order of arrival, each with their host and
    /// voice marks, away status and profile. Any room may be asked about,
    /// but a secret one (`+s`) is not there for outsiders.
    pub(crate) fn members(&self, room: &str) -> Result<RoomMembers, Refusal> {
        let room = self
            .existing_room(room)
            .ok()
            .filter(|found| !found.hidden_from(self.id))
            .ok_or_else(|| Refusal::NoSuchRoom {
                room: room.to_owned(),
            })?;
        Ok(RoomMembers {
            room: room.name().to_string(),
            members: self.hub.member_infos(room.who()),
        })
    }

    /// The user named `name` (any case), if connected.
    pub(crate) fn user_info(&self, name: &str) -> Option<UserInfo> {
        self.hub.user(name).map(|user| user.info())
    }

    /// The user named `name` in detail: who they are and the rooms they are
    /// in (a secret room only when the asker is in it too); their address
    /// too when the one asking is a server operator and the user is on this
    /// node (a cluster's other nodes do not tell each other addresses).
    pub(crate) fn user_details(&self, name: &str) -> Option<UserDetails> {
        let user = self.hub.user(name)?;
        let mut info = user.info();
        if self.operator.is_some() && user.id.node == self.id.node {
            info.address = Some(user.address.to_string());
        }
        Some(UserDetails {
            user: info,
            rooms: self.hub.rooms_of(user.id, self.id),
        })
    }

    /// The users whose names match `pattern` (`*` any run of characters, `?`
    /// any one, case ignored), sorted ignoring case, at most `limit`.
    pub(crate) fn users_matching(&self, pattern: &str, limit: usize) -> Vec<UserInfo> {
        let pattern = fold(pattern);
        self.hub.users_matching(|name| glob(&pattern, name), limit)
    }

    /// Every room with its member count and topic, sorted by name; the
    /// user's own rooms are marked `joined`. The same list `Request::Rooms`
    /// answers with.
    pub(crate) fn rooms_listing(&self) -> Vec<RoomSummary> {
        self.hub.room_summaries(&self.rooms, self.id)
    }

    /// The rooms this user is in, in the order they entered them.
    pub(crate) fn room_names(&self) -> Vec<String> {
        self.rooms
            .iter()
            .map(|room| room.name().to_string())
            .collect()
    }

    /// Whether this user is in the room named `room` (any case).
    pub(crate) fn is_in_room(&self, room: &str) -> bool {
        let key = fold(room);
        self.rooms.iter().any(|r| r.name().key() == key)
    }

    /// What `room` is like: locked or not (and its password epoch), when it
    /// was made, its topic and who set it, its hosts.
    pub(crate) fn room_status(&self, room: &str) -> Result<RoomStatus, Refusal> {
        let room = self.existing_room(room)?;
        let (hash, password_epoch) = room.lock_state();
        Ok(RoomStatus {
            room: room.name().to_string(),
            locked: hash.is_some(),
            password_epoch,
            created_at: room.created_at(),
            topic: room.topic(),
            topic_set: room.topic_set().map(|(by, at)| TopicSet { by, at }),
            hosts: room.host_nicks(),
            default: Arc::ptr_eq(&room, self.hub.default_room()),
            modes: room.modes(),
        })
    }

    fn existing_room(&self, name: &str) -> Result<Arc<Room>, Refusal> {
        self.hub.room(name).ok_or_else(|| Refusal::NoSuchRoom {
            room: name.to_owned(),
        })
    }
}
