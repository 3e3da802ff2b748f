//! IRC lines: what clients send, framed and parsed, and what they are sent,
//! made safe and short enough.
//!
//! A line is at most 512 bytes with its CRLF, plus up to 8191 bytes of
//! IRCv3 tags before it. [`Framer`] cuts client bytes into lines with fixed
//! memory: a line over the limit is reported once and the rest of it
//! discarded as it arrives, never buffered. [`parse`] splits a line into its
//! command and parameters (client tags and a source prefix are read past:
//! they mean nothing here). Outgoing text is any user's text, from any door,
//! so [`clean`] keeps it from breaking the line, and [`fit`] splits a long
//! message over several lines.

use bytes::BytesMut;

/// Most bytes of tags a client line may start with (the `@` and the space included).
pub(super) const MAX_TAG_BYTES: usize = 8191;
/// Most bytes of a line after its tags, without CRLF.
pub(super) const MAX_BODY_BYTES: usize = 510;
/// Most bytes of message text sent on one line: what fits in one client line.
pub(super) const MAX_TEXT_BYTES: usize = MAX_BODY_BYTES;
/// Most parameters a command may have.
const MAX_PARAMS: usize = 15;

/// One framed item of client input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A line without its ending; invalid UTF-8 replaced.
    Line(String),
    /// A line over the limit; it is dropped.
    TooLong,
}

/// Cuts bytes into lines; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    /// The line being read, before its newline arrives.
    line: Vec<u8>,
    /// The current line went over the limit: drop bytes up to its newline.
    discarding: bool,
}

impl Framer {
    /// Takes the next frame out of `input`, keeping a partial line.
    pub(crate) fn next(&mut self, input: &mut BytesMut) -> Option<Frame> {
        let limit = MAX_TAG_BYTES + MAX_BODY_BYTES + 1;
        loop {
            let Some(end) = input.iter().position(|&b| b == b'\n') else {
                if self.discarding {
                    input.clear();
                } else if self.line.len() + input.len() > limit {
                    self.discarding = true;
                    self.line = Vec::new();
                    input.clear();
                    return Some(Frame::TooLong);
                } else {
                    self.line.extend_from_slice(input);
                    input.clear();
                }
                return None;
            };
            let chunk = input.split_to(end + 1);
            if std::mem::take(&mut self.discarding) {
                continue;
            }
            if self.line.len() + end > limit {
                self.line = Vec::new();
                return Some(Frame::TooLong);
            }
            // A line that came whole is read where it lies; only one split
            // across reads is gathered, and its buffer is not kept: an idle
            // connection holds none.
            let line = if self.line.is_empty() {
                &chunk[..end]
            } else {
                self.line.extend_from_slice(&chunk[..end]);
                &self.line[..]
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = String::from_utf8_lossy(line).into_owned();
            self.line = Vec::new();
            return Some(Frame::Line(text));
        }
    }
}

/// A parsed client line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Message<'a> {
    /// Upper-cased.
    pub command: String,
    pub params: Vec<&'a str>,
}

/// Why a line could not be read as a command.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ParseError {
    /// Nothing but tags, a prefix or spaces: ignored, as servers do.
    Empty,
    /// The tags or the body are over their limits.
    TooLong,
}

/// Splits `line` into its command and parameters.
pub(super) fn parse(line: &str) -> Result<Message<'_>, ParseError> {
    let mut rest = line;
    if let Some(tagged) = rest.strip_prefix('@') {
        let (tags, body) = tagged.split_once(' ').unwrap_or((tagged, ""));
        if tags.len() + 2 > MAX_TAG_BYTES {
            return Err(ParseError::TooLong);
        }
        rest = body;
    }
    rest = rest.trim_start_matches(' ');
    if rest.len() > MAX_BODY_BYTES {
        return Err(ParseError::TooLong);
    }
    if rest.starts_with(':') {
        rest = rest.split_once(' ').map_or("", |(_, body)| body);
    }
    let mut words = rest.trim_start_matches(' ');
    let command = match words.split_once(' ') {
        Some((command, more)) => {
            words = more;
            command
        }
        None => std::mem::take(&mut words),
    };
    if command.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut params = Vec::new();
    loop {
        words = words.trim_start_matches(' ');
        if words.is_empty() {
            break;
        }
        if let Some(trailing) = words.strip_prefix(':') {
            params.push(trailing);
            break;
        }
        if params.len() == MAX_PARAMS - 1 {
            params.push(words);
            break;
        }
        match words.split_once(' ') {
            Some((param, more)) => {
                params.push(param);
                words = more;
            }
            None => {
                params.push(words);
                break;
            }
        }
    }
    Ok(Message {
        command: command.to_ascii_uppercase(),
        params,
    })
}

/// `text` safe as the last parameter of a line: CR, LF and NUL (which
/// would end or break it) become spaces.
pub(super) fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\r', '\n', '\0']) {
        text.replace(['\r', '\n', '\0'], " ").into()
    } else {
        text.into()
    }
}

/// Appends one line per part of `text`: `head`, the part, `tail` and CRLF.
/// The text is split at newlines, then into parts of at most
/// [`MAX_TEXT_BYTES`] cut at character boundaries, so a text that came in on
/// one IRC line goes out intact on one, and a long one from another door
/// (a WebSocket message may be 16 KiB) arrives as several. An empty text
/// still makes one line.
pub(super) fn fit(out: &mut BytesMut, head: &str, text: &str, tail: &str) {
    let mut any = false;
    for paragraph in text.split('\n') {
        let mut rest = clean(paragraph.trim_end_matches('\r')).into_owned();
        while !rest.is_empty() {
            let mut cut = rest.len().min(MAX_TEXT_BYTES);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let part: String = rest.drain(..cut).collect();
            push_line(out, head, &part, tail);
            any = true;
        }
    }
    if !any {
        push_line(out, head, "", tail);
    }
}

fn push_line(out: &mut BytesMut, head: &str, text: &str, tail: &str) {
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(tail.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What is left of `text` to show other doors and store: CTCP delimiters and
/// IRC formatting (bold, colours, italics, ...) taken out, then the control
/// characters every door removes.
pub(super) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Colour: up to two digits, optionally a comma and two more.
            '\x03' => {
                for _ in 0..2 {
                    chars.next_if(char::is_ascii_digit);
                }
                if chars.peek() == Some(&',') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                        for _ in 0..2 {
                            chars.next_if(char::is_ascii_digit);
                        }
                    }
                }
            }
            // Hex colour: six hex digits.
            '\x04' => {
                for _ in 0..6 {
                    chars.next_if(char::is_ascii_hexdigit);
                }
            }
            _ => out.push(c),
        }
    }
    banter_proto::codec::sanitize(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framer: &mut Framer, bytes: &[u8]) -> Vec<Frame> {
        let mut input = BytesMut::from(bytes);
        std::iter::from_fn(|| framer.next(&mut input)).collect()
    }

    #[test]
    fn lines_end_with_lf_or_crlf_and_partial_lines_wait() {
        let mut framer = Framer::default();
        assert_eq!(
            frames(&mut framer, b"NICK a\r\nUSER a 0 * :A\nPI"),
            [
                Frame::Line("NICK a".into()),
                Frame::Line("USER a 0 * :A".into())
            ]
        );
        assert_eq!(
            frames(&mut framer, b"NG x\r\n"),
            [Frame::Line("PING x".into())]
        );
        // Between lines nothing is held: an idle connection keeps no buffer.
        assert_eq!(framer.line.capacity(), 0);
        assert_eq!(
            frames(&mut framer, b"PING \r"),
            Vec::<Frame>::new(),
            "a carriage return alone does not end a line"
        );
        assert_eq!(frames(&mut framer, b"\n"), [Frame::Line("PING ".into())]);
        assert_eq!(framer.line.capacity(), 0);
    }

    #[test]
    fn an_endless_line_is_reported_once_and_never_buffered() {
        let mut framer = Framer::default();
        let chunk = vec![b'a'; 4096];
        let mut seen = Vec::new();
        for _ in 0..10 {
            seen.extend(frames(&mut framer, &chunk));
            assert!(framer.line.len() <= MAX_TAG_BYTES + MAX_BODY_BYTES + 1);
        }
        assert_eq!(seen, [Frame::TooLong]);
        assert_eq!(
            frames(&mut framer, b"aaa\r\nPING x\r\n"),
            [Frame::Line("PING x".into())]
        );
    }

    #[test]
    fn parameters_split_at_spaces_up_to_the_trailing_one() {
        let message = parse("@time=x :nick!u@h privmsg #a,#b  :hello  there ").unwrap();
        assert_eq!(message.command, "PRIVMSG");
        assert_eq!(message.params, ["#a,#b", "hello  there "]);
        assert_eq!(parse("MODE #a +k key").unwrap().params, ["#a", "+k", "key"]);
        assert_eq!(parse("  "), Err(ParseError::Empty));
        assert_eq!(parse(":only.a.prefix"), Err(ParseError::Empty));
        let long = format!("PRIVMSG #a :{}", "x".repeat(600));
        assert_eq!(parse(&long), Err(ParseError::TooLong));
    }

    #[test]
    fn text_from_other_doors_cannot_break_a_line() {
        let mut out = BytesMut::new();
        fit(&mut out, ":a PRIVMSG #r :", "one\ntwo\r\0three", "");
        assert_eq!(
            &out[..],
            b":a PRIVMSG #r :one\r\n:a PRIVMSG #r :two  three\r\n"
        );
        out.clear();
        let text = format!("{}{}", "a".repeat(MAX_TEXT_BYTES - 1), "é".repeat(3));
        fit(
            &mut out,
            "@time=x :h PRIVMSG #r :\x01ACTION ",
            &text,
            "\x01",
        );
        let lines: Vec<&[u8]> = out[..]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2, "{out:?}");
        let head = "@time=x :h PRIVMSG #r :\x01ACTION ".len();
        assert_eq!(lines[0].len(), head + MAX_TEXT_BYTES - 1 + 2);
        assert!(lines[1].ends_with("ééé\x01\r".as_bytes()));
    }

    #[test]
    fn formatting_and_ctcp_marks_are_taken_out() {
        assert_eq!(
            plain("\x02bold\x02 \x0304,12red\x03 \x1b[31m"),
            "bold red [31m"
        );
        assert_eq!(plain("\x03,x"), ",x");
    }
}
