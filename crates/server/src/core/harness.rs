//! Socket-less tests of the chat core: users of both kinds of door driven
//! through [`UserState`] alone, with outboxes read directly. Rules are
//! tested here once; the wire tests check what each door makes of them.

use std::net::SocketAddr;
use std::sync::Arc;

use banter_proto::event::{LeaveReason, RoomView};
use banter_proto::request::{Request, SayKind};
use banter_proto::{Event, Refusal};
use futures::FutureExt;

use super::{Door, UserState};
use crate::config::Config;
use crate::core::hub::Hub;
use crate::core::outbox::Outbox;
use crate::core::seams::Seams;
use crate::core::services::Services;
use crate::store::memory::MemoryStore;
use crate::store::Store;

const ONE_ROOM: Door = Door {
    name: "one-room",
    one_room: true,
    max_rooms: 1,
    lists_members: false,
    answers_every_request: false,
};

fn many_rooms(max_rooms: usize) -> Door {
    Door {
        name: "many-rooms",
        one_room: false,
        max_rooms,
        lists_members: true,
        answers_every_request: true,
    }
}

/// A hub on an in-memory store. Loading the store blocks, so it happens on
/// a thread of its own, outside the test's runtime.
fn hub() -> Arc<Hub> {
    std::thread::spawn(|| {
        let mut config = Config::defaults();
        config.in_memory = true;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(config.history_max));
        let services = Services::new(Arc::new(config), Arc::clone(&store), Arc::default());
        Hub::new(services, Seams::in_process(store)).unwrap()
    })
    .join()
    .unwrap()
}

/// A user and what they have been told.
struct Person {
    state: UserState,
    outbox: Arc<Outbox>,
}

impl Person {
    async fn new(hub: &Arc<Hub>, name: &str, door: Door) -> Self {
        let outbox = Arc::new(Outbox::new(1 << 20));
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut state = UserState::new(Arc::clone(hub), peer, Arc::clone(&outbox), door);
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
            Some(batch) => batch.deliveries.iter().map(|d| d.event.clone()).collect(),
            None => Vec::new(),
        }
    }

    /// Carries out what other users asked of this one (kicks, closes).
    fn handle_requests(&mut self) {
        let mailbox = self.state.mailbox();
        while let Some(request) = mailbox.recv().now_or_never() {
            self.state.handle_control(request);
        }
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
    assert!(matches!(&text.told()[..], [Event::Message(m)] if m.text == "hello"));
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
async fn entering_again_shows_only_what_was_said_since() {
    let hub = hub();
    let mut talker = Person::new(&hub, "talker", ONE_ROOM).await;
    talker.does(create("cafe")).await.unwrap();
    let mut visitor = Person::new(&hub, "visitor", ONE_ROOM).await;
    talker.does(say(None, "one")).await.unwrap();
    visitor.does(join("cafe")).await.unwrap();
    let first = visitor.told();
    let texts: Vec<_> = entered(&first)
        .unwrap()
        .recent
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["one"]);
    talker.does(say(None, "two")).await.unwrap();
    visitor.does(join("lobby")).await.unwrap();
    talker.does(say(None, "three")).await.unwrap();
    visitor.told();
    visitor.does(join("cafe")).await.unwrap();
    let again = visitor.told();
    let texts: Vec<_> = entered(&again)
        .unwrap()
        .recent
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["three"], "seen live before leaving: one, two");
}

#[tokio::test]
async fn a_locked_room_takes_its_password_in_the_request_and_locks_guessers_out() {
    let hub = hub();
    let mut host = Person::new(&hub, "host", many_rooms(5)).await;
    host.does(create("vault")).await.unwrap();
    host.does(Request::SetPassword {
        room: Some("vault".into()),
        password: Some("sesame".into()),
        if_epoch: None,
    })
    .await
    .unwrap();
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
            })
            .await,
        Err(Refusal::LockedOut { .. })
    ));
    let mut friend = Person::new(&hub, "friend", ONE_ROOM).await;
    friend
        .does(Request::Join {
            room: "vault".into(),
            password: Some("sesame".into()),
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
