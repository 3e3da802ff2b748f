//! An event on its way to one or more users, with its renderings.
//!
//! A room message becomes one [`Delivery`] shared (`Arc`) by every member's
//! outbox. Each door renders it at most once, on first use in a writer (never
//! under a room lock), and every client of that door shares the same bytes.
//! What a delivery costs in an outbox is its event's [`Event::weight`], known
//! before any rendering and the same for every door.

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
pub type RequestTag = Arc<str>;

/// See the module docs.
#[derive(Debug)]
pub struct Delivery {
    pub event: Event,
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
        Arc::new(Self {
            weight: event.weight(),
            event,
            request,
            rendered: Default::default(),
        })
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
}
