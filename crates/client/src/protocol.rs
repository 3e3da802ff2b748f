//! banter/1 as the client speaks it: banter-wire's requests and frames
//! (PROTOCOL.md), the one definition the server's JSON door uses too, with
//! the password of a request kept in a [`Secret`] until it is serialised.
//!
//! The client depends on no server crate: PROTOCOL.md, which banter-wire
//! writes down in types, is what this program promises to speak. Frame types
//! it does not know (a newer server) read as [`Body::Unknown`] and are
//! ignored.

use crate::secret::Secret;

pub use banter_wire::{Frame as Body, Member, Membership, MessageKind, RoomMessage};

/// One request, serialised as `{"type": ..., fields...}`; its `Debug` shows
/// a password only as its mask.
pub type Request = banter_wire::Request<String, Secret>;

/// A request with the id its answer will echo.
pub type Envelope = banter_wire::Envelope<Request, u64>;

/// Every frame the server sends, with the id of the request it answers.
pub type Frame = banter_wire::Envelope<Body>;

/// Parses one text frame. A `message` event's `id` is its message id (it
/// answers no request); on every other frame `id` is the request id.
pub fn parse(text: &str) -> Result<Frame, serde_json::Error> {
    banter_wire::parse_frame(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn wire(request: Request, id: Option<u64>) -> Value {
        serde_json::from_str(&Envelope { body: request, id }.to_json()).unwrap()
    }

    #[test]
    fn requests_have_the_documented_shapes() {
        assert_eq!(
            wire(
                Request::Hello {
                    name: "alice".into(),
                    resume: None
                },
                Some(1)
            ),
            json!({"type":"hello","name":"alice","id":1})
        );
        assert_eq!(
            wire(
                Request::Join {
                    room: "vault".into(),
                    password: Some(Secret::from("rook takes")),
                    since: None
                },
                Some(3)
            ),
            json!({"type":"join","room":"vault","password":"rook takes","id":3})
        );
        assert_eq!(
            wire(
                Request::Join {
                    room: "games".into(),
                    password: None,
                    since: Some(41)
                },
                None
            ),
            json!({"type":"join","room":"games","since":41})
        );
        assert_eq!(
            wire(
                Request::History {
                    room: "games".into(),
                    limit: Some(2),
                    before: Some(42)
                },
                Some(8)
            ),
            json!({"type":"history","room":"games","limit":2,"before":42,"id":8})
        );
        assert_eq!(
            wire(
                Request::HostAdd {
                    room: "g".into(),
                    name: "bob".into()
                },
                None
            ),
            json!({"type":"host_add","room":"g","name":"bob"})
        );
        assert_eq!(wire(Request::Quit, None), json!({"type":"quit"}));
    }

    #[test]
    fn the_resume_contract_fields_are_written_and_read() {
        assert_eq!(
            wire(
                Request::Hello {
                    name: "alice".into(),
                    resume: Some("Zb3".into())
                },
                Some(1)
            ),
            json!({"type":"hello","name":"alice","resume":"Zb3","id":1})
        );
        assert_eq!(
            wire(
                Request::Say {
                    room: "games".into(),
                    text: "hi".into(),
                    nonce: Some("00ff".into())
                },
                Some(2)
            ),
            json!({"type":"say","room":"games","text":"hi","nonce":"00ff","id":2})
        );
        let frame = parse(
            r#"{"type":"welcome","name":"alice","protocol":"banter/1","resume":"Zb4","resumed":true,"rooms":[{"room":"games","host":true}],"id":1}"#,
        )
        .unwrap();
        let Body::Welcome {
            resume,
            resumed,
            rooms,
            ..
        } = frame.body
        else {
            panic!("a welcome");
        };
        assert_eq!(resume.as_deref(), Some("Zb4"));
        assert!(resumed);
        assert_eq!(
            rooms,
            Some(vec![Membership {
                room: "games".into(),
                host: true,
                voice: false,
            }])
        );
    }

    #[test]
    fn frames_parse_with_their_ids_and_unknown_types_are_tolerated() {
        let frame = parse(
            r#"{"type":"message","room":"games","from":"bob","text":"hi","id":41,"at":1764619200000,"kind":"chat"}"#,
        )
        .unwrap();
        // A message's `id` is its message id, not a request id.
        assert!(matches!(
            frame.body,
            Body::Message(RoomMessage { id: 41, .. })
        ));
        let frame =
            parse(r#"{"type":"error","code":"no_such_room","message":"no","id":7}"#).unwrap();
        assert_eq!(frame.numeric_id(), Some(7));
        assert_eq!(
            frame.body,
            Body::Error {
                code: "no_such_room".into(),
                message: "no".into()
            }
        );
        assert_eq!(
            parse(r#"{"type":"hologram","x":1}"#).unwrap().body,
            Body::Unknown
        );
        let frame = parse(
            r#"{"type":"member_left","room":"g","name":"bob","reason":"kicked","by":"al","message":"spam"}"#,
        )
        .unwrap();
        assert!(matches!(frame.body, Body::MemberLeft { by: Some(_), .. }));
    }
}
