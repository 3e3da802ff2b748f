//! One IRC connection: registration, IRC commands as core requests, pings.
//!
//! The session task owns the read half, the framer, the flood buckets and
//! the connection's [`UserState`]; the text door's writer task owns the write
//! half and renders the outbox with an [`IrcRenderer`]. Lines are handled one
//! at a time, in order, so a client that sends everything before reading
//! (senpai, bots) gets its answers in order too. Replies the core has no
//! event for (CAP, welcome, WHO, NAMES, MODE, ...) go through the same outbox
//! as `Event::DoorLines`, so they keep their place among room traffic.
//!
//! Registration completes once NICK and USER are in and any CAP negotiation
//! has ended; a client that gets there within the registration timeout is
//! welcomed, any other is dropped. The same limits apply as at every door:
//! the rate limit per line, the byte budget, the outbox bound (reading stops
//! while it is full), and a silent client is sent a PING and dropped if it
//! stays silent.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use banter_proto::names::fold;
use banter_proto::request::{Request, SayKind};
use banter_proto::{Event, Nick, Refusal};
use bytes::BytesMut;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::caps::{self, Caps, ECHO_MESSAGE, SERVER_TIME, USERHOST_IN_NAMES};
use super::message::{self, parse, Frame, Framer, ParseError};
use super::numerics::*;
use super::render::{self, mask, IrcRenderer};
use super::HOST;
use crate::core::{now_millis, Departure, Door, Hub, Outbox, Profile, User, UserState};
use crate::doors::transport::{ByteStream, ReadChunk};
use crate::doors::writer;
use crate::doors::{close_output, WriteTiming};
use crate::flood::{ByteBudget, Flood, Verdict};

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

/// Why a session ended.
#[derive(Debug)]
enum End {
    /// `QUIT`, with its message.
    Quit(Option<String>),
    Eof,
    ReadError(io::Error),
    WriterGone,
    RegistrationTimeout(u64),
    PingTimeout,
    Flood,
    /// It asked for more output than `--max-output-bytes` without reading it.
    Overflow,
    Shutdown,
}

impl End {
    /// The last thing the client is told, after it has left its rooms.
    fn farewell(&self) -> Option<Event> {
        let error = |text: String| Some(Event::DoorLines(format!("ERROR :{text}\r\n")));
        match self {
            End::Quit(_) => Some(Event::Goodbye),
            End::Shutdown => Some(Event::ShuttingDown),
            End::RegistrationTimeout(secs) => error(format!(
                "Closing link: registration timed out ({secs} s without NICK, USER and CAP END)"
            )),
            End::PingTimeout => error("Closing link: ping timeout".into()),
            End::Flood => error("Closing link: excess flood".into()),
            End::Eof | End::ReadError(_) | End::WriterGone | End::Overflow => None,
        }
    }

    /// Why the session ended, in words, for the log (a QUIT's message is the user's).
    fn describe(&self) -> &'static str {
        match self {
            End::Quit(_) => "quit",
            End::Eof => "closed by the client",
            End::ReadError(_) => "read failed",
            End::WriterGone => "output stalled or failed",
            End::RegistrationTimeout(_) => "no registration in time",
            End::PingTimeout => "ping timeout",
            End::Flood => "flooding",
            End::Overflow => "asked for more output than it read",
            End::Shutdown => "server shutdown",
        }
    }
}

/// Client input: the read half, the framer and the byte budget every byte
/// read is charged to. Holds no buffer while the client is idle.
struct Reader<R> {
    socket: R,
    framer: Framer,
    buffer: BytesMut,
    budget: Option<ByteBudget>,
    /// Set when the budget is overspent: nothing is read before then.
    resume_at: Option<Instant>,
}

impl<R: ReadChunk> Reader<R> {
    /// The next frame, or `None` at EOF. Cancel-safe.
    async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            tokio::task::consume_budget().await;
            if let Some(frame) = self.framer.next(&mut self.buffer) {
                return Ok(Some(frame));
            }
            if self.buffer.capacity() > 0 {
                self.buffer = BytesMut::new();
            }
            if let Some(resume_at) = self.resume_at {
                // Overspent: leave the bytes in the kernel, so TCP pushes back.
                Box::pin(tokio::time::sleep_until(resume_at)).await;
                self.resume_at = None;
            }
            match self.socket.read_chunk(&mut self.buffer).await? {
                0 => return Ok(None),
                read => {
                    if let Some(budget) = &mut self.budget {
                        self.resume_at = budget.spend(read, Instant::now());
                    }
                }
            }
        }
    }
}

/// One IRC connection's state, owned by its task.
struct Session {
    user: UserState,
    /// The server's name (`--irc-server-name`), as it signs its own lines.
    server: Arc<str>,
    caps: Arc<Caps>,
    /// The nick asked for before registration.
    nick: Option<String>,
    /// USER was sent.
    user_sent: bool,
    /// CAP LS or REQ came before registration and no CAP END yet.
    negotiating: bool,
    /// User mode `+i`, kept for the client's sake: it changes nothing.
    invisible: bool,
    /// Every line costs one item; every target past a line's first costs one more.
    flood: Flood,
    /// Cancelled when the writer stops (or the server shuts down): a long
    /// answer waiting for the client to read stops waiting.
    writer_gone: CancellationToken,
}

/// A QUIT or PART message as other doors may show it: IRC formatting and
/// control characters out; nothing when empty.
fn leave_message(param: Option<&&str>) -> Option<String> {
    let text = message::plain(param?);
    (!text.trim().is_empty()).then_some(text)
}

/// Serves one IRC connection to its end, over any byte stream.
pub async fn serve<S: ByteStream>(
    stream: S,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let config = Arc::clone(&hub.services.config);
    let (read, write) = stream.into_halves();
    let outbox =
        Arc::new(Outbox::new(config.outbox_bytes).with_max_output(config.max_output_bytes));
    let writer_gone = shutdown.child_token();
    let caps = Arc::new(Caps::default());
    let server: Arc<str> = config.irc_server_name.as_str().into();
    let mut writer = tokio::spawn(writer::run(
        write,
        Arc::clone(&outbox),
        Arc::clone(&hub.services.metrics),
        IrcRenderer::new(Arc::clone(&server), Arc::clone(&caps)),
        WriteTiming {
            coalesce: config.write_coalesce(),
            stall_timeout: config.write_stall_timeout(),
        },
        writer_gone.clone(),
    ));
    let door = Door {
        name: "irc",
        one_room: false,
        max_rooms: config.max_rooms_per_user,
        lists_members: true,
        answers_every_request: false,
    };
    let mut session = Session {
        user: UserState::new(hub, peer, Arc::clone(&outbox), door),
        server,
        caps,
        nick: None,
        user_sent: false,
        negotiating: false,
        invisible: false,
        flood: Flood::new(&config),
        writer_gone: writer_gone.clone(),
    };
    let mut reader = Reader {
        socket: read,
        framer: Framer::default(),
        buffer: BytesMut::new(),
        budget: ByteBudget::new(&config),
        resume_at: None,
    };
    let end = session.run(&mut reader, &shutdown, &writer_gone).await;
    session.user.set_departure(match &end {
        End::Quit(message) => Departure::Quit {
            message: message.clone(),
        },
        End::Shutdown => Departure::Silent,
        _ => Departure::Disconnected,
    });
    if let End::ReadError(err) = &end {
        debug!(%peer, %err, "irc read failed");
    }
    match session.user.nick() {
        Some(nick) => {
            debug!(%peer, %nick, end = end.describe(), door = session.user.door(), "session ended")
        }
        None => debug!(%peer, end = end.describe(), "irc connection ended before registration"),
    }
    drop(session);
    close_output(&outbox, end.farewell(), &mut writer).await;
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

impl Session {
    async fn run<R: ReadChunk>(
        &mut self,
        reader: &mut Reader<R>,
        shutdown: &CancellationToken,
        writer_gone: &CancellationToken,
    ) -> End {
        let config = Arc::clone(&self.user.hub.services.config);
        let mut registration_deadline =
            Some(Box::pin(tokio::time::sleep(config.registration_timeout())));
        let ping_interval = config.irc_ping_interval();
        let mut heard = Instant::now();
        let mut pinged = false;
        let requests = self.user.mailbox();
        let stopped = writer_gone.cancelled();
        let request = requests.recv();
        tokio::pin!(stopped, request);
        let stop = || {
            if shutdown.is_cancelled() {
                End::Shutdown
            } else {
                End::WriterGone
            }
        };
        loop {
            if self.user.outbox.overflowed() {
                self.user
                    .hub
                    .services
                    .metrics
                    .disconnected("output_overflow");
                return End::Overflow;
            }
            // Stop reading a client that is not reading its own output.
            while self.user.outbox.is_full() {
                tokio::select! {
                    biased;
                    _ = &mut stopped => return stop(),
                    _ = self.user.outbox.drained() => {}
                }
            }
            if self.user.nick().is_some() {
                registration_deadline = None;
            }
            let silence_ends = heard + ping_interval * if pinged { 2 } else { 1 };
            let frame = tokio::select! {
                biased;
                _ = &mut stopped => return stop(),
                _ = async { registration_deadline.as_mut()?.await; Some(()) }, if registration_deadline.is_some() => {
                    return End::RegistrationTimeout(config.registration_timeout);
                }
                _ = tokio::time::sleep_until(silence_ends) => {
                    if pinged {
                        return End::PingTimeout;
                    }
                    pinged = true;
                    self.send(format!("PING :{}\r\n", self.server));
                    continue;
                }
                control = &mut request => {
                    request.set(requests.recv());
                    self.user.handle_control(control);
                    continue;
                }
                frame = reader.next() => frame,
            };
            let frame = match frame {
                Err(err) => return End::ReadError(err),
                Ok(None) => return End::Eof,
                Ok(Some(frame)) => frame,
            };
            heard = Instant::now();
            pinged = false;
            match self.flood.check(Instant::now()) {
                Verdict::Go => {}
                Verdict::Wait { delay, warn } => {
                    self.user.hub.services.metrics.flood_delayed();
                    if warn {
                        self.user.begin_request(None);
                        self.user.refuse(Refusal::SlowDown {
                            per_second: config.rate_limit,
                        });
                    }
                    tokio::select! {
                        biased;
                        _ = &mut stopped => return stop(),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Verdict::Disconnect => {
                    info!(peer = %self.user.peer, "disconnecting a flooding irc client");
                    self.user.hub.services.metrics.disconnected("flooding");
                    return End::Flood;
                }
            }
            let line = match frame {
                Frame::Line(line) => line,
                Frame::TooLong => {
                    let mut replies = self.replies();
                    replies.numeric(ERR_INPUTTOOLONG, &[], "Input line was too long");
                    self.flush(&mut replies);
                    continue;
                }
            };
            self.user.begin_request(None);
            // Boxed: request futures (hashing, store round trips) are large
            // and live only while one is handled.
            if let Some(quit) = Box::pin(self.handle(&line)).await {
                return End::Quit(quit);
            }
        }
    }

    /// Queues lines for the client, in order with everything else.
    fn send(&self, lines: String) {
        if !lines.is_empty() {
            self.user.outbox.reply(Event::DoorLines(lines));
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
                let channel = params[0];
                let reason = params
                    .get(2)
                    .map(|reason| message::plain(reason))
                    .filter(|reason| !reason.is_empty());
                for (_, name) in self.targets(&mut replies, params[1], MAX_TARGETS) {
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
                let room = room_of(channel).and_then(|room| self.user.hub.room(room));
                let Some(user) = self.user.hub.user(name) else {
                    replies.numeric(
                        ERR_NOSUCHNICK,
                        &[&message::clean(name)],
                        "No such nick/channel",
                    );
                    self.flush(&mut replies);
                    return None;
                };
                if let Some(room) = room.filter(|room| room.is_member(user.id)) {
                    let channel = format!("#{}", room.name());
                    replies.numeric(
                        ERR_USERONCHANNEL,
                        &[user.nick.as_str(), &channel],
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
                let nick = self.user.registered_nick().clone();
                self.user
                    .hub
                    .set_away(self.user.id, &nick, message.as_deref());
                if message.is_some() {
                    replies.numeric(RPL_NOWAWAY, &[], "You have been marked as being away");
                } else {
                    replies.numeric(RPL_UNAWAY, &[], "You are no longer marked as being away");
                }
            }
            "ISON" => {
                let present: Vec<String> = params
                    .iter()
                    .flat_map(|names| names.split(' '))
                    .filter_map(|name| self.user.hub.user(name))
                    .map(|user| user.nick.to_string())
                    .collect();
                replies.numeric(RPL_ISON, &[], &present.join(" "));
            }
            "USERHOST" => {
                let found: Vec<String> = params
                    .iter()
                    .take(5)
                    .filter_map(|name| self.user.hub.user(name))
                    .map(|user| {
                        let here = if user.away.is_some() { '-' } else { '+' };
                        format!("{0}={here}{0}@{HOST}", user.nick)
                    })
                    .collect();
                replies.numeric(RPL_USERHOST, &[], &found.join(" "));
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
                self.flood
                    .charge(targets.len().saturating_sub(1), Instant::now());
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
        while self.user.outbox.is_full() && !self.user.outbox.overflowed() {
            tokio::select! {
                biased;
                _ = self.writer_gone.cancelled() => return,
                _ = self.user.outbox.drained() => {}
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
            Ok(_) if self.user.hub.user(nick).is_some() => {
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
            &format!("{} banterd-{version} i knot ko", self.server),
        );
        replies.numeric(
            RPL_ISUPPORT,
            &[
                "CASEMAPPING=ascii",
                &format!("CHANLIMIT=#:{}", config.max_rooms_per_user),
                "CHANMODES=,k,,nt",
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
                "PREFIX=(o)@",
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
            let rooms: Vec<String> = self
                .user
                .rooms
                .iter()
                .map(|r| r.name().to_string())
                .collect();
            for room in rooms {
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
            if self.user.rooms.iter().any(|r| r.name().key() == fold(room)) {
                continue;
            }
            let password = keys
                .get(at)
                .filter(|key| !key.is_empty())
                .map(|key| (*key).to_owned());
            let join = Request::Join {
                room: room.to_owned(),
                password,
            };
            let result = match self.user.hub.room(room) {
                Some(_) => self.execute(replies, join).await,
                None => {
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
        let Some(room) = self.user.hub.room(room) else {
            return;
        };
        if room.topic().is_some_and(|topic| !topic.is_empty()) {
            if let Some((by, at)) = room.topic_set() {
                let channel = format!("#{}", room.name());
                replies.numeric_bare(RPL_TOPICWHOTIME, &format!("{channel} {by} {}", at / 1000));
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
        if text.is_empty() && kind == SayKind::Chat {
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
        self.flood
            .charge(targets.len().saturating_sub(1), Instant::now());
        let echo = self.caps.has(ECHO_MESSAGE);
        let timed = self.caps.has(SERVER_TIME);
        let me = self.user.registered_nick().to_string();
        let mut out = BytesMut::new();
        for (_, target) in targets {
            if let Some(room) = room_of(target) {
                self.flush(replies);
                match self.user.say_to_others(room, kind, text.clone()) {
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
                };
                match self.execute(replies, request).await {
                    Ok(()) => {
                        let recipient = self.user.hub.user(target);
                        if echo {
                            let to = recipient
                                .as_ref()
                                .map_or_else(|| target.to_owned(), |user| user.nick.to_string());
                            let at = timed.then(now_millis);
                            render::private(&mut out, &me, &to, command, &text, at);
                        }
                        if let Some(user) = recipient.filter(|_| !notice) {
                            if let Some(away) = &user.away {
                                replies.numeric(RPL_AWAY, &[user.nick.as_str()], away);
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

    /// `353`s of `channel`'s members, if it is a room, without a `366`.
    fn name_lines(&self, replies: &mut Replies, channel: &str) {
        if let Some(room) = room_of(channel).and_then(|room| self.user.hub.room(room)) {
            let members: Vec<(String, bool)> =
                room.who().into_iter().map(|m| (m.nick, m.host)).collect();
            let masks = self.caps.has(USERHOST_IN_NAMES);
            render::name_lines(replies, room.name().as_str(), &members, masks);
        }
    }

    fn names(&self, replies: &mut Replies, channel: &str) {
        let room = room_of(channel).and_then(|room| self.user.hub.room(room));
        match room {
            Some(room) => {
                let members: Vec<(String, bool)> =
                    room.who().into_iter().map(|m| (m.nick, m.host)).collect();
                let masks = self.caps.has(USERHOST_IN_NAMES);
                render::names(replies, room.name().as_str(), &members, masks);
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
        for (listed, summary) in self
            .user
            .hub
            .room_summaries(&self.user.rooms)
            .into_iter()
            .enumerate()
        {
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
        let hub = &self.user.hub;
        // The server field is `*`: there is one server, and naming it says nothing.
        let who_line = |replies: &mut Replies, channel: &str, nick: &str, host: bool| {
            let user = hub.user(nick);
            let here = if user.as_ref().is_some_and(|user| user.away.is_some()) {
                'G'
            } else {
                'H'
            };
            let flags = format!("{here}{}", if host { "@" } else { "" });
            let (username, realname) = identity(user.as_ref(), nick);
            replies.numeric(
                RPL_WHOREPLY,
                &[channel, &username, HOST, "*", nick, &flags],
                &format!("0 {realname}"),
            );
        };
        if let Some(room) = room_of(target).and_then(|room| hub.room(room)) {
            let channel = format!("#{}", room.name());
            for (listed, member) in room.who().into_iter().enumerate() {
                who_line(replies, &channel, &member.nick, member.host);
                if listed % LINES_PER_PACE == LINES_PER_PACE - 1 {
                    self.pace(replies).await;
                }
            }
        } else if let Some(user) = hub.user(target) {
            who_line(replies, "*", user.nick.as_str(), false);
        } else if target.contains(['*', '?']) {
            let pattern = fold(target);
            let nick_part = pattern.split('!').next().unwrap_or_default();
            for nick in hub
                .nicks()
                .iter()
                .filter(|nick| glob(nick_part, &fold(nick)))
                .take(MAX_WHO_MATCHES)
            {
                who_line(replies, "*", nick, false);
            }
        }
        replies.numeric(RPL_ENDOFWHO, &[&message::clean(target)], "End of /WHO list");
    }

    fn whois(&self, replies: &mut Replies, nick: &str) {
        let nick = message::clean(nick);
        match self.user.hub.user(&nick) {
            None => replies.numeric(ERR_NOSUCHNICK, &[&nick], "No such nick/channel"),
            Some(user) => {
                let name = user.nick.as_str();
                let (username, realname) = identity(Some(&user), name);
                replies.numeric(RPL_WHOISUSER, &[name, &username, HOST, "*"], &realname);
                let rooms: Vec<String> = self
                    .user
                    .hub
                    .rooms_of(user.id)
                    .into_iter()
                    .map(|(room, host)| format!("{}#{room}", if host { "@" } else { "" }))
                    .collect();
                if !rooms.is_empty() {
                    replies.numeric(RPL_WHOISCHANNELS, &[name], &rooms.join(" "));
                }
                replies.numeric(RPL_WHOISSERVER, &[name, &self.server], "banter chat server");
                if let Some(away) = &user.away {
                    replies.numeric(RPL_AWAY, &[name], away);
                }
            }
        }
        replies.numeric(RPL_ENDOFWHOIS, &[&nick], "End of /WHOIS list");
    }

    /// `MODE #room [modes [params]]`: the query, `+k`/`-k` (the password),
    /// `+o`/`-o` (hosts), the empty ban, exception and invite lists.
    async fn channel_mode(&mut self, replies: &mut Replies, channel: &str, args: &[&str]) {
        let channel = message::clean(channel).into_owned();
        let Some(room) = room_of(&channel).and_then(|room| self.user.hub.room(room)) else {
            replies.numeric(ERR_NOSUCHCHANNEL, &[&channel], "No such channel");
            return;
        };
        let name = room.name().to_string();
        let channel = format!("#{name}");
        let Some(modes) = args.first() else {
            let shown = if room.is_locked() { "+knt" } else { "+nt" };
            replies.numeric_bare(RPL_CHANNELMODEIS, &format!("{channel} {shown}"));
            replies.numeric_bare(
                RPL_CREATIONTIME,
                &format!("{channel} {}", room.created_at() / 1000),
            );
            return;
        };
        let mut params = args[1..].iter();
        let mut adding = true;
        for mode in modes.chars() {
            let request = match mode {
                '+' | '-' => {
                    adding = mode == '+';
                    continue;
                }
                'k' => Request::SetPassword {
                    room: Some(name.clone()),
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
                'o' => {
                    let Some(nick) = params.next() else {
                        replies.numeric(ERR_NEEDMOREPARAMS, &["MODE"], "Not enough parameters");
                        continue;
                    };
                    if self.user.hub.user(nick).is_none() {
                        let nick = message::clean(nick);
                        replies.numeric(ERR_NOSUCHNICK, &[&nick], "No such nick/channel");
                        continue;
                    }
                    let (room, name) = (Some(name.clone()), (*nick).to_owned());
                    if adding {
                        Request::HostAdd { room, name }
                    } else {
                        Request::HostRemove { room, name }
                    }
                }
                'b' | 'e' | 'I' => {
                    if params.next().is_some() {
                        replies.numeric(
                            ERR_UNKNOWNMODE,
                            &[&mode.to_string()],
                            "is not supported: banter has no ban, exception or invite lists",
                        );
                        continue;
                    }
                    let (code, what) = match mode {
                        'b' => (RPL_ENDOFBANLIST, "End of channel ban list"),
                        'e' => (RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
                        _ => (RPL_ENDOFINVITELIST, "End of channel invite list"),
                    };
                    replies.numeric(code, &[&channel], what);
                    continue;
                }
                // Always on: only hosts set the topic, only members speak.
                'n' | 't' if adding => continue,
                'n' | 't' => {
                    replies.numeric(
                        ERR_UNKNOWNMODE,
                        &[&mode.to_string()],
                        "is always set on banter channels",
                    );
                    continue;
                }
                other => {
                    replies.numeric(
                        ERR_UNKNOWNMODE,
                        &[&message::clean(&other.to_string())],
                        "is unknown mode char to me",
                    );
                    continue;
                }
            };
            match self.execute(replies, request).await {
                Ok(())
                | Err(Refusal::AlreadyHost { .. })
                | Err(Refusal::NotAHost { .. })
                | Err(Refusal::NoPassword { .. }) => {}
                Err(refusal) => {
                    let nick = match &refusal {
                        Refusal::NoSuchMember { name, .. } => name.clone(),
                        _ => String::new(),
                    };
                    replies.refusal("MODE", &channel, &message::clean(&nick), &refusal);
                }
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

/// Whether `text` matches the IRC mask `pattern` (`*` any run, `?` any one
/// character); both already case-folded.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with one backtrack point: linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

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

/// The username and real name WHO and WHOIS show for `user` (named `nick`):
/// what they gave with USER, or their nick (other doors ask for neither).
fn identity(user: Option<&User>, nick: &str) -> (String, String) {
    let profile = user.and_then(|user| user.profile.as_deref());
    let username = profile
        .map(|p| p.username.as_str())
        .filter(|u| !u.is_empty())
        .unwrap_or(nick);
    let realname = profile
        .map(|p| p.realname.as_str())
        .filter(|r| !r.is_empty())
        .unwrap_or(nick);
    (username.to_owned(), realname.to_owned())
}

/// A private message's text: banter's private messages have no emotes, so
/// an ACTION reads as `* text`.
fn private_text(kind: SayKind, text: &str) -> String {
    match kind {
        SayKind::Chat => text.to_owned(),
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
    fn masks_match_with_stars_and_question_marks() {
        assert!(glob("*", "anyone"));
        assert!(glob("b?b", "bob"));
        assert!(glob("a*e*", "annette"));
        assert!(!glob("a*x", "annette"));
        assert!(!glob("b?b", "bobby"));
        assert!(glob("**?", "x"));
    }

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
