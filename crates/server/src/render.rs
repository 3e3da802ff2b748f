//! Turning typed events into bytes for one wire format.
//!
//! A [`Delivery`] wraps an event that may go to many sessions. Its plain-text
//! rendering is made once, on first use, and the same `Bytes` are shared by
//! every recipient; other wire formats (JSON lines, IRC) will cache theirs the
//! same way beside it.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use banter_proto::event::{LeaveReason, Prompt};
use banter_proto::{CommandSpec, Event, COMMANDS};
use bytes::Bytes;

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
        },
        Event::NickChanged { old, new, .. } => {
            line(&mut out, format_args!("* {old} is now known as {new}"))
        }
        Event::NickSet { nick } => line(&mut out, format_args!("you are now known as {nick}")),
        Event::RoomList(rooms) => {
            line(&mut out, format_args!("rooms ({}):", rooms.len()));
            for room in rooms {
                let here = if room.current { "  <- you are here" } else { "" };
                line(
                    &mut out,
                    format_args!("  {} ({}){here}", room.name, room.members),
                );
            }
        }
        Event::Who { room, members } => line(
            &mut out,
            format_args!("in {room} ({}): {}", members.len(), members.join(", ")),
        ),
        Event::Help { command: None } => help_all(&mut out),
        Event::Help {
            command: Some(spec),
        } => help_one(&mut out, spec),
        Event::Missed { count } => line(
            &mut out,
            format_args!(
                "you missed {count} message{} because your connection could not keep up",
                if *count == 1 { "" } else { "s" }
            ),
        ),
        Event::Error(text) => line(&mut out, format_args!("error: {text}")),
        Event::Goodbye => line(&mut out, format_args!("bye!")),
        Event::ShuttingDown => line(&mut out, format_args!("the server is shutting down, bye!")),
    }
    out
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
    fn help_lists_every_command() {
        let text = plain_text(&Event::Help { command: None });
        for spec in COMMANDS {
            assert!(text.contains(&format!(":{}", spec.name)), "{}", spec.name);
        }
    }
}
