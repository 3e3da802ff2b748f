//! The JSON door's renderer: each event as one banter/1 object (one
//! WebSocket text frame), written through banter-wire's [`Frame`] from
//! borrowed strings, so nothing of the event is copied on the way. Room
//! traffic is rendered once and shared by every JSON client; replies carry
//! the request's `id`. Events that belong to the text door's prompts
//! (`Cancelled`, `PromptCancelled`) render as nothing and are not sent;
//! other doors' own output items never reach this door.

use banter_proto::event::{
    LeaveReason, Membership, MessageKind, ResumeToken, RoomMessage, RoomSummary, RoomView,
    ServerBanEntry, UserDetails, WhoEntry,
};
use banter_proto::{Event, RoomMode};
use banter_wire::{self as wire, Envelope, Frame, ServerBan, PROTOCOL};
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::value::RawValue;

use crate::core::{Delivery, Format, Missed};
use crate::doors::Renderer;

/// Room for the keys, quotes and numbers of a frame beyond its text, so
/// that a room message is written without growing its buffer.
const FRAME_OVERHEAD: usize = 96;

/// What `shutdown` says.
const SHUTTING_DOWN: &str = "the server is shutting down";

/// Renders for one JSON connection; holds nothing of its own.
#[derive(Debug, Default)]
pub(crate) struct JsonRenderer;

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
            let frame = Envelope::<_, &RawValue> {
                body: Frame::Missed {
                    room: missed.room.as_deref(),
                    count: missed.count,
                },
                id: None,
            };
            frame
                .write_json(out.writer())
                .expect("writing to memory cannot fail");
        }
    }
}

fn rendered(delivery: &Delivery) -> &Bytes {
    delivery.rendered(Format::Json, |delivery| {
        // A refusal's sentence is the one thing made here, not borrowed.
        let Some(event) = delivery.event() else {
            return Bytes::new();
        };
        let sentence = match event {
            Event::Refused(refusal) => refusal.to_string(),
            _ => String::new(),
        };
        let Some(body) = frame(event, &sentence) else {
            return Bytes::new();
        };
        // The door encoded the id from JSON it read, so it is JSON; echoed unparsed.
        let id = delivery
            .request
            .as_deref()
            .and_then(|tag| serde_json::from_str::<&RawValue>(tag).ok());
        let mut out = Vec::with_capacity(delivery.cost() + FRAME_OVERHEAD);
        Envelope { body, id }
            .write_json(&mut out)
            .expect("writing to memory cannot fail");
        Bytes::from(out)
    })
}

fn message(message: &RoomMessage) -> wire::RoomMessage<&str> {
    let (kind, from_room) = match &message.kind {
        MessageKind::Chat => (wire::MessageKind::Chat, None),
        MessageKind::Emote => (wire::MessageKind::Emote, None),
        MessageKind::Notice => (wire::MessageKind::Notice, None),
        MessageKind::FromRoom(room) => (wire::MessageKind::FromRoom, Some(room.as_str())),
    };
    wire::RoomMessage {
        room: &message.room,
        from: &message.from,
        text: &message.text,
        id: message.id,
        at: message.at,
        kind,
        from_room,
    }
}

fn members(members: &[WhoEntry]) -> Vec<wire::Member<&str>> {
    members
        .iter()
        .map(|member| wire::Member {
            name: &*member.nick,
            host: member.host,
            voice: member.voice,
        })
        .collect()
}

fn memberships(rooms: &[Membership]) -> Vec<wire::Membership<&str>> {
    rooms
        .iter()
        .map(|membership| wire::Membership {
            room: membership.room.as_str(),
            host: membership.host,
            voice: membership.voice,
        })
        .collect()
}

fn joined(view: &RoomView) -> wire::Joined<&str> {
    wire::Joined {
        room: &view.room,
        created: view.created,
        host: view.host,
        locked: view.locked,
        topic: view.topic.as_deref(),
        members: members(&view.members),
        history: view.recent.iter().map(message).collect(),
    }
}

fn room_info(room: &RoomSummary) -> wire::RoomInfo<&str> {
    wire::RoomInfo {
        name: &room.name,
        members: room.members,
        joined: room.joined,
        locked: room.locked,
        topic: room.topic.as_deref(),
        default: room.default,
    }
}

fn member_left<'a>(room: &'a str, nick: &'a str, reason: &'a LeaveReason) -> Frame<&'a str> {
    let (reason, by, message) = match reason {
        LeaveReason::Quit { message } => (wire::LeaveReason::Quit, None, message.as_deref()),
        LeaveReason::Disconnected => (wire::LeaveReason::Disconnected, None, None),
        LeaveReason::ChangedRoom => (wire::LeaveReason::Parted, None, None),
        LeaveReason::Parted { message } => (wire::LeaveReason::Parted, None, message.as_deref()),
        LeaveReason::Kicked { by, reason } => (
            wire::LeaveReason::Kicked,
            Some(by.as_str()),
            reason.as_deref(),
        ),
    };
    Frame::MemberLeft {
        room,
        name: nick,
        reason,
        by,
        message,
    }
}

fn server_ban(ban: &ServerBanEntry) -> ServerBan<&str> {
    ServerBan {
        mask: &ban.mask,
        reason: &ban.reason,
        by: &ban.by,
        at: ban.at,
        until: ban.until,
    }
}

/// The frame for one event, or `None` for events this door does not send;
/// `sentence` is a refusal's message.
fn frame<'a>(event: &'a Event, sentence: &'a str) -> Option<Frame<&'a str>> {
    Some(match event {
        // Away changes are IRC's `away-notify`; banter/1 has no away status yet.
        Event::Cancelled
        | Event::PromptCancelled(_)
        | Event::AwayChanged { .. }
        | Event::MemberInvited { .. } => return None,
        Event::Welcome {
            nick,
            room,
            resume,
            resumed,
        } => Frame::Welcome {
            name: nick,
            protocol: PROTOCOL,
            joined: room.as_ref().map(joined),
            // The one place the token is written: to its owner.
            resume: resume.as_ref().map(ResumeToken::expose),
            resumed: resumed.is_some(),
            rooms: resumed.as_deref().map(memberships),
        },
        Event::Entered(view) => Frame::Joined(joined(view)),
        Event::Parted { room, .. } => Frame::Parted { room },
        Event::History {
            room,
            messages,
            capped_at,
            ..
        } => Frame::History {
            room,
            messages: messages.iter().map(message).collect(),
            capped_at: *capped_at,
        },
        Event::RoomClosed { room, by } => Frame::RoomClosed { room, by },
        Event::Message(said) => Frame::Message(message(said)),
        Event::Said { room, id, at } => Frame::Said {
            room,
            message_id: *id,
            at: *at,
        },
        Event::ExtraRoomSent { to_room, members } => Frame::SentElsewhere {
            room: to_room,
            members: *members,
        },
        Event::Private {
            from,
            text,
            at,
            notice,
        } => Frame::Private {
            from,
            text,
            at: *at,
            notice: *notice,
        },
        Event::PrivateSent { to, text } => Frame::PrivateSent { to, text },
        Event::Joined { room, nick } => Frame::MemberJoined { room, name: nick },
        Event::Left { room, nick, reason } => member_left(room, nick, reason),
        Event::NickChanged { room, old, new } => Frame::NickChanged { room, old, new },
        Event::NickSet { nick } => Frame::NickSet { name: nick },
        Event::RoomList(rooms) => Frame::Rooms {
            rooms: rooms.iter().map(room_info).collect(),
        },
        Event::Who {
            room,
            members: list,
        } => Frame::Who {
            room,
            members: members(list),
        },
        Event::Users(names) => Frame::Users {
            names: names.iter().map(String::as_str).collect(),
        },
        Event::Whois(UserDetails { user, rooms }) => Frame::Whois {
            name: &user.nick,
            rooms: memberships(rooms),
            away: user.away.as_deref(),
            operator: user.operator,
            address: user.address.as_deref(),
        },
        Event::Topic { room, topic } => Frame::Topic {
            room,
            topic: topic.as_deref(),
        },
        Event::TopicChanged { room, by, topic } => Frame::TopicChanged { room, by, topic },
        Event::HostAdded { room, nick, by } => Frame::HostAdded {
            room,
            name: nick,
            by: by.as_deref(),
        },
        Event::HostRemoved { room, nick, by } => Frame::HostRemoved {
            room,
            name: nick,
            by,
        },
        Event::LockChanged { room, by, locked } => Frame::LockChanged {
            room,
            by,
            locked: *locked,
        },
        Event::ModesChanged { room, by, changes } => Frame::ModesChanged {
            room,
            by,
            changes: changes
                .iter()
                .map(|&(mode, on)| wire::ModeSwitch {
                    mode: mode.name(),
                    on,
                })
                .collect(),
        },
        Event::VoiceChanged { room, nick, by, on } => Frame::VoiceChanged {
            room,
            name: nick,
            by,
            on: *on,
        },
        Event::BanChanged { room, by, mask, on } => Frame::BanChanged {
            room,
            by,
            mask,
            on: *on,
        },
        Event::BanList { room, bans } => Frame::Bans {
            room,
            bans: bans
                .iter()
                .map(|ban| wire::Ban {
                    mask: ban.mask.as_str(),
                    by: ban.by.as_str(),
                    at: ban.at,
                })
                .collect(),
        },
        Event::RoomModes {
            room,
            modes,
            locked,
        } => Frame::Modes {
            room,
            modes: RoomMode::ALL
                .into_iter()
                .filter(|mode| modes.has(*mode))
                .map(RoomMode::name)
                .collect(),
            locked: *locked,
        },
        Event::YouWereKicked { room, by, reason } => Frame::Kicked {
            room,
            by,
            message: reason.as_deref(),
        },
        Event::Invited { room, by } => Frame::Invited { room, by },
        Event::InviteSent { room, nick } => Frame::InviteSent { room, name: nick },
        Event::Missed { room, count } => Frame::Missed {
            room: room.as_deref(),
            count: *count,
        },
        Event::OperatorNow { name } => Frame::Operator { name },
        Event::Killed { by, reason } => Frame::Killed {
            by,
            reason: reason.as_deref(),
        },
        Event::UserKilled { nick } => Frame::UserKilled { name: nick },
        Event::ServerBanSet { ban, disconnected } => Frame::ServerBanSet {
            ban: server_ban(ban),
            disconnected: *disconnected,
        },
        Event::ServerBanLifted { mask } => Frame::ServerBanLifted { mask },
        Event::ServerBanList(bans) => Frame::ServerBans {
            bans: bans.iter().map(server_ban).collect(),
        },
        Event::Announcement { from, text } => Frame::Announcement { from, text },
        Event::Refused(refusal) => Frame::Error {
            code: refusal.code(),
            message: sentence,
        },
        Event::Pong => Frame::Pong,
        Event::Done => Frame::Ok,
        Event::Goodbye => Frame::Bye,
        Event::ShuttingDown => Frame::Shutdown {
            message: SHUTTING_DOWN,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use banter_proto::Refusal;
    use serde_json::{json, Value};

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
            json!({"type":"error","code":"no_such_room","message":"there is no room x","id":"req-1"})
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
