//! Socket-less tests of the chat core: users of both kinds of door driven
//! through [`UserState`] alone, with outboxes read directly. Rules are
//! tested here once; the wire tests check what each door makes of them.
//! Some run on a hub whose broker records what goes through it, to show
//! that everything between sessions takes the seams a cluster plugs into.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use banter_proto::event::{LeaveReason, Membership, Profile, RoomView, TopicSet, UserDetails};
use banter_proto::refusal::HostAction;
use banter_proto::request::{Request, SayKind};
use banter_proto::{Event, Refusal, RoomMode, RoomName};
use futures::FutureExt;

use super::{Door, UserState};
use crate::config::Config;
use crate::core::control::{Control, Courier, Mailbox, Undelivered};
use crate::core::fanout::{Audience, LocalAudience};
use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::registry::LocalRegistry;
use crate::core::room::Room;
use crate::core::seams::{InProcessBroker, Seams};
use crate::core::services::Services;
use crate::core::session_id::{NodeId, SessionId};
use crate::store::memory::MemoryStore;
use crate::store::{Store, StoredMessage};

const ONE_ROOM: Door = Door {
    name: "one-room",
    one_room: true,
    max_rooms: 1,
    lists_members: false,
    answers_every_request: false,
    resumable: false,
};

fn many_rooms(max_rooms: usize) -> Door {
    Door {
        name: "many-rooms",
        one_room: false,
        max_rooms,
        lists_members: true,
        answers_every_request: true,
        resumable: false,
    }
}

/// A hub on an in-memory store. Loading the store blocks, so it happens on
/// a thread of its own, outside the test's runtime.
fn hub() -> Arc<Hub> {
    hub_with(|store| (Seams::in_process(store), ())).0
}

/// A hub on an in-memory store with the seams `seams` makes of that store,
/// and whatever else `seams` hands back.
fn hub_with<T: Send + 'static>(
    seams: impl FnOnce(Arc<dyn Store>) -> (Seams, T) + Send + 'static,
) -> (Arc<Hub>, T) {
    std::thread::spawn(|| {
        let mut config = Config::defaults();
        config.in_memory = true;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(config.history_max));
        let services = Services::new(Arc::new(config), Arc::clone(&store), Arc::default());
        let (seams, extra) = seams(store);
        (Hub::new(services, seams).unwrap(), extra)
    })
    .join()
    .unwrap()
}

/// The in-process broker, with a line written down for everything that
/// goes through it, as a cluster's broker would see it.
struct Recording {
    inner: InProcessBroker,
    log: Mutex<Vec<String>>,
    /// Session ids by the name they registered with, to read the log by.
    names: Mutex<Vec<(SessionId, String)>>,
}

impl Recording {
    fn seams(store: Arc<dyn Store>) -> (Seams, Arc<Recording>) {
        let recording = Arc::new(Recording {
            inner: InProcessBroker::new(store),
            log: Mutex::default(),
            names: Mutex::default(),
        });
        let seams = Seams {
            broker: Arc::clone(&recording) as _,
            registry: Arc::new(LocalRegistry::new(NodeId::SINGLE)),
            cluster: None,
        };
        (seams, recording)
    }

    fn note(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    fn name(&self, id: SessionId) -> String {
        let names = self.names.lock().unwrap();
        let found = names.iter().find(|(known, _)| *known == id);
        found.map_or_else(|| "?".into(), |(_, name)| name.clone())
    }

    /// What went through since last asked.
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Audience for Recording {
    fn message_id(&self, room: &RoomName, message: &StoredMessage) -> i64 {
        let id = self.inner.message_id(room, message);
        self.note(format!("id {room} {}", message.text));
        id
    }

    fn publish(
        &self,
        room: &RoomName,
        local: &LocalAudience,
        event: Event,
        except: Option<SessionId>,
    ) -> usize {
        let kind = format!("{event:?}");
        let kind = kind.split([' ', '(']).next().unwrap_or_default().to_owned();
        self.note(format!("publish {room} {kind}"));
        self.inner.publish(room, local, event, except)
    }
}

impl Courier for Recording {
    fn attach(&self, id: SessionId, outbox: Arc<Outbox>, mailbox: Arc<Mailbox>) {
        self.inner.attach(id, outbox, mailbox);
    }

    fn detach(&self, id: SessionId) {
        self.note(format!("detach {}", self.name(id)));
        self.inner.detach(id);
    }

    fn private(&self, to: SessionId, event: Event) -> bool {
        self.note(format!("private to {}", self.name(to)));
        self.inner.private(to, event)
    }

    fn send(&self, to: SessionId, request: Control) -> Result<(), Undelivered> {
        let kind = match &request {
            Control::Kicked { .. } => "kick",
            Control::Invited { .. } => "invite",
            Control::RoomClosed { .. } => "close",
            Control::TakeOver(_) => "take-over",
            Control::Killed { .. } => "kill",
        };
        self.note(format!("{kind} to {}", self.name(to)));
        self.inner.send(to, request)
    }

    fn take_over(&self, to: SessionId, request: Control) {
        self.note(format!("take-over of {}", self.name(to)));
        self.inner.take_over(to, request);
    }

    fn room_closed(&self, to: SessionId, room: Arc<Room>, by: String) {
        self.note(format!("close to {}", self.name(to)));
        self.inner.room_closed(to, room, by);
    }
}

/// A user and what they have been told.
struct Person {
    state: UserState,
    outbox: Arc<Outbox>,
}

impl Person {
    async fn new(hub: &Arc<Hub>, name: &str, door: Door) -> Self {
        Self::with_profile(hub, name, door, None).await
    }

    /// A user who said `profile` about themselves before registering.
    async fn with_profile(
        hub: &Arc<Hub>,
        name: &str,
        door: Door,
        profile: Option<Profile>,
    ) -> Self {
        let outbox = Arc::new(Outbox::new(1 << 20));
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut state = UserState::new(Arc::clone(hub), peer, Arc::clone(&outbox), door);
        if let Some(profile) = profile {
            state.set_profile(profile);
        }
        state.register(name, None).await.unwrap();
        let mut person = Self { state, outbox };
        person.told();
        person
    }

    async fn does(&mut self, request: Request) -> Result<(), Refusal> {
        self.state.execute(request).await
    }

    /// Everything queued for this user since last asked.
    fn told(&mut self) -> Vec<Event> {
        match self.outbox.next_batch().now_or_never() {
            Some(batch) => batch
                .deliveries
                .iter()
                .filter_map(|d| d.event().cloned())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Carries out what other users asked of this one (kicks, closes).
    fn handle_requests(&mut self) {
        let mailbox = self.state.mailbox();
        while let Some(request) = mailbox.recv().now_or_never() {
            self.state
                .handle_control(request)
                .now_or_never()
                .expect("a node alone never waits to carry out a request");
        }
    }

    /// Tells `recording` this person's session id, to read its log by.
    fn known_to(self, recording: &Recording) -> Self {
        let name = self.state.registered_nick().to_string();
        recording.names.lock().unwrap().push((self.state.id, name));
        self
    }

    fn rooms(&self) -> Vec<String> {
        self.state
            .rooms
            .iter()
            .map(|room| room.name().to_string())
            .collect()
    }
}

fn join(room: &str) -> Request {
    Request::Join {
        room: room.into(),
        password: None,
        if_epoch: None,
        since: None,
    }
}

fn create(room: &str) -> Request {
    Request::Create { room: room.into() }
}

fn say(room: Option<&str>, text: &str) -> Request {
    Request::Say {
        room: room.map(str::to_owned),
        kind: SayKind::Chat,
        text: text.into(),
    }
}

fn entered(events: &[Event]) -> Option<&RoomView> {
    events.iter().find_map(|event| match event {
        Event::Entered(view) => Some(view),
        _ => None,
    })
}

#[tokio::test]
async fn a_one_room_user_moves_and_a_many_room_user_collects_rooms() {
    let hub = hub();
    let mut text = Person::new(&hub, "text", ONE_ROOM).await;
    let mut bot = Person::new(&hub, "bot", many_rooms(2)).await;
    assert_eq!(text.rooms(), ["lobby"]);
    assert!(bot.rooms().is_empty());
    text.does(create("a")).await.unwrap();
    text.does(create("b")).await.unwrap();
    assert_eq!(text.rooms(), ["b"]);
    bot.does(join("a")).await.unwrap();
    bot.does(join("b")).await.unwrap();
    assert_eq!(bot.rooms(), ["a", "b"]);
    assert_eq!(
        bot.does(join("lobby")).await,
        Err(Refusal::UserRoomLimit { max: 2 })
    );
    assert_eq!(bot.does(say(None, "where?")).await, Err(Refusal::WhichRoom));
    bot.does(Request::Part {
        room: "a".into(),
        message: None,
    })
    .await
    .unwrap();
    assert_eq!(bot.rooms(), ["b"]);
    assert_eq!(
        text.does(Request::Part {
            room: "b".into(),
            message: None,
        })
        .await,
        Err(Refusal::DefaultRoomStays)
    );
    bot.told();
    text.told();
    bot.does(say(Some("b"), "hello")).await.unwrap();
    assert!(matches!(&bot.told()[..], [Event::Said { room, .. }] if room == "b"));
    assert!(matches!(&text.told()[..], [Event::Message(m)] if &*m.text == "hello"));
}

#[tokio::test]
async fn a_kick_sends_a_one_room_user_home_and_only_removes_a_many_room_user() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", ONE_ROOM).await;
    host.does(create("den")).await.unwrap();
    let mut text = Person::new(&hub, "text", ONE_ROOM).await;
    let mut bot = Person::new(&hub, "bot", many_rooms(5)).await;
    text.does(join("den")).await.unwrap();
    bot.does(join("den")).await.unwrap();
    bot.does(join("lobby")).await.unwrap();
    for name in ["text", "bot"] {
        host.does(Request::Kick {
            room: None,
            name: name.into(),
            reason: None,
        })
        .await
        .unwrap();
    }
    text.handle_requests();
    bot.handle_requests();
    assert_eq!(text.rooms(), ["lobby"]);
    assert_eq!(bot.rooms(), ["lobby"]);
    let kicked = |events: &[Event]| {
        events
            .iter()
            .any(|e| matches!(e, Event::YouWereKicked { room, .. } if room == "den"))
    };
    assert!(kicked(&text.told()));
    assert!(kicked(&bot.told()));
    let host_saw = host.told();
    assert!(host_saw.iter().any(|e| matches!(e,
        Event::Left { nick, reason: LeaveReason::Kicked { .. }, .. } if nick == "bot")));
}

#[tokio::test]
async fn closing_a_room_takes_it_from_every_member_of_every_door() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("gone")).await.unwrap();
    host.does(join("lobby")).await.unwrap();
    let mut text = Person::new(&hub, "text", ONE_ROOM).await;
    text.does(join("gone")).await.unwrap();
    host.does(Request::Close {
        room: Some("gone".into()),
    })
    .await
    .unwrap();
    text.handle_requests();
    assert_eq!(host.rooms(), ["lobby"]);
    assert_eq!(text.rooms(), ["lobby"]);
    assert!(hub.room("gone").is_none());
    assert_eq!(
        text.does(join("gone")).await,
        Err(Refusal::NoSuchRoomToEnter {
            room: "gone".into()
        })
    );
}

#[tokio::test]
async fn entering_again_shows_the_recent_messages_and_since_only_newer_ones() {
    let hub = hub();
    let mut talker = Person::new(&hub, "talker", ONE_ROOM).await;
    talker.does(create("cafe")).await.unwrap();
    let mut visitor = Person::new(&hub, "visitor", ONE_ROOM).await;
    talker.does(say(None, "one")).await.unwrap();
    visitor.does(join("cafe")).await.unwrap();
    let recent = |events: &[Event]| -> Vec<(i64, String)> {
        entered(events)
            .unwrap()
            .recent
            .iter()
            .map(|m| (m.id, m.text.to_string()))
            .collect()
    };
    let first = recent(&visitor.told());
    assert_eq!(first.len(), 1);
    talker.does(say(None, "two")).await.unwrap();
    visitor.does(join("lobby")).await.unwrap();
    talker.does(say(None, "three")).await.unwrap();
    visitor.told();
    // An explicit entry shows the recent messages, seen before or not.
    visitor.does(join("cafe")).await.unwrap();
    let again = recent(&visitor.told());
    let texts: Vec<_> = again.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    // `since` shows only those above it.
    visitor.does(join("lobby")).await.unwrap();
    visitor.told();
    visitor
        .does(Request::Join {
            room: "cafe".into(),
            password: None,
            if_epoch: None,
            since: Some(again[1].0),
        })
        .await
        .unwrap();
    let since = recent(&visitor.told());
    assert_eq!(since, again[2..]);
}

#[tokio::test]
async fn a_locked_room_takes_its_password_in_the_request_and_locks_guessers_out() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(lock("vault", "sesame")).await.unwrap();
    let mut guest = Person::new(&hub, "guest", many_rooms(5)).await;
    assert_eq!(
        guest.does(join("vault")).await,
        Err(Refusal::PasswordNeeded {
            room: "vault".into()
        })
    );
    for _ in 0..2 {
        assert!(matches!(
            guest
                .does(Request::Join {
                    room: "vault".into(),
                    password: Some("nope".into()),
                    if_epoch: None,
                    since: None,
                })
                .await,
            Err(Refusal::WrongPassword {
                locked_out_secs: None,
                here: None,
                ..
            })
        ));
    }
    assert!(matches!(
        guest
            .does(Request::Join {
                room: "vault".into(),
                password: Some("nope".into()),
                if_epoch: None,
                since: None,
            })
            .await,
        Err(Refusal::WrongPassword {
            locked_out_secs: Some(30),
            ..
        })
    ));
    assert!(matches!(
        guest
            .does(Request::Join {
                room: "vault".into(),
                password: Some("sesame".into()),
                if_epoch: None,
                since: None,
            })
            .await,
        Err(Refusal::LockedOut { .. })
    ));
    let mut friend = Person::new(&hub, "friend", ONE_ROOM).await;
    friend
        .does(Request::Join {
            room: "vault".into(),
            password: Some("sesame".into()),
            if_epoch: None,
            since: None,
        })
        .await
        .unwrap();
    assert_eq!(friend.rooms(), ["vault"]);
}

#[tokio::test]
async fn host_rules_hold_for_every_door() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("club")).await.unwrap();
    let mut member = Person::new(&hub, "member", ONE_ROOM).await;
    member.does(join("club")).await.unwrap();
    assert_eq!(
        member.does(Request::Close { room: None }).await,
        Err(Refusal::NotHost {
            room: "club".into()
        })
    );
    assert_eq!(
        host.does(Request::HostRemove {
            room: Some("club".into()),
            name: "host".into(),
        })
        .await,
        Err(Refusal::LastHost {
            room: "club".into()
        })
    );
    host.does(Request::Part {
        room: "club".into(),
        message: None,
    })
    .await
    .unwrap();
    // The hand-off: the only one left is host now.
    member
        .does(Request::Topic {
            room: None,
            text: Some("ours".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        member
            .does(Request::Topic {
                room: Some("lobby".into()),
                text: Some("x".into()),
            })
            .await,
        Err(Refusal::NotMember {
            room: "lobby".into()
        })
    );
}

fn lock(room: &str, password: &str) -> Request {
    Request::SetPassword {
        room: Some(room.into()),
        password: Some(password.into()),
        if_epoch: None,
    }
}

fn away(message: Option<&str>) -> Request {
    Request::Away {
        message: message.map(str::to_owned),
    }
}

fn private(to: &str, text: &str) -> Request {
    Request::Private {
        to: to.into(),
        text: text.into(),
        notice: false,
    }
}

#[tokio::test]
async fn who_and_whois_show_hosts_away_status_and_profiles_whatever_the_door() {
    let hub = hub();
    let profile = Profile {
        username: "al".into(),
        realname: "Alice Liddell".into(),
    };
    let mut alice = Person::with_profile(&hub, "Alice", many_rooms(5), Some(profile.clone())).await;
    alice.does(create("games")).await.unwrap();
    let mut bob = Person::new(&hub, "bob", ONE_ROOM).await;
    bob.does(join("games")).await.unwrap();
    bob.does(away(Some("at lunch"))).await.unwrap();

    let games = bob.state.members("GAMES").unwrap();
    assert_eq!(games.room, "games");
    let shown: Vec<_> = games
        .members
        .iter()
        .map(|m| (m.user.nick.as_str(), m.host, m.user.away.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [("Alice", true, None), ("bob", false, Some("at lunch"))]
    );
    assert_eq!(games.members[0].user.profile.as_deref(), Some(&profile));
    assert_eq!(games.members[1].user.profile, None);

    let details = alice.state.user_details("BOB").unwrap();
    assert_eq!(details.user.nick, "bob");
    assert_eq!(details.user.away.as_deref(), Some("at lunch"));
    assert_eq!(
        details.rooms,
        [Membership {
            room: "games".into(),
            host: false,
            voice: false,
        }]
    );
    bob.does(away(None)).await.unwrap();
    assert_eq!(alice.state.user_info("bob").unwrap().away, None);
    assert_eq!(alice.state.user_info("alice").unwrap().nick, "Alice");
    assert!(alice.state.user_info("carol").is_none());
    assert!(alice.state.user_details("carol").is_none());
    assert_eq!(
        bob.state.members("nowhere"),
        Err(Refusal::NoSuchRoom {
            room: "nowhere".into()
        })
    );
    // Asking changes nothing and tells nobody anything.
    assert!(bob.told().iter().all(|e| !matches!(e, Event::Who { .. })));
}

#[tokio::test]
async fn users_are_found_by_mask_in_name_order_up_to_a_limit() {
    let hub = hub();
    let mut people = Vec::new();
    for name in ["bob", "Bea", "annette", "ben"] {
        people.push(Person::new(&hub, name, many_rooms(1)).await);
    }
    let asker = &people[0].state;
    let names = |found: Vec<banter_proto::event::UserInfo>| -> Vec<String> {
        found.into_iter().map(|user| user.nick).collect()
    };
    assert_eq!(names(asker.users_matching("B*", 10)), ["Bea", "ben", "bob"]);
    assert_eq!(names(asker.users_matching("b?b", 10)), ["bob"]);
    assert_eq!(names(asker.users_matching("*e*", 2)), ["annette", "Bea"]);
    assert!(asker.users_matching("z*", 10).is_empty());
}

#[tokio::test]
async fn the_room_list_and_room_status_say_what_each_room_is_like() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(Request::Topic {
        room: Some("vault".into()),
        text: Some("gold".into()),
    })
    .await
    .unwrap();
    let before = host.state.room_status("vault").unwrap();
    assert!(!before.locked && !before.default);
    assert_eq!(before.hosts, ["host"]);
    assert_eq!(before.topic.as_deref(), Some("gold"));
    assert!(matches!(&before.topic_set, Some(TopicSet { by, .. }) if by == "host"));
    host.does(lock("vault", "sesame")).await.unwrap();
    let after = host.state.room_status("VAULT").unwrap();
    assert!(after.locked);
    assert_ne!(after.password_epoch, before.password_epoch);
    assert_eq!(after.created_at, before.created_at);

    let guest = Person::new(&hub, "guest", ONE_ROOM).await;
    let lobby = guest.state.room_status("lobby").unwrap();
    assert!(lobby.default && lobby.hosts.is_empty() && !lobby.locked);
    let listed: Vec<_> = guest
        .state
        .rooms_listing()
        .into_iter()
        .map(|r| (r.name, r.members, r.joined, r.locked, r.default))
        .collect();
    assert_eq!(
        listed,
        [
            ("lobby".to_owned(), 1, true, false, true),
            ("vault".to_owned(), 1, false, true, false)
        ]
    );
    assert_eq!(guest.state.room_names(), ["lobby"]);
    assert!(guest.state.is_in_room("LOBBY") && !guest.state.is_in_room("vault"));
}

#[tokio::test]
async fn an_entry_password_typed_for_a_changed_password_is_refused_and_is_no_guess() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(lock("vault", "old")).await.unwrap();
    let mut guest = Person::new(&hub, "guest", ONE_ROOM).await;
    let asked = guest.state.room_status("vault").unwrap().password_epoch;
    host.does(lock("vault", "new")).await.unwrap();
    let entry = |password: &str, if_epoch: u64| Request::Join {
        room: "vault".into(),
        password: Some(password.into()),
        if_epoch: Some(if_epoch),
        since: None,
    };
    // More stale answers than the lockout allows: none of them counts.
    for password in ["old", "new", "old"] {
        assert_eq!(
            guest.does(entry(password, asked)).await,
            Err(Refusal::PasswordChangedWhileTyping {
                room: "vault".into()
            })
        );
    }
    assert_eq!(guest.rooms(), ["lobby"]);
    let now = guest.state.room_status("vault").unwrap().password_epoch;
    guest.does(entry("new", now)).await.unwrap();
    assert_eq!(guest.rooms(), ["vault"]);

    // A room unlocked meanwhile needs no password: the stale epoch is moot.
    let mut late = Person::new(&hub, "late", ONE_ROOM).await;
    let asked = late.state.room_status("vault").unwrap().password_epoch;
    host.does(Request::SetPassword {
        room: Some("vault".into()),
        password: None,
        if_epoch: None,
    })
    .await
    .unwrap();
    late.does(entry("new", asked)).await.unwrap();
    assert_eq!(late.rooms(), ["vault"]);
}

#[tokio::test]
async fn a_doors_own_item_keeps_its_place_among_the_events() {
    #[derive(Debug, PartialEq)]
    struct Prompt(&'static str);
    impl super::DoorItem for Prompt {
        fn weight(&self) -> usize {
            32
        }
    }
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("den")).await.unwrap();
    let mut guest = Person::new(&hub, "guest", many_rooms(5)).await;
    guest.does(join("den")).await.unwrap();
    guest.told();
    host.does(say(Some("den"), "before")).await.unwrap();
    guest.outbox.reply_door(Prompt("password?"));
    host.does(say(Some("den"), "after")).await.unwrap();
    let batch = guest.outbox.next_batch().now_or_never().unwrap();
    let order: Vec<String> = batch
        .deliveries
        .iter()
        .map(|d| match (d.event(), d.door_item::<Prompt>()) {
            (Some(Event::Message(m)), None) => m.text.to_string(),
            (None, Some(Prompt(text))) => (*text).to_owned(),
            other => panic!("unexpected delivery {other:?}"),
        })
        .collect();
    assert_eq!(order, ["before", "password?", "after"]);
}

#[tokio::test]
async fn a_private_message_arrives_and_one_to_a_user_who_left_is_refused() {
    let hub = hub();
    let mut bot = Person::new(&hub, "bot", many_rooms(5)).await;
    let mut text = Person::new(&hub, "text", ONE_ROOM).await;
    bot.does(private("TEXT", "psst")).await.unwrap();
    assert!(matches!(&bot.told()[..],
        [Event::PrivateSent { to, text }] if to == "text" && text == "psst"));
    assert!(matches!(&text.told()[..],
        [Event::Private { from, text, .. }] if from == "bot" && text == "psst"));
    assert_eq!(
        bot.does(private("bot", "me?")).await,
        Err(Refusal::MessageToSelf)
    );
    drop(text);
    assert_eq!(
        bot.does(private("text", "still there?")).await,
        Err(Refusal::NoSuchUser {
            name: "text".into()
        })
    );
}

#[tokio::test]
async fn an_invitation_arrives_and_lets_its_user_into_the_locked_room_once() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(lock("vault", "sesame")).await.unwrap();
    let mut guest = Person::new(&hub, "guest", many_rooms(5)).await;
    host.told();
    host.does(Request::Invite {
        room: None,
        name: "guest".into(),
    })
    .await
    .unwrap();
    assert!(matches!(&host.told()[..],
        [Event::InviteSent { room, nick }] if room == "vault" && nick == "guest"));
    guest.handle_requests();
    assert!(matches!(&guest.told()[..],
        [Event::Invited { room, by }] if room == "vault" && by == "host"));
    guest.does(join("vault")).await.unwrap();
    guest
        .does(Request::Part {
            room: "vault".into(),
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(
        guest.does(join("vault")).await,
        Err(Refusal::PasswordNeeded {
            room: "vault".into()
        })
    );
    drop(guest);
    assert_eq!(
        host.does(Request::Invite {
            room: None,
            name: "guest".into(),
        })
        .await,
        Err(Refusal::NoSuchUser {
            name: "guest".into()
        })
    );
}

/// The ids a user was told in `Said` replies.
fn said_ids(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Said { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// The ids of the room messages a user was shown live.
fn message_ids(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Message(message) => Some(message.id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn message_ids_strictly_increase_per_room_and_members_see_the_ids_senders_were_told() {
    let hub = hub();
    let mut ann = Person::new(&hub, "ann", many_rooms(5)).await;
    let mut bob = Person::new(&hub, "bob", many_rooms(5)).await;
    ann.does(create("one")).await.unwrap();
    ann.does(create("two")).await.unwrap();
    bob.does(join("one")).await.unwrap();
    bob.does(join("two")).await.unwrap();
    // Watch each room from a one-room door.
    let mut one = Person::new(&hub, "watch1", ONE_ROOM).await;
    let mut two = Person::new(&hub, "watch2", ONE_ROOM).await;
    one.does(join("one")).await.unwrap();
    two.does(join("two")).await.unwrap();
    for person in [&mut ann, &mut bob, &mut one, &mut two] {
        person.told();
    }
    let mut sent_one = Vec::new();
    let mut sent_two = Vec::new();
    for round in 0..20 {
        let (sender, room, sent) = match round % 4 {
            0 => (&mut ann, "one", &mut sent_one),
            1 => (&mut bob, "two", &mut sent_two),
            2 => (&mut bob, "one", &mut sent_one),
            _ => (&mut ann, "two", &mut sent_two),
        };
        sender
            .does(say(Some(room), &format!("m{round}")))
            .await
            .unwrap();
        sent.extend(said_ids(&sender.told()));
    }
    for sent in [&sent_one, &sent_two] {
        assert_eq!(sent.len(), 10);
        assert!(sent.windows(2).all(|pair| pair[0] < pair[1]), "{sent:?}");
    }
    assert_eq!(message_ids(&one.told()), sent_one);
    assert_eq!(message_ids(&two.told()), sent_two);
}

#[tokio::test]
async fn everything_between_sessions_goes_through_the_broker() {
    let (hub, recording) = hub_with(Recording::seams);
    let mut host = Person::new(&hub, "host", many_rooms(5))
        .await
        .known_to(&recording);
    let mut guest = Person::new(&hub, "guest", ONE_ROOM)
        .await
        .known_to(&recording);
    host.does(create("den")).await.unwrap();
    guest.does(join("den")).await.unwrap();
    recording.taken();
    host.told();
    guest.told();

    guest.does(say(None, "hi")).await.unwrap();
    host.does(private("guest", "welcome")).await.unwrap();
    host.does(Request::Topic {
        room: None,
        text: Some("tea".into()),
    })
    .await
    .unwrap();
    assert_eq!(
        recording.taken(),
        [
            "id den hi",
            "publish den Message",
            "private to guest",
            "publish den TopicChanged",
        ]
    );
    // And what went through arrived.
    assert!(matches!(&host.told()[..], [Event::Message(m), ..] if &*m.text == "hi"));
    assert!(matches!(
        &guest.told()[..],
        [Event::Private { .. }, Event::TopicChanged { .. }]
    ));

    host.does(Request::Kick {
        room: None,
        name: "guest".into(),
        reason: None,
    })
    .await
    .unwrap();
    guest.handle_requests();
    assert_eq!(
        recording.taken(),
        [
            "kick to guest",
            "publish den Left",
            // The kicked one-room user lands in the default room.
            "publish lobby Joined",
        ]
    );
    assert_eq!(guest.rooms(), ["lobby"]);

    host.does(Request::SetPassword {
        room: None,
        password: Some("sesame".into()),
        if_epoch: None,
    })
    .await
    .unwrap();
    host.does(Request::Invite {
        room: None,
        name: "guest".into(),
    })
    .await
    .unwrap();
    guest.handle_requests();
    guest.does(join("den")).await.unwrap();
    assert_eq!(
        recording.taken(),
        [
            "publish den LockChanged",
            "invite to guest",
            "publish den MemberInvited",
            "publish den Joined",
            "publish lobby Left",
        ]
    );

    host.does(Request::Close { room: None }).await.unwrap();
    guest.handle_requests();
    assert_eq!(guest.rooms(), ["lobby"]);
    assert!(guest
        .told()
        .iter()
        .any(|e| matches!(e, Event::RoomClosed { room, .. } if room == "den")));
    assert_eq!(
        recording.taken(),
        ["close to guest", "publish lobby Joined"]
    );
    drop(guest);
    assert_eq!(recording.taken(), ["publish lobby Left", "detach guest"]);
}

#[tokio::test(start_paused = true)]
async fn a_lockout_ends_after_its_time_and_the_right_password_then_enters() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(lock("vault", "sesame")).await.unwrap();
    let mut guest = Person::new(&hub, "guest", many_rooms(5)).await;
    let entry = |password: &str| Request::Join {
        room: "vault".into(),
        password: Some(password.into()),
        if_epoch: None,
        since: None,
    };
    for _ in 0..3 {
        assert!(matches!(
            guest.does(entry("nope")).await,
            Err(Refusal::WrongPassword { .. })
        ));
    }
    tokio::time::advance(Duration::from_secs(29)).await;
    assert!(matches!(
        guest.does(entry("sesame")).await,
        Err(Refusal::LockedOut { .. })
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    guest.does(entry("sesame")).await.unwrap();
    assert_eq!(guest.rooms(), ["vault"]);
}

#[tokio::test(start_paused = true)]
async fn an_address_makes_its_rooms_a_minute_at_the_quotas_pace() {
    let hub = hub();
    let quota = hub.services.config.max_new_rooms_per_minute;
    assert!(quota > 0, "the default configuration has a quota");
    let mut maker = Person::new(&hub, "maker", many_rooms(quota as usize + 2)).await;
    for n in 0..quota {
        maker.does(create(&format!("room{n}"))).await.unwrap();
    }
    assert!(matches!(
        maker.does(create("onemore")).await,
        Err(Refusal::RoomCreationLimited { .. })
    ));
    // A token comes back every 60 / quota seconds.
    tokio::time::advance(Duration::from_secs(60 / u64::from(quota) + 1)).await;
    maker.does(create("onemore")).await.unwrap();
    assert!(matches!(
        maker.does(create("another")).await,
        Err(Refusal::RoomCreationLimited { .. })
    ));
}

#[tokio::test]
async fn a_nonce_is_carried_out_once_and_a_refused_one_may_be_tried_again() {
    let hub = hub();
    let mut alice = Person::new(&hub, "alice", many_rooms(5)).await;
    let mut bob = Person::new(&hub, "bob", many_rooms(5)).await;
    bob.does(create("cafe")).await.unwrap();
    bob.told();
    // Refused (alice is not in cafe): nothing is remembered.
    alice
        .state
        .request_once("n1".into(), say(Some("cafe"), "hi"))
        .await;
    assert!(matches!(
        alice.told()[..],
        [Event::Refused(Refusal::NotMember { .. })]
    ));
    alice.does(join("cafe")).await.unwrap();
    alice.told();
    bob.told();
    alice
        .state
        .request_once("n1".into(), say(Some("cafe"), "hi"))
        .await;
    let first = alice.told();
    assert_eq!(said_ids(&first).len(), 1);
    // The same nonce again: the same answer, and nobody hears it twice.
    alice
        .state
        .request_once("n1".into(), say(Some("cafe"), "hi again"))
        .await;
    assert_eq!(alice.told(), first);
    assert_eq!(message_ids(&bob.told()), said_ids(&first));
}

fn ban(room: &str, mask: &str, on: bool) -> Request {
    Request::Ban {
        room: Some(room.into()),
        mask: mask.into(),
        on,
    }
}

fn mode(room: &str, mode: RoomMode, on: bool) -> Request {
    Request::SetModes {
        room: Some(room.into()),
        changes: vec![(mode, on)],
    }
}

#[tokio::test]
async fn several_mode_changes_are_one_event_of_those_that_took_effect() {
    use RoomMode::*;
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    let mut ann = Person::new(&hub, "ann", ONE_ROOM).await;
    host.does(create("g")).await.unwrap();
    ann.does(join("g")).await.unwrap();
    host.told();
    ann.told();
    let modes = |changes: &[(RoomMode, bool)]| Request::SetModes {
        room: Some("g".into()),
        changes: changes.to_vec(),
    };
    // `t` is already set, and `s` is set and cleared again: neither is a change.
    host.does(modes(&[
        (Moderated, true),
        (TopicLock, true),
        (Secret, true),
        (InviteOnly, true),
        (Secret, false),
        (NoExternal, false),
    ]))
    .await
    .unwrap();
    let want = Event::ModesChanged {
        room: "g".into(),
        by: "host".into(),
        changes: vec![(Moderated, true), (InviteOnly, true), (NoExternal, false)],
    };
    assert_eq!(ann.told(), vec![want.clone()]);
    assert_eq!(host.told(), vec![want]);
    host.does(Request::Modes {
        room: Some("g".into()),
    })
    .await
    .unwrap();
    assert!(matches!(
        &host.told()[..],
        [Event::RoomModes { modes, .. }] if modes.letters() == "imt"
    ));
    // Nothing that changes anything tells no one.
    host.does(modes(&[(Moderated, true), (NoExternal, false)]))
        .await
        .unwrap();
    assert!(host.told().is_empty() && ann.told().is_empty());
    // Each change needs a host: none of a member's is made.
    assert!(matches!(
        ann.does(modes(&[(Moderated, false), (Secret, true)])).await,
        Err(Refusal::NotHost { .. })
    ));
    assert!(host.told().is_empty() && ann.told().is_empty());
}

#[tokio::test]
async fn a_ban_kicks_matching_members_but_not_hosts_and_a_rename_into_it_silences() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    let mut troll = Person::new(&hub, "Troll", ONE_ROOM).await;
    let mut other = Person::new(&hub, "bob", many_rooms(5)).await;
    host.does(create("g")).await.unwrap();
    troll.does(join("g")).await.unwrap();
    other.does(join("g")).await.unwrap();
    host.does(Request::HostAdd {
        room: Some("g".into()),
        name: "bob".into(),
    })
    .await
    .unwrap();
    // Hosts stay, even when the pattern matches them.
    host.does(ban("g", "*o*", true)).await.unwrap();
    troll.handle_requests();
    other.handle_requests();
    assert_eq!(troll.rooms(), ["lobby"]);
    assert_eq!(other.rooms(), ["g"]);
    assert!(troll.told().iter().any(|event| matches!(
        event,
        Event::YouWereKicked { reason: Some(reason), .. } if reason == "banned (*o*)"
    )));
    assert_eq!(
        troll.does(join("g")).await,
        Err(Refusal::Banned { room: "g".into() })
    );
    assert_eq!(
        host.does(ban("g", "*O*", true)).await,
        Err(Refusal::AlreadyBanned {
            mask: "*o*".into(),
            room: "g".into()
        })
    );
    host.does(ban("g", "*O*", false)).await.unwrap();
    host.does(ban("g", "z*", true)).await.unwrap();
    troll.does(join("g")).await.unwrap();
    // Renamed into the ban while inside: stays, but cannot speak.
    troll
        .does(Request::Nick { name: "zed".into() })
        .await
        .unwrap();
    assert_eq!(troll.rooms(), ["g"]);
    assert_eq!(
        troll.does(say(None, "hi")).await,
        Err(Refusal::Banned { room: "g".into() })
    );
    host.does(Request::Voice {
        room: Some("g".into()),
        name: "zed".into(),
        on: true,
    })
    .await
    .unwrap();
    troll.does(say(None, "voiced")).await.unwrap();
    // The list is for hosts, with who set each and when.
    let bans = hub.room("g").unwrap().bans(host.state.id).unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!((bans[0].mask.as_str(), bans[0].by.as_str()), ("z*", "host"));
    assert_eq!(
        troll.does(Request::Bans { room: None }).await,
        Err(Refusal::NotHost { room: "g".into() })
    );
}

#[tokio::test]
async fn a_room_keeps_at_most_max_bans() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("g")).await.unwrap();
    for n in 0..crate::core::room::MAX_BANS {
        host.does(ban("g", &format!("x{n}"), true)).await.unwrap();
    }
    assert_eq!(
        host.does(ban("g", "y", true)).await,
        Err(Refusal::BanListFull {
            room: "g".into(),
            max: crate::core::room::MAX_BANS
        })
    );
    assert!(matches!(
        host.does(ban("g", "a!b@c", true)).await,
        Err(Refusal::BadMask(_))
    ));
}

#[tokio::test]
async fn moderation_invite_only_and_external_messages_follow_the_modes() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    let mut ann = Person::new(&hub, "ann", ONE_ROOM).await;
    let mut out = Person::new(&hub, "out", ONE_ROOM).await;
    host.does(create("g")).await.unwrap();
    ann.does(join("g")).await.unwrap();
    host.told();
    // Setting what is already so is no change and no event.
    host.does(mode("g", RoomMode::TopicLock, true))
        .await
        .unwrap();
    assert!(host.told().is_empty());
    host.does(mode("g", RoomMode::Moderated, true))
        .await
        .unwrap();
    assert!(ann.told().iter().any(|event| matches!(
        event,
        Event::ModesChanged { changes, .. } if changes == &[(RoomMode::Moderated, true)]
    )));
    assert_eq!(
        ann.does(say(None, "hi")).await,
        Err(Refusal::Moderated { room: "g".into() })
    );
    host.does(say(Some("g"), "hosts speak")).await.unwrap();
    // `:erm` from outside: labelled, but the room is moderated.
    let erm = |text: &str| Request::SayElsewhere {
        room: "g".into(),
        from: None,
        text: text.into(),
    };
    assert_eq!(
        out.does(erm("hey")).await,
        Err(Refusal::Moderated { room: "g".into() })
    );
    host.does(mode("g", RoomMode::Moderated, false))
        .await
        .unwrap();
    ann.does(say(None, "free again")).await.unwrap();
    out.does(erm("hey")).await.unwrap();
    // An unlabelled message from outside needs -n.
    assert_eq!(
        out.state
            .say_to_others("g", SayKind::Chat, "plain")
            .await
            .map(|_| ()),
        Err(Refusal::NotMember { room: "g".into() })
    );
    host.does(mode("g", RoomMode::NoExternal, false))
        .await
        .unwrap();
    out.state
        .say_to_others("g", SayKind::Chat, "plain")
        .await
        .unwrap();
    // Invite-only: an invitation is one entry, asked for before any password.
    host.does(mode("g", RoomMode::InviteOnly, true))
        .await
        .unwrap();
    assert_eq!(
        out.does(join("g")).await,
        Err(Refusal::InviteOnly { room: "g".into() })
    );
    host.does(Request::Invite {
        room: Some("g".into()),
        name: "out".into(),
    })
    .await
    .unwrap();
    out.handle_requests();
    out.does(join("g")).await.unwrap();
    out.does(join("lobby")).await.unwrap();
    assert_eq!(
        out.does(join("g")).await,
        Err(Refusal::InviteOnly { room: "g".into() })
    );
    // Secret: gone from the listing and from `who` for outsiders only.
    host.does(mode("g", RoomMode::Secret, true)).await.unwrap();
    assert!(!out
        .state
        .rooms_listing()
        .iter()
        .any(|room| room.name == "g"));
    assert!(ann
        .state
        .rooms_listing()
        .iter()
        .any(|room| room.name == "g"));
    assert_eq!(
        out.state.members("g"),
        Err(Refusal::NoSuchRoom { room: "g".into() })
    );
    let details = out.state.user_details("ann").unwrap();
    assert!(details.rooms.is_empty(), "{details:?}");
    assert_eq!(ann.state.members("g").unwrap().members.len(), 2);
    // The default room's modes are fixed.
    assert!(matches!(
        ann.does(mode("lobby", RoomMode::Moderated, true)).await,
        Err(Refusal::NotMember { .. })
    ));
    assert!(matches!(
        out.does(Request::SetModes {
            room: None,
            changes: vec![(RoomMode::Moderated, true)],
        })
        .await,
        Err(Refusal::DefaultRoom {
            action: HostAction::Mode,
            ..
        })
    ));
}

/// What `person` is told about `name` by a whois.
async fn whois(person: &mut Person, name: &str) -> Result<UserDetails, Refusal> {
    person.does(Request::Whois { name: name.into() }).await?;
    let told = person.told();
    match told.as_slice() {
        [Event::Whois(details)] => Ok(details.clone()),
        other => panic!("a whois answered {other:?}"),
    }
}

#[tokio::test]
async fn whois_shows_rooms_away_and_operators_and_an_address_and_secret_rooms_only_to_some() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    let mut bob = Person::new(&hub, "bob", many_rooms(5)).await;
    let mut out = Person::new(&hub, "out", ONE_ROOM).await;
    host.does(create("den")).await.unwrap();
    host.does(create("Attic")).await.unwrap();
    host.does(mode("den", RoomMode::Secret, true))
        .await
        .unwrap();
    host.does(Request::Voice {
        room: Some("Attic".into()),
        name: "host".into(),
        on: true,
    })
    .await
    .unwrap();
    host.does(away(Some("at lunch"))).await.unwrap();
    bob.does(join("den")).await.unwrap();
    host.told();
    bob.told();

    // A member of the secret room sees it, in name order, with host marks.
    let seen = whois(&mut bob, "HOST").await.unwrap();
    assert_eq!(seen.user.nick, "host");
    assert_eq!(seen.user.away.as_deref(), Some("at lunch"));
    assert!(!seen.user.operator);
    assert_eq!(seen.user.address, None);
    let rooms: Vec<_> = seen
        .rooms
        .iter()
        .map(|m| (m.room.as_str(), m.host, m.voice))
        .collect();
    assert_eq!(rooms, [("Attic", true, true), ("den", true, false)]);
    // An outsider does not.
    let seen = whois(&mut out, "host").await.unwrap();
    let rooms: Vec<_> = seen.rooms.iter().map(|m| m.room.as_str()).collect();
    assert_eq!(rooms, ["Attic"]);
    assert_eq!(whois(&mut out, "bob").await.unwrap().rooms, []);

    // An operator is marked as one, and sees addresses; others never do.
    out.state.operator = Some("root".into());
    hub.set_operator(out.state.id, out.state.registered_nick());
    let seen = whois(&mut out, "bob").await.unwrap();
    assert_eq!(seen.user.address.as_deref(), Some("127.0.0.1"));
    let seen = whois(&mut bob, "out").await.unwrap();
    assert!(seen.user.operator);
    assert_eq!(seen.user.address, None);
    // Nobody by that name: a refusal, and nothing else said.
    assert_eq!(
        whois(&mut bob, "carol").await,
        Err(Refusal::NoSuchUser {
            name: "carol".into()
        })
    );
    assert!(bob.told().is_empty());
}
