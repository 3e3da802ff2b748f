//! Typed events: everything the chat core tells a user, and the typed
//! answers to their queries.
//!
//! The core never writes bytes. It produces these events and each door
//! renders them for its own wire (plain text for nc and telnet, JSON over
//! WebSocket, IRC), so a new door needs no change to the core. Every event
//! that concerns a room names it, so a client in several rooms can update
//! its view without asking again. What only one door says (the text door's
//! greeting, prompts and help, IRC's numerics) is not here: each door keeps
//! its own output items beside these events.

use std::sync::Arc;

use crate::modes::{RoomMode, RoomModes};
use crate::refusal::Refusal;

/// Why a member left a room, as the remaining members are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// `:exit`, IRC's `QUIT`, with what the user said on the way out.
    Quit {
        /// The quit message, if they gave one.
        message: Option<String>,
    },
    /// The connection ended without `:exit` (EOF, reset, timeout, flood, ...).
    Disconnected,
    /// Moved to another room with `:cr` or `:new`.
    ChangedRoom,
    /// Left this room and stays in others (doors with several rooms), with
    /// what the user said on the way out.
    Parted {
        /// The part message, if they gave one.
        message: Option<String>,
    },
    /// Removed by a host.
    Kicked {
        /// The host who kicked them.
        by: String,
        /// What the host said, if anything.
        reason: Option<String>,
    },
}

/// One room in a `:rooms` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room's name as it was created (not case-folded).
    pub name: String,
    /// How many are in it now.
    pub members: usize,
    /// The listener is in it.
    pub joined: bool,
    /// A password is needed to enter.
    pub locked: bool,
    /// Its topic, if a host set one.
    pub topic: Option<String>,
    /// The server's default room (`--default-room`), where the text door
    /// puts everyone.
    pub default: bool,
}

/// One member in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoEntry {
    /// Their screen name, shared with the room's own record: a listing of
    /// a big room copies no names.
    pub nick: Arc<str>,
    /// They are a host of the room listed.
    pub host: bool,
    /// They have a voice there (may speak while it is moderated).
    pub voice: bool,
}

/// How a room message was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    /// An ordinary line of chat.
    Chat,
    /// An action, shown as "* nick text" (`:me`, IRC's CTCP ACTION).
    Emote,
    /// Sent from `from_room` with `:erm`.
    FromRoom(String),
    /// A notice (IRC's NOTICE to a channel), shown as one.
    Notice,
}

/// A message said in a room, live or from history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMessage {
    /// The stored message id: strictly increasing within a room.
    pub id: i64,
    /// Unix milliseconds, UTC.
    pub at: i64,
    /// The room it was said in.
    pub room: Arc<str>,
    /// The sender's screen name when they said it.
    pub from: Arc<str>,
    /// What they said, one line.
    pub text: Arc<str>,
    /// Chat, emote, or sent in from another room.
    pub kind: MessageKind,
}

/// What a user learns on entering a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// The room entered.
    pub room: String,
    /// Just made by this user (`:new`).
    pub created: bool,
    /// The user is a host of it (its creator, or first into it while empty).
    pub host: bool,
    /// A password is needed to enter it.
    pub locked: bool,
    /// It is secret (`+s`): room lists leave it out for outsiders.
    pub secret: bool,
    /// Its topic, if a host set one.
    pub topic: Option<String>,
    /// Everyone in it, the user included, in order of arrival; empty for
    /// doors that show only how many (`count`).
    pub members: Vec<WhoEntry>,
    /// How many are in it, the user included.
    pub count: usize,
    /// Recent messages not seen before on this connection, oldest first.
    pub recent: Vec<RoomMessage>,
}

impl RoomView {
    /// Members other than the user.
    pub fn others(&self) -> usize {
        self.count.saturating_sub(1)
    }
}

/// What a user says about themselves when they log in, if their door asks
/// (IRC's `USER` username and real name). Doors that do not ask leave it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// IRC's username (the `user` of `nick!user@host`).
    pub username: String,
    /// IRC's free-text real name.
    pub realname: String,
}

/// A connected user, as a query shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Their screen name.
    pub nick: String,
    /// What they said about themselves at login, if their door asked.
    pub profile: Option<Arc<Profile>>,
    /// Set while the user says they are away, with what they said.
    pub away: Option<Arc<str>>,
    /// They authenticated as a server operator.
    pub operator: bool,
    /// Their network address; only answers to server operators carry it.
    pub address: Option<String>,
}

/// One member of a room, as a query shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member.
    pub user: UserInfo,
    /// They are a host of the room.
    pub host: bool,
    /// They have a voice there.
    pub voice: bool,
}

/// A room's members in order of arrival (the answer to "who is in it").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMembers {
    /// The room asked about.
    pub room: String,
    /// Its members, oldest arrival first.
    pub members: Vec<MemberInfo>,
}

/// A room one user is in, and whether they host it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The room.
    pub room: String,
    /// The user is a host of it.
    pub host: bool,
    /// The user has a voice there.
    pub voice: bool,
}

/// One user in detail (the answer to "who is this").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetails {
    /// The user asked about.
    pub user: UserInfo,
    /// The rooms they are in, sorted by name ignoring case.
    pub rooms: Vec<Membership>,
}

/// A whois answer on one line, as the text door and the terminal client
/// show it: `bob: in games (host), lobby, quiet (voice); away: lunch; server
/// operator; address 127.0.0.1`, each part after the rooms only when it
/// applies. `rooms` are (room, host, voice).
pub fn whois_line<'a>(
    nick: &str,
    rooms: impl IntoIterator<Item = (&'a str, bool, bool)>,
    away: Option<&str>,
    operator: bool,
    address: Option<&str>,
) -> String {
    let rooms: Vec<String> = rooms
        .into_iter()
        .map(|(room, host, voice)| match (host, voice) {
            (true, _) => format!("{room} (host)"),
            (false, true) => format!("{room} (voice)"),
            (false, false) => room.to_owned(),
        })
        .collect();
    let mut line = match rooms.is_empty() {
        true => format!("{nick}: in no rooms"),
        false => format!("{nick}: in {}", rooms.join(", ")),
    };
    if let Some(away) = away {
        line.push_str("; away: ");
        line.push_str(away);
    }
    if operator {
        line.push_str("; server operator");
    }
    if let Some(address) = address {
        line.push_str("; address ");
        line.push_str(address);
    }
    line
}

/// Who last set a room's topic, and when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSet {
    /// The screen name of who set it.
    pub by: String,
    /// When, in Unix milliseconds.
    pub at: i64,
}

/// A room's settings (the answer to "what is this room like").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomStatus {
    /// The room asked about.
    pub room: String,
    /// A password is needed to enter.
    pub locked: bool,
    /// Changes whenever the password is set or removed: a door that asked
    /// for a password passes it back (`Request::Join { if_epoch }`), so an
    /// answer typed for an older password is refused rather than tried.
    pub password_epoch: u64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Its topic, if a host set one.
    pub topic: Option<String>,
    /// Who set the topic and when, if known.
    pub topic_set: Option<TopicSet>,
    /// Its hosts, in order of arrival.
    pub hosts: Vec<String>,
    /// The server's default room (no hosts, topic or password).
    pub default: bool,
    /// Its modes.
    pub modes: RoomModes,
}

/// One ban of a room, as its hosts see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanEntry {
    /// The name pattern.
    pub mask: String,
    /// Who set it.
    pub by: String,
    /// When, in Unix milliseconds.
    pub at: i64,
}

/// One server ban in force (the answer to "which server bans are there").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBanEntry {
    /// The name pattern or address, as set.
    pub mask: String,
    /// Why, as told to those it refuses.
    pub reason: String,
    /// The operator who set it.
    pub by: String,
    /// When it was set, in Unix milliseconds.
    pub at: i64,
    /// When it ends, in Unix milliseconds; `None` for never.
    pub until: Option<i64>,
}

/// Why a hidden prompt ended before its answer arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptCancel {
    /// A host kicked the user out of `room`.
    Kicked {
        /// The room the prompt was about.
        room: String,
    },
    /// A host closed `room`.
    RoomClosed {
        /// The room the prompt was about.
        room: String,
    },
}

/// The secret that resumes a session (see `Event::Welcome`): an opaque
/// string sent to its owner alone. `Debug` never shows it, so an event can
/// be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ResumeToken(String);

impl ResumeToken {
    /// Wraps the token's text.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token's text, to write to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeToken(hidden)")
    }
}

/// What the chat core tells one user; each door renders it in its own wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A name was accepted; `room` is the room a one-room door put the user in.
    Welcome {
        /// The screen name the user now has.
        nick: String,
        /// The room they were put in, for one-room doors.
        room: Option<RoomView>,
        /// The secret that takes this session over after its connection
        /// ends, for doors whose sessions can be resumed.
        resume: Option<ResumeToken>,
        /// Set when this welcome resumed a waiting session: its rooms, in
        /// the order they were entered, with host rights.
        resumed: Option<Vec<Membership>>,
    },
    /// The user entered a room.
    Entered(RoomView),
    /// The user left a room and stays in the others.
    Parted {
        /// The room left.
        room: String,
        /// What the user said on the way out, if anything.
        message: Option<String>,
    },
    /// Earlier messages of a room: on entering it (`live_follows`), or asked for.
    History {
        /// The room whose messages these are.
        room: String,
        /// The messages, oldest first.
        messages: Vec<RoomMessage>,
        /// Sent on entering: live messages come next, so a door may say where
        /// history ends.
        live_follows: bool,
        /// Only the newest of more than the most one request may show.
        capped_at: Option<usize>,
    },
    /// To the members of a room a host deleted with `:close`.
    RoomClosed {
        /// The closed room.
        room: String,
        /// The host who closed it.
        by: String,
    },
    /// A prompt was answered with nothing; nothing changed.
    Cancelled,
    /// A hidden prompt was ended by something else while the user may still
    /// be typing the answer; that answer will be dropped unread.
    PromptCancelled(PromptCancel),
    /// Someone said something in a room the user is in.
    Message(RoomMessage),
    /// The user's own room message was stored with this id (machine doors).
    Said {
        /// The room it was said in.
        room: String,
        /// Its stored message id.
        id: i64,
        /// When it was stored, in Unix milliseconds.
        at: i64,
    },
    /// Confirmation to the sender of an extra-room message.
    ExtraRoomSent {
        /// The room it went into.
        to_room: String,
        /// How many members of that room it reached.
        members: usize,
    },
    /// A private message to the user.
    Private {
        /// The sender's screen name.
        from: String,
        /// What they wrote.
        text: String,
        /// When it was sent, in Unix milliseconds.
        at: i64,
        /// Sent as a notice (IRC `NOTICE`): shown as one, never answered
        /// automatically.
        notice: bool,
    },
    /// Confirmation to the sender of a private message.
    PrivateSent {
        /// The recipient's screen name.
        to: String,
        /// What was sent.
        text: String,
    },
    /// Someone entered a room the user is in.
    Joined {
        /// The room.
        room: String,
        /// Who entered.
        nick: String,
    },
    /// Someone left a room the user is in.
    Left {
        /// The room.
        room: String,
        /// Who left.
        nick: String,
        /// How they left.
        reason: LeaveReason,
    },
    /// Someone in the room changed their name.
    NickChanged {
        /// A room the user shares with them.
        room: String,
        /// Their name before.
        old: String,
        /// Their name now.
        new: String,
    },
    /// Someone in the room said they are away, or that they are back.
    AwayChanged {
        /// A room the user shares with them.
        room: String,
        /// Who it is.
        nick: String,
        /// What they said on going away; `None` when they are back.
        message: Option<String>,
    },
    /// The user's own name change succeeded.
    NickSet {
        /// The user's new screen name.
        nick: String,
    },
    /// The rooms on the server, when asked.
    RoomList(Vec<RoomSummary>),
    /// A room's members, when asked.
    Who {
        /// The room asked about.
        room: String,
        /// Its members in order of arrival; empty when nobody is in it.
        members: Vec<WhoEntry>,
    },
    /// Everyone connected.
    Users(Vec<String>),
    /// One user in detail, when asked (`Request::Whois`).
    Whois(UserDetails),
    /// A room's topic, when asked.
    Topic {
        /// The room asked about.
        room: String,
        /// Its topic; `None` when it has none.
        topic: Option<String>,
    },
    /// A host set the topic of a room the user is in.
    TopicChanged {
        /// The room.
        room: String,
        /// The host who set it.
        by: String,
        /// The new topic.
        topic: String,
    },
    /// `nick` became a host; `by` is `None` when it happened by succession.
    HostAdded {
        /// The room.
        room: String,
        /// The new host.
        nick: String,
        /// The host who made them one, if anyone did.
        by: Option<String>,
    },
    /// A host took `nick`'s host rights.
    HostRemoved {
        /// The room.
        room: String,
        /// The former host.
        nick: String,
        /// The host who took the rights.
        by: String,
    },
    /// A room's password was set (`locked`) or removed.
    LockChanged {
        /// The room.
        room: String,
        /// The host who changed it.
        by: String,
        /// A password is now needed to enter.
        locked: bool,
    },
    /// A host set or cleared some of a room's modes, in one change.
    ModesChanged {
        /// The room.
        room: String,
        /// The host who did it.
        by: String,
        /// Each mode that changed, in the order asked, with set (`true`)
        /// now or cleared; never empty.
        changes: Vec<(RoomMode, bool)>,
    },
    /// A host gave or took a member's voice.
    VoiceChanged {
        /// The room.
        room: String,
        /// The member.
        nick: String,
        /// The host who did it.
        by: String,
        /// Voiced now, or not.
        on: bool,
    },
    /// A host banned a name pattern from a room, or lifted the ban.
    BanChanged {
        /// The room.
        room: String,
        /// The host who did it.
        by: String,
        /// The pattern.
        mask: String,
        /// Banned now, or lifted.
        on: bool,
    },
    /// A room's bans, when a host asks.
    BanList {
        /// The room.
        room: String,
        /// Its bans, oldest first.
        bans: Vec<BanEntry>,
    },
    /// A room's modes, when asked.
    RoomModes {
        /// The room.
        room: String,
        /// Its modes.
        modes: RoomModes,
        /// It has a password too.
        locked: bool,
    },
    /// To the kicked user.
    YouWereKicked {
        /// The room they were removed from.
        room: String,
        /// The host who kicked them.
        by: String,
        /// What the host said, if anything.
        reason: Option<String>,
    },
    /// To an invited user.
    Invited {
        /// The room they may now enter once without its password.
        room: String,
        /// The host who invited them.
        by: String,
    },
    /// A host of a room the user is in invited `nick` into it.
    MemberInvited {
        /// The room.
        room: String,
        /// The host who invited.
        by: String,
        /// Who was invited.
        nick: String,
    },
    /// Confirmation to the host who invited.
    InviteSent {
        /// The room.
        room: String,
        /// Who was invited.
        nick: String,
    },
    /// Messages of `room` (private ones when `None`) dropped because this
    /// client read too slowly.
    Missed {
        /// The room whose messages were dropped; `None` for private ones.
        room: Option<String>,
        /// How many were dropped.
        count: u64,
    },
    /// The user is now a server operator, authenticated as `name`.
    OperatorNow {
        /// The operator name from the config file.
        name: String,
    },
    /// To a user an operator disconnected; the connection closes next.
    Killed {
        /// The operator's screen name.
        by: String,
        /// Why, if they said.
        reason: Option<String>,
    },
    /// Confirmation to the operator who disconnected `nick`.
    UserKilled {
        /// The user disconnected.
        nick: String,
    },
    /// Confirmation to the operator who set a server ban.
    ServerBanSet {
        /// The ban as it now stands.
        ban: ServerBanEntry,
        /// How many connected users it disconnected.
        disconnected: usize,
    },
    /// Confirmation to the operator who lifted a server ban.
    ServerBanLifted {
        /// The mask of the ban lifted.
        mask: String,
    },
    /// The server bans in force, when an operator asks.
    ServerBanList(Vec<ServerBanEntry>),
    /// A server-wide notice from an operator, to everyone connected.
    Announcement {
        /// The operator's screen name.
        from: String,
        /// What they said.
        text: String,
    },
    /// A request failed and nothing changed.
    Refused(Refusal),
    /// Answer to a ping.
    Pong,
    /// A request was carried out and there is nothing more to say about it
    /// (machine doors answer every request).
    Done,
    /// Reply to `:exit`.
    Goodbye,
    /// The server is stopping; the connection closes next.
    ShuttingDown,
}

impl Event {
    /// What the event costs in a client's outbox, in bytes: about its size on
    /// any wire, and the same whatever door renders it, so the outbox bound
    /// means the same for every client and is known before rendering.
    pub fn weight(&self) -> usize {
        /// Framing, names of fields, punctuation.
        const OVERHEAD: usize = 32;
        let text = match self {
            Event::Message(message) => message_weight(message),
            Event::History { messages, .. } => messages.iter().map(message_weight).sum(),
            Event::Entered(view)
            | Event::Welcome {
                room: Some(view), ..
            } => {
                view.recent.iter().map(message_weight).sum::<usize>()
                    + view.members.iter().map(|m| m.nick.len() + 8).sum::<usize>()
                    + view.topic.as_ref().map_or(0, String::len)
            }
            Event::Private { from, text, .. } | Event::PrivateSent { to: from, text } => {
                from.len() + text.len()
            }
            Event::RoomList(rooms) => rooms
                .iter()
                .map(|r| r.name.len() + r.topic.as_ref().map_or(0, String::len) + 16)
                .sum(),
            Event::Who { members, .. } => members.iter().map(|m| m.nick.len() + 8).sum(),
            Event::Users(names) => names.iter().map(|n| n.len() + 2).sum(),
            Event::Whois(details) => {
                let user = &details.user;
                user.nick.len()
                    + user.away.as_ref().map_or(0, |away| away.len())
                    + user.address.as_ref().map_or(0, String::len)
                    + details
                        .rooms
                        .iter()
                        .map(|m| m.room.len() + 8)
                        .sum::<usize>()
            }
            Event::BanList { bans, .. } => {
                bans.iter().map(|b| b.mask.len() + b.by.len() + 16).sum()
            }
            Event::Topic { topic, .. } => topic.as_ref().map_or(0, String::len),
            Event::TopicChanged { topic, .. } => topic.len(),
            Event::Announcement { from, text } => from.len() + text.len(),
            Event::ServerBanList(bans) => bans
                .iter()
                .map(|ban| ban.mask.len() + ban.reason.len() + ban.by.len() + 24)
                .sum(),
            Event::AwayChanged { nick, message, .. } => {
                nick.len() + message.as_ref().map_or(0, String::len)
            }
            _ => 0,
        };
        OVERHEAD + text
    }

    /// The room this event is about, if one.
    pub fn room(&self) -> Option<&str> {
        match self {
            Event::Message(RoomMessage { room, .. }) => Some(room),
            Event::Joined { room, .. }
            | Event::Left { room, .. }
            | Event::NickChanged { room, .. }
            | Event::AwayChanged { room, .. }
            | Event::MemberInvited { room, .. }
            | Event::TopicChanged { room, .. }
            | Event::HostAdded { room, .. }
            | Event::HostRemoved { room, .. }
            | Event::LockChanged { room, .. }
            | Event::ModesChanged { room, .. }
            | Event::VoiceChanged { room, .. }
            | Event::BanChanged { room, .. } => Some(room),
            _ => None,
        }
    }
}

fn message_weight(message: &RoomMessage) -> usize {
    let from_room = match &message.kind {
        MessageKind::FromRoom(room) => room.len(),
        _ => 0,
    };
    message.room.len() + message.from.len() + message.text.len() + from_room + 24
}

/// `at` (Unix milliseconds) as `2026-12-06 17:05 UTC`, for sentences that
/// name a time (when a server ban ends).
pub fn utc_minute(at: i64) -> String {
    let minutes = at.div_euclid(60_000);
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_764_619_200_000), "2025-12-01 20:00 UTC");
        assert_eq!(utc_minute(951_782_400_000 + 61_000), "2000-02-29 00:01 UTC");
    }
}
