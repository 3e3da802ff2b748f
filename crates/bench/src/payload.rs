//! The chat text a load client sends, and reading it back out of a delivery
//! (a text-door line, or a banter/1 object from the WebSocket door).
//!
//! A message's text is `<tag> <sender> <seq> <stamp_ns> ` padded with `.` to
//! the message size. The tag tells this run's messages from anyone else's on
//! the same server; the stamp is nanoseconds since the run's shared start
//! `Instant`, so a receiver in the same process gets the end-to-end latency.

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// One message as a receiver reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

/// Appends one message line (text and `\n`) of `size` text bytes to `out`.
pub fn encode(out: &mut Vec<u8>, tag: &str, stamp: Stamp, size: usize) {
    text(out, tag, stamp, size);
    out.push(b'\n');
}

/// Appends one message's text of `size` bytes to `out`, without a line
/// ending. It is ASCII letters, digits, spaces and dots only, so it needs no
/// escaping inside a JSON string either.
pub fn text(out: &mut Vec<u8>, tag: &str, stamp: Stamp, size: usize) {
    let start = out.len();
    write!(
        out,
        "{tag} {} {} {} ",
        stamp.sender, stamp.seq, stamp.sent_ns
    )
    .expect("writing to a Vec cannot fail");
    let written = out.len() - start;
    out.resize(start + size.max(written), b'.');
}

/// What one server line means to the load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A chat message of this run.
    Message(Stamp),
    /// `you missed N messages ...`: the server dropped N for this client.
    Missed(u64),
    /// Anything else (joins, leaves, other runs' traffic).
    Other,
}

/// Classifies one line from the server, without its line ending.
pub fn classify(line: &[u8], tag: &[u8]) -> Line {
    if line.first() == Some(&b'[') {
        return match chat_text(line) {
            Some(text) => decode(text, tag).map_or(Line::Other, Line::Message),
            None => Line::Other,
        };
    }
    if let Some(rest) = line.strip_prefix(b"you missed ") {
        let mut fields = rest.split(|&b| b == b' ');
        if let Some(count) = fields.next().and_then(number) {
            return Line::Missed(count);
        }
    }
    Line::Other
}

/// What one banter/1 object (a WebSocket text frame) from the server means to
/// the load generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A `message` event of this run.
    Message(Stamp),
    /// `missed`: the server dropped this many messages for this client.
    Missed(u64),
    /// `welcome`: the answer to `hello`.
    Welcome,
    /// `joined`: the answer to `join` and `create`.
    Joined,
    /// `said`: the server took one of this client's own messages (which,
    /// as on the text door, is not echoed back to its sender).
    Said,
    /// An `error`, with its code and sentence.
    Error { code: String, message: String },
    /// Anything else: other events, other runs' messages, frames that are
    /// not objects with a `type`.
    Other,
}

/// The fields of a banter/1 object the generator looks at; the rest are skipped.
#[derive(serde::Deserialize)]
struct Fields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    count: Option<u64>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

/// Classifies one banter/1 object from the server.
pub fn classify_object(frame: &str, tag: &[u8]) -> Object {
    if let Some(text) = flat_message_text(frame.as_bytes()) {
        return decode(text, tag).map_or(Object::Other, Object::Message);
    }
    let Ok(fields) = serde_json::from_str::<Fields<'_>>(frame) else {
        return Object::Other;
    };
    match &*fields.kind {
        "message" => fields
            .text
            .and_then(|text| decode(text.as_bytes(), tag))
            .map_or(Object::Other, Object::Message),
        "said" => Object::Said,
        "missed" => Object::Missed(fields.count.unwrap_or(0)),
        "welcome" => Object::Welcome,
        "joined" => Object::Joined,
        "error" => Object::Error {
            code: fields.code.unwrap_or_default().into_owned(),
            message: fields.message.unwrap_or_default().into_owned(),
        },
        _ => Object::Other,
    }
}

/// The `text` of a `message` event, found without a full parse when the
/// frame is one flat object (one `{`, no `[`) without any backslash (so no
/// string holds a `"`) and as compact as banterd writes it; `None` means the
/// full parse must decide. With no escaped quotes, `"type":"message"` and
/// `"text":"` can only be keys with their values, not parts of strings. This
/// is the load generator's hottest path: it runs for every delivery.
fn flat_message_text(frame: &[u8]) -> Option<&[u8]> {
    // Built once: building a searcher costs more than a search here.
    static TYPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(br#""type":"message""#));
    static TEXT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(br#""text":""#));
    if frame.first() != Some(&b'{')
        || memchr::memchr3(b'[', b'\\', b'{', &frame[1..]).is_some()
        || TYPE.find(frame).is_none()
    {
        return None;
    }
    let start = TEXT.find(frame)? + TEXT.needle().len();
    let len = memchr::memchr(b'"', &frame[start..])?;
    Some(&frame[start..start + len])
}

/// The text of `[room] name: text`; room names hold no `]`, screen names no `:`.
fn chat_text(line: &[u8]) -> Option<&[u8]> {
    let close = memchr::memchr(b']', line)?;
    let after_room = line.get(close + 1..)?.strip_prefix(b" ")?;
    let colon = memchr::memchr(b':', after_room)?;
    after_room.get(colon + 1..)?.strip_prefix(b" ")
}

/// Reads a message's text; `None` if it is not one of this run's.
pub fn decode(text: &[u8], tag: &[u8]) -> Option<Stamp> {
    let rest = text.strip_prefix(tag)?.strip_prefix(b" ")?;
    let mut fields = rest.split(|&b| b == b' ');
    let sender = u32::try_from(number(fields.next()?)?).ok()?;
    let seq = number(fields.next()?)?;
    let sent_ns = number(fields.next()?)?;
    Some(Stamp {
        sender,
        seq,
        sent_ns,
    })
}

fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u64::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_round_trip_through_a_chat_line() {
        let stamp = Stamp {
            sender: 1234,
            seq: 99,
            sent_ns: 123_456_789_012,
        };
        let mut out = Vec::new();
        encode(&mut out, "abcde", stamp, 64);
        assert_eq!(out.len(), 65);
        assert_eq!(out.last(), Some(&b'\n'));
        let mut line = b"[r12] abcdec1234: ".to_vec();
        line.extend_from_slice(&out[..64]);
        assert_eq!(classify(&line, b"abcde"), Line::Message(stamp));
        assert_eq!(classify(&line, b"zzzzz"), Line::Other);
    }

    #[test]
    fn other_lines_are_told_apart() {
        assert_eq!(
            classify(
                b"you missed 17 messages because your connection could not keep up",
                b"t"
            ),
            Line::Missed(17)
        );
        assert_eq!(classify(b"* bob joined r1", b"t"), Line::Other);
        assert_eq!(classify(b"[r1] bob: hello there", b"t"), Line::Other);
        assert_eq!(classify(b"[r1] bob", b"t"), Line::Other);
    }

    #[test]
    fn a_message_survives_the_round_trip_through_a_banter1_event() {
        let stamp = Stamp {
            sender: 7,
            seq: 12,
            sent_ns: 987_654_321,
        };
        let mut text = Vec::new();
        super::text(&mut text, "abcde", stamp, 48);
        assert_eq!(text.len(), 48);
        let text = String::from_utf8(text).unwrap();
        // As banterd renders it: keys in any order, fields the generator ignores.
        let event = serde_json::json!({"type": "message", "room": "r0", "from": "abcdec7",
            "text": text, "id": 41, "at": 1_764_619_200_000_i64, "kind": "chat"})
        .to_string();
        assert_eq!(classify_object(&event, b"abcde"), Object::Message(stamp));
        assert_eq!(classify_object(&event, b"zzzzz"), Object::Other);
    }

    #[test]
    fn other_objects_are_told_apart() {
        let tag = b"t";
        assert_eq!(
            classify_object(r#"{"type":"missed","room":"r0","count":17}"#, tag),
            Object::Missed(17)
        );
        assert_eq!(
            classify_object(
                r#"{"type":"said","room":"r0","message_id":42,"at":1764619260000}"#,
                tag
            ),
            Object::Said
        );
        assert_eq!(
            classify_object(
                r#"{"type":"welcome","name":"a","protocol":"banter/1","id":1}"#,
                tag
            ),
            Object::Welcome
        );
        let joined = r#"{"type":"joined","room":"r0","created":false,"host":false,"locked":false,
            "topic":null,"members":[{"name":"b","host":true}],
            "history":[{"type":"message","room":"r0","from":"b","text":"t 1 2 3 ","id":4,"at":5,"kind":"chat"}]}"#;
        assert_eq!(classify_object(joined, tag), Object::Joined);
        assert_eq!(
            classify_object(
                r#"{"type":"error","code":"no_such_room","message":"there is no room r0","id":7}"#,
                tag
            ),
            Object::Error {
                code: "no_such_room".into(),
                message: "there is no room r0".into()
            }
        );
        assert_eq!(
            classify_object(r#"{"type":"member_joined","room":"r0","name":"b"}"#, tag),
            Object::Other
        );
        assert_eq!(classify_object("not json", tag), Object::Other);
        assert_eq!(classify_object(r#"{"type":"message""#, tag), Object::Other);
        assert_eq!(classify_object(r#"{"no":"type"}"#, tag), Object::Other);
    }

    #[test]
    fn the_quick_path_agrees_with_the_full_parse() {
        let tag = b"abcde";
        let ours = r#"{"at":5,"from":"x","id":4,"kind":"chat","room":"r0","text":"abcde 1 2 3 ....","type":"message"}"#;
        let stamp = Object::Message(Stamp {
            sender: 1,
            seq: 2,
            sent_ns: 3,
        });
        assert_eq!(
            flat_message_text(ours.as_bytes()),
            Some(&b"abcde 1 2 3 ...."[..])
        );
        assert_eq!(classify_object(ours, tag), stamp);
        // Keys in another order, spaces: the full parse.
        let spaced = r#"{"type": "message", "text": "abcde 1 2 3 ....", "room": "r0"}"#;
        assert_eq!(flat_message_text(spaced.as_bytes()), None);
        assert_eq!(classify_object(spaced, tag), stamp);
        // Escapes, braces or brackets anywhere: the full parse.
        for frame in [
            r#"{"type":"message","text":"abcde 1 2 3 \"q\"","room":"r0"}"#,
            r#"{"type":"message","text":"abcde 1 2 3 {}","room":"r0"}"#,
            r#"{"type":"message","text":"abcde 1 2 3 [x]","room":"r0"}"#,
        ] {
            assert_eq!(flat_message_text(frame.as_bytes()), None, "{frame}");
            assert_eq!(classify_object(frame, tag), stamp, "{frame}");
        }
        // Messages inside a reply's history are not deliveries.
        let joined = r#"{"type":"joined","history":[{"type":"message","text":"abcde 1 2 3 "}]}"#;
        assert_eq!(classify_object(joined, tag), Object::Joined);
        // Not a message at all, though a text says so.
        let topic = r#"{"type":"topic_changed","by":"x","topic":"type message","room":"r0"}"#;
        assert_eq!(flat_message_text(topic.as_bytes()), None);
    }
}
