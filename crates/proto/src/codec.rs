//! Bytes to clean lines: the input side of every text transport.
//!
//! A client may send anything: telnet negotiation, invalid UTF-8, terminal
//! escape sequences, a line that never ends. [`LineCodec`] turns that into
//! [`Input`] items with fixed memory per connection:
//! - telnet `IAC` sequences (byte 255; never part of valid UTF-8) are taken
//!   out of the stream and reported as [`TelnetCommand`]s, subnegotiations skipped;
//! - a line longer than the limit is reported once as [`Input::TooLong`] and the
//!   rest of it discarded as it arrives, never buffered;
//! - invalid UTF-8 becomes U+FFFD, and control characters (C0 but tab, DEL, C1)
//!   are removed, so no user can drive another user's terminal.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;

/// A telnet option negotiation received from the client (RFC 854).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelnetCommand {
    /// The client will use the option (`IAC WILL`).
    Will(u8),
    /// The client will not use the option (`IAC WONT`).
    Wont(u8),
    /// The client asks the server to use the option (`IAC DO`).
    Do(u8),
    /// The client asks the server not to use the option (`IAC DONT`).
    Dont(u8),
}

/// One decoded item of client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A complete line without its ending, sanitized.
    Line(String),
    /// A line passed the byte limit; it is being discarded up to its newline.
    TooLong {
        /// The byte limit it passed.
        limit: usize,
    },
    /// A telnet negotiation, taken out of the byte stream.
    Telnet(TelnetCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TelnetState {
    Data,
    /// Seen IAC.
    Command,
    /// Seen IAC and a negotiation verb; the next byte is the option.
    Option(u8),
    /// Inside IAC SB ... IAC SE; skipped.
    Subnegotiation,
    SubnegotiationCommand,
}

/// Decoder for client lines; see the module docs.
#[derive(Debug)]
pub struct LineCodec {
    max_line_bytes: usize,
    /// Cleaned bytes of the line being read (telnet already removed).
    line: Vec<u8>,
    /// The current line went over the limit; drop bytes until its newline.
    discarding: bool,
    telnet: TelnetState,
}

impl LineCodec {
    /// `max_line_bytes` bounds a line's length without its ending.
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            line: Vec::new(),
            discarding: false,
            telnet: TelnetState::Data,
        }
    }

    fn finish_line(&mut self) -> Option<Input> {
        if std::mem::take(&mut self.discarding) {
            self.line.clear();
            return None;
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        // Nearly every line is printable ASCII: valid, with nothing to
        // remove, so it is copied whole after the standard library's quick
        // check, without the lossy decoding's or the character-by-character
        // pass (together about 400 instructions for a chat line).
        let text = match std::str::from_utf8(&self.line) {
            Ok(text) if is_printable_ascii(&self.line) => text.to_owned(),
            _ => sanitize(&String::from_utf8_lossy(&self.line)),
        };
        self.line.clear();
        if self.line.capacity() > 2 * 1024 {
            // Don't keep one long line's buffer for the connection's life.
            self.line.shrink_to(256);
        }
        Some(Input::Line(text))
    }

    /// Feeds one data byte that is not a newline and not telnet.
    fn push_data(&mut self, byte: u8) -> Option<Input> {
        if self.discarding {
            return None;
        }
        if self.line.len() >= self.max_line_bytes {
            // One byte of grace for the '\r' of a "\r\n" ending.
            if byte == b'\r' && self.line.len() == self.max_line_bytes {
                self.line.push(byte);
                return None;
            }
            self.discarding = true;
            self.line.clear();
            return Some(Input::TooLong {
                limit: self.max_line_bytes,
            });
        }
        self.line.push(byte);
        None
    }

    /// Runs the telnet state machine over one byte; returns an item when one completes.
    fn step(&mut self, byte: u8) -> Option<Input> {
        match self.telnet {
            TelnetState::Data => match byte {
                IAC => {
                    self.telnet = TelnetState::Command;
                    None
                }
                b'\n' => self.finish_line(),
                _ => self.push_data(byte),
            },
            TelnetState::Command => {
                self.telnet = TelnetState::Data;
                match byte {
                    // IAC IAC is a literal 255; never valid UTF-8, so it becomes U+FFFD.
                    IAC => self.push_data(byte),
                    WILL | WONT | DO | DONT => {
                        self.telnet = TelnetState::Option(byte);
                        None
                    }
                    SB => {
                        self.telnet = TelnetState::Subnegotiation;
                        None
                    }
                    // NOP, GA, AYT, IP and the rest carry no data.
                    _ => None,
                }
            }
            TelnetState::Option(verb) => {
                self.telnet = TelnetState::Data;
                let command = match verb {
                    WILL => TelnetCommand::Will(byte),
                    WONT => TelnetCommand::Wont(byte),
                    DO => TelnetCommand::Do(byte),
                    _ => TelnetCommand::Dont(byte),
                };
                Some(Input::Telnet(command))
            }
            TelnetState::Subnegotiation => {
                if byte == IAC {
                    self.telnet = TelnetState::SubnegotiationCommand;
                }
                None
            }
            TelnetState::SubnegotiationCommand => {
                self.telnet = if byte == SE {
                    TelnetState::Data
                } else {
                    TelnetState::Subnegotiation
                };
                None
            }
        }
    }
}

impl Decoder for LineCodec {
    type Item = Input;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Input>, Self::Error> {
        let mut consumed = 0;
        let mut item = None;
        while consumed < src.len() {
            // Fast path: copy a run of plain data up to the next newline or IAC.
            if self.telnet == TelnetState::Data {
                let run = &src[consumed..];
                let plain = memchr::memchr2(b'\n', IAC, run).unwrap_or(run.len());
                let room = self.max_line_bytes.saturating_sub(self.line.len());
                if !self.discarding && plain <= room {
                    self.line.extend_from_slice(&run[..plain]);
                    consumed += plain;
                } else if self.discarding {
                    consumed += plain;
                }
                if consumed == src.len() {
                    break;
                }
            }
            let byte = src[consumed];
            consumed += 1;
            item = self.step(byte);
            if item.is_some() {
                break;
            }
        }
        src.advance(consumed);
        Ok(item)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Input>, Self::Error> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        // A last line without a newline (nc then Ctrl-D) still counts.
        if !self.line.is_empty() || self.discarding {
            return Ok(self.finish_line());
        }
        Ok(None)
    }
}

/// Removes control characters (C0 but tab, DEL, C1): every terminal escape
/// sequence loses its ESC/CSI and shows as harmless text.
pub fn sanitize(text: &str) -> String {
    // Nearly every line has nothing to remove: copy it whole then, rather
    // than growing a string a character at a time.
    if text.chars().all(keeps) {
        return text.to_owned();
    }
    text.chars().filter(|&c| keeps(c)).collect()
}

/// Whether every byte is printable ASCII or a tab: text [`sanitize`] keeps
/// whole. Checked without stopping early, so the loop is vectorised.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |plain, &b| {
        plain & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    })
}

/// Whether [`sanitize`] keeps `c`.
fn keeps(c: char) -> bool {
    c == '\t' || !(c.is_control() || is_bidi_control(c))
}

/// Bidi embeddings, overrides and isolates: they can make the rest of a line
/// read backwards on the receiver's screen (spoofing what someone said).
/// Marks (U+200E/F) and the zero-width joiner of emoji sequences are kept.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(codec: &mut LineCodec, bytes: &[u8]) -> Vec<Input> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            out.push(item);
        }
        assert!(buf.is_empty(), "decoder left bytes behind");
        out
    }

    fn line(text: &str) -> Input {
        Input::Line(text.to_owned())
    }

    #[test]
    fn splits_lf_and_crlf_lines() {
        let mut codec = LineCodec::new(100);
        assert_eq!(
            decode_all(&mut codec, b"one\ntwo\r\n\nthree"),
            vec![line("one"), line("two"), line("")]
        );
        assert_eq!(decode_all(&mut codec, b"\n"), vec![line("three")]);
    }

    #[test]
    fn a_line_split_across_reads_is_joined() {
        let mut codec = LineCodec::new(100);
        assert!(decode_all(&mut codec, b"hel").is_empty());
        assert_eq!(decode_all(&mut codec, b"lo\r\n"), vec![line("hello")]);
    }

    #[test]
    fn telnet_negotiation_is_taken_out_and_reported() {
        let mut codec = LineCodec::new(100);
        let input = b"\xff\xfb\x18hi\xff\xfd\x01 there\xff\xf1\n";
        assert_eq!(
            decode_all(&mut codec, input),
            vec![
                Input::Telnet(TelnetCommand::Will(24)),
                Input::Telnet(TelnetCommand::Do(1)),
                line("hi there"),
            ]
        );
    }

    #[test]
    fn telnet_subnegotiation_is_skipped_even_across_reads() {
        let mut codec = LineCodec::new(100);
        assert!(decode_all(&mut codec, b"a\xff\xfa\x18\x00xte").is_empty());
        assert_eq!(decode_all(&mut codec, b"rm\xff\xf0b\n"), vec![line("ab")]);
    }

    #[test]
    fn long_lines_are_reported_once_and_discarded() {
        let mut codec = LineCodec::new(8);
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(
            decode_all(&mut codec, &input),
            vec![Input::TooLong { limit: 8 }, line("ok")]
        );
        assert!(codec.line.capacity() < 1024);
    }

    #[test]
    fn a_line_of_exactly_the_limit_fits_with_crlf() {
        let mut codec = LineCodec::new(4);
        assert_eq!(decode_all(&mut codec, b"abcd\r\n"), vec![line("abcd")]);
        assert_eq!(decode_all(&mut codec, b"abcd\n"), vec![line("abcd")]);
        assert_eq!(
            decode_all(&mut codec, b"abcde\n"),
            vec![Input::TooLong { limit: 4 }]
        );
    }

    #[test]
    fn long_line_split_across_reads_stays_bounded() {
        let mut codec = LineCodec::new(16);
        let mut items = Vec::new();
        for _ in 0..100 {
            items.extend(decode_all(&mut codec, &[b'y'; 7]));
            assert!(codec.line.len() <= 17);
        }
        items.extend(decode_all(&mut codec, b"\nnext\n"));
        assert_eq!(items, vec![Input::TooLong { limit: 16 }, line("next")]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut codec = LineCodec::new(100);
        assert_eq!(
            decode_all(&mut codec, b"caf\xc3\xa9 \xc3\x28 \xfe\n"),
            vec![line("café \u{fffd}( \u{fffd}")]
        );
    }

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        let mut codec = LineCodec::new(100);
        assert_eq!(
            decode_all(
                &mut codec,
                b"\x1b[2J\x1b[31mred\x07\x00\tok\x7f\xc2\x9b1m\n"
            ),
            vec![line("[2J[31mred\tok1m")]
        );
    }

    #[test]
    fn bidi_overrides_and_isolates_are_removed_but_joiners_kept() {
        let mut codec = LineCodec::new(100);
        let text = "a\u{202E}txt.exe\u{202C} \u{2066}b\u{2069} \u{1F469}\u{200D}\u{1F4BB}\n";
        assert_eq!(
            decode_all(&mut codec, text.as_bytes()),
            vec![line("atxt.exe b \u{1F469}\u{200D}\u{1F4BB}")]
        );
    }

    #[test]
    fn eof_delivers_the_last_unterminated_line() {
        let mut codec = LineCodec::new(100);
        let mut buf = BytesMut::from(&b"bye"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), Some(line("bye")));
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
            limit in 1usize..64,
        ) {
            let mut codec = LineCodec::new(limit);
            let mut buf = BytesMut::new();
            for chunk in chunks {
                buf.extend_from_slice(&chunk);
                while let Some(item) = codec.decode(&mut buf).unwrap() {
                    if let Input::Line(text) = &item {
                        prop_assert!(text.chars().all(|c| c == '\t' || !c.is_control()));
                        prop_assert!(text.len() <= 3 * (limit + 1));
                        // Every line parses to something, never a panic.
                        let _ = crate::command::parse(text);
                    }
                }
                prop_assert!(buf.is_empty());
                prop_assert!(codec.line.len() <= limit + 1);
            }
            let _ = codec.decode_eof(&mut buf).unwrap();
        }

        #[test]
        fn a_line_is_its_bytes_made_text_and_sanitized(
            bytes in proptest::collection::vec(prop_oneof![3 => 0x20u8..0x7f, 1 => any::<u8>()], 0..100),
        ) {
            // Printable ASCII takes the fast path; anything else, the full one.
            let line: Vec<u8> = bytes.into_iter().filter(|&b| !matches!(b, b'\n' | b'\r' | IAC)).collect();
            let mut codec = LineCodec::new(1000);
            let mut buf = BytesMut::from(&line[..]);
            buf.extend_from_slice(b"\n");
            let expected = sanitize(&String::from_utf8_lossy(&line));
            prop_assert_eq!(codec.decode(&mut buf).unwrap(), Some(Input::Line(expected)));
        }

        #[test]
        fn arbitrary_text_parses_without_panic(text in "\\PC*") {
            let _ = crate::command::parse(&text);
        }
    }
}
