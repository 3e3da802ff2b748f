//! The chat text a load client sends, and reading it back out of a delivery.
//!
//! A message's text is `<tag> <sender> <seq> <stamp_ns> ` padded with `.` to
//! the message size. The tag tells this run's messages from anyone else's on
//! the same server; the stamp is nanoseconds since the run's shared start
//! `Instant`, so a receiver in the same process gets the end-to-end latency.

use std::io::Write as _;

/// One message as a receiver reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

/// Appends one message line (text and `\n`) of `size` text bytes to `out`.
pub fn encode(out: &mut Vec<u8>, tag: &str, stamp: Stamp, size: usize) {
    let start = out.len();
    write!(
        out,
        "{tag} {} {} {} ",
        stamp.sender, stamp.seq, stamp.sent_ns
    )
    .expect("writing to a Vec cannot fail");
    let written = out.len() - start;
    out.resize(start + size.max(written), b'.');
    out.push(b'\n');
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
}
