//! The JSON door's renderer: each event as one banter/1 object (one
//! WebSocket text frame). Room traffic is rendered once and shared by every
//! JSON client; replies carry the request's `id`. Events that belong to the
//! text door's prompts (`Cancelled`, `PromptCancelled`) render as nothing and
//! are not sent; other doors' own output items never reach this door.

use banter_proto::event::{LeaveReason, MessageKind, RoomMessage, RoomSummary, RoomView, WhoEntry};
use banter_proto::Event;
use bytes::{Bytes, BytesMut};
use serde_json::{json, Map, Value};

use crate::core::{Delivery, Format, Missed};
use crate::doors::Renderer;

/// The protocol's name and version, in `welcome`.
pub const PROTOCOL: &str = "banter/1";

/// Renders for one JSON connection; holds nothing of its own.
#[derive(Debug, Default)]
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn shared<'a>(&self, delivery: &'a Delivery) -> Option<&'a Bytes> {
        Some(rendered(delivery))
    }

    fn render(&mut self, delivery: &Delivery, out: &mut BytesMut) {
        out.extend_from_slice(rendered(delivery));
    }

    /// One object per frame: the writer passes one room at a time.
    fn missed(&mut self, missed: &[Missed], out: &mut BytesMut) {
        for missed in missed {
            let object = json!({"type": "missed", "room": missed.room, "count": missed.count});
            out.extend_from_slice(object.to_string().as_bytes());
        }
    }
}

fn rendered(delivery: &Delivery) -> &Bytes {
    delivery.rendered(Format::Json, |delivery| {
        match delivery.event().and_then(object) {
            Some(Value::Object(mut fields)) => {
                if let Some(request) = &delivery.request {
                    let id = serde_json::from_str(request).unwrap_or(Value::Null);
                    fields.insert("id".into(), id);
                }
                Bytes::from(Value::Object(fields).to_string())
            }
            _ => Bytes::new(),
        }
    })
}

fn message(message: &RoomMessage) -> Value {
    let mut object = json!({
        "type": "message",
        "room": message.room,
        "from": message.from,
        "text": message.text,
        "id": message.id,
        "at": message.at,
        "kind": match message.kind {
            MessageKind::Chat => "chat",
            MessageKind::Emote => "emote",
            MessageKind::FromRoom(_) => "from_room",
        },
    });
    if let MessageKind::FromRoom(from_room) = &message.kind {
        object["from_room"] = json!(from_room);
    }
    object
}

fn members(members: &[WhoEntry]) -> Value {
    members
        .iter()
        .map(|m| json!({"name": m.nick, "host": m.host}))
        .collect()
}

fn room_view(kind: &str, view: &RoomView) -> Value {
    json!({
        "type": kind,
        "room": view.room,
        "created": view.created,
        "host": view.host,
        "locked": view.locked,
        "topic": view.topic,
        "members": members(&view.members),
        "history": view.recent.iter().map(message).collect::<Vec<_>>(),
    })
}

fn room_summary(room: &RoomSummary) -> Value {
    json!({
        "name": room.name,
        "members": room.members,
        "joined": room.joined,
        "locked": room.locked,
        "topic": room.topic,
        "default": room.default,
    })
}

fn leave_reason(reason: &LeaveReason, object: &mut Map<String, Value>) {
    let name = match reason {
        LeaveReason::Quit { message } => {
            if let Some(message) = message {
                object.insert("message".into(), json!(message));
            }
            "quit"
        }
        LeaveReason::Disconnected => "disconnected",
        LeaveReason::ChangedRoom => "parted",
        LeaveReason::Parted { message } => {
            if let Some(message) = message {
                object.insert("message".into(), json!(message));
            }
            "parted"
        }
        LeaveReason::Kicked { by, reason } => {
            object.insert("by".into(), json!(by));
            object.insert("message".into(), json!(reason));
            "kicked"
        }
    };
    object.insert("reason".into(), json!(name));
}

/// The object for one event, or `None` for events this door does not send.
fn object(event: &Event) -> Option<Value> {
    Some(match event {
        Event::Cancelled | Event::PromptCancelled(_) => return None,
        Event::Welcome { nick, room } => {
            let mut object = json!({"type": "welcome", "name": nick, "protocol": PROTOCOL});
            if let Some(view) = room {
                object["joined"] = room_view("joined", view);
            }
            object
        }
        Event::Entered(view) => room_view("joined", view),
        Event::Parted { room, .. } => json!({"type": "parted", "room": room}),
        Event::History {
            room,
            messages,
            capped_at,
            ..
        } => json!({
            "type": "history",
            "room": room,
            "messages": messages.iter().map(message).collect::<Vec<_>>(),
            "capped_at": capped_at,
        }),
        Event::RoomClosed { room, by } => json!({"type": "room_closed", "room": room, "by": by}),
        Event::Message(said) => message(said),
        Event::Said { room, id, at } => {
            json!({"type": "said", "room": room, "message_id": id, "at": at})
        }
        Event::ExtraRoomSent { to_room, members } => {
            json!({"type": "sent_elsewhere", "room": to_room, "members": members})
        }
        Event::Private { from, text, at } => {
            json!({"type": "private", "from": from, "text": text, "at": at})
        }
        Event::PrivateSent { to, text } => json!({"type": "private_sent", "to": to, "text": text}),
        Event::Joined { room, nick } => {
            json!({"type": "member_joined", "room": room, "name": nick})
        }
        Event::Left { room, nick, reason } => {
            let mut object = Map::new();
            object.insert("type".into(), json!("member_left"));
            object.insert("room".into(), json!(room));
            object.insert("name".into(), json!(nick));
            leave_reason(reason, &mut object);
            Value::Object(object)
        }
        Event::NickChanged { room, old, new } => {
            json!({"type": "nick_changed", "room": room, "old": old, "new": new})
        }
        Event::NickSet { nick } => json!({"type": "nick_set", "name": nick}),
        Event::RoomList(rooms) => json!({
            "type": "rooms",
            "rooms": rooms.iter().map(room_summary).collect::<Vec<_>>(),
        }),
        Event::Who {
            room,
            members: list,
        } => {
            json!({"type": "who", "room": room, "members": members(list)})
        }
        Event::Users(names) => json!({"type": "users", "names": names}),
        Event::Topic { room, topic } => json!({"type": "topic", "room": room, "topic": topic}),
        Event::TopicChanged { room, by, topic } => {
            json!({"type": "topic_changed", "room": room, "by": by, "topic": topic})
        }
        Event::HostAdded { room, nick, by } => {
            json!({"type": "host_added", "room": room, "name": nick, "by": by})
        }
        Event::HostRemoved { room, nick, by } => {
            json!({"type": "host_removed", "room": room, "name": nick, "by": by})
        }
        Event::LockChanged { room, by, locked } => {
            json!({"type": "lock_changed", "room": room, "by": by, "locked": locked})
        }
        Event::YouWereKicked { room, by, reason } => {
            json!({"type": "kicked", "room": room, "by": by, "message": reason})
        }
        Event::Invited { room, by } => json!({"type": "invited", "room": room, "by": by}),
        Event::InviteSent { room, nick } => {
            json!({"type": "invite_sent", "room": room, "name": nick})
        }
        Event::Missed { room, count } => json!({"type": "missed", "room": room, "count": count}),
        Event::Refused(refusal) => json!({
            "type": "error",
            "code": refusal.code(),
            "message": refusal.to_string(),
        }),
        Event::Pong => json!({"type": "pong"}),
        Event::Done => json!({"type": "ok"}),
        Event::Goodbye => json!({"type": "bye"}),
        Event::ShuttingDown => {
            json!({"type": "shutdown", "message": "the server is shutting down"})
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use banter_proto::Refusal;

    fn frame(delivery: &Delivery) -> Value {
        serde_json::from_slice(rendered(delivery)).unwrap()
    }

    #[test]
    fn messages_carry_room_id_and_time() {
        let delivery = Delivery::new(Event::Message(RoomMessage {
            id: 41,
            at: 1_700_000_000_000,
            room: "games".into(),
            from: "alice".into(),
            text: "hi".into(),
            kind: MessageKind::Chat,
        }));
        assert_eq!(
            frame(&delivery),
            json!({"type":"message","room":"games","from":"alice","text":"hi","id":41,"at":1_700_000_000_000_i64,"kind":"chat"})
        );
    }

    #[test]
    fn a_refusal_has_a_code_a_message_and_the_request_id() {
        let delivery = Delivery::reply(
            Event::Refused(Refusal::NoSuchRoom { room: "x".into() }),
            Some("\"req-1\"".into()),
        );
        assert_eq!(
            frame(&delivery),
            json!({"type":"error","code":"no_such_room","message":"there is no room x (see :rooms)","id":"req-1"})
        );
    }

    #[test]
    fn text_door_dialogue_is_not_sent() {
        // Another door's own item (the text door's greeting is one).
        #[derive(Debug)]
        struct Greeting;
        impl crate::core::DoorItem for Greeting {
            fn weight(&self) -> usize {
                32
            }
        }
        let greeting = Delivery::carrying(crate::core::Payload::Door(Box::new(Greeting)), None);
        assert!(rendered(&greeting).is_empty());
    }
}
