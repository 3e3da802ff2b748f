//! One connected user's state, whichever door they came in by.
//!
//! A [`UserState`] is owned by its connection's task and changed only there:
//! its name, the rooms it is in, the locked rooms it may enter without typing
//! the password, its password lockout. Its [`Door`] says how the user lives
//! in rooms: the text door keeps one room at a time, machine doors join and
//! part freely. Everything it is told goes into its outbox as typed events;
//! the door renders them. `Drop` leaves every room and releases the name, so
//! every way a connection ends cleans up.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use banter_proto::event::{LeaveReason, Profile, RoomView};
use banter_proto::{Event, Nick, Refusal};
use tokio::time::Instant;

use crate::core::control::Mailbox;
use crate::core::delivery::RequestTag;
use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::password::Lockout;
use crate::core::resume::{Nonces, Recording, ResumeKey};
use crate::core::room::{room_message, Entry, Member, Room};
use crate::core::session_id::SessionId;

/// How a door's users live in rooms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Door {
    /// Shown in logs.
    pub name: &'static str,
    /// One room at a time: registering puts the user in a room, entering
    /// another leaves the one they were in, and losing their room (a kick, a
    /// close) sends them to the default room. Otherwise users join and part
    /// up to `max_rooms` and may be in none.
    pub one_room: bool,
    pub max_rooms: usize,
    /// Entering a room lists its members (a text-door user sees a count).
    pub lists_members: bool,
    /// Every request gets an answer: a room message its id (`Event::Said`),
    /// a request with nothing else to say `Event::Done`. Text-door users see
    /// their own typing and need neither.
    pub answers_every_request: bool,
    /// A session outlives its connection for `--resume-grace` and can be
    /// taken over with its token (`core::resume`).
    pub resumable: bool,
}

/// How a user's connection ends, as their rooms are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Departure {
    /// The user said goodbye, perhaps with a message for the rooms.
    Quit { message: Option<String> },
    /// The connection ended otherwise (EOF, reset, timeout, flood).
    Disconnected,
    /// At shutdown, when everyone is leaving and notices would only be noise.
    Silent,
}

/// A connection's standing with locked rooms, by room key.
#[derive(Debug)]
pub(super) struct RoomPasses {
    /// Rooms entered with the password, with the password epoch it was good for.
    pub(super) grants: HashMap<String, u64>,
    /// Invitations, with their password epoch.
    pub(super) invites: HashMap<String, u64>,
    pub(super) lockout: Lockout,
}

/// See the module docs.
pub(crate) struct UserState {
    pub id: SessionId,
    pub peer: SocketAddr,
    pub hub: Arc<Hub>,
    pub outbox: Arc<Outbox>,
    pub(super) control: Arc<Mailbox>,
    pub(super) door: Door,
    pub(super) nick: Option<Nick>,
    /// In the order they were entered.
    pub(super) rooms: Vec<Arc<Room>>,
    /// What this connection may do in locked rooms; made on first use, since
    /// most connections never meet a password.
    pub(super) passes: Option<Box<RoomPasses>>,
    /// When this user was last told that the store is failing.
    pub(super) store_problem_told: Option<Instant>,
    /// The request being answered, if the door tags its requests.
    pub(super) request: Option<RequestTag>,
    /// Something was replied to the current request.
    pub(super) replied: bool,
    /// What the rooms are told when this user goes.
    pub(super) departure: Departure,
    /// What the user said about themselves before registering, if the door asks.
    pub(super) profile: Option<Arc<Profile>>,
    /// The key of this session's resume token, while it can be resumed
    /// (boxed: most sessions have none).
    pub(super) resume: Option<Box<ResumeKey>>,
    /// The nonces of requests carried out, with their replies.
    pub(super) nonces: Nonces,
    /// The reply to a nonce'd request, being listened for.
    pub(super) recording: Recording,
    /// The operator name this connection authenticated as, if it did.
    pub(super) operator: Option<String>,
}

impl Drop for UserState {
    fn drop(&mut self) {
        self.drop_token();
        for room in self.rooms.drain(..) {
            let reason = match &self.departure {
                Departure::Quit { message } => Some(LeaveReason::Quit {
                    message: message.clone(),
                }),
                Departure::Disconnected => Some(LeaveReason::Disconnected),
                Departure::Silent => None,
            };
            self.hub.leave(&room, self.id, reason);
        }
        if let Some(nick) = self.nick.take() {
            self.hub.unregister(self.id, &nick);
        }
    }
}

impl UserState {
    /// A connection's user before it has a name.
    pub(crate) fn new(hub: Arc<Hub>, peer: SocketAddr, outbox: Arc<Outbox>, door: Door) -> Self {
        Self {
            id: hub.new_session_id(),
            peer,
            hub,
            outbox,
            control: Arc::new(Mailbox::default()),
            door,
            nick: None,
            rooms: Vec::new(),
            passes: None,
            store_problem_told: None,
            request: None,
            replied: false,
            departure: Departure::Disconnected,
            profile: None,
            resume: None,
            nonces: Nonces::default(),
            recording: Recording::Off,
            operator: None,
        }
    }

    pub(crate) fn nick(&self) -> Option<&Nick> {
        self.nick.as_ref()
    }

    /// The door's name, for logs.
    pub(crate) fn door(&self) -> &'static str {
        self.door.name
    }

    /// The requests other sessions leave for this one (kicks, invitations).
    pub(crate) fn mailbox(&self) -> Arc<Mailbox> {
        Arc::clone(&self.control)
    }

    /// The one room a text-door user is in.
    pub(super) fn current_room(&self) -> Option<&Arc<Room>> {
        self.rooms.first()
    }

    /// Answers the current request (if any) with `event`.
    pub(crate) fn reply(&mut self, event: Event) {
        self.replied = true;
        if let Recording::Listening = self.recording {
            self.recording = Recording::Heard(Box::new(event.clone()));
        }
        self.outbox.reply_to(event.into(), self.request.clone());
    }

    pub(crate) fn refuse(&mut self, refusal: Refusal) {
        self.reply(Event::Refused(refusal));
    }

    /// Tags the replies that follow with the client's request id.
    pub(crate) fn begin_request(&mut self, request: Option<RequestTag>) {
        self.request = request;
        self.replied = false;
    }

    /// What the user says about themselves, shown to others who ask about
    /// them; set before registering, taken at registration.
    pub(crate) fn set_profile(&mut self, profile: Profile) {
        self.profile = Some(Arc::new(profile));
    }

    /// How the rooms are told this user left when the connection ends.
    pub(crate) fn set_departure(&mut self, departure: Departure) {
        self.departure = departure;
    }

    pub(crate) fn registered_nick(&self) -> &Nick {
        self.nick
            .as_ref()
            .expect("requests are executed only once named")
    }

    pub(super) fn member(&self) -> Member {
        Member {
            id: self.id,
            nick: self.registered_nick().clone(),
            outbox: Arc::clone(&self.outbox),
            address: self.peer.ip(),
        }
    }

    /// This connection's passes, made on first use.
    pub(super) fn passes_mut(&mut self) -> &mut RoomPasses {
        let wait = self.hub.services.config.password_lockout();
        self.passes.get_or_insert_with(|| {
            Box::new(RoomPasses {
                grants: HashMap::new(),
                invites: HashMap::new(),
                lockout: Lockout::new(wait),
            })
        })
    }

    pub(super) fn is_in(&self, room: &Arc<Room>) -> bool {
        self.rooms.iter().any(|r| Arc::ptr_eq(r, room))
    }

    /// Forgets `room` (without telling it; the caller does).
    pub(super) fn forget_room(&mut self, room: &Arc<Room>) {
        self.rooms.retain(|r| !Arc::ptr_eq(r, room));
    }

    /// What entering a room shows: its members and topic, and its recent
    /// messages (`--history-on-join`), only those with an id above `since`
    /// when the client has the rest.
    pub(super) fn view(
        &self,
        room: &Room,
        entry: Entry,
        created: bool,
        since: Option<i64>,
    ) -> RoomView {
        let since = since.unwrap_or(i64::MIN);
        let recent: Vec<_> = entry
            .recent
            .iter()
            .filter(|message| message.id > since)
            .map(room_message)
            .collect();
        RoomView {
            room: room.name().to_string(),
            created,
            host: entry.host,
            locked: entry.locked,
            secret: entry.secret,
            topic: entry.topic,
            members: entry.members,
            count: entry.count,
            recent,
        }
    }
}
