//! The IRC door's side of a connection: registration, IRC commands as core
//! requests, pings.
//!
//! The session engine (`doors::session`) reads, paces and ends the
//! connection; this [`Session`] handles each line the [`Framer`] cuts, and
//! the engine's writer renders the outbox with an [`IrcRenderer`]. Lines are
//! handled one at a time, in order, so a client that sends everything before
//! reading (senpai, bots) gets its answers in order too. Queries (WHO, WHOIS,
//! NAMES, LIST, ISON, USERHOST, the MODE query, 333) ask the core and render
//! its typed answers as numerics; lines the core has no event for (CAP,
//! welcome, numerics) go through the same outbox as this door's own
//! [`IrcLines`], so they keep their place among room traffic.
//!
//! Registration completes once NICK and USER are in and any CAP negotiation
//! has ended; a client that gets there within the registration timeout is
//! welcomed, any other is dropped. The same limits apply as at every door:
//! the rate limit per line, the byte budget, the outbox bound (reading stops
//! while it is full), and a silent client is sent a PING and dropped if it
//! stays silent.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::event::{Profile, UserInfo};
use banter_proto::names::fold;
use banter_proto::request::{Request, SayKind};
use banter_proto::{Event, Nick, Refusal, RoomMode};
use bytes::BytesMut;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::caps::{
    self, Caps, CapsTaken, ECHO_MESSAGE, MULTI_PREFIX, SERVER_TIME, USERHOST_IN_NAMES,
};
use super::message::{self, parse, Frame, Framer, ParseError};
use super::numerics::*;
use super::render::{self, mask, IrcLines, IrcRenderer};
use super::HOST;
use crate::config::Config;
use crate::core::{now_millis, Door, Payload, UserState, MAX_BANS};
use crate::doors::session::{Decode, DoorSession, End};

mod help;
mod operators;

/// Most targets of one PRIVMSG, NOTICE, KICK, NAMES or WHOIS (ISUPPORT
/// `MAXTARGETS` and `TARGMAX`).
const MAX_TARGETS: usize = 4;
/// Most channels of one JOIN or PART.
const MAX_CHANNELS_PER_LINE: usize = 10;
/// Lines of a long answer (WHO, NAMES, LIST) queued before the session
/// waits for the client to read them.
const LINES_PER_PACE: usize = 64;
/// Most users one `WHO` mask lists.
const MAX_WHO_MATCHES: usize = 200;
/// Longest channel name: a room name and its `#`.
const CHANNEL_LEN: usize = banter_proto::names::MAX_ROOM_LEN + 1;

/// One IRC connection's state, owned by its task.
pub(crate) struct Session {
    user: UserState,
    /// The server's name (`--irc-server-name`), as it signs its own lines.
    server: Arc<str>,
    caps: Caps,
    /// The nick asked for before registration.
    nick: Option<String>,
    /// USER was sent.
    user_sent: bool,
    /// CAP LS or REQ came before registration and no CAP END yet.
    negotiating: bool,
    /// User mode `+i`, kept for the client's sake: it changes nothing.
    invisible: bool,
    /// Flood items the line being handled costs beyond itself: every target
    /// past a line's first costs one more.
    surcharge: usize,
    /// The server's: a long answer waiting for the client to read stops
    /// waiting at shutdown (and when the writer ends).
    shutdown: CancellationToken,
}

/// A QUIT or PART message as other doors may show it: IRC formatting and
/// control characters out; nothing when empty.
fn leave_message(param: Option<&&str>) -> Option<String> {
    let text = message::plain(param?);
    (!text.trim().is_empty()).then_some(text)
}

/// The distinct (case-folded) non-empty targets of a comma list, each with
/// its place in the list, or the first one past `max`.
fn distinct_targets(list: &str, max: usize) -> Result<Vec<(usize, &str)>, &str> {
    let mut targets: Vec<(usize, &str)> = Vec::new();
    for (at, target) in list.split(',').enumerate() {
        if target.is_empty() || targets.iter().any(|(_, seen)| fold(seen) == fold(target)) {
            continue;
        }
        if targets.len() == max {
            return Err(target);
        }
        targets.push((at, target));
    }
    Ok(targets)
}

fn too_many_targets(replies: &mut Replies, excess: &str) {
    replies.numeric(
        ERR_TOOMANYTARGETS,
        &[&message::clean(excess)],
        "Too many targets",
    );
}

/// The room a channel name is, if it is one (`#games` is `games`).
fn room_of(channel: &str) -> Option<&str> {
    channel.strip_prefix('#')
}

/// A PRIVMSG or NOTICE text as said: an emote for a CTCP ACTION, `None` for
/// any other CTCP request (they mean nothing to other doors and are dropped).
fn said(text: &str) -> Option<(SayKind, String)> {
    let Some(ctcp) = text.strip_prefix('\x01') else {
        return Some((SayKind::Chat, message::plain(text)));
    };
    let ctcp = ctcp.strip_suffix('\x01').unwrap_or(ctcp);
    let action = ctcp.strip_prefix("ACTION")?;
    if !(action.is_empty() || action.starts_with(' ')) {
        return None;
    }
    Some((
        SayKind::Emote,
        message::plain(action.trim_start_matches(' ')),
    ))
}

impl DoorSession for Session {
    type Item = Frame;
    type Renderer = IrcRenderer;

    fn door(config: &Config) -> Door {
        Door {
            name: "irc",
            one_room: false,
            max_rooms: config.max_rooms_per_user,
            lists_members: true,
            answers_every_request: false,
            resumable: false,
        }
    }

    fn open(user: UserState, shutdown: &CancellationToken) -> (Self, IrcRenderer) {
        let server = Arc::clone(&user.hub.services.config.irc_server_name);
        let renderer = IrcRenderer::new(Arc::clone(&server));
        let session = Session {
            user,
            server,
            caps: Caps::default(),
            nick: None,
            user_sent: false,
            negotiating: false,
            invisible: false,
            surcharge: 0,
            shutdown: shutdown.clone(),
        };
        (session, renderer)
    }

    fn user(&mut self) -> &mut UserState {
        &mut self.user
    }

    async fn handle_input(&mut self, frame: Frame) -> Option<End> {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => {
                let mut replies = self.replies();
                replies.numeric(ERR_INPUTTOOLONG, &[], "Input line was too long");
                self.flush(&mut replies);
                return None;
            }
        };
        self.user.begin_request(None);
        // Boxed: request futures (hashing, store round trips) are large;
        // the engine's box for this one stays small.
        Box::pin(self.handle(&line)).await.map(End::Quit)
    }

    fn surcharge(&mut self) -> usize {
        std::mem::take(&mut self.surcharge)
    }

    fn silence_limit(&self) -> Option<Duration> {
        Some(self.user.hub.services.config.irc_ping_interval())
    }

    /// A silent client is sent a PING, and dropped if it stays silent.
    fn probe(&mut self) -> bool {
        self.send(format!("PING :{}\r\n", self.server));
        true
    }

    /// The last thing the client is told, after it has left its rooms.
    fn farewell(end: &End) -> Option<Payload> {
        let error = |text: String| Some(Payload::door(IrcLines(format!("ERROR :{text}\r\n"))));
        match end {
            End::Quit(_) => Some(Event::Goodbye.into()),
            End::Shutdown => Some(Event::ShuttingDown.into()),
            End::RegistrationTimeout(secs) => error(format!(
                "Closing link: registration timed out ({secs} s without NICK, USER and CAP END)"
            )),
            End::Silent => error("Closing link: ping timeout".into()),
            End::Flood => error("Closing link: excess flood".into()),
            End::Killed(message) => error(format!("Closing link: {message}")),
            End::Closed | End::ReadError(_) | End::WriterGone | End::Overflow => None,
        }
    }
}

/// IRC lines and over-long lines' notices; what is left at the end of the
/// stream is no line.
impl Decode for Framer {
    type Item = Frame;

    fn decode(&mut self, buffer: &mut BytesMut) -> io::Result<Option<Frame>> {
        Ok(self.next(buffer))
    }

    fn decode_eof(&mut self, _buffer: &mut BytesMut) -> io::Result<Option<Frame>> {
        Ok(None)
    }
}

impl Session {
    /// Queues lines for the client, in order with everything else.
    fn send(&self, lines: String) {
        if !lines.is_empty() {
            self.user.outbox.reply_door(IrcLines(lines));
        }
    }

    fn flush(&self, replies: &mut Replies) {
        self.send(std::mem::take(&mut replies.out));
    }

    /// Replies addressed to this client's nick, or `*` before it has one.
    fn replies(&self) -> Replies {
        Replies::new(&self.server, self.user.nick().map_or("*", Nick::as_str))
    }

    /// Carries out a core request after the lines so far, so its events
    /// follow them.
    async fn execute(&mut self, replies: &mut Replies, request: Request) -> Result<(), Refusal> {
        self.flush(replies);
        self.user.execute(request).await
    }

    /// Handles one line; `Some` (with the quit message) when the client quits.
    async fn handle(&mut self, line: &str) -> Option<Option<String>> {
        let mut replies = self.replies();
        let message = match parse(line) {
            Ok(message) => message,
            Err(ParseError::Empty) => return None,
            Err(ParseError::TooLong) => {
                replies.numeric(ERR_INPUTTOOLONG, &[], "Input line was too long");
                self.flush(&mut replies);
                return None;
            }
        };
        let params = message.params.as_slice();
        let command = message.command.as_str();
        let registered = self.user.nick().is_some();
        let needs = |count: usize| params.len() >= count;
        match command {
            "QUIT" => return Some(leave_message(params.first())),
            "CAP" => self.cap(&mut replies, params),
            "PING" => match params.first() {
                Some(token) => replies.line(format_args!(
                    ":{0} PONG {0} :{1}",
                    self.server,
                    message::clean(token)
                )),
                None => replies.numeric(ERR_NOORIGIN, &[], "No origin specified"),
            },
            "PONG" => {}
            "PASS" | "USER" if registered => {
                replies.numeric(ERR_ALREADYREGISTERED, &[], "You may not reregister")
            }
            "PASS" if !needs(1) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            // Accepted and ignored: the server has no password.
            "PASS" => {}
            "USER" if !needs(4) || params[3].is_empty() => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "USER" => {
                self.user.set_profile(profile(params[0], params[3]));
                self.user_sent = true;
            }
            "NICK" => match params.first().filter(|nick| !nick.is_empty()) {
                None => replies.numeric(ERR_NONICKNAMEGIVEN, &[], "No nickname given"),
                Some(nick) if registered => {
                    let request = Request::Nick {
                        name: (*nick).to_owned(),
                    };
                    match self.execute(&mut replies, request).await {
                        Ok(()) | Err(Refusal::AlreadyNamed { .. }) => {}
                        Err(refusal) => replies.refusal("NICK", "", nick, &refusal),
                    }
                }
                Some(nick) => self.choose_nick(&mut replies, nick),
            },
            _ if !registered => replies.numeric(ERR_NOTREGISTERED, &[], "You have not registered"),
            "JOIN" if !needs(1) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "JOIN" => {
                self.join(&mut replies, params[0], params.get(1).copied())
                    .await
            }
            "PART" if !needs(1) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "PART" => {
                for (_, channel) in self.targets(&mut replies, params[0], MAX_CHANNELS_PER_LINE) {
                    let room = room_of(channel).unwrap_or(channel).to_owned();
                    let message = leave_message(params.get(1));
                    let part = Request::Part { room, message };
                    if let Err(refusal) = self.execute(&mut replies, part).await {
                        replies.refusal(command, channel, "", &refusal);
                    }
                }
            }
            "PRIVMSG" | "NOTICE" => self.privmsg(&mut replies, command, params).await,
            "TOPIC" if !needs(1) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "TOPIC" => {
                let channel = params[0];
                match room_of(channel) {
                    None => replies.numeric(ERR_NOSUCHCHANNEL, &[channel], "No such channel"),
                    Some(room) => {
                        let request = Request::Topic {
                            room: Some(room.to_owned()),
                            text: params.get(1).map(|text| message::plain(text)),
                        };
                        let query = params.len() == 1;
                        match self.execute(&mut replies, request).await {
                            Ok(()) if query => self.topic_who_time(&mut replies, room),
                            Ok(()) => {}
                            Err(refusal) => replies.refusal(command, channel, "", &refusal),
                        }
                    }
                }
            }
            "NAMES" => match params.first().filter(|channels| !channels.is_empty()) {
                None => replies.numeric(RPL_ENDOFNAMES, &["*"], "End of /NAMES list"),
                Some(channels) => match self.targets(&mut replies, channels, MAX_TARGETS)[..] {
                    [] => {}
                    [(_, channel)] => self.names(&mut replies, channel),
                    ref several => {
                        // Each channel's 353s, then one 366 for the whole list.
                        for &(_, channel) in several {
                            self.name_lines(&mut replies, channel);
                            self.pace(&mut replies).await;
                        }
                        let listed: Vec<&str> = several.iter().map(|(_, c)| *c).collect();
                        let listed = message::clean(&listed.join(",")).into_owned();
                        replies.numeric(RPL_ENDOFNAMES, &[&listed], "End of /NAMES list");
                    }
                },
            },
            "LIST" => self.list(&mut replies, params.first().copied()).await,
            "WHO" => {
                self.who(&mut replies, params.first().copied().unwrap_or("*"))
                    .await
            }
            "WHOIS" if !needs(1) => replies.numeric(ERR_NONICKNAMEGIVEN, &[], "No nickname given"),
            "WHOIS" => {
                let nicks = params[params.len() - 1];
                for (_, nick) in self.targets(&mut replies, nicks, MAX_TARGETS) {
                    self.whois(&mut replies, nick);
                }
            }
            "MODE" if !needs(1) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "MODE" if params[0].starts_with('#') => {
                // One channel a line: a key set costs a hash, and each line a flood item.
                for (_, channel) in self.targets(&mut replies, params[0], 1) {
                    self.channel_mode(&mut replies, channel, &params[1..]).await;
                }
            }
            "MODE" => self.user_mode(&mut replies, params),
            "KICK" if !needs(2) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "KICK" => {
                let reason = params
                    .get(2)
                    .map(|reason| message::plain(reason))
                    .filter(|reason| !reason.is_empty());
                // One channel for every user, or one channel per user (RFC 2812 3.2.8).
                let channels: Vec<&str> = params[0].split(',').collect();
                let names = self.targets(&mut replies, params[1], MAX_TARGETS);
                if channels.len() != 1 && channels.len() != params[1].split(',').count() {
                    replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters");
                    self.flush(&mut replies);
                    return None;
                }
                for (at, name) in names {
                    let channel = if channels.len() == 1 {
                        channels[0]
                    } else {
                        channels[at]
                    };
                    let request = Request::Kick {
                        room: Some(room_of(channel).unwrap_or(channel).to_owned()),
                        name: name.to_owned(),
                        reason: reason.clone(),
                    };
                    if let Err(refusal) = self.execute(&mut replies, request).await {
                        replies.refusal(command, channel, name, &refusal);
                    }
                }
            }
            "INVITE" if !needs(2) => {
                replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
            }
            "INVITE" => {
                let (name, channel) = (params[0], params[1]);
                let Some(invited) = self.user.user_details(name) else {
                    replies.numeric(
                        ERR_NOSUCHNICK,
                        &[&message::clean(name)],
                        "No such nick/channel",
                    );
                    self.flush(&mut replies);
                    return None;
                };
                let wanted = room_of(channel).map(fold);
                if let Some(there) = invited
                    .rooms
                    .iter()
                    .find(|membership| Some(fold(&membership.room)) == wanted)
                {
                    let channel = format!("#{}", there.room);
                    replies.numeric(
                        ERR_USERONCHANNEL,
                        &[&invited.user.nick, &channel],
                        "is already on channel",
                    );
                    self.flush(&mut replies);
                    return None;
                }
                let request = Request::Invite {
                    room: Some(room_of(channel).unwrap_or(channel).to_owned()),
                    name: name.to_owned(),
                };
                if let Err(refusal) = self.execute(&mut replies, request).await {
                    replies.refusal(command, channel, name, &refusal);
                }
            }
            "AWAY" => {
                let message = params
                    .first()
                    .map(|text| message::plain(text))
                    .filter(|text| !text.is_empty());
                let away = message.is_some();
                // Setting one's own status is never refused.
                let _ = self.execute(&mut replies, Request::Away { message }).await;
                if away {
                    replies.numeric(RPL_NOWAWAY, &[], "You have been marked as being away");
                } else {
                    replies.numeric(RPL_UNAWAY, &[], "You are no longer marked as being away");
                }
            }
            "ISON" => {
                let present: Vec<String> = params
                    .iter()
                    .flat_map(|names| names.split(' '))
                    .filter_map(|name| self.user.user_info(name))
                    .map(|user| user.nick)
                    .collect();
                replies.numeric(RPL_ISON, &[], &present.join(" "));
            }
            "USERHOST" => {
                let found: Vec<String> = params
                    .iter()
                    .take(5)
                    .filter_map(|name| self.user.user_info(name))
                    .map(|user| {
                        let here = if user.away.is_some() { '-' } else { '+' };
                        format!("{0}={here}{0}@{HOST}", user.nick)
                    })
                    .collect();
                replies.numeric(RPL_USERHOST, &[], &found.join(" "));
            }
            "HELP" | "HELPOP" => help::help(&mut replies, params.first().copied()),
            "OPER" | "KILL" | "KLINE" | "UNKLINE" | "STATS" | "WALLOPS" | "SAMODE" => {
                self.operator_command(&mut replies, command, params).await
            }
            "MOTD" => motd(&mut replies),
            "TIME" => {
                let now = render::server_time(now_millis());
                replies.numeric(RPL_TIME, &[&self.server], &now)
            }
            _ => replies.numeric(ERR_UNKNOWNCOMMAND, &[command], "Unknown command"),
        }
        self.flush(&mut replies);
        if !registered {
            self.try_register().await;
        }
        // Reminds the user, now and then, if history is not being saved.
        self.user.answer(Ok(()));
        None
    }

    /// The distinct targets of a comma list, each with its place in the list
    /// (for JOIN's keys), or none and `407` when there are more than `max`.
    /// Every target past the first costs the client one flood item.
    fn targets<'a>(
        &mut self,
        replies: &mut Replies,
        list: &'a str,
        max: usize,
    ) -> Vec<(usize, &'a str)> {
        match distinct_targets(list, max) {
            Ok(targets) => {
                self.surcharge += targets.len().saturating_sub(1);
                targets
            }
            Err(excess) => {
                too_many_targets(replies, excess);
                Vec::new()
            }
        }
    }

    /// Queues the lines so far and, while the client has not read enough of
    /// its output, waits: a long answer holds no more of the server's memory
    /// than the outbox bound, however much was asked for.
    async fn pace(&self, replies: &mut Replies) {
        self.flush(replies);
        let outbox = &self.user.outbox;
        while outbox.is_full() && !outbox.overflowed() && !outbox.writer_ended() {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return,
                _ = outbox.drained() => {}
            }
        }
    }

    fn cap(&mut self, replies: &mut Replies, params: &[&str]) {
        let registered = self.user.nick().is_some();
        let nick = replies.nick().to_owned();
        let Some(sub) = params.first() else {
            replies.numeric(ERR_NEEDMOREPARAMS, &["CAP"], "Not enough parameters");
            return;
        };
        match sub.to_ascii_uppercase().as_str() {
            "LS" => {
                self.negotiating |= !registered;
                replies.line(format_args!(
                    ":{} CAP {nick} LS :{}",
                    self.server,
                    caps::offered()
                ));
            }
            "LIST" => replies.line(format_args!(
                ":{} CAP {nick} LIST :{}",
                self.server,
                self.caps.list()
            )),
            "REQ" => {
                self.negotiating |= !registered;
                let list = message::clean(params.get(1).copied().unwrap_or(""));
                let answer = if self.caps.request(&list) {
                    self.user.outbox.reply_door(CapsTaken(self.caps));
                    "ACK"
                } else {
                    "NAK"
                };
                replies.line(format_args!(":{} CAP {nick} {answer} :{list}", self.server));
            }
            "END" => self.negotiating = false,
            _ => replies.numeric(
                ERR_INVALIDCAPCMD,
                &[&message::clean(sub)],
                "Invalid CAP command",
            ),
        }
    }

    /// NICK before registration: checked now, taken at registration.
    fn choose_nick(&mut self, replies: &mut Replies, nick: &str) {
        match Nick::parse(nick) {
            Err(err) => replies.refusal("NICK", "", &message::clean(nick), &err.into()),
            Ok(_) if self.user.user_info(nick).is_some() => {
                replies.numeric(ERR_NICKNAMEINUSE, &[nick], "Nickname is already in use")
            }
            Ok(_) => self.nick = Some(nick.to_owned()),
        }
    }

    /// Registers once NICK and USER are in and CAP negotiation is over, and
    /// welcomes the client.
    async fn try_register(&mut self) {
        if self.negotiating || !self.user_sent {
            return;
        }
        let Some(nick) = self.nick.take() else {
            return;
        };
        let mut replies = self.replies();
        if let Err(refusal) = self.user.register(&nick, None).await {
            replies.refusal("NICK", "", &nick, &refusal);
            self.flush(&mut replies);
            return;
        }
        let mut replies = self.replies();
        let config = &self.user.hub.services.config;
        let version = env!("CARGO_PKG_VERSION");
        replies.numeric(
            RPL_WELCOME,
            &[],
            &format!("Welcome to banter, {}", mask(&nick)),
        );
        replies.numeric(
            RPL_YOURHOST,
            &[],
            &format!("Your host is {}, running banterd {version}", self.server),
        );
        replies.numeric(
            RPL_CREATED,
            &[],
            "This server speaks IRC as one of banter's doors",
        );
        replies.numeric_bare(
            RPL_MYINFO,
            &format!("{} banterd-{version} i bikmnostv bkov", self.server),
        );
        replies.numeric(
            RPL_ISUPPORT,
            &[
                "CASEMAPPING=ascii",
                &format!("CHANLIMIT=#:{}", config.max_rooms_per_user),
                "CHANMODES=b,k,,imnst",
                &format!("CHANNELLEN={CHANNEL_LEN}"),
                "CHANTYPES=#",
                &format!("MAXTARGETS={MAX_TARGETS}"),
                &format!(
                    "TARGMAX=JOIN:{MAX_CHANNELS_PER_LINE},PART:{MAX_CHANNELS_PER_LINE},\
                     NAMES:{MAX_TARGETS},WHOIS:{MAX_TARGETS},PRIVMSG:{MAX_TARGETS},\
                     NOTICE:{MAX_TARGETS},KICK:{MAX_TARGETS},MODE:1"
                ),
                "NETWORK=banter",
                &format!("NICKLEN={}", banter_proto::names::MAX_NICK_LEN),
                &format!("MAXLIST=b:{MAX_BANS}"),
                "PREFIX=(ov)@+",
                &format!("USERLEN={USER_LEN}"),
            ],
            "are supported by this server",
        );
        motd(&mut replies);
        self.flush(&mut replies);
        debug!(peer = %self.user.peer, %nick, "irc user registered");
    }

    async fn join(&mut self, replies: &mut Replies, channels: &str, keys: Option<&str>) {
        if channels == "0" {
            for room in self.user.room_names() {
                let part = Request::Part {
                    room,
                    message: None,
                };
                let _ = self.execute(replies, part).await;
            }
            return;
        }
        let keys: Vec<&str> = keys.map_or_else(Vec::new, |keys| keys.split(',').collect());
        for (at, channel) in self.targets(replies, channels, MAX_CHANNELS_PER_LINE) {
            let Some(room) = room_of(channel) else {
                replies.numeric(
                    ERR_NOSUCHCHANNEL,
                    &[&message::clean(channel)],
                    "No such channel",
                );
                continue;
            };
            if self.user.is_in_room(room) {
                continue;
            }
            let password = keys
                .get(at)
                .filter(|key| !key.is_empty())
                .map(|key| (*key).to_owned());
            let join = Request::Join {
                room: room.to_owned(),
                password,
                if_epoch: None,
                since: None,
            };
            let result = match self.user.room_status(room) {
                Ok(_) => self.execute(replies, join).await,
                Err(_) => {
                    let create = Request::Create {
                        room: room.to_owned(),
                    };
                    match self.execute(replies, create).await {
                        // Someone made it meanwhile.
                        Err(Refusal::RoomExists { .. }) => self.execute(replies, join).await,
                        other => other,
                    }
                }
            };
            match result {
                Ok(()) => self.topic_who_time(replies, room),
                Err(refusal) => replies.refusal("JOIN", &message::clean(channel), "", &refusal),
            }
        }
    }

    /// `333`: who set the topic of `room` and when, when there is a topic and
    /// that is known; it follows the `332` the core's event gave.
    fn topic_who_time(&self, replies: &mut Replies, room: &str) {
        let Ok(status) = self.user.room_status(room) else {
            return;
        };
        if status.topic.is_some_and(|topic| !topic.is_empty()) {
            if let Some(set) = status.topic_set {
                let channel = format!("#{}", status.room);
                let (by, at) = (set.by, set.at / 1000);
                replies.numeric_bare(RPL_TOPICWHOTIME, &format!("{channel} {by} {at}"));
            }
        }
    }

    async fn privmsg(&mut self, replies: &mut Replies, command: &str, params: &[&str]) {
        // A NOTICE is never answered with an error (RFC 2812 3.3.2).
        let notice = command == "NOTICE";
        let (targets, text) = match params {
            [] => {
                if !notice {
                    replies.numeric(
                        ERR_NORECIPIENT,
                        &[],
                        &format!("No recipient given ({command})"),
                    );
                }
                return;
            }
            [_] => {
                if !notice {
                    replies.numeric(ERR_NOTEXTTOSEND, &[], "No text to send");
                }
                return;
            }
            [targets, text, ..] => (*targets, *text),
        };
        let Some((kind, text)) = said(text) else {
            return;
        };
        let kind = match kind {
            SayKind::Chat if notice => SayKind::Notice,
            other => other,
        };
        if text.is_empty() && kind != SayKind::Emote {
            if !notice {
                replies.numeric(ERR_NOTEXTTOSEND, &[], "No text to send");
            }
            return;
        }
        let targets = match distinct_targets(targets, MAX_TARGETS) {
            Ok(targets) => targets,
            Err(excess) => {
                if !notice {
                    too_many_targets(replies, excess);
                }
                return;
            }
        };
        self.surcharge += targets.len().saturating_sub(1);
        let echo = self.caps.has(ECHO_MESSAGE);
        let timed = self.caps.has(SERVER_TIME);
        let me = self.user.registered_nick().to_string();
        let mut out = BytesMut::new();
        for (_, target) in targets {
            if target.starts_with('$') {
                // `$*` (or any server mask): an operator's word to everyone.
                let request = Request::Announce { text: text.clone() };
                if let Err(refusal) = self.execute(replies, request).await {
                    if !notice {
                        replies.refusal(command, "", &message::clean(target), &refusal);
                    }
                }
            } else if let Some(room) = room_of(target) {
                self.flush(replies);
                match self.user.say_to_others(room, kind, &text).await {
                    Ok(said) if echo => render::message(&mut out, &said, command, timed),
                    Ok(_) => {}
                    Err(refusal) if !notice => replies.refusal(command, target, "", &refusal),
                    Err(_) => {}
                }
            } else if fold(target) == fold(&me) {
                // To oneself: it comes back, once.
                let at = timed.then(now_millis);
                render::private(&mut out, &me, &me, command, &private_text(kind, &text), at);
            } else {
                let text = private_text(kind, &text);
                let request = Request::Private {
                    to: target.to_owned(),
                    text: text.clone(),
                    notice,
                };
                match self.execute(replies, request).await {
                    Ok(()) => {
                        let recipient = self.user.user_info(target);
                        if echo {
                            let to = recipient
                                .as_ref()
                                .map_or_else(|| target.to_owned(), |user| user.nick.clone());
                            let at = timed.then(now_millis);
                            render::private(&mut out, &me, &to, command, &text, at);
                        }
                        if let Some(user) = recipient.filter(|_| !notice) {
                            if let Some(away) = &user.away {
                                replies.numeric(RPL_AWAY, &[&user.nick], away);
                            }
                        }
                    }
                    Err(refusal) if !notice => {
                        replies.refusal(command, "", &message::clean(target), &refusal)
                    }
                    Err(_) => {}
                }
            }
            if !out.is_empty() {
                replies.out.push_str(&String::from_utf8_lossy(&out));
                out.clear();
            }
        }
    }

    /// `channel`'s members as NAMES lists them (each with its prefix), if it
    /// is a room this client may see: its name, whether it is secret, them.
    fn channel_members(&self, channel: &str) -> Option<(String, bool, Vec<Named>)> {
        let listing = self.user.members(room_of(channel)?).ok()?;
        let secret = self
            .user
            .room_status(&listing.room)
            .is_ok_and(|status| status.modes.has(RoomMode::Secret));
        let multi = self.caps.has(MULTI_PREFIX);
        let members = listing
            .members
            .into_iter()
            .map(|member| {
                let prefix = render::prefix(member.host, member.voice, multi);
                (member.user.nick, prefix)
            })
            .collect();
        Some((listing.room, secret, members))
    }

    /// `353`s of `channel`'s members, if it is a room, without a `366`.
    fn name_lines(&self, replies: &mut Replies, channel: &str) {
        if let Some((room, secret, members)) = self.channel_members(channel) {
            let masks = self.caps.has(USERHOST_IN_NAMES);
            let members = members
                .iter()
                .map(|(nick, prefix)| (nick.as_str(), *prefix));
            render::name_lines(replies, &room, secret, members, masks);
        }
    }

    fn names(&self, replies: &mut Replies, channel: &str) {
        match self.channel_members(channel) {
            Some((room, secret, members)) => {
                let masks = self.caps.has(USERHOST_IN_NAMES);
                let members = members
                    .iter()
                    .map(|(nick, prefix)| (nick.as_str(), *prefix));
                render::names(replies, &room, secret, members, masks);
            }
            None => replies.numeric(
                RPL_ENDOFNAMES,
                &[&message::clean(channel)],
                "End of /NAMES list",
            ),
        }
    }

    async fn list(&self, replies: &mut Replies, channels: Option<&str>) {
        let wanted: Option<Vec<String>> = channels.map(|channels| {
            channels
                .split(',')
                .map(|channel| fold(room_of(channel).unwrap_or(channel)))
                .collect()
        });
        replies.numeric(RPL_LISTSTART, &["Channel"], "Users  Name");
        for (listed, summary) in self.user.rooms_listing().into_iter().enumerate() {
            if listed % LINES_PER_PACE == LINES_PER_PACE - 1 {
                self.pace(replies).await;
            }
            if wanted
                .as_ref()
                .is_some_and(|wanted| !wanted.contains(&fold(&summary.name)))
            {
                continue;
            }
            let mut topic = String::new();
            if summary.locked {
                topic.push_str("[+k] ");
            }
            topic.push_str(summary.topic.as_deref().unwrap_or(""));
            replies.numeric(
                RPL_LIST,
                &[&format!("#{}", summary.name), &summary.members.to_string()],
                &topic,
            );
        }
        replies.numeric(RPL_LISTEND, &[], "End of /LIST");
    }

    async fn who(&self, replies: &mut Replies, target: &str) {
        // The server field is `*`: there is one server, and naming it says nothing.
        let multi = self.caps.has(MULTI_PREFIX);
        let who_line = |replies: &mut Replies, channel: &str, user: &UserInfo, prefix: &str| {
            let here = if user.away.is_some() { 'G' } else { 'H' };
            let operator = if user.operator { "*" } else { "" };
            let flags = format!("{here}{operator}{prefix}");
            let (username, realname) = identity(user);
            replies.numeric(
                RPL_WHOREPLY,
                &[channel, username, HOST, "*", &user.nick, &flags],
                &format!("0 {realname}"),
            );
        };
        if let Some(listing) = room_of(target).and_then(|room| self.user.members(room).ok()) {
            let channel = format!("#{}", listing.room);
            for (listed, member) in listing.members.iter().enumerate() {
                let prefix = render::prefix(member.host, member.voice, multi);
                who_line(replies, &channel, &member.user, prefix);
                if listed % LINES_PER_PACE == LINES_PER_PACE - 1 {
                    self.pace(replies).await;
                }
            }
        } else if let Some(user) = self.user.user_info(target) {
            who_line(replies, "*", &user, "");
        } else if target.contains(['*', '?']) {
            let nick_part = target.split('!').next().unwrap_or_default();
            for user in self.user.users_matching(nick_part, MAX_WHO_MATCHES) {
                who_line(replies, "*", &user, "");
            }
        }
        replies.numeric(RPL_ENDOFWHO, &[&message::clean(target)], "End of /WHO list");
    }

    fn whois(&self, replies: &mut Replies, nick: &str) {
        let nick = message::clean(nick);
        match self.user.user_details(&nick) {
            None => replies.numeric(ERR_NOSUCHNICK, &[&nick], "No such nick/channel"),
            Some(details) => {
                let user = &details.user;
                let name = user.nick.as_str();
                let (username, realname) = identity(user);
                replies.numeric(RPL_WHOISUSER, &[name, username, HOST, "*"], realname);
                let rooms: Vec<String> = details
                    .rooms
                    .iter()
                    .map(|m| {
                        let prefix = render::prefix(m.host, m.voice, self.caps.has(MULTI_PREFIX));
                        format!("{prefix}#{}", m.room)
                    })
                    .collect();
                if !rooms.is_empty() {
                    replies.numeric(RPL_WHOISCHANNELS, &[name], &rooms.join(" "));
                }
                replies.numeric(RPL_WHOISSERVER, &[name, &self.server], "banter chat server");
                if user.operator {
                    replies.numeric(RPL_WHOISOPERATOR, &[name], "is an IRC operator");
                }
                if let Some(address) = &user.address {
                    // Only operators are told it (the core leaves it out otherwise).
                    replies.numeric(
                        RPL_WHOISACTUALLY,
                        &[name, &format!("{username}@{address}"), address],
                        "actually using host",
                    );
                }
                if let Some(away) = &user.away {
                    replies.numeric(RPL_AWAY, &[name], away);
                }
            }
        }
        replies.numeric(RPL_ENDOFWHOIS, &[&nick], "End of /WHOIS list");
    }

    /// `MODE #room [modes [params]]`: the query (324 with the real modes);
    /// `+k`/`-k` (the password), `+o`/`-o` (hosts), `+v`/`-v` (voices),
    /// `+b`/`-b` (bans; `b` alone lists them), each a core request; a run of
    /// `i`, `m`, `n`, `s` and `t` (`+mn-t`, broken only by the others) one
    /// request, so members see one MODE line for it; the empty exception
    /// and invite lists.
    async fn channel_mode(&mut self, replies: &mut Replies, channel: &str, args: &[&str]) {
        let channel = message::clean(channel).into_owned();
        let Some(status) = room_of(&channel).and_then(|room| self.user.room_status(room).ok())
        else {
            replies.numeric(ERR_NOSUCHCHANNEL, &[&channel], "No such channel");
            return;
        };
        let name = status.room;
        let channel = format!("#{name}");
        let Some(modes) = args.first() else {
            let mut letters: Vec<char> = status.modes.letters().chars().collect();
            if status.locked {
                letters.push('k');
            }
            letters.sort_unstable();
            let shown: String = letters.into_iter().collect();
            replies.numeric_bare(RPL_CHANNELMODEIS, &format!("{channel} +{shown}"));
            replies.numeric_bare(
                RPL_CREATIONTIME,
                &format!("{channel} {}", status.created_at / 1000),
            );
            return;
        };
        let mut params = args[1..].iter();
        let mut adding = true;
        let room = || Some(name.clone());
        let mut flags: Vec<(RoomMode, bool)> = Vec::new();
        for mode in modes.chars() {
            if let Some(flag) = RoomMode::from_letter(mode) {
                flags.push((flag, adding));
                continue;
            }
            if !matches!(mode, '+' | '-') && !flags.is_empty() {
                let changes = std::mem::take(&mut flags);
                let request = Request::SetModes {
                    room: room(),
                    changes,
                };
                self.mode_request(replies, &channel, request).await;
            }
            let request = match mode {
                '+' | '-' => {
                    adding = mode == '+';
                    continue;
                }
                'k' => Request::SetPassword {
                    room: room(),
                    password: match (adding, params.next()) {
                        // A key must fit JOIN's key list: one word, no comma.
                        (true, Some(key)) if key.is_empty() || key.contains([' ', ',']) => {
                            replies.numeric(ERR_INVALIDKEY, &[&channel], "Key is not well-formed");
                            continue;
                        }
                        (true, Some(key)) => Some((*key).to_owned()),
                        (true, None) => {
                            replies.numeric(ERR_NEEDMOREPARAMS, &["MODE"], "Not enough parameters");
                            continue;
                        }
                        (false, _) => None,
                    },
                    if_epoch: None,
                },
                'o' | 'v' => {
                    let Some(nick) = params.next() else {
                        replies.numeric(ERR_NEEDMOREPARAMS, &["MODE"], "Not enough parameters");
                        continue;
                    };
                    if self.user.user_info(nick).is_none() {
                        let nick = message::clean(nick);
                        replies.numeric(ERR_NOSUCHNICK, &[&nick], "No such nick/channel");
                        continue;
                    }
                    let (room, name) = (room(), (*nick).to_owned());
                    match (mode, adding) {
                        ('o', true) => Request::HostAdd { room, name },
                        ('o', false) => Request::HostRemove { room, name },
                        (_, on) => Request::Voice { room, name, on },
                    }
                }
                'b' => match params.next() {
                    Some(mask) => Request::Ban {
                        room: room(),
                        mask: (*mask).to_owned(),
                        on: adding,
                    },
                    None => Request::Bans { room: room() },
                },
                'e' | 'I' => {
                    if params.next().is_some() {
                        replies.numeric(
                            ERR_UNKNOWNMODE,
                            &[&mode.to_string()],
                            "is not supported: banter has no exception or invite lists",
                        );
                        continue;
                    }
                    let (code, what) = match mode {
                        'e' => (RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
                        _ => (RPL_ENDOFINVITELIST, "End of channel invite list"),
                    };
                    replies.numeric(code, &[&channel], what);
                    continue;
                }
                letter => {
                    replies.numeric(
                        ERR_UNKNOWNMODE,
                        &[&message::clean(&letter.to_string())],
                        "is unknown mode char to me",
                    );
                    continue;
                }
            };
            self.mode_request(replies, &channel, request).await;
        }
        if !flags.is_empty() {
            let request = Request::SetModes {
                room: room(),
                changes: flags,
            };
            self.mode_request(replies, &channel, request).await;
        }
    }

    /// Runs one request of a `MODE` command; a refusal is told as IRC does.
    async fn mode_request(&mut self, replies: &mut Replies, channel: &str, request: Request) {
        let mask = match &request {
            Request::Ban { mask, .. } => Some(message::clean(mask).into_owned()),
            _ => None,
        };
        match self.execute(replies, request).await {
            // Asking for what is already so changes nothing, silently, as on IRC.
            Ok(())
            | Err(Refusal::AlreadyHost { .. })
            | Err(Refusal::NotAHost { .. })
            | Err(Refusal::NoPassword { .. })
            | Err(Refusal::AlreadyBanned { .. })
            | Err(Refusal::NotBanned { .. }) => {}
            Err(refusal) => {
                let nick = match &refusal {
                    Refusal::NoSuchMember { name, .. } => message::clean(name).into_owned(),
                    _ => mask.unwrap_or_default(),
                };
                replies.refusal("MODE", channel, &nick, &refusal);
            }
        }
    }

    /// `MODE nick [modes]`: a user's own modes; only `+i` exists, and changes nothing.
    fn user_mode(&mut self, replies: &mut Replies, params: &[&str]) {
        let me = self.user.registered_nick().to_string();
        if fold(params[0]) != fold(&me) {
            replies.numeric(
                ERR_USERSDONTMATCH,
                &[],
                "Can't change or view modes for other users",
            );
            return;
        }
        let Some(modes) = params.get(1) else {
            let shown = if self.invisible { "+i" } else { "+" };
            replies.numeric_bare(RPL_UMODEIS, shown);
            return;
        };
        let mut adding = true;
        let mut unknown = false;
        let mut changed = String::new();
        for mode in modes.chars() {
            match mode {
                '+' | '-' => adding = mode == '+',
                'i' if self.invisible != adding => {
                    self.invisible = adding;
                    changed.push(if adding { '+' } else { '-' });
                    changed.push('i');
                }
                'i' => {}
                _ => unknown = true,
            }
        }
        if !changed.is_empty() {
            replies.line(format_args!(":{} MODE {me} :{changed}", mask(&me)));
        }
        if unknown {
            replies.numeric(ERR_UMODEUNKNOWNFLAG, &[], "Unknown MODE flag");
        }
    }
}

/// A member as NAMES lists them: their nick and its prefix (`@`, `+`, ...).
type Named = (String, &'static str);

/// Most bytes of a username (ISUPPORT `USERLEN`) and of a real name.
const USER_LEN: usize = 10;
const REALNAME_LEN: usize = 100;

/// USER's username and real name, made safe to show: the username keeps
/// letters, digits and `-_.~` (at most [`USER_LEN`]), the real name loses
/// formatting and control characters (at most [`REALNAME_LEN`] bytes).
fn profile(username: &str, realname: &str) -> Profile {
    let username: String = username
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.~".contains(*c))
        .take(USER_LEN)
        .collect();
    let mut realname = message::plain(realname);
    let mut end = realname.len().min(REALNAME_LEN);
    while !realname.is_char_boundary(end) {
        end -= 1;
    }
    realname.truncate(end);
    Profile { username, realname }
}

/// The username and real name WHO and WHOIS show for `user`: what they
/// gave with USER, or their nick (other doors ask for neither).
fn identity(user: &UserInfo) -> (&str, &str) {
    let profile = user.profile.as_deref();
    let username = profile
        .map(|p| p.username.as_str())
        .filter(|u| !u.is_empty())
        .unwrap_or(&user.nick);
    let realname = profile
        .map(|p| p.realname.as_str())
        .filter(|r| !r.is_empty())
        .unwrap_or(&user.nick);
    (username, realname)
}

/// A private message's text: banter's private messages have no emotes, so
/// an ACTION reads as `* text`.
fn private_text(kind: SayKind, text: &str) -> String {
    match kind {
        SayKind::Chat | SayKind::Notice => text.to_owned(),
        SayKind::Emote => format!("* {text}"),
    }
}

fn motd(replies: &mut Replies) {
    replies.numeric(
        RPL_MOTDSTART,
        &[],
        &format!("- {} Message of the day -", replies.server()),
    );
    for line in [
        "- Rooms are channels: /join #lobby, or /join #anything to make a room of your own.",
        "- Channel operators (@) are the room's hosts; MODE +k sets a room's password.",
        "- Everyone here is also reachable from nc, telnet and the web.",
    ] {
        replies.numeric(RPL_MOTD, &[], line);
    }
    replies.numeric(RPL_ENDOFMOTD, &[], "End of /MOTD command");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctcp_action_is_an_emote_and_other_ctcp_is_dropped() {
        assert_eq!(
            said("\x01ACTION waves\x01"),
            Some((SayKind::Emote, "waves".into()))
        );
        assert_eq!(said("\x01VERSION\x01"), None);
        assert_eq!(said("\x02hi\x02"), Some((SayKind::Chat, "hi".into())));
    }
}
