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
use banter_proto::event::ResumeToken;
use banter_proto::request::{Request, SayKind};
use banter_proto::{Refusal, RoomMode};
use banter_wire::{parse_request, Request as Wire, RequestError};

use crate::core::{valid_nonce, RequestTag};

/// Messages a `history` request returns without a `limit`.
const DEFAULT_HISTORY_LIMIT: usize = 50;

/// What a client frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClientRequest {
    /// Take a name (the first request of a connection), or take over the
    /// waiting session `resume` names.
    Hello {
        name: String,
        /// A secret: its `Debug` shows nothing.
        resume: Option<ResumeToken>,
    },
    /// A core request.
    Core(Request),
    /// A core request the client marked with a nonce, to be carried out once.
    Once {
        nonce: String,
        request: Request,
    },
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
    let mut nonce = None;
    let mut once = |given: Option<String>| -> Result<(), Refusal> {
        if let Some(given) = given {
            if !valid_nonce(&given) {
                return Err(Refusal::BadRequest {
                    detail: "a nonce is 1 to 64 printable ASCII characters".into(),
                });
            }
            nonce = Some(given);
        }
        Ok(())
    };
    let core = match wire {
        Wire::Hello { name, resume } => {
            return Ok(ClientRequest::Hello {
                name,
                resume: resume.map(ResumeToken::new),
            })
        }
        Wire::Ping => return Ok(ClientRequest::Ping),
        Wire::Quit => return Ok(ClientRequest::Quit),
        Wire::Join {
            room,
            password,
            since,
        } => Request::Join {
            room,
            password,
            if_epoch: None,
            since,
        },
        Wire::Create { room } => Request::Create { room },
        Wire::Part { room, message } => Request::Part {
            room,
            message: message.map(&text).transpose()?,
        },
        Wire::Say {
            room,
            text: said,
            nonce: given,
        } => {
            once(given)?;
            Request::Say {
                room: Some(room),
                kind: SayKind::Chat,
                text: text(said)?,
            }
        }
        Wire::Emote {
            room,
            text: said,
            nonce: given,
        } => {
            once(given)?;
            Request::Say {
                room: Some(room),
                kind: SayKind::Emote,
                text: text(said)?,
            }
        }
        Wire::SayElsewhere {
            room,
            from_room,
            text: said,
            nonce: given,
        } => {
            once(given)?;
            Request::SayElsewhere {
                room,
                from: Some(from_room),
                text: text(said)?,
            }
        }
        Wire::Msg {
            to,
            text: said,
            nonce: given,
        } => {
            once(given)?;
            Request::Private {
                to,
                text: text(said)?,
                notice: false,
            }
        }
        Wire::Nick { name } => Request::Nick { name },
        Wire::Rooms => Request::Rooms,
        Wire::Who { room } => Request::Who { room: Some(room) },
        Wire::Users => Request::Users,
        Wire::Whois { name } => Request::Whois { name },
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
        Wire::SetMode { room, mode, on } => Request::SetModes {
            room: Some(room),
            changes: vec![(
                RoomMode::from_name(&mode).ok_or_else(|| Refusal::BadRequest {
                    detail: format!(
                        "unknown mode {mode:?}; the modes are invite_only, moderated, no_external, secret and topic_lock"
                    ),
                })?,
                on,
            )],
        },
        Wire::Voice { room, name, on } => Request::Voice {
            room: Some(room),
            name,
            on,
        },
        Wire::Ban { room, mask } => Request::Ban {
            room: Some(room),
            mask,
            on: true,
        },
        Wire::Unban { room, mask } => Request::Ban {
            room: Some(room),
            mask,
            on: false,
        },
        Wire::Bans { room } => Request::Bans { room: Some(room) },
        Wire::Modes { room } => Request::Modes { room: Some(room) },
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
    Ok(match nonce {
        Some(nonce) => ClientRequest::Once {
            nonce,
            request: core,
        },
        None => ClientRequest::Core(core),
    })
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
                since: None,
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
        assert_eq!(
            code(r#"{"type":"say","room":"r","text":"hi","nonce":"","id":4}"#),
            (Some("4".into()), "bad_request")
        );
        let long_nonce = format!(
            r#"{{"type":"msg","to":"bob","text":"hi","nonce":"{}"}}"#,
            "n".repeat(65)
        );
        assert_eq!(code(&long_nonce), (None, "bad_request"));
    }

    #[test]
    fn a_resume_token_never_shows_in_debug() {
        let parsed = parse(
            r#"{"type":"hello","name":"alice","resume":"s3cr3t-t0ken"}"#,
            100,
        );
        let shown = format!("{parsed:?}");
        assert!(
            shown.contains("alice") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn nonces_mark_requests_to_carry_out_once() {
        let parsed = parse(
            r#"{"type":"emote","room":"r","text":"waves","nonce":"a1b2"}"#,
            100,
        );
        assert_eq!(
            parsed.request.unwrap(),
            ClientRequest::Once {
                nonce: "a1b2".into(),
                request: Request::Say {
                    room: Some("r".into()),
                    kind: SayKind::Emote,
                    text: "waves".into(),
                },
            }
        );
    }
}
