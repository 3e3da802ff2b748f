//! An event on its way to one or more users, with its renderings.
//!
//! A room message becomes one [`Delivery`] shared (`Arc`) by every member's
//! outbox. Each door renders it at most once, on first use in a writer (never
//! under a room lock), and every client of that door shares the same bytes.
//! What a delivery costs in an outbox is its event's [`Event::weight`], known
//! before any rendering and the same for every door.
//!
//! A delivery carries either a core [`Event`] or a [`DoorItem`]: output one
//! door makes for its own client alone (the text door's prompts, IRC's
//! numerics). Door items travel in the same outbox so they keep their place
//! among the events, but they are opaque to the core: only the door that
//! queued one reads it back, by its type ([`Delivery::door_item`]).

use std::any::Any;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use banter_proto::Event;
use bytes::Bytes;

/// The wire formats that cache a rendering in a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text lines: nc and telnet.
    Text = 0,
    /// JSON objects: the WebSocket door.
    Json = 1,
    /// IRC lines without tags.
    Irc = 2,
    /// IRC lines with the `server-time` tag.
    IrcTimed = 3,
}

/// Which request a reply answers, as the client named it (a JSON door's
/// `"id"`, already encoded): opaque to the core, echoed by the door.
pub(crate) type RequestTag = Arc<str>;

/// Output of one door's own, queued among core events; see the module docs.
pub trait DoorItem: Any + Debug + Send + Sync {
    /// What the item costs in an outbox, in bytes (about its size on the wire).
    fn weight(&self) -> usize;
}

/// What a delivery carries.
#[derive(Debug)]
pub enum Payload {
    Event(Event),
    Door(Box<dyn DoorItem>),
}

impl From<Event> for Payload {
    fn from(event: Event) -> Self {
        Payload::Event(event)
    }
}

impl Payload {
    /// A door's own item, as a payload.
    pub fn door(item: impl DoorItem) -> Self {
        Payload::Door(Box::new(item))
    }

    fn weight(&self) -> usize {
        match self {
            Payload::Event(event) => event.weight(),
            Payload::Door(item) => item.weight(),
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Delivery {
    pub payload: Payload,
    /// Set on replies to a tagged request.
    pub request: Option<RequestTag>,
    weight: usize,
    rendered: [OnceLock<Bytes>; 4],
}

impl Delivery {
    pub fn new(event: Event) -> Arc<Self> {
        Self::reply(event, None)
    }

    /// A reply to one user's request.
    pub fn reply(event: Event, request: Option<RequestTag>) -> Arc<Self> {
        Self::carrying(Payload::Event(event), request)
    }

    /// A delivery of `payload`, answering `request` if set.
    pub fn carrying(payload: Payload, request: Option<RequestTag>) -> Arc<Self> {
        Arc::new(Self {
            weight: payload.weight(),
            payload,
            request,
            rendered: Default::default(),
        })
    }

    /// The core event this delivery carries, unless it is a door's own item.
    pub fn event(&self) -> Option<&Event> {
        match &self.payload {
            Payload::Event(event) => Some(event),
            Payload::Door(_) => None,
        }
    }

    /// The door item this delivery carries, if it is one of type `T`.
    pub fn door_item<T: DoorItem>(&self) -> Option<&T> {
        match &self.payload {
            Payload::Door(item) => (item.as_ref() as &dyn Any).downcast_ref(),
            Payload::Event(_) => None,
        }
    }

    /// Bytes this delivery is charged in an outbox.
    pub fn cost(&self) -> usize {
        self.weight
    }

    /// This delivery in `format`, rendered by `render` the first time only.
    pub fn rendered(&self, format: Format, render: impl FnOnce(&Self) -> Bytes) -> &Bytes {
        self.rendered[format as usize].get_or_init(|| render(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_renders_once_per_format_and_shares_its_bytes() {
        let delivery = Delivery::new(Event::Goodbye);
        let first = delivery
            .rendered(Format::Text, |_| Bytes::from_static(b"bye!\r\n"))
            .clone();
        let again = delivery.rendered(Format::Text, |_| unreachable!("rendered once"));
        assert_eq!(first.as_ptr(), again.as_ptr());
        let json = delivery.rendered(Format::Json, |_| Bytes::from_static(b"{}"));
        assert_eq!(&json[..], b"{}");
    }

    #[derive(Debug)]
    struct Lines(&'static str);

    impl DoorItem for Lines {
        fn weight(&self) -> usize {
            self.0.len()
        }
    }

    #[derive(Debug)]
    struct Other;

    impl DoorItem for Other {
        fn weight(&self) -> usize {
            0
        }
    }

    #[test]
    fn a_door_item_is_read_back_only_as_its_own_type() {
        let delivery = Delivery::carrying(Payload::Door(Box::new(Lines("PING :x\r\n"))), None);
        assert_eq!(
            delivery.door_item::<Lines>().map(|l| l.0),
            Some("PING :x\r\n")
        );
        assert!(delivery.door_item::<Other>().is_none());
        assert!(delivery.event().is_none());
        assert_eq!(delivery.cost(), 9);
    }
}
