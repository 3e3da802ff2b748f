//! Turning typed events into bytes for one wire format.
//!
//! A [`Delivery`] wraps an event that may go to many sessions. Its plain-text
//! rendering is made once, on first use, and the same `Bytes` are shared by
//! every recipient; other wire formats (JSON lines, IRC) will cache theirs the
//! same way beside it.
//!
//! A [`Renderer`] belongs to one connection's writer and adds what depends on
//! that client: the telnet probe, and how hidden input is hidden. For a
//! telnet client (one that answered the probe) the server offers to echo
//! (`IAC WILL ECHO`) and then does not, so the client stops showing what is
//! typed; for anything else (plain nc) the typed characters are drawn with the
//! terminal's conceal attribute (SGR 8) until the answer arrives.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use banter_proto::event::{HistoryEntry, HistoryKind, LeaveReason, Prompt, PromptCancel};
use banter_proto::{CommandSpec, Event, COMMANDS};
use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

/// Asks a telnet client to report its terminal type; telnet answers, nc does not.
const TELNET_PROBE: &[u8] = &[255, 253, 24];
/// Carriage return and erase-line: wipes the probe's raw bytes from an nc screen.
const ERASE_LINE: &[u8] = b"\r\x1b[2K";
const TELNET_WILL_ECHO: &[u8] = &[255, 251, 1];
const TELNET_WONT_ECHO: &[u8] = &[255, 252, 1];
const CONCEAL: &[u8] = b"\x1b[8m";
const RESET_ATTRIBUTES: &[u8] = b"\x1b[0m";

/// Per-connection output choices; see the module docs.
#[derive(Debug)]
pub struct Renderer {
    /// Send the telnet probe before the greeting.
    probe: bool,
    /// The client answered the probe: it speaks telnet. Set by the session.
    telnet: Arc<AtomicBool>,
    /// The conceal attribute is on: an nc user is typing a hidden answer.
    concealing: bool,
}

impl Renderer {
    /// `telnet` is set by the session when the client answers the probe.
    pub fn new(probe: bool, telnet: Arc<AtomicBool>) -> Self {
        Self {
            probe,
            telnet,
            concealing: false,
        }
    }

    /// The shared bytes of a delivery that needs nothing client-specific.
    pub fn shared<'a>(&self, delivery: &'a Delivery) -> Option<&'a Bytes> {
        match &delivery.event {
            Event::Greeting | Event::Prompt(_) | Event::HiddenInputEnd => None,
            _ if self.concealing => None,
            _ => Some(delivery.plain()),
        }
    }

    pub fn render(&mut self, delivery: &Delivery, out: &mut BytesMut) {
        let telnet = self.telnet.load(Ordering::Relaxed);
        match &delivery.event {
            Event::Greeting if self.probe => {
                out.extend_from_slice(TELNET_PROBE);
                out.extend_from_slice(ERASE_LINE);
                out.extend_from_slice(delivery.plain());
            }
            Event::Prompt(prompt) if prompt.hides_input() => {
                if telnet {
                    out.extend_from_slice(TELNET_WILL_ECHO);
                    out.extend_from_slice(delivery.plain());
                } else {
                    out.extend_from_slice(delivery.plain());
                    out.extend_from_slice(CONCEAL);
                    self.concealing = true;
                }
            }
            Event::HiddenInputEnd if telnet => {
                // The client did not echo the Enter that ended the answer either.
                out.extend_from_slice(TELNET_WONT_ECHO);
                out.extend_from_slice(b"\r\n");
            }
            Event::HiddenInputEnd => {
                out.extend_from_slice(RESET_ATTRIBUTES);
                self.concealing = false;
            }
            // A notice while an nc user types a hidden answer (a kick, say)
            // is shown plainly; what they type stays concealed.
            _ if self.concealing => {
                out.extend_from_slice(RESET_ATTRIBUTES);
                out.extend_from_slice(delivery.plain());
                out.extend_from_slice(CONCEAL);
            }
            _ => out.extend_from_slice(delivery.plain()),
        }
    }
}

/// An event on its way to one or more sessions.
#[derive(Debug)]
pub struct Delivery {
    pub event: Event,
    plain: OnceLock<Bytes>,
}

impl Delivery {
    pub fn new(event: Event) -> Arc<Self> {
        Arc::new(Self {
            event,
            plain: OnceLock::new(),
        })
    }

    /// The event as plain-text lines, each ending in CRLF; rendered once.
    pub fn plain(&self) -> &Bytes {
        self.plain
            .get_or_init(|| Bytes::from(plain_text(&self.event)))
    }

    /// Bytes this delivery is charged in an outbox: its plain rendering.
    pub fn cost(&self) -> usize {
        self.plain().len()
    }
}

fn line(out: &mut String, text: std::fmt::Arguments<'_>) {
    out.write_fmt(text)
        .expect("writing to a String cannot fail");
    out.push_str("\r\n");
}

fn others(count: usize) -> String {
    match count {
        0 => "nobody else".to_owned(),
        1 => "1 other".to_owned(),
        n => format!("{n} others"),
    }
}

/// Renders one event as the plain-text lines an nc or telnet user reads.
pub fn plain_text(event: &Event) -> String {
    let mut out = String::with_capacity(64);
    match event {
        Event::Greeting => line(
            &mut out,
            format_args!("welcome to banter! lines starting with ':' are commands; :h lists them."),
        ),
        Event::Prompt(Prompt::Nick) => line(
            &mut out,
            format_args!(
                "choose a screen name (1-24 letters, digits, '_' or '-'), or name:room to start in a room:"
            ),
        ),
        Event::Prompt(Prompt::RoomPassword { room }) => line(
            &mut out,
            format_args!(
                "password for {room} (what you type is hidden on most terminals; an empty line cancels; a host can :invite you instead):"
            ),
        ),
        Event::Prompt(Prompt::NewPassword { room }) => line(
            &mut out,
            format_args!(
                "new password for {room} (what you type is hidden on most terminals; an empty line cancels):"
            ),
        ),
        Event::Prompt(Prompt::RepeatPassword { room }) => {
            line(&mut out, format_args!("the new password for {room} again:"))
        }
        Event::HiddenInputEnd => {}
        Event::History {
            room,
            entries,
            live_follows,
        } => history(&mut out, room, entries, *live_follows),
        Event::RoomClosed { room, by } => line(
            &mut out,
            format_args!("{by} closed {room}; it and its history are gone"),
        ),
        Event::Cancelled => line(&mut out, format_args!("cancelled; nothing changed")),
        Event::PromptCancelled(why) => {
            let why = match why {
                PromptCancel::Kicked { room } => format!("you were kicked from {room}"),
                PromptCancel::RoomClosed { room } => format!("{room} was closed"),
            };
            line(
                &mut out,
                format_args!(
                    "error: the password prompt was cancelled ({why}); what you type up to the next Enter will not be sent"
                ),
            )
        }
        Event::AnswerDropped => line(
            &mut out,
            format_args!("error: that line was not sent: it answered a cancelled password prompt"),
        ),
        Event::Welcome { nick, room, others: n } => line(
            &mut out,
            format_args!(
                "hello {nick}, you are in {room} with {}. Type :h for help.",
                others(*n)
            ),
        ),
        Event::Entered {
            room,
            others: n,
            created,
        } => {
            if *created {
                line(&mut out, format_args!("created room {room}; you are in it"));
            } else {
                line(&mut out, format_args!("you are now in {room} with {}", others(*n)));
            }
        }
        Event::Chat { room, from, text } => line(&mut out, format_args!("[{room}] {from}: {text}")),
        Event::Emote { room, from, text } => line(&mut out, format_args!("[{room}] * {from} {text}")),
        Event::ExtraRoom {
            to_room,
            from_room,
            from,
            text,
        } => line(
            &mut out,
            format_args!("[{to_room}] {from}@{from_room}: {text}"),
        ),
        Event::ExtraRoomSent { to_room, members } => line(
            &mut out,
            format_args!("sent to {to_room} ({members} there)"),
        ),
        Event::Private { from, text } => line(&mut out, format_args!("[private] {from}: {text}")),
        Event::PrivateSent { to, text } => {
            line(&mut out, format_args!("[private to {to}] {text}"))
        }
        Event::Joined { room, nick } => line(&mut out, format_args!("* {nick} joined {room}")),
        Event::Left { room, nick, reason } => match reason {
            LeaveReason::Quit => line(&mut out, format_args!("* {nick} left the chat")),
            LeaveReason::Disconnected => line(&mut out, format_args!("* {nick} disconnected")),
            LeaveReason::ChangedRoom => line(&mut out, format_args!("* {nick} left {room}")),
            LeaveReason::Kicked { by, reason: None } => {
                line(&mut out, format_args!("* {nick} was kicked from {room} by {by}"))
            }
            LeaveReason::Kicked {
                by,
                reason: Some(reason),
            } => line(
                &mut out,
                format_args!("* {nick} was kicked from {room} by {by}: {reason}"),
            ),
        },
        Event::NickChanged { old, new, .. } => {
            line(&mut out, format_args!("* {old} is now known as {new}"))
        }
        Event::NickSet { nick } => line(&mut out, format_args!("you are now known as {nick}")),
        Event::RoomList(rooms) => {
            line(&mut out, format_args!("rooms ({}):", rooms.len()));
            for room in rooms {
                let locked = if room.locked { " [locked]" } else { "" };
                let here = if room.current { "  <- you are here" } else { "" };
                line(
                    &mut out,
                    format_args!("  {} ({}){locked}{here}", room.name, room.members),
                );
            }
        }
        Event::Who { room, members } => {
            let names: Vec<String> = members
                .iter()
                .map(|m| {
                    if m.host {
                        format!("{} (host)", m.nick)
                    } else {
                        m.nick.clone()
                    }
                })
                .collect();
            line(
                &mut out,
                format_args!("in {room} ({}): {}", members.len(), names.join(", ")),
            )
        }
        Event::Topic {
            room,
            topic: Some(topic),
        } => line(&mut out, format_args!("topic of {room}: {topic}")),
        Event::Topic { room, topic: None } => {
            line(&mut out, format_args!("{room} has no topic"))
        }
        Event::TopicChanged { room, by, topic } => line(
            &mut out,
            format_args!("* {by} set the topic of {room}: {topic}"),
        ),
        Event::HostAdded {
            room,
            nick,
            by: Some(by),
        } => line(&mut out, format_args!("* {by} made {nick} a host of {room}")),
        Event::HostAdded {
            room,
            nick,
            by: None,
        } => line(&mut out, format_args!("* {nick} is now the host of {room}")),
        Event::HostRemoved { room, nick, by } if nick == by => {
            line(&mut out, format_args!("* {nick} stepped down as host of {room}"))
        }
        Event::HostRemoved { room, nick, by } => line(
            &mut out,
            format_args!("* {by} took host rights in {room} from {nick}"),
        ),
        Event::LockChanged {
            room,
            by,
            locked: true,
        } => line(&mut out, format_args!("* {by} locked {room} with a password")),
        Event::LockChanged {
            room,
            by,
            locked: false,
        } => line(
            &mut out,
            format_args!("* {by} removed the password of {room}"),
        ),
        Event::YouWereKicked {
            room,
            by,
            reason: None,
        } => line(&mut out, format_args!("you were kicked from {room} by {by}")),
        Event::YouWereKicked {
            room,
            by,
            reason: Some(reason),
        } => line(
            &mut out,
            format_args!("you were kicked from {room} by {by}: {reason}"),
        ),
        Event::Invited { room, by } => line(
            &mut out,
            format_args!(
                "{by} invited you to {room}; type :cr {room} to enter without the password"
            ),
        ),
        Event::InviteSent { room, nick } => line(
            &mut out,
            format_args!("{nick} may now enter {room} once without the password"),
        ),
        Event::Help { command: None } => help_all(&mut out),
        Event::Help {
            command: Some(spec),
        } => help_one(&mut out, spec),
        Event::Missed { count } => line(
            &mut out,
            format_args!(
                "you missed {count} message{} because your connection could not keep up (see :history)",
                if *count == 1 { "" } else { "s" }
            ),
        ),
        Event::Error(text) => line(&mut out, format_args!("error: {text}")),
        Event::Goodbye => line(&mut out, format_args!("bye!")),
        Event::ShuttingDown => line(&mut out, format_args!("the server is shutting down, bye!")),
    }
    out
}

/// A remembered message: its UTC time (with the date when not today), then
/// the line as it was shown live.
fn history(out: &mut String, room: &str, entries: &[HistoryEntry], live_follows: bool) {
    if entries.is_empty() {
        line(out, format_args!("no messages in {room} yet"));
        return;
    }
    let count = entries.len();
    let plural = if count == 1 { "" } else { "s" };
    line(
        out,
        format_args!("-- last {count} message{plural} in {room} (UTC) --"),
    );
    let today = OffsetDateTime::now_utc().date();
    for entry in entries {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(entry.at) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let (hour, minute) = (at.hour(), at.minute());
        let stamp = if at.date() == today {
            format!("{hour:02}:{minute:02}")
        } else {
            let date = at.date();
            let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
            format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02}")
        };
        let HistoryEntry {
            from,
            text,
            from_room,
            ..
        } = entry;
        match entry.kind {
            HistoryKind::Chat => line(out, format_args!("[{stamp}] [{room}] {from}: {text}")),
            HistoryKind::Emote => line(out, format_args!("[{stamp}] [{room}] * {from} {text}")),
            HistoryKind::ExtraRoom => line(
                out,
                format_args!(
                    "[{stamp}] [{room}] {from}@{}: {text}",
                    from_room.as_deref().unwrap_or("?")
                ),
            ),
        }
    }
    if live_follows {
        line(
            out,
            format_args!("-- end of history; new messages follow --"),
        );
    } else {
        line(out, format_args!("-- end of history --"));
    }
}

fn aliases(spec: &CommandSpec) -> String {
    spec.aliases
        .iter()
        .map(|alias| format!(":{alias}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn help_all(out: &mut String) {
    line(
        out,
        format_args!("commands (type :h <command> for details):"),
    );
    for spec in COMMANDS {
        let usage = spec.usage();
        let aliases = aliases(spec);
        let aliases = if aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {aliases})")
        };
        line(out, format_args!("  {usage:<26} {}{aliases}", spec.summary));
    }
    line(
        out,
        format_args!("anything else you type goes to your room; start a line with '::' to send one starting with ':'"),
    );
}

fn help_one(out: &mut String, spec: &CommandSpec) {
    line(out, format_args!("{} - {}", spec.usage(), spec.summary));
    if !spec.aliases.is_empty() {
        line(out, format_args!("  also: {}", aliases(spec)));
    }
    line(out, format_args!("  {}", spec.detail));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines_have_the_documented_shape() {
        let event = Event::Chat {
            room: "lobby".into(),
            from: "alice".into(),
            text: "hi all".into(),
        };
        assert_eq!(plain_text(&event), "[lobby] alice: hi all\r\n");
    }

    #[test]
    fn a_delivery_renders_once_and_shares_its_bytes() {
        let delivery = Delivery::new(Event::Goodbye);
        let first = delivery.plain().clone();
        assert_eq!(first.as_ptr(), delivery.plain().as_ptr());
    }

    #[test]
    fn hidden_prompts_use_echo_off_for_telnet_and_conceal_otherwise() {
        let telnet = Arc::new(AtomicBool::new(false));
        let mut renderer = Renderer::new(true, Arc::clone(&telnet));
        let prompt = Delivery::new(Event::Prompt(Prompt::RoomPassword {
            room: "games".into(),
        }));
        let end = Delivery::new(Event::HiddenInputEnd);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        renderer.render(&end, &mut out);
        assert!(out.starts_with(b"password for games"));
        assert!(out.ends_with(b"\r\n\x1b[8m\x1b[0m"));
        telnet.store(true, Ordering::Relaxed);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        renderer.render(&end, &mut out);
        assert!(out.starts_with(&[255, 251, 1]));
        assert!(out.ends_with(&[255, 252, 1, b'\r', b'\n']));
        assert!(!out.windows(2).any(|w| w == b"\x1b["));
    }

    #[test]
    fn a_notice_during_concealed_input_is_shown_and_input_stays_concealed() {
        let mut renderer = Renderer::new(true, Arc::new(AtomicBool::new(false)));
        let prompt = Delivery::new(Event::Prompt(Prompt::NewPassword {
            room: "games".into(),
        }));
        let notice = Delivery::new(Event::Goodbye);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        assert!(renderer.shared(&notice).is_none());
        out.clear();
        renderer.render(&notice, &mut out);
        assert_eq!(&out[..], b"\x1b[0mbye!\r\n\x1b[8m");
        renderer.render(&Delivery::new(Event::HiddenInputEnd), &mut out);
        assert!(renderer.shared(&notice).is_some());
    }

    #[test]
    fn the_probe_comes_first_and_is_erased() {
        let mut renderer = Renderer::new(true, Arc::new(AtomicBool::new(false)));
        let mut out = BytesMut::new();
        renderer.render(&Delivery::new(Event::Greeting), &mut out);
        assert!(out.starts_with(b"\xff\xfd\x18\r\x1b[2Kwelcome to banter"));
    }

    #[test]
    fn help_lists_every_command() {
        let text = plain_text(&Event::Help { command: None });
        for spec in COMMANDS {
            assert!(text.contains(&format!(":{}", spec.name)), "{}", spec.name);
        }
    }
}
