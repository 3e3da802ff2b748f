//! banter/1 requests: one JSON object per WebSocket text frame, read as
//! banter-wire's [`Wire`] requests (the one definition of banter/1) and turned
//! into core requests here.
//!
//! Parsing never fails silently: bad JSON, a missing or unknown `type`, a
//! missing or mistyped field each become a typed [`Refusal`], answered with
//! the request's `id` when it had one. Fields a request does not know are
//! ignored, so a later version can add some. Text a user sends is cleaned the same
//! way as on the text door (control and bidi characters removed).

use banter_proto::codec::sanitize;
use banter_proto::request::{Request, SayKind};
use banter_proto::Refusal;
use banter_wire::{parse_request, Request as Wire, RequestError};

use crate::core::RequestTag;

/// Messages a `history` request returns without a `limit`.
const DEFAULT_HISTORY_LIMIT: usize = 50;

/// What a client frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClientRequest {
    /// Take a name (the first request of a connection).
    Hello {
        name: String,
    },
    /// A core request.
    Core(Request),
    Ping,
    Quit,
}

/// One client frame, parsed.
#[derive(Debug)]
pub(super) struct Frame {
    /// The client's `"id"`, re-encoded, to echo in the reply.
    pub id: Option<RequestTag>,
    pub request: Result<ClientRequest, Refusal>,
}

/// Parses one text frame; `max_text` bounds every free-text field, as
/// `--max-line-bytes` bounds a text-door line.
pub(super) fn parse(frame: &str, max_text: usize) -> Frame {
    let parsed = parse_request(frame);
    Frame {
        id: parsed
            .id
            .map(|id| RequestTag::from(id.to_string().as_str())),
        request: parsed
            .body
            .map_err(refusal)
            .and_then(|wire| request(wire, max_text)),
    }
}

/// The refusal that answers a frame that is no request.
fn refusal(error: RequestError) -> Refusal {
    match error {
        RequestError::BadJson(detail) => Refusal::BadJson { detail },
        RequestError::BadRequest(detail) => Refusal::BadRequest { detail },
        RequestError::UnknownType(kind) => Refusal::UnknownType { kind },
    }
}

fn request(wire: Wire, max_text: usize) -> Result<ClientRequest, Refusal> {
    let text = |text: String| -> Result<String, Refusal> {
        if text.len() > max_text {
            return Err(Refusal::LineTooLong { limit: max_text });
        }
        Ok(sanitize(&text))
    };
    let core = match wire {
        Wire::Hello { name } => return Ok(ClientRequest::Hello { name }),
        Wire::Ping => return Ok(ClientRequest::Ping),
        Wire::Quit => return Ok(ClientRequest::Quit),
        Wire::Join { room, password } => Request::Join {
            room,
            password,
            if_epoch: None,
        },
        Wire::Create { room } => Request::Create { room },
        Wire::Part { room, message } => Request::Part {
            room,
            message: message.map(&text).transpose()?,
        },
        Wire::Say { room, text: said } => Request::Say {
            room: Some(room),
            kind: SayKind::Chat,
            text: text(said)?,
        },
        Wire::Emote { room, text: said } => Request::Say {
            room: Some(room),
            kind: SayKind::Emote,
            text: text(said)?,
        },
        Wire::SayElsewhere {
            room,
            from_room,
            text: said,
        } => Request::SayElsewhere {
            room,
            from: Some(from_room),
            text: text(said)?,
        },
        Wire::Msg { to, text: said } => Request::Private {
            to,
            text: text(said)?,
        },
        Wire::Nick { name } => Request::Nick { name },
        Wire::Rooms => Request::Rooms,
        Wire::Who { room } => Request::Who { room: Some(room) },
        Wire::Users => Request::Users,
        Wire::Topic { room, topic } => Request::Topic {
            room: Some(room),
            text: topic.map(text).transpose()?,
        },
        Wire::History {
            room,
            limit,
            before,
        } => Request::History {
            room: Some(room),
            limit: limit.unwrap_or(DEFAULT_HISTORY_LIMIT),
            before,
        },
        Wire::HostAdd { room, name } => Request::HostAdd {
            room: Some(room),
            name,
        },
        Wire::HostRemove { room, name } => Request::HostRemove {
            room: Some(room),
            name,
        },
        Wire::SetPassword { room, password } => Request::SetPassword {
            room: Some(room),
            password: Some(password),
            if_epoch: None,
        },
        Wire::RemovePassword { room } => Request::SetPassword {
            room: Some(room),
            password: None,
            if_epoch: None,
        },
        Wire::Kick { room, name, reason } => Request::Kick {
            room: Some(room),
            name,
            reason: reason.map(text).transpose()?,
        },
        Wire::Invite { room, name } => Request::Invite {
            room: Some(room),
            name,
        },
        Wire::Close { room } => Request::Close { room: Some(room) },
        Wire::Oper { name, password } => Request::Oper { name, password },
        Wire::Kill { name, reason } => Request::Kill {
            name,
            reason: reason.map(&text).transpose()?,
        },
        Wire::ServerBan {
            mask,
            seconds,
            reason,
        } => Request::ServerBan {
            mask,
            duration_secs: seconds.filter(|&secs| secs > 0),
            reason: reason.map(&text).transpose()?,
        },
        Wire::ServerUnban { mask } => Request::ServerUnban { mask },
        Wire::ServerBans => Request::ServerBans,
        Wire::Announce { text: said } => Request::Announce { text: text(said)? },
    };
    Ok(ClientRequest::Core(core))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(frame: &str) -> (Option<String>, &'static str) {
        let parsed = parse(frame, 100);
        let refusal = parsed.request.expect_err("a refusal");
        (parsed.id.map(|id| id.to_string()), refusal.code())
    }

    #[test]
    fn requests_parse_with_their_ids() {
        let parsed = parse(
            r#"{"type":"say","room":"games","text":"hi\u001b[2J","id":7}"#,
            100,
        );
        assert_eq!(parsed.id.as_deref(), Some("7"));
        assert_eq!(
            parsed.request.unwrap(),
            ClientRequest::Core(Request::Say {
                room: Some("games".into()),
                kind: SayKind::Chat,
                text: "hi[2J".into(),
            })
        );
        let parsed = parse(
            r#"{"type":"join","room":"vault","password":"pw","id":"a"}"#,
            100,
        );
        assert_eq!(parsed.id.as_deref(), Some("\"a\""));
        assert_eq!(
            parsed.request.unwrap(),
            ClientRequest::Core(Request::Join {
                room: "vault".into(),
                password: Some("pw".into()),
                if_epoch: None,
            })
        );
    }

    #[test]
    fn every_kind_of_bad_frame_is_a_typed_refusal() {
        assert_eq!(code("{nope"), (None, "bad_json"));
        assert_eq!(code("[1]"), (None, "bad_request"));
        assert_eq!(code(r#"{"id":1}"#), (Some("1".into()), "bad_request"));
        assert_eq!(
            code(r#"{"type":"dance","id":2}"#),
            (Some("2".into()), "unknown_type")
        );
        assert_eq!(
            code(r#"{"type":"say","room":"r","id":3}"#),
            (Some("3".into()), "bad_request")
        );
        assert_eq!(
            code(r#"{"type":"say","room":"r","text":5}"#),
            (None, "bad_request")
        );
        // Unknown fields are ignored, so later versions can add some.
        assert_eq!(
            parse(r#"{"type":"rooms","extra":true}"#, 100)
                .request
                .unwrap(),
            ClientRequest::Core(Request::Rooms)
        );
        let long = format!(
            r#"{{"type":"say","room":"r","text":"{}"}}"#,
            "x".repeat(101)
        );
        assert_eq!(code(&long), (None, "too_long"));
    }
}
