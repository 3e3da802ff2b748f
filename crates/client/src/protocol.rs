//! banter/1 as the client speaks it: the requests it sends and the frames it
//! reads, one JSON object per WebSocket text frame (PROTOCOL.md).
//!
//! The client keeps its own small copy of the wire shapes rather than the
//! server's core types: the server's `Request`/`Event` are the core's
//! vocabulary, and PROTOCOL.md, not the core, is what this program promises
//! to speak. Fields the client does not use are not declared (serde ignores
//! them), so the server may add fields without breaking it.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// One request, serialised as `{"type": ..., fields..., "id": N}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Hello {
        name: String,
    },
    Join {
        room: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    Create {
        room: String,
    },
    Part {
        room: String,
    },
    Say {
        room: String,
        text: String,
    },
    Emote {
        room: String,
        text: String,
    },
    /// The text door's `:erm`: into a room we are not in, from one we are.
    SayElsewhere {
        room: String,
        from_room: String,
        text: String,
    },
    Msg {
        to: String,
        text: String,
    },
    Nick {
        name: String,
    },
    Rooms,
    Who {
        room: String,
    },
    Users,
    Topic {
        room: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    History {
        room: String,
        limit: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
    },
    HostAdd {
        room: String,
        name: String,
    },
    HostRemove {
        room: String,
        name: String,
    },
    SetPassword {
        room: String,
        password: Secret,
    },
    RemovePassword {
        room: String,
    },
    Kick {
        room: String,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Invite {
        room: String,
        name: String,
    },
    Close {
        room: String,
    },
    Quit,
}

/// A request with the id its answer will echo.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    #[serde(flatten)]
    pub request: Request,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

impl Envelope {
    /// The frame's text. Serialising these types cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("requests serialise")
    }
}

/// What a room message is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Chat,
    Emote,
    FromRoom,
}

/// A stored room message (an event, or an entry of `history`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoomMessage {
    pub room: String,
    pub from: String,
    pub text: String,
    /// Strictly increasing per room.
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub kind: MessageKind,
    #[serde(default)]
    pub from_room: Option<String>,
}

/// A room member as `joined` and `who` list them.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub host: bool,
}

/// A line of `rooms`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoomInfo {
    pub name: String,
    pub members: usize,
    pub joined: bool,
    pub locked: bool,
    pub topic: Option<String>,
    /// The server's default room (where the text door puts everyone).
    #[serde(default)]
    pub default: bool,
}

/// Every frame the server sends; `id` is the request id it answers, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub body: Body,
    pub id: Option<serde_json::Value>,
}

impl Frame {
    /// The id of the request this answers, when it is one of ours (a number).
    pub fn request_id(&self) -> Option<u64> {
        self.id.as_ref().and_then(serde_json::Value::as_u64)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    Welcome {
        name: String,
    },
    Joined {
        room: String,
        locked: bool,
        topic: Option<String>,
        members: Vec<Member>,
        history: Vec<RoomMessage>,
    },
    Parted {
        room: String,
    },
    Said {
        room: String,
        message_id: i64,
        at: i64,
    },
    History {
        room: String,
        messages: Vec<RoomMessage>,
    },
    Rooms {
        rooms: Vec<RoomInfo>,
    },
    Who {
        room: String,
        members: Vec<Member>,
    },
    Users {
        names: Vec<String>,
    },
    Topic {
        room: String,
        topic: Option<String>,
    },
    PrivateSent {
        to: String,
        text: String,
    },
    NickSet {
        name: String,
    },
    SentElsewhere {
        room: String,
        members: usize,
    },
    InviteSent {
        room: String,
        name: String,
    },
    Ok,
    Pong,
    Bye,
    Shutdown {
        message: String,
    },
    Error {
        code: String,
        message: String,
    },
    Message(RoomMessage),
    Private {
        from: String,
        text: String,
        at: i64,
    },
    MemberJoined {
        room: String,
        name: String,
    },
    MemberLeft {
        room: String,
        name: String,
        reason: String,
        #[serde(default)]
        by: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    NickChanged {
        room: String,
        old: String,
        new: String,
    },
    HostAdded {
        room: String,
        name: String,
        by: Option<String>,
    },
    HostRemoved {
        room: String,
        name: String,
        by: Option<String>,
    },
    TopicChanged {
        room: String,
        by: String,
        topic: Option<String>,
    },
    LockChanged {
        room: String,
        by: String,
        locked: bool,
    },
    Kicked {
        room: String,
        by: String,
        #[serde(default)]
        message: Option<String>,
    },
    RoomClosed {
        room: String,
        by: String,
    },
    Invited {
        room: String,
        by: String,
    },
    Missed {
        room: Option<String>,
        count: usize,
    },
    /// A frame type this client does not know (a newer server): ignored.
    #[serde(other)]
    Unknown,
}

/// Parses one text frame. A `message` event's `id` is its message id (it
/// answers no request); on every other frame `id` is the request id.
pub fn parse(text: &str) -> Result<Frame, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let id = match value.get("type").and_then(serde_json::Value::as_str) {
        Some("message") => None,
        _ => value.get("id").cloned(),
    };
    Ok(Frame {
        body: serde_json::from_value(value)?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn wire(request: Request, id: Option<u64>) -> Value {
        serde_json::from_str(&Envelope { request, id }.to_json()).unwrap()
    }

    #[test]
    fn requests_have_the_documented_shapes() {
        assert_eq!(
            wire(
                Request::Hello {
                    name: "alice".into()
                },
                Some(1)
            ),
            json!({"type":"hello","name":"alice","id":1})
        );
        assert_eq!(
            wire(
                Request::Join {
                    room: "vault".into(),
                    password: Some(Secret::from("rook takes"))
                },
                Some(3)
            ),
            json!({"type":"join","room":"vault","password":"rook takes","id":3})
        );
        assert_eq!(
            wire(
                Request::Join {
                    room: "games".into(),
                    password: None
                },
                None
            ),
            json!({"type":"join","room":"games"})
        );
        assert_eq!(
            wire(
                Request::History {
                    room: "games".into(),
                    limit: 2,
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
        assert_eq!(frame.request_id(), Some(7));
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
