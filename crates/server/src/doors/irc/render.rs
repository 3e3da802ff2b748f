//! The core's events as IRC lines, for one connection.
//!
//! Room messages are rendered once per form (with or without the
//! `server-time` tag) and shared by every IRC client in the room; everything
//! else names this connection's nick, which the renderer follows through the
//! events themselves (`Welcome`, `NickSet`), so every line is addressed as the
//! nick was when the event happened. Lines the session wrote itself
//! ([`IrcLines`], this door's own output item) pass through in order.
//!
//! A user who quits, changes nick or goes away (`away-notify`) while sharing
//! several rooms with this client is reported by each room; IRC says it once,
//! so the renderer remembers the last few and skips the repeats.

use std::borrow::Cow;
use std::sync::Arc;

use banter_proto::event::{LeaveReason, MessageKind, RoomMessage, RoomView};
use banter_proto::modes::mode_changes_letters;
use banter_proto::Event;
use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

use super::caps::{
    Caps, CapsTaken, AWAY_NOTIFY, INVITE_NOTIFY, MULTI_PREFIX, SERVER_TIME, USERHOST_IN_NAMES,
};
use super::message::{clean, fit};
use super::numerics::{
    Replies, RPL_BANLIST, RPL_ENDOFBANLIST, RPL_ENDOFNAMES, RPL_ENDOFSTATS, RPL_INVITING,
    RPL_NAMREPLY, RPL_STATSKLINE, RPL_TOPIC, RPL_YOUREOPER,
};
use super::HOST;
use crate::core::{Delivery, DoorItem, Format, Missed};
use crate::doors::Renderer;

/// Quits, renames and away changes remembered to skip their repeats.
const REMEMBERED: usize = 16;

/// Lines the IRC session wrote itself, already in IRC's wire format (CAP,
/// numerics, PONG, ERROR): queued in the outbox among the core's events so
/// they keep their order, and seen by no other door.
#[derive(Debug)]
pub(super) struct IrcLines(pub String);

impl DoorItem for IrcLines {
    /// The lines' size and the same framing allowance as an event's.
    fn weight(&self) -> usize {
        32 + self.0.len()
    }
}

/// Renders for one IRC connection; see the module docs.
#[derive(Debug)]
pub(crate) struct IrcRenderer {
    /// The server's name, as it signs its own lines.
    server: Arc<str>,
    nick: String,
    /// As negotiated so far: what the session queued before a `CAP REQ`
    /// is written under the capabilities of its time.
    caps: Caps,
    /// What was written, to skip repeats; made on the first quit, rename
    /// or away written, so a connection that never saw one holds nothing.
    seen: Option<Box<Seen>>,
}

/// Quits, renames and away changes written to one client, remembered (at
/// most [`REMEMBERED`] of each) so that a user sharing several rooms with
/// the client is shown once, not once per room.
#[derive(Debug, Default)]
struct Seen {
    /// Nicks whose QUIT was written, until they are seen again.
    quits: Vec<String>,
    /// Renames written (old, new), until they are stale.
    renames: Vec<(String, String)>,
    /// The away status last written for each nick (`None`: back).
    aways: Vec<(String, Option<String>)>,
}

/// `nick!nick@banter`: every user's mask, whichever door they use.
pub(super) fn mask(nick: &str) -> String {
    format!("{nick}!{nick}@{HOST}")
}

/// `PART #room`, with the part message when there is one.
fn part(replies: &mut Replies, nick: &str, room: &str, message: Option<&str>) {
    match message {
        Some(message) => replies.line(format_args!(
            ":{} PART #{room} :{}",
            mask(nick),
            clean(message)
        )),
        None => replies.line(format_args!(":{} PART #{room}", mask(nick))),
    }
}

/// The `server-time` tag's value: UTC with milliseconds.
pub(super) fn server_time(at: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// A room message as `command` (PRIVMSG, or NOTICE for an echo) lines,
/// tagged with its time when `timed`. An emote is a CTCP ACTION; a message
/// sent from another room (`:erm`) says which.
pub(super) fn message(out: &mut BytesMut, message: &RoomMessage, command: &str, timed: bool) {
    let tags = if timed {
        format!("@time={} ", server_time(message.at))
    } else {
        String::new()
    };
    // A notice is one whoever renders it.
    let command = match message.kind {
        MessageKind::Notice => "NOTICE",
        _ => command,
    };
    let head = format!(
        "{tags}:{} {command} #{} :",
        mask(&message.from),
        message.room
    );
    match &message.kind {
        MessageKind::Chat | MessageKind::Notice => fit(out, &head, &message.text, ""),
        MessageKind::Emote => fit(out, &format!("{head}\x01ACTION "), &message.text, "\x01"),
        MessageKind::FromRoom(from) => {
            fit(out, &format!("{head}(from #{from}) "), &message.text, "")
        }
    }
}

/// A private message to `to` as lines.
pub(super) fn private(
    out: &mut BytesMut,
    from: &str,
    to: &str,
    command: &str,
    text: &str,
    at: Option<i64>,
) {
    let tags = at.map_or(String::new(), |at| format!("@time={} ", server_time(at)));
    let head = format!("{tags}:{} {command} {to} :", mask(from));
    fit(out, &head, text, "");
}

/// The shared rendering of a room message in this form.
fn shared_message(delivery: &Delivery, timed: bool) -> &Bytes {
    let format = if timed { Format::IrcTimed } else { Format::Irc };
    delivery.rendered(format, |delivery| match delivery.event() {
        Some(Event::Message(said)) => {
            let mut out = BytesMut::new();
            message(&mut out, said, "PRIVMSG", timed);
            out.freeze()
        }
        _ => Bytes::new(),
    })
}

/// The shared `JOIN` line of a member who joined: one for every IRC
/// member of the room, rendered by the first (it is the same for all).
fn shared_join<'a>(delivery: &'a Delivery, room: &str, nick: &str) -> &'a Bytes {
    delivery.rendered(Format::Irc, |_| {
        Bytes::from(format!(":{} JOIN #{room}\r\n", mask(nick)))
    })
}

/// A member's prefix in NAMES, WHO and WHOIS: `@` for a host, `+` for a
/// voice; both (`@+`) with `multi-prefix`, else the higher only.
pub(super) fn prefix(host: bool, voice: bool, multi: bool) -> &'static str {
    match (host, voice) {
        (true, true) if multi => "@+",
        (true, _) => "@",
        (false, true) => "+",
        (false, false) => "",
    }
}

/// The `353` lines of a member list (each nick with its prefix), split to
/// fit, then `366`; each member as a full mask with `userhost-in-names`.
/// A secret room's lines are marked `@`, others `=` (RFC 2812 3.2.5).
pub(super) fn names<'a>(
    replies: &mut Replies,
    room: &str,
    secret: bool,
    members: impl IntoIterator<Item = (&'a str, &'static str)>,
    masks: bool,
) {
    name_lines(replies, room, secret, members, masks);
    replies.numeric(RPL_ENDOFNAMES, &[&format!("#{room}")], "End of /NAMES list");
}

/// The `353` lines of `room`'s members, without the `366` that ends them
/// (a NAMES of several channels ends them all with one).
///
/// Written straight into the replies: a joiner of a big channel gets every
/// member's name, so this is most of what an IRC join costs. Nicks are
/// checked when taken (no spaces, no control characters), so they need no
/// cleaning.
pub(super) fn name_lines<'a>(
    replies: &mut Replies,
    room: &str,
    secret: bool,
    members: impl IntoIterator<Item = (&'a str, &'static str)>,
    masks: bool,
) {
    let channel = format!("#{room}");
    let symbol = if secret { "@" } else { "=" };
    let members = members.into_iter();
    let per_name = if masks { 32 } else { 12 };
    replies.out.reserve(members.size_hint().0 * per_name);
    // Where the open line's names start, if a line is open.
    let mut names_at: Option<usize> = None;
    for (nick, prefix) in members {
        if let Some(at) = names_at {
            if replies.out.len() - at + 2 * nick.len() > 400 {
                replies.out.push_str("\r\n");
                names_at = None;
            } else {
                replies.out.push(' ');
            }
        }
        if names_at.is_none() {
            replies.numeric_open(RPL_NAMREPLY, &[symbol, &channel]);
            names_at = Some(replies.out.len());
        }
        replies.out.push_str(prefix);
        replies.out.push_str(nick);
        if masks {
            // The mask, written in place: `nick!nick@host`.
            for part in ["!", nick, "@", HOST] {
                replies.out.push_str(part);
            }
        }
    }
    if names_at.is_some() {
        replies.out.push_str("\r\n");
    }
}

impl IrcRenderer {
    pub(crate) fn new(server: Arc<str>) -> Self {
        Self {
            server,
            nick: "*".into(),
            caps: Caps::default(),
            seen: None,
        }
    }

    fn timed(&self) -> bool {
        self.caps.has(SERVER_TIME)
    }

    /// The lines for entering a room: JOIN, the topic, the names, then
    /// (with `server-time` only) the recent messages with their times.
    fn entered(&mut self, view: &RoomView, out: &mut BytesMut) {
        // Someone listed here is present, whatever quit under that nick before:
        // their next QUIT must be shown.
        if let Some(seen) = &mut self.seen {
            seen.quits
                .retain(|quit| !view.members.iter().any(|member| *member.nick == **quit));
        }
        let mut replies = Replies::new(&self.server, &self.nick);
        replies.line(format_args!(":{} JOIN #{}", mask(&self.nick), view.room));
        if let Some(topic) = view.topic.as_deref().filter(|topic| !topic.is_empty()) {
            replies.numeric(RPL_TOPIC, &[&format!("#{}", view.room)], topic);
        }
        let multi = self.caps.has(MULTI_PREFIX);
        let members = view
            .members
            .iter()
            .map(|member| (&*member.nick, prefix(member.host, member.voice, multi)));
        names(
            &mut replies,
            &view.room,
            view.secret,
            members,
            self.caps.has(USERHOST_IN_NAMES),
        );
        out.extend_from_slice(replies.out.as_bytes());
        if self.timed() {
            for said in &view.recent {
                message(out, said, "PRIVMSG", true);
            }
        }
    }

    /// `nick` is back: a later QUIT of theirs is news again.
    fn forget_quit(&mut self, nick: &str) {
        if let Some(seen) = &mut self.seen {
            seen.quits.retain(|quit| quit != nick);
        }
    }

    /// What was written, made now if nothing was yet.
    fn seen(&mut self) -> &mut Seen {
        self.seen.get_or_insert_with(Box::default)
    }

    /// Whether a QUIT of `nick` is new; remembers it.
    fn first_quit(&mut self, nick: &str) -> bool {
        let quits = &mut self.seen().quits;
        if quits.iter().any(|quit| quit == nick) {
            return false;
        }
        if quits.len() == REMEMBERED {
            quits.remove(0);
        }
        quits.push(nick.to_owned());
        true
    }

    /// Whether `nick` going away with `message` (or coming back) is news to
    /// this client; remembers it.
    fn first_away(&mut self, nick: &str, message: Option<&str>) -> bool {
        let aways = &mut self.seen().aways;
        match aways.iter_mut().find(|(known, _)| known == nick) {
            Some((_, said)) if said.as_deref() == message => false,
            Some((_, said)) => {
                *said = message.map(str::to_owned);
                true
            }
            None => {
                if aways.len() == REMEMBERED {
                    aways.remove(0);
                }
                aways.push((nick.to_owned(), message.map(str::to_owned)));
                true
            }
        }
    }

    /// Whether the rename `old` → `new` is new; remembers it and forgets
    /// renames it makes stale.
    fn first_rename(&mut self, old: &str, new: &str) -> bool {
        let seen = self.seen();
        if seen.renames.iter().any(|(o, n)| o == old && n == new) {
            return false;
        }
        seen.renames.retain(|(o, n)| o != new && n != old);
        if seen.renames.len() == REMEMBERED {
            seen.renames.remove(0);
        }
        seen.renames.push((old.to_owned(), new.to_owned()));
        seen.quits.retain(|quit| quit != new);
        true
    }

    fn lines(&mut self, event: &Event, out: &mut BytesMut) {
        let me = self.nick.clone();
        let mut replies = Replies::new(&self.server, &me);
        match event {
            Event::Welcome { nick, .. } => self.nick.clone_from(nick),
            Event::Entered(view) => self.entered(view, out),
            Event::Parted { room, message } => {
                part(&mut replies, &me, room, message.as_deref());
            }
            Event::History { messages, .. } if self.timed() => {
                for said in messages {
                    message(out, said, "PRIVMSG", true);
                }
            }
            Event::Private {
                from,
                text,
                at,
                notice,
            } => {
                let at = self.timed().then_some(*at);
                let command = if *notice { "NOTICE" } else { "PRIVMSG" };
                private(out, from, &me, command, text, at);
            }
            Event::Left { room, nick, reason } => match reason {
                LeaveReason::Quit { message } if self.first_quit(nick) => match message {
                    Some(message) => replies.line(format_args!(
                        ":{} QUIT :Quit: {}",
                        mask(nick),
                        clean(message)
                    )),
                    None => replies.line(format_args!(":{} QUIT :Quit", mask(nick))),
                },
                LeaveReason::Disconnected if self.first_quit(nick) => {
                    replies.line(format_args!(":{} QUIT :Connection closed", mask(nick)));
                }
                LeaveReason::Quit { .. } | LeaveReason::Disconnected => {}
                LeaveReason::ChangedRoom => replies.line(format_args!(
                    ":{} PART #{room} :went to another room",
                    mask(nick)
                )),
                LeaveReason::Parted { message } => {
                    part(&mut replies, nick, room, message.as_deref());
                }
                LeaveReason::Kicked { by, reason } => replies.line(format_args!(
                    ":{} KICK #{room} {nick} :{}",
                    mask(by),
                    clean(reason.as_deref().unwrap_or(by))
                )),
            },
            Event::NickChanged { old, new, .. } if self.first_rename(old, new) => {
                replies.line(format_args!(":{} NICK :{new}", mask(old)));
            }
            Event::AwayChanged { nick, message, .. }
                if self.caps.has(AWAY_NOTIFY) && self.first_away(nick, message.as_deref()) =>
            {
                match message {
                    Some(message) => {
                        replies.line(format_args!(":{} AWAY :{}", mask(nick), clean(message)))
                    }
                    None => replies.line(format_args!(":{} AWAY", mask(nick))),
                }
            }
            Event::NickSet { nick } => {
                replies.line(format_args!(":{} NICK :{nick}", mask(&me)));
                self.nick.clone_from(nick);
            }
            Event::Topic { room, topic } => match topic.as_deref().filter(|t| !t.is_empty()) {
                Some(topic) => replies.numeric(RPL_TOPIC, &[&format!("#{room}")], topic),
                None => replies.numeric(
                    super::numerics::RPL_NOTOPIC,
                    &[&format!("#{room}")],
                    "No topic is set",
                ),
            },
            Event::TopicChanged { room, by, topic } => {
                replies.line(format_args!(
                    ":{} TOPIC #{room} :{}",
                    mask(by),
                    clean(topic)
                ));
            }
            Event::HostAdded { room, nick, by } => {
                let source = by.as_deref().map_or(self.server.to_string(), mask);
                replies.line(format_args!(":{source} MODE #{room} +o {nick}"));
            }
            Event::HostRemoved { room, nick, by } => {
                replies.line(format_args!(":{} MODE #{room} -o {nick}", mask(by)));
            }
            Event::LockChanged { room, by, locked } => {
                // The key itself is never shown.
                let sign = if *locked { '+' } else { '-' };
                replies.line(format_args!(":{} MODE #{room} {sign}k *", mask(by)));
            }
            Event::ModesChanged { room, by, changes } => {
                let letters = mode_changes_letters(changes);
                replies.line(format_args!(":{} MODE #{room} {letters}", mask(by)));
            }
            Event::VoiceChanged { room, nick, by, on } => {
                let sign = if *on { '+' } else { '-' };
                replies.line(format_args!(":{} MODE #{room} {sign}v {nick}", mask(by)));
            }
            Event::BanChanged {
                room,
                by,
                mask: banned,
                on,
            } => {
                let sign = if *on { '+' } else { '-' };
                let banned = ban_mask(banned);
                replies.line(format_args!(":{} MODE #{room} {sign}b {banned}", mask(by)));
            }
            Event::BanList { room, bans } => {
                let channel = format!("#{room}");
                for ban in bans {
                    replies.numeric_bare(
                        RPL_BANLIST,
                        &format!(
                            "{channel} {} {} {}",
                            ban_mask(&ban.mask),
                            ban.by,
                            ban.at / 1000
                        ),
                    );
                }
                replies.numeric(RPL_ENDOFBANLIST, &[&channel], "End of channel ban list");
            }
            Event::YouWereKicked { room, by, reason } => replies.line(format_args!(
                ":{} KICK #{room} {me} :{}",
                mask(by),
                clean(reason.as_deref().unwrap_or(by))
            )),
            Event::RoomClosed { room, by } => replies.line(format_args!(
                ":{} KICK #{room} {me} :{by} closed the room",
                mask(by)
            )),
            Event::Invited { room, by } => {
                replies.line(format_args!(":{} INVITE {me} #{room}", mask(by)));
            }
            Event::InviteSent { room, nick } => {
                replies.numeric_bare(RPL_INVITING, &format!("{nick} #{room}"));
            }
            Event::MemberInvited { room, by, nick } if self.caps.has(INVITE_NOTIFY) => {
                replies.line(format_args!(":{} INVITE {nick} #{room}", mask(by)));
            }
            Event::OperatorNow { .. } => {
                replies.numeric(RPL_YOUREOPER, &[], "You are now an IRC operator");
                replies.line(format_args!(":{} MODE {me} :+o", mask(&me)));
            }
            Event::Killed { by, reason } => replies.line(format_args!(
                ":{} KILL {me} :{}",
                mask(by),
                clean(reason.as_deref().unwrap_or(by))
            )),
            Event::UserKilled { nick } => replies.notice(&format!("{nick} was disconnected")),
            Event::ServerBanSet { ban, disconnected } => replies.notice(&format!(
                "Server ban on {} set{} ({}); {disconnected} disconnected",
                ban.mask,
                until(ban.until),
                ban.reason
            )),
            Event::ServerBanLifted { mask } => {
                replies.notice(&format!("Server ban on {mask} lifted"))
            }
            Event::ServerBanList(bans) => {
                for ban in bans {
                    replies.numeric_bare(
                        RPL_STATSKLINE,
                        &format!(
                            "K {} * {} :{}{}",
                            ban.mask,
                            ban.by,
                            clean(&ban.reason),
                            until(ban.until)
                        ),
                    );
                }
                replies.numeric(RPL_ENDOFSTATS, &["K"], "End of /STATS report");
            }
            Event::Announcement { from, text } => {
                replies.line(format_args!(":{} NOTICE $* :{}", mask(from), clean(text)));
            }
            Event::Missed { room, count } => missed_notice(&mut replies, room.as_deref(), *count),
            Event::Refused(refusal) => replies.notice(&refusal.to_string()),
            Event::Goodbye => replies.line(format_args!("ERROR :Closing link (Quit)")),
            Event::ShuttingDown => replies.line(format_args!("ERROR :The server is shutting down")),
            _ => {}
        }
        out.extend_from_slice(replies.out.as_bytes());
    }
}

/// When a server ban ends, as a notice or a STATS line says it.
fn until(at: Option<i64>) -> String {
    match at {
        Some(at) => format!(" until {}", banter_proto::event::utc_minute(at)),
        None => " until lifted".to_owned(),
    }
}

fn missed_notice(replies: &mut Replies, room: Option<&str>, count: u64) {
    let what = if count == 1 { "message" } else { "messages" };
    match room {
        Some(room) => {
            let server = replies.server().to_owned();
            replies.line(format_args!(
                ":{server} NOTICE #{room} :You missed {count} {what} in #{room}: your client read too slowly"
            ));
        }
        None => replies.notice(&format!(
            "You missed {count} private {what}: your client read too slowly"
        )),
    }
}

impl Renderer for IrcRenderer {
    fn shared<'a>(&self, delivery: &'a Delivery) -> Option<&'a Bytes> {
        match delivery.event() {
            Some(Event::Message(_)) => Some(shared_message(delivery, self.timed())),
            _ => None,
        }
    }

    fn render(&mut self, delivery: &Delivery, out: &mut BytesMut) {
        match delivery.event() {
            Some(Event::Message(_)) => {
                out.extend_from_slice(shared_message(delivery, self.timed()))
            }
            // A join storm sends one of these to every member for every
            // join: rendered once, and no work per member beyond the copy.
            Some(Event::Joined { room, nick }) => {
                self.forget_quit(nick);
                out.extend_from_slice(shared_join(delivery, room, nick));
            }
            Some(event) => self.lines(event, out),
            None => {
                if let Some(IrcLines(lines)) = delivery.door_item() {
                    out.extend_from_slice(lines.as_bytes());
                } else if let Some(CapsTaken(caps)) = delivery.door_item() {
                    self.caps = *caps;
                }
            }
        }
    }

    fn missed(&mut self, missed: &[Missed], out: &mut BytesMut) {
        let mut replies = Replies::new(&self.server, &self.nick);
        for missed in missed {
            missed_notice(&mut replies, missed.room.as_deref(), missed.count);
        }
        out.extend_from_slice(replies.out.as_bytes());
    }
}
/// A room ban as IRC spells it: a name ban `troll*` is `troll*!*@*`; an
/// address ban (`*!*@203.0.113.7`) is already in that form.
fn ban_mask(ban: &str) -> Cow<'_, str> {
    if ban.contains('@') {
        Cow::Borrowed(ban)
    } else {
        Cow::Owned(format!("{ban}!*@*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `353` lines for `members` as a client with (or without)
    /// `userhost-in-names` gets them.
    fn lines_for(members: &[(String, &'static str)], masks: bool) -> Vec<String> {
        let mut replies = Replies::new(&"irc.example".into(), "ann");
        let members = members
            .iter()
            .map(|(nick, prefix)| (nick.as_str(), *prefix));
        name_lines(&mut replies, "big", false, members, masks);
        assert!(replies.out.ends_with("\r\n"));
        replies
            .out
            .split_terminator("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn capabilities_apply_from_the_point_the_outbox_says_they_were_taken() {
        use crate::core::{Delivery, Payload};
        let said = || {
            Delivery::new(Event::Message(banter_proto::event::RoomMessage {
                id: 1,
                at: 0,
                room: "games".into(),
                from: "bob".into(),
                text: "hi".into(),
                kind: banter_proto::event::MessageKind::Chat,
            }))
        };
        let mut renderer = IrcRenderer::new("irc.example".into());
        let mut before = BytesMut::new();
        renderer.render(&said(), &mut before);
        assert!(before.starts_with(b":bob!"), "{before:?}");
        let mut caps = Caps::default();
        assert!(caps.request("server-time"));
        let taken = Delivery::carrying(Payload::door(CapsTaken(caps)), None);
        let mut nothing = BytesMut::new();
        renderer.render(&taken, &mut nothing);
        assert!(nothing.is_empty(), "{nothing:?}");
        let mut after = BytesMut::new();
        renderer.render(&said(), &mut after);
        assert!(after.starts_with(b"@time="), "{after:?}");
    }

    #[test]
    fn a_long_member_list_is_split_into_lines_under_irc_s_limit_naming_everyone_once() {
        let members: Vec<(String, &'static str)> = (0..300)
            .map(|i| (format!("member{i:04}"), if i % 7 == 0 { "@" } else { "" }))
            .collect();
        for masks in [false, true] {
            let lines = lines_for(&members, masks);
            assert!(lines.len() > 1, "300 names do not fit one line");
            let mut named = Vec::new();
            for line in &lines {
                assert!(line.len() + 2 <= 512, "{} bytes: {line}", line.len());
                let names = line
                    .strip_prefix(":irc.example 353 ann = #big :")
                    .unwrap_or_else(|| panic!("not a 353 line: {line}"));
                named.extend(names.split(' ').map(str::to_owned));
            }
            let expected: Vec<String> = members
                .iter()
                .map(|(nick, prefix)| match masks {
                    true => format!("{prefix}{nick}!{nick}@{HOST}"),
                    false => format!("{prefix}{nick}"),
                })
                .collect();
            assert_eq!(named, expected);
        }
    }

    #[test]
    fn nobody_to_name_is_no_line() {
        let mut replies = Replies::new(&"irc.example".into(), "ann");
        name_lines(&mut replies, "empty", true, std::iter::empty(), false);
        assert_eq!(replies.out, "");
    }
}
