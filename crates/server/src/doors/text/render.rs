//! The text door's renderer: typed events as the plain-text lines nc and
//! telnet users read.
//!
//! A delivery's plain-text rendering is made once, on first use, and the same
//! `Bytes` are shared by every text-door recipient.
//!
//! A [`TextRenderer`] belongs to one connection's writer and adds what depends
//! on that client: the telnet probe, and how hidden input is hidden. For a
//! telnet client (one that answered the probe) the server offers to echo
//! (`IAC WILL ECHO`) and then does not, so the client stops showing what is
//! typed; for anything else (plain nc) the typed characters are drawn with the
//! terminal's conceal attribute (SGR 8) until the answer arrives, and then the
//! line they were typed on is erased, so the answer is not left on the screen
//! (concealed text is still in the terminal: copy mode, scrollback and screen
//! captures show it). With `:set timestamps on` a connection's live room and
//! private messages carry the time, rendered for that connection alone.
//!
//! What only this door says (the greeting, prompts, the end of hidden input,
//! help, the timestamps setting) is a [`TextItem`], this door's own output,
//! queued among the core's events so it keeps its place but never part of
//! the shared `Event`. A refusal is worded here too (`TextRefusal`): the
//! door-neutral sentence, or where a colon-command helps, one that names it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use banter_proto::event::{
    utc_minute, whois_line, LeaveReason, MessageKind, PromptCancel, RoomMessage, RoomView,
    UserDetails, WhoEntry,
};
use banter_proto::modes::mode_changes_letters;
use banter_proto::refusal::HostAction;
use banter_proto::{CommandSpec, Event, Refusal, RoomMode, COMMANDS};
use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

use crate::core::{Delivery, DoorItem, Format, Missed};
use crate::doors::Renderer;

/// Asks a telnet client to report its terminal type; telnet answers, nc does not.
const TELNET_PROBE: &[u8] = &[255, 253, 24];
/// Carriage return and erase-line: wipes the probe's raw bytes from an nc screen.
const ERASE_LINE: &[u8] = b"\r\x1b[2K";
const TELNET_WILL_ECHO: &[u8] = &[255, 251, 1];
const TELNET_WONT_ECHO: &[u8] = &[255, 252, 1];
const CONCEAL: &[u8] = b"\x1b[8m";
const RESET_ATTRIBUTES: &[u8] = b"\x1b[0m";
/// Cursor up one line, carriage return, erase line: after the Enter that ended
/// a hidden answer, wipes the line the nc user typed it on.
const ERASE_TYPED_LINE: &[u8] = b"\x1b[1A\r\x1b[2K";

/// What the server is asking the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Prompt {
    Nick,
    /// The password of a locked room, to enter it. Input is hidden.
    RoomPassword {
        room: String,
    },
    /// A new password for a room (`:passwd`). Input is hidden.
    NewPassword {
        room: String,
    },
    /// The new password again. Input is hidden.
    RepeatPassword {
        room: String,
    },
    /// The password of server operator `name` (`:oper`). Input is hidden.
    OperatorPassword {
        name: String,
    },
}

impl Prompt {
    /// The answer should not show on the user's screen.
    pub(super) fn hides_input(&self) -> bool {
        !matches!(self, Prompt::Nick)
    }
}

/// This door's own output, queued in the outbox among the core's events
/// (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TextItem {
    /// First words on connect.
    Greeting,
    Prompt(Prompt),
    /// A hidden answer arrived: the terminal may show input again.
    HiddenInputEnd,
    /// The connection ends while a hidden answer may be half typed (no
    /// Enter came): the terminal may show input again.
    HiddenInputCut,
    /// `:help`, or `:help <command>`.
    Help(Option<&'static CommandSpec>),
    /// `:set timestamps`: live lines now show their time, or no longer do.
    Timestamps(bool),
}

impl DoorItem for TextItem {
    fn weight(&self) -> usize {
        /// Line ends and the words around the names, as for an event.
        const OVERHEAD: usize = 32;
        match self {
            TextItem::Help(_) => OVERHEAD + 2048,
            _ => OVERHEAD,
        }
    }
}

/// What the session learns about its client that changes how it is
/// written to; shared by the session (which sets it) and its renderer.
#[derive(Debug, Default)]
pub(crate) struct Terminal {
    /// The client answered the probe: it speaks telnet.
    pub telnet: AtomicBool,
    /// `:set timestamps on`: live messages carry their time.
    pub timestamps: AtomicBool,
}

/// Per-connection output choices; see the module docs.
#[derive(Debug)]
pub(crate) struct TextRenderer {
    /// Send the telnet probe before the greeting.
    probe: bool,
    terminal: Arc<Terminal>,
    /// The conceal attribute is on: an nc user is typing a hidden answer.
    concealing: bool,
}

impl TextRenderer {
    pub(crate) fn new(probe: bool, terminal: Arc<Terminal>) -> Self {
        Self {
            probe,
            terminal,
            concealing: false,
        }
    }

    /// When `delivery` is shown with its time on this connection: a live
    /// room or private message while timestamps are on.
    fn stamp_of(&self, delivery: &Delivery) -> Option<i64> {
        if !self.terminal.timestamps.load(Ordering::Relaxed) {
            return None;
        }
        match delivery.event()? {
            Event::Message(RoomMessage { at, .. }) | Event::Private { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The delivery's lines as this connection shows them: the shared
    /// rendering, after the time when it has one here (`[HH:MM] `, as in
    /// history), or the answer to one of this door's own commands.
    fn lines(&self, delivery: &Delivery, out: &mut BytesMut) {
        if let Some(at) = self.stamp_of(delivery) {
            out.extend_from_slice(b"[");
            out.extend_from_slice(stamp(at).as_bytes());
            out.extend_from_slice(b"] ");
        }
        out.extend_from_slice(plain(delivery));
    }

    /// One of this door's own items, for this connection.
    fn item(&mut self, item: &TextItem, out: &mut BytesMut) {
        let telnet = self.terminal.telnet.load(Ordering::Relaxed);
        match item {
            TextItem::Greeting if self.probe => {
                out.extend_from_slice(TELNET_PROBE);
                out.extend_from_slice(ERASE_LINE);
                out.extend_from_slice(item_text(item).as_bytes());
            }
            TextItem::Prompt(prompt) if prompt.hides_input() => {
                if telnet {
                    out.extend_from_slice(TELNET_WILL_ECHO);
                    out.extend_from_slice(item_text(item).as_bytes());
                } else {
                    out.extend_from_slice(item_text(item).as_bytes());
                    out.extend_from_slice(CONCEAL);
                    self.concealing = true;
                }
            }
            TextItem::HiddenInputEnd if telnet => {
                // The client did not echo the Enter that ended the answer either.
                out.extend_from_slice(TELNET_WONT_ECHO);
                out.extend_from_slice(b"\r\n");
            }
            TextItem::HiddenInputEnd => {
                // nc's terminal echoed the answer (concealed) and the Enter
                // after it: the cursor is at the start of the next line.
                out.extend_from_slice(RESET_ATTRIBUTES);
                out.extend_from_slice(ERASE_TYPED_LINE);
                self.concealing = false;
            }
            TextItem::HiddenInputCut if telnet => {
                out.extend_from_slice(TELNET_WONT_ECHO);
                out.extend_from_slice(b"\r\n");
            }
            TextItem::HiddenInputCut => {
                // No Enter came: what was typed is on the cursor's own line.
                out.extend_from_slice(RESET_ATTRIBUTES);
                out.extend_from_slice(b"\r\x1b[2K");
                self.concealing = false;
            }
            _ => {
                let text = item_text(item);
                self.notice(out, |out| out.extend_from_slice(text.as_bytes()));
            }
        }
    }

    /// Writes a line that is not an answer being typed: while an nc user
    /// types a hidden answer (and a kick, say, arrives) it is shown plainly,
    /// and what they type stays concealed.
    fn notice(&self, out: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
        if self.concealing {
            out.extend_from_slice(RESET_ATTRIBUTES);
            write(out);
            out.extend_from_slice(CONCEAL);
        } else {
            write(out);
        }
    }
}

/// A delivery's plain-text lines, shared by every text-door client.
fn plain(delivery: &Delivery) -> &Bytes {
    delivery.rendered(Format::Text, |delivery| match delivery.event() {
        Some(event) => Bytes::from(plain_text(event)),
        None => Bytes::new(),
    })
}

impl Renderer for TextRenderer {
    fn shared<'a>(&self, delivery: &'a Delivery) -> Option<&'a Bytes> {
        match delivery.event() {
            None => None,
            _ if self.concealing => None,
            _ if self.stamp_of(delivery).is_some() => None,
            Some(_) => Some(plain(delivery)),
        }
    }

    fn render(&mut self, delivery: &Delivery, out: &mut BytesMut) {
        if delivery.event().is_some() {
            // An event this door shows as nothing (another door's) writes nothing,
            // not even the codes around a notice during hidden input.
            if plain(delivery).is_empty() {
                return;
            }
            self.notice(out, |out| self.lines(delivery, out));
        } else if let Some(item) = delivery.door_item::<TextItem>() {
            self.item(item, out);
        }
    }

    /// One line for everything missed: a text-door user is in one room.
    fn missed(&mut self, missed: &[Missed], out: &mut BytesMut) {
        let count = missed.iter().map(|m| m.count).sum();
        let line = plain_text(&Event::Missed { room: None, count });
        self.notice(out, |out| out.extend_from_slice(line.as_bytes()));
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

/// Renders one of this door's own items as plain-text lines (without what
/// the terminal needs around them: the probe, echo and conceal codes).
pub(super) fn item_text(item: &TextItem) -> String {
    let mut out = String::new();
    match item {
        TextItem::Greeting => line(
            &mut out,
            format_args!("welcome to banter! lines starting with ':' are commands; :h lists them."),
        ),
        TextItem::Prompt(Prompt::Nick) => line(
            &mut out,
            format_args!(
                "choose a screen name (1-24 letters, digits, '_' or '-'), or name:room to start in a room:"
            ),
        ),
        TextItem::Prompt(Prompt::RoomPassword { room }) => line(
            &mut out,
            format_args!(
                "password for {room} (what you type is hidden on most terminals; an empty line cancels; a host can :invite you instead):"
            ),
        ),
        TextItem::Prompt(Prompt::NewPassword { room }) => line(
            &mut out,
            format_args!(
                "new password for {room} (what you type is hidden on most terminals; an empty line cancels):"
            ),
        ),
        TextItem::Prompt(Prompt::RepeatPassword { room }) => {
            line(&mut out, format_args!("the new password for {room} again:"))
        }
        TextItem::Prompt(Prompt::OperatorPassword { name }) => line(
            &mut out,
            format_args!(
                "operator password for {name} (what you type is hidden on most terminals; an empty line cancels):"
            ),
        ),
        TextItem::HiddenInputEnd | TextItem::HiddenInputCut => {}
        TextItem::Timestamps(true) => line(&mut out, format_args!("timestamps on")),
        TextItem::Timestamps(false) => line(&mut out, format_args!("timestamps off")),
        TextItem::Help(None) => help_all(&mut out),
        TextItem::Help(Some(spec)) => help_one(&mut out, spec),
    }
    out
}

/// Renders one event as the plain-text lines an nc or telnet user reads.
pub fn plain_text(event: &Event) -> String {
    // An event's weight is about its size on the wire: a room message's
    // line fits in it without growing.
    let mut out = String::with_capacity(event.weight().max(64));
    match event {
        Event::History {
            room,
            messages,
            live_follows,
            capped_at,
        } => {
            if let Some(max) = capped_at {
                line(
                    &mut out,
                    format_args!("(at most {max} messages at a time; showing the newest {max})"),
                );
            }
            history(&mut out, room, messages, *live_follows)
        }
        Event::RoomClosed { room, by } => line(
            &mut out,
            format_args!("{by} closed {room}; it and its history are gone"),
        ),
        // Away changes are IRC's `away-notify`; the text door has no away status.
        Event::AwayChanged { .. } | Event::MemberInvited { .. } => {}
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
        Event::Welcome {
            nick, room: None, ..
        } => {
            line(&mut out, format_args!("hello {nick}. Type :h for help."))
        }
        Event::Welcome {
            nick,
            room: Some(view),
            ..
        } => {
            line(
                &mut out,
                format_args!(
                    "hello {nick}, you are in {} with {}. Type :h for help.",
                    view.room,
                    others(view.others())
                ),
            );
            entry(&mut out, view);
        }
        Event::Entered(view) => {
            if view.created {
                line(&mut out, format_args!("created room {}; you are in it", view.room));
            } else {
                line(
                    &mut out,
                    format_args!("you are now in {} with {}", view.room, others(view.others())),
                );
            }
            entry(&mut out, view);
        }
        Event::Parted { room, .. } => line(&mut out, format_args!("you left {room}")),
        Event::Message(message) => live(&mut out, message),
        Event::Said { .. } | Event::Pong | Event::Done => {}
        Event::ExtraRoomSent { to_room, members } => line(
            &mut out,
            format_args!("sent to {to_room} ({members} there)"),
        ),
        Event::Private {
            from,
            text,
            notice: false,
            ..
        } => line(&mut out, format_args!("[private] {from}: {text}")),
        Event::Private { from, text, .. } => {
            line(&mut out, format_args!("[private] -{from}- {text}"))
        }
        Event::PrivateSent { to, text } => {
            line(&mut out, format_args!("[private to {to}] {text}"))
        }
        Event::Joined { room, nick } => line(&mut out, format_args!("* {nick} joined {room}")),
        Event::Left { room, nick, reason } => match reason {
            LeaveReason::Quit { message: None } => {
                line(&mut out, format_args!("* {nick} left the chat"))
            }
            LeaveReason::Quit {
                message: Some(message),
            } => line(&mut out, format_args!("* {nick} left the chat ({message})")),
            LeaveReason::Parted {
                message: Some(message),
            } => line(&mut out, format_args!("* {nick} left {room} ({message})")),
            LeaveReason::Disconnected => line(&mut out, format_args!("* {nick} disconnected")),
            LeaveReason::ChangedRoom | LeaveReason::Parted { message: None } => {
                line(&mut out, format_args!("* {nick} left {room}"))
            }
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
                let here = if room.joined { "  <- you are here" } else { "" };
                line(
                    &mut out,
                    format_args!("  {} ({}){locked}{here}", room.name, room.members),
                );
            }
        }
        Event::Who { room, members } if members.is_empty() => {
            line(&mut out, format_args!("nobody is in {room}"))
        }
        Event::Who { room, members } => line(
            &mut out,
            format_args!("in {room} ({}): {}", members.len(), names(members)),
        ),
        Event::Users(nicks) => line(
            &mut out,
            format_args!("connected ({}): {}", nicks.len(), nicks.join(", ")),
        ),
        Event::Whois(details) => line(&mut out, format_args!("{}", whois(details))),
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
        Event::ModesChanged { room, by, changes } => {
            let meanings: Vec<&str> = changes
                .iter()
                .map(|&(mode, on)| mode_meaning(mode, on))
                .collect();
            line(
                &mut out,
                format_args!(
                    "* {by} set {room} {} ({})",
                    mode_changes_letters(changes),
                    meanings.join("; ")
                ),
            )
        }
        Event::VoiceChanged {
            room,
            nick,
            by,
            on: true,
        } => line(&mut out, format_args!("* {by} gave {nick} a voice in {room}")),
        Event::VoiceChanged {
            room,
            nick,
            by,
            on: false,
        } => line(&mut out, format_args!("* {by} took {nick}'s voice in {room}")),
        Event::BanChanged {
            room,
            by,
            mask,
            on: true,
        } => line(&mut out, format_args!("* {by} banned {mask} from {room}")),
        Event::BanChanged {
            room,
            by,
            mask,
            on: false,
        } => line(
            &mut out,
            format_args!("* {by} lifted the ban on {mask} in {room}"),
        ),
        Event::BanList { room, bans } if bans.is_empty() => {
            line(&mut out, format_args!("{room} bans nobody"))
        }
        Event::BanList { room, bans } => {
            line(&mut out, format_args!("bans of {room} ({}):", bans.len()));
            for ban in bans {
                line(
                    &mut out,
                    format_args!("  {} (by {}, {})", ban.mask, ban.by, stamp(ban.at)),
                );
            }
        }
        Event::RoomModes {
            room,
            modes,
            locked,
        } => {
            let key = if *locked { "k" } else { "" };
            let mut shown = format!("+{}{key}", modes.letters());
            let mut letters: Vec<char> = shown.chars().skip(1).collect();
            letters.sort_unstable();
            shown = std::iter::once('+').chain(letters).collect();
            let meanings: Vec<&str> = RoomMode::ALL
                .into_iter()
                .filter(|mode| modes.has(*mode))
                .map(|mode| mode_meaning(mode, true))
                .chain(locked.then_some("a password is needed"))
                .collect();
            if meanings.is_empty() {
                line(&mut out, format_args!("{room} has no modes set"));
            } else {
                line(
                    &mut out,
                    format_args!("modes of {room}: {shown} ({})", meanings.join("; ")),
                );
            }
        }
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
        Event::Missed { count, .. } => line(
            &mut out,
            format_args!(
                "you missed {count} message{} because your connection could not keep up (see :history)",
                if *count == 1 { "" } else { "s" }
            ),
        ),
        Event::OperatorNow { name } => line(
            &mut out,
            format_args!("you are now a server operator ({name}); :h lists what operators may do"),
        ),
        Event::Killed { by, reason: None } => line(
            &mut out,
            format_args!("you were disconnected by server operator {by}"),
        ),
        Event::Killed {
            by,
            reason: Some(reason),
        } => line(
            &mut out,
            format_args!("you were disconnected by server operator {by}: {reason}"),
        ),
        Event::UserKilled { nick } => line(&mut out, format_args!("{nick} was disconnected")),
        Event::ServerBanSet { ban, disconnected } => {
            let until = ban
                .until
                .map_or_else(|| "until lifted".to_owned(), |at| format!("until {}", utc_minute(at)));
            line(
                &mut out,
                format_args!(
                    "server ban on {} set {until} ({}); {disconnected} disconnected",
                    ban.mask, ban.reason
                ),
            )
        }
        Event::ServerBanLifted { mask } => {
            line(&mut out, format_args!("server ban on {mask} lifted"))
        }
        Event::ServerBanList(bans) if bans.is_empty() => {
            line(&mut out, format_args!("no server bans"))
        }
        Event::ServerBanList(bans) => {
            line(&mut out, format_args!("server bans ({}):", bans.len()));
            for ban in bans {
                let until = ban
                    .until
                    .map_or_else(|| "until lifted".to_owned(), |at| format!("until {}", utc_minute(at)));
                line(
                    &mut out,
                    format_args!("  {} by {} {until}: {}", ban.mask, ban.by, ban.reason),
                );
            }
        }
        Event::Announcement { from, text } => {
            line(&mut out, format_args!("[notice from {from}] {text}"))
        }
        Event::Refused(refusal) => line(&mut out, format_args!("error: {}", TextRefusal(refusal))),
        Event::Goodbye => line(&mut out, format_args!("bye!")),
        Event::ShuttingDown => line(&mut out, format_args!("the server is shutting down, bye!")),
    }
    out
}

/// A refusal as the text door words it: where a colon-command helps, the
/// sentence names it (nc users can type it); otherwise it is the refusal's
/// own sentence, the one every door shows. The match has no catch-all, so a
/// new refusal is worded here on purpose.
struct TextRefusal<'a>(&'a Refusal);

impl std::fmt::Display for TextRefusal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Refusal::NameFirst => {
                f.write_str("choose a screen name first; before that only :help and :exit work")
            }
            Refusal::LockedAtLogin { room } => write!(
                f,
                "{room} is locked; choose just a name, then :cr {room} and enter its password"
            ),
            Refusal::NoSuchRoomToEnter { room } => write!(
                f,
                "there is no room {room}; create it with :new {room} or see :rooms"
            ),
            Refusal::NoSuchRoom { room } => write!(f, "there is no room {room} (see :rooms)"),
            Refusal::RoomExists { room } => {
                write!(f, "room {room} already exists; join it with :cr {room}")
            }
            Refusal::ExtraRoomLocked { room } => write!(
                f,
                "{room} is locked; only its members and those who entered it with its password can :erm it. Try :cr {room} first"
            ),
            Refusal::PasswordChangedWhileTyping { room } => write!(
                f,
                "the password of {room} changed while you typed; nothing happened. Try :cr {room} again"
            ),
            Refusal::NotHost { room } => {
                write!(f, "only a host of {room} can do that (see :who)")
            }
            Refusal::DefaultRoom { room, action } => match action {
                HostAction::Topic => write!(
                    f,
                    "{room} is the default room: it has no topic; create a room with :new to have one"
                ),
                HostAction::Password => write!(
                    f,
                    "{room} is the default room: it cannot be locked; create a room with :new to lock one"
                ),
                HostAction::HostAdd | HostAction::HostRemove => write!(
                    f,
                    "{room} is the default room: it has no hosts; create a room with :new to host one"
                ),
                HostAction::Kick
                | HostAction::Invite
                | HostAction::Close
                | HostAction::Mode
                | HostAction::Voice
                | HostAction::Ban => std::fmt::Display::fmt(self.0, f),
            },
            Refusal::KickHost { name } => write!(
                f,
                "{name} is a host; take their host rights first with :hostrm {name}"
            ),
            Refusal::KickSelf => f.write_str("you cannot kick yourself; use :cr to leave"),
            Refusal::InviteUnlocked { room } => write!(
                f,
                "{room} has no password and is not invite-only (:mode +i); anyone can :cr {room} already"
            ),
            Refusal::Moderated { room } => write!(
                f,
                "{room} is moderated: only its hosts and voiced members may speak (a host can :voice you)"
            ),
            Refusal::InviteOnly { room } => write!(
                f,
                "{room} is invite-only; a host of it must :invite you first"
            ),
            Refusal::NotBanned { mask, room } => {
                write!(f, "{room} has no ban {mask} (see :bans)")
            }
            Refusal::NoSuchUser { name } => {
                write!(f, "nobody named {name} is connected (see :who *)")
            }
            Refusal::MessageToSelf => f.write_str("that is you; :msg sends to someone else"),
            Refusal::BadHistoryCount { max } => {
                write!(f, ":history takes a number from 1 to {max}")
            }
            // The colon-command parser's own sentence, usage included.
            Refusal::BadCommand(err) => std::fmt::Display::fmt(err, f),
            Refusal::NotOperator => {
                f.write_str("only server operators may do that (:oper <name> to become one)")
            }
            Refusal::NoSuchServerBan { mask } => {
                write!(f, "there is no server ban on {mask} (:serverbans lists them)")
            }
            Refusal::NoSuchCommand { name } => {
                write!(f, "there is no command :{name} (type :h to list them)")
            }
            Refusal::BadName(_)
            | Refusal::NameTaken { .. }
            | Refusal::AlreadyNamed { .. }
            | Refusal::AlreadyRegistered
            | Refusal::ServerRoomLimit { .. }
            | Refusal::RoomCreationLimited { .. }
            | Refusal::UserRoomLimit { .. }
            | Refusal::AlreadyInRoom { .. }
            | Refusal::NotMember { .. }
            | Refusal::NoRoom
            | Refusal::WhichRoom
            | Refusal::RoomGone { .. }
            | Refusal::ExtraRoomIsHere { .. }
            | Refusal::DefaultRoomStays
            | Refusal::PasswordNeeded { .. }
            | Refusal::WrongPassword { .. }
            | Refusal::LockedOut { .. }
            | Refusal::PasswordChangedMeanwhile { .. }
            | Refusal::PasswordsDiffer
            | Refusal::EmptyPassword
            | Refusal::HashFailed
            | Refusal::ShuttingDown
            | Refusal::NoPassword { .. }
            | Refusal::NoSuchMember { .. }
            | Refusal::AlreadyHost { .. }
            | Refusal::NotAHost { .. }
            | Refusal::LastHost { .. }
            | Refusal::AlreadyThere { .. }
            | Refusal::Busy { .. }
            | Refusal::JustLeft { .. }
            | Refusal::HistoryUnavailable { .. }
            | Refusal::NotSaved { .. }
            | Refusal::HistoryNotSaved { .. }
            | Refusal::LineTooLong { .. }
            | Refusal::SlowDown { .. }
            | Refusal::Flooding
            | Refusal::RegistrationTimeout { .. }
            | Refusal::ServerFull { .. }
            | Refusal::TooManyFromAddress { .. }
            | Refusal::BadRequest { .. }
            | Refusal::BadJson { .. }
            | Refusal::UnknownType { .. }
            | Refusal::BinaryFrame
            | Refusal::ResumeFailed
            | Refusal::AnswerDropped
            | Refusal::Banned { .. }
            | Refusal::AddressBanOnCluster
            | Refusal::BadMask(_)
            | Refusal::BadModes(_)
            | Refusal::AlreadyBanned { .. }
            | Refusal::BanListFull { .. }
            | Refusal::NoOperators
            | Refusal::WrongOperatorPassword { .. }
            | Refusal::OperatorLockedOut { .. }
            | Refusal::ServerBanned { .. }
            | Refusal::BadServerBan { .. } => std::fmt::Display::fmt(self.0, f),
        }
    }
}

/// What a mode being set (`on`) or cleared means, in a few words.
fn mode_meaning(mode: RoomMode, on: bool) -> &'static str {
    match (mode, on) {
        (RoomMode::Moderated, true) => "moderated: only hosts and voiced members speak",
        (RoomMode::Moderated, false) => "everyone may speak",
        (RoomMode::InviteOnly, true) => "invite-only: entering needs an invitation",
        (RoomMode::InviteOnly, false) => "anyone may enter",
        (RoomMode::Secret, true) => "secret: unlisted, members hidden from outsiders",
        (RoomMode::Secret, false) => "listed for everyone",
        (RoomMode::TopicLock, true) => "only hosts set the topic",
        (RoomMode::TopicLock, false) => "any member may set the topic",
        (RoomMode::NoExternal, true) => "no messages from outside except :erm",
        (RoomMode::NoExternal, false) => "messages from outside reach the room",
    }
}

fn names(members: &[WhoEntry]) -> String {
    members
        .iter()
        .map(|m| match (m.host, m.voice) {
            (true, _) => format!("{} (host)", m.nick),
            (false, true) => format!("{} (voice)", m.nick),
            (false, false) => m.nick.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One user in detail, on one line (`banter_proto::event::whois_line`).
fn whois(details: &UserDetails) -> String {
    let user = &details.user;
    let rooms = details
        .rooms
        .iter()
        .map(|m| (m.room.as_str(), m.host, m.voice));
    whois_line(
        &user.nick,
        rooms,
        user.away.as_deref(),
        user.operator,
        user.address.as_deref(),
    )
}

/// What follows the line about entering a room: whether you are its host,
/// its topic, and what was said there that you have not seen.
fn entry(out: &mut String, view: &RoomView) {
    if view.host && !view.created {
        line(out, format_args!("you are the host of {}", view.room));
    }
    if let Some(topic) = &view.topic {
        line(out, format_args!("topic of {}: {topic}", view.room));
    }
    if !view.recent.is_empty() {
        history(out, &view.room, &view.recent, true);
    }
}

/// A room message as it is shown live. Put together from its pieces, not
/// with `format_args!`: this is every room message's line, and the
/// formatting machinery cost it more than copying the pieces.
fn live(out: &mut String, message: &RoomMessage) {
    let (room, from, text) = (&*message.room, &*message.from, &*message.text);
    match &message.kind {
        MessageKind::Chat => pieces(out, &["[", room, "] ", from, ": ", text, "\r\n"]),
        MessageKind::Emote => pieces(out, &["[", room, "] * ", from, " ", text, "\r\n"]),
        MessageKind::FromRoom(from_room) => pieces(
            out,
            &["[", room, "] ", from, "@", from_room, ": ", text, "\r\n"],
        ),
        MessageKind::Notice => pieces(out, &["[", room, "] -", from, "- ", text, "\r\n"]),
    }
}

/// Appends `parts`, growing `out` once.
fn pieces(out: &mut String, parts: &[&str]) {
    out.reserve(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        out.push_str(part);
    }
}

/// `HH:MM`, with the date when not today (UTC).
pub(super) fn stamp(at: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (hour, minute) = (at.hour(), at.minute());
    if at.date() == OffsetDateTime::now_utc().date() {
        format!("{hour:02}:{minute:02}")
    } else {
        let date = at.date();
        let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
        format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02}")
    }
}

/// Remembered messages: each with its UTC time, then the line as it was
/// shown live.
fn history(out: &mut String, room: &str, messages: &[RoomMessage], live_follows: bool) {
    if messages.is_empty() {
        line(out, format_args!("no messages in {room} yet"));
        return;
    }
    let count = messages.len();
    let plural = if count == 1 { "" } else { "s" };
    line(
        out,
        format_args!("-- last {count} message{plural} in {room} (UTC) --"),
    );
    for message in messages {
        out.push('[');
        out.push_str(&stamp(message.at));
        out.push_str("] ");
        live(out, message);
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
    fn sentences_keep_their_text_door_wording() {
        let worded = |refusal: Refusal| TextRefusal(&refusal).to_string();
        assert_eq!(
            worded(Refusal::NoSuchRoomToEnter { room: "x".into() }),
            "there is no room x; create it with :new x or see :rooms"
        );
        assert_eq!(
            worded(Refusal::WrongPassword {
                room: "vault".into(),
                here: Some("lobby".into()),
                locked_out_secs: Some(30)
            }),
            "wrong password for vault; you are still in lobby. Too many tries: wait 30 s before trying again"
        );
        assert_eq!(
            worded(Refusal::DefaultRoom {
                room: "lobby".into(),
                action: HostAction::Topic
            }),
            "lobby is the default room: it has no topic; create a room with :new to have one"
        );
    }

    #[test]
    fn chat_lines_have_the_documented_shape() {
        let event = Event::Message(RoomMessage {
            id: 7,
            at: 0,
            room: "lobby".into(),
            from: "alice".into(),
            text: "hi all".into(),
            kind: MessageKind::Chat,
        });
        assert_eq!(plain_text(&event), "[lobby] alice: hi all\r\n");
    }

    #[test]
    fn whois_is_one_line_with_rooms_first_and_the_rest_only_when_it_applies() {
        use banter_proto::event::{Membership, UserInfo};
        let user = |away: Option<&str>, operator: bool, address: Option<&str>| UserInfo {
            nick: "bob".into(),
            profile: None,
            away: away.map(Into::into),
            operator,
            address: address.map(Into::into),
        };
        let room = |room: &str, host: bool, voice: bool| Membership {
            room: room.into(),
            host,
            voice,
        };
        let all = Event::Whois(UserDetails {
            user: user(Some("lunch"), true, Some("127.0.0.1")),
            rooms: vec![
                room("games", true, false),
                room("lobby", false, false),
                room("quiet", false, true),
            ],
        });
        assert_eq!(
            plain_text(&all),
            "bob: in games (host), lobby, quiet (voice); away: lunch; server operator; address 127.0.0.1\r\n"
        );
        let bare = Event::Whois(UserDetails {
            user: user(None, false, None),
            rooms: Vec::new(),
        });
        assert_eq!(plain_text(&bare), "bob: in no rooms\r\n");
    }

    #[test]
    fn an_empty_room_has_no_dangling_member_list() {
        let event = Event::Who {
            room: "games".into(),
            members: Vec::new(),
        };
        assert_eq!(plain_text(&event), "nobody is in games\r\n");
    }

    fn item(item: TextItem) -> Arc<Delivery> {
        Delivery::carrying(crate::core::Payload::Door(Box::new(item)), None)
    }

    fn renderer(telnet: bool) -> TextRenderer {
        let terminal = Terminal::default();
        terminal.telnet.store(telnet, Ordering::Relaxed);
        TextRenderer::new(true, Arc::new(terminal))
    }

    fn hi_all(at: i64) -> RoomMessage {
        RoomMessage {
            id: 7,
            at,
            room: "lobby".into(),
            from: "alice".into(),
            text: "hi all".into(),
            kind: MessageKind::Chat,
        }
    }

    #[test]
    fn hidden_prompts_use_echo_off_for_telnet_and_conceal_otherwise() {
        let terminal = Arc::new(Terminal::default());
        let mut renderer = TextRenderer::new(true, Arc::clone(&terminal));
        let prompt = item(TextItem::Prompt(Prompt::RoomPassword {
            room: "games".into(),
        }));
        let end = item(TextItem::HiddenInputEnd);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        renderer.render(&end, &mut out);
        assert!(out.starts_with(b"password for games"));
        // Concealed while typed, then the typed line is erased.
        assert!(out.ends_with(b"\r\n\x1b[8m\x1b[0m\x1b[1A\r\x1b[2K"));
        terminal.telnet.store(true, Ordering::Relaxed);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        renderer.render(&end, &mut out);
        assert!(out.starts_with(&[255, 251, 1]));
        assert!(out.ends_with(&[255, 252, 1, b'\r', b'\n']));
        assert!(!out.windows(2).any(|w| w == b"\x1b["));
    }

    #[test]
    fn a_notice_during_concealed_input_is_shown_and_input_stays_concealed() {
        let mut renderer = renderer(false);
        let prompt = item(TextItem::Prompt(Prompt::NewPassword {
            room: "games".into(),
        }));
        let notice = Delivery::new(Event::Goodbye);
        let mut out = BytesMut::new();
        renderer.render(&prompt, &mut out);
        assert!(renderer.shared(&notice).is_none());
        out.clear();
        renderer.render(&notice, &mut out);
        assert_eq!(&out[..], b"\x1b[0mbye!\r\n\x1b[8m");
        renderer.render(&item(TextItem::HiddenInputEnd), &mut out);
        assert!(renderer.shared(&notice).is_some());
    }

    #[test]
    fn the_probe_comes_first_and_is_erased() {
        let mut renderer = renderer(false);
        let mut out = BytesMut::new();
        renderer.render(&item(TextItem::Greeting), &mut out);
        assert!(out.starts_with(b"\xff\xfd\x18\r\x1b[2Kwelcome to banter"));
    }

    #[test]
    fn timestamps_are_per_connection_and_leave_the_shared_rendering_alone() {
        let terminal = Terminal::default();
        terminal.timestamps.store(true, Ordering::Relaxed);
        let mut stamped = TextRenderer::new(true, Arc::new(terminal));
        let mut plain_renderer = renderer(false);
        // 2001-09-09 01:46:40 UTC: not today, so the date is shown too.
        let at = 1_000_000_000_000;
        let message = Delivery::new(Event::Message(hi_all(at)));
        assert!(stamped.shared(&message).is_none());
        let mut out = BytesMut::new();
        stamped.render(&message, &mut out);
        assert_eq!(&out[..], b"[2001-09-09 01:46] [lobby] alice: hi all\r\n");
        assert_eq!(
            &plain_renderer.shared(&message).unwrap()[..],
            b"[lobby] alice: hi all\r\n"
        );
        out.clear();
        plain_renderer.render(&message, &mut out);
        assert_eq!(&out[..], b"[lobby] alice: hi all\r\n");
        // The same prefix as a history line.
        let history = plain_text(&Event::History {
            room: "lobby".into(),
            messages: vec![hi_all(at)],
            live_follows: false,
            capped_at: None,
        });
        assert!(history.contains("\r\n[2001-09-09 01:46] [lobby] alice: hi all\r\n"));
        let private = Delivery::new(Event::Private {
            from: "bob".into(),
            text: "psst".into(),
            at,
            notice: false,
        });
        out.clear();
        stamped.render(&private, &mut out);
        assert_eq!(&out[..], b"[2001-09-09 01:46] [private] bob: psst\r\n");
        // A private notice reads as a notice does in a room.
        let notice = Delivery::new(Event::Private {
            from: "bot".into(),
            text: "deployed".into(),
            at,
            notice: true,
        });
        out.clear();
        plain_renderer.render(&notice, &mut out);
        assert_eq!(&out[..], b"[private] -bot- deployed\r\n");
        // Other lines carry no time.
        let joined = Delivery::new(Event::Joined {
            room: "lobby".into(),
            nick: "bob".into(),
        });
        assert!(stamped.shared(&joined).is_some());
    }

    #[test]
    fn the_timestamps_setting_is_answered() {
        assert_eq!(item_text(&TextItem::Timestamps(true)), "timestamps on\r\n");
    }

    #[test]
    fn help_lists_every_command() {
        let text = item_text(&TextItem::Help(None));
        for spec in COMMANDS {
            assert!(text.contains(&format!(":{}", spec.name)), "{}", spec.name);
        }
    }
}
