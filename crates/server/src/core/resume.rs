//! Sessions that outlive their connection (issue 21): the resume token, the
//! parked session, the take-over, and the nonces that make a line sent once.
//!
//! A door whose sessions can be resumed (`Door::resumable`, the JSON door)
//! gets a token in its `welcome`. When its connection ends without a quit,
//! the session is *parked* for `--resume-grace`: the user stays in their
//! rooms (nobody sees a leave), room traffic queues in their outbox within
//! its usual bound (with "missed N" beyond it), and their mailbox is still
//! served, so a kick, a close or an invitation applies meanwhile. A `hello`
//! with the token *takes over* the parked session: its [`UserState`] moves
//! to the new connection, outbox and all. When the grace ends the user
//! leaves as a disconnect always did; a quit ends a session for good.
//!
//! The token is a secret. Only the owner's `welcome` carries it; the server
//! keeps its SHA-256 ([`ResumeKey`]) and looks sessions up by that, so no
//! comparison of the secret can leak it by timing, and neither it nor its
//! hash is logged or counted. The record lives behind the registry seam
//! (`Registry::park`, `take_over`, `end_session`), so a cluster registry can
//! carry it; the [`UserState`] itself is handed over through the courier.
//!
//! What bounds parked sessions: a parked session keeps its connection's slot
//! of `--max-connections` and `--max-connections-per-ip` (its task holds the
//! permit until it ends), so an address can park no more sessions than it
//! may hold connections, each for the grace at most, each costing its outbox
//! bound at most. A parked session's task waits on three things (the grace,
//! its mailbox, shutdown) and runs only when one fires.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use banter_proto::event::{Membership, ResumeToken};
use banter_proto::request::Request;
use banter_proto::{Event, Refusal};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::core::control::Control;
use crate::core::user::{Departure, UserState};

/// Random bytes in a token: 192 bits, written as 48 hex characters.
const TOKEN_BYTES: usize = 24;
/// The longest token a client may present (the contract's bound).
const MAX_TOKEN_LEN: usize = 64;

/// Nonces a session always remembers, however old.
const NONCES_KEPT: usize = 256;
/// Nonces a session remembers at most: past [`NONCES_KEPT`], those younger
/// than the grace are kept up to this many (a client at the flood limit
/// sends fewer within a grace of two minutes).
const NONCES_MAX: usize = 1024;
/// The longest nonce (the contract's bound).
pub(crate) const MAX_NONCE_LEN: usize = 64;

/// The SHA-256 of a resume token: what the server keeps and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ResumeKey([u8; 32]);

impl fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeKey(hidden)")
    }
}

impl ResumeKey {
    /// The key of a token a client presented; `None` for one no server
    /// could have given (too long, not ASCII), which is then unknown.
    pub(super) fn of(token: &str) -> Option<Self> {
        (!token.is_empty() && token.len() <= MAX_TOKEN_LEN && token.is_ascii())
            .then(|| Self(Sha256::digest(token.as_bytes()).into()))
    }

    /// A new token and its key.
    pub(super) fn issue() -> (ResumeToken, Self) {
        let mut bytes = [0_u8; TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        let key = Self(Sha256::digest(token.as_bytes()).into());
        (ResumeToken::new(token), key)
    }
}

/// What a parked session hands the connection that takes it over.
pub(crate) struct Handoff(oneshot::Sender<Box<UserState>>);

impl fmt::Debug for Handoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handoff")
    }
}

/// A session whose connection ended, waiting to be taken over.
pub(crate) struct Parked {
    user: UserState,
}

impl Parked {
    /// Waits out the grace, serving the mailbox, until a new connection
    /// takes the session over (it then lives on there), the grace ends (the
    /// user leaves as disconnected) or the server shuts down (silently).
    pub(crate) async fn wait(self, shutdown: &CancellationToken) {
        let mut user = self.user;
        let Some(key) = user.resume.as_deref().copied() else {
            return;
        };
        let deadline = tokio::time::sleep(user.hub.services.config.resume_grace());
        tokio::pin!(deadline);
        let mailbox = user.mailbox();
        loop {
            let control = tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    user.departure = Departure::Silent;
                    return;
                }
                () = &mut deadline => {
                    debug!(nick = ?user.nick, "resume grace over");
                    user.departure = Departure::Disconnected;
                    return;
                }
                control = mailbox.recv() => control,
            };
            match control {
                Control::TakeOver(Handoff(to)) => match to.send(Box::new(user)) {
                    Ok(()) => return,
                    // The connection that asked went away meanwhile: wait on.
                    Err(back) => {
                        user = *back;
                        user.hub.park(key, user.id);
                    }
                },
                control => {
                    // An operator's kill ends a parked session too.
                    if let Some(message) = user.handle_control(control).await {
                        user.departure = Departure::Quit {
                            message: Some(message),
                        };
                        return;
                    }
                }
            }
        }
    }
}

/// Whether a nonce'd request's reply is being listened for.
#[derive(Debug, Default)]
pub(super) enum Recording {
    #[default]
    Off,
    Listening,
    /// Boxed: an event is large, and every session holds a `Recording`.
    Heard(Box<Event>),
}

/// The nonces a session used, each with the reply it got; see the module
/// docs and [`NONCES_KEPT`].
#[derive(Debug, Default)]
pub(super) struct Nonces {
    used: VecDeque<(Box<str>, Instant, Event)>,
}

impl Nonces {
    fn reply_to(&self, nonce: &str) -> Option<&Event> {
        self.used
            .iter()
            .find(|(used, _, _)| &**used == nonce)
            .map(|(_, _, reply)| reply)
    }

    fn remember(&mut self, nonce: String, reply: Event, keep_for: Duration) {
        let now = Instant::now();
        self.used.push_back((nonce.into_boxed_str(), now, reply));
        while self.used.len() > NONCES_MAX
            || (self.used.len() > NONCES_KEPT
                && self
                    .used
                    .front()
                    .is_some_and(|(_, at, _)| now.duration_since(*at) >= keep_for))
        {
            self.used.pop_front();
        }
    }
}

/// Whether a client's nonce is one the contract allows: 1 to 64 bytes of
/// printable ASCII.
pub(crate) fn valid_nonce(nonce: &str) -> bool {
    (1..=MAX_NONCE_LEN).contains(&nonce.len()) && nonce.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl UserState {
    /// A new token for this session's `welcome`, recorded as live; none
    /// for a door whose sessions cannot be resumed. With resume off
    /// (`--resume-grace 0`) the token is recorded nowhere: presenting it
    /// fails like any unknown token.
    pub(super) fn issue_token(&mut self) -> Option<ResumeToken> {
        if !self.door.resumable {
            return None;
        }
        let (token, key) = ResumeKey::issue();
        if !self.hub.services.config.resume_grace().is_zero() {
            self.hub.open_session(key, self.id);
            self.resume = Some(Box::new(key));
        }
        Some(token)
    }

    /// Whether this session waits for its client when the connection ends.
    pub(crate) fn can_park(&self) -> bool {
        self.resume.is_some() && self.nick.is_some()
    }

    /// Parks the session: from now on a `hello` with its token may take it
    /// over. Called before the connection is let go, so a client that sees
    /// its connection closed can resume at once. See [`Parked::wait`].
    pub(crate) fn park(self) -> Parked {
        if let Some(key) = self.resume.as_deref() {
            self.hub.park(*key, self.id);
            debug!(peer = %self.peer, nick = ?self.nick, "session parked");
        }
        Parked { user: self }
    }
    /// `hello` with a token: takes the parked session it names over, so this
    /// connection carries on as it. Refused when the token names no parked
    /// session (unknown, expired, quit, or its connection is live).
    pub(crate) async fn resume(&mut self, token: &str) -> Result<(), Refusal> {
        if self.nick.is_some() {
            return Err(Refusal::AlreadyRegistered);
        }
        if !self.door.resumable {
            return Err(Refusal::ResumeFailed);
        }
        let key = ResumeKey::of(token).ok_or(Refusal::ResumeFailed)?;
        let id = self.hub.take_over(&key).ok_or(Refusal::ResumeFailed)?;
        let (to, from) = oneshot::channel();
        self.hub
            .broker()
            .take_over(id, Control::TakeOver(Handoff(to)));
        let parked = from.await.map_err(|_| Refusal::ResumeFailed)?;
        let peer = self.peer;
        let request = self.request.take();
        // The fresh state this connection had holds nothing (no name, no rooms).
        *self = *parked;
        self.peer = peer;
        self.begin_request(request);
        self.hub.services.metrics.resumed();
        let rooms = self
            .rooms
            .iter()
            .map(|room| {
                let (host, voice) = room.membership(self.id).unwrap_or_default();
                Membership {
                    room: room.name().to_string(),
                    host,
                    voice,
                }
            })
            .collect();
        self.replied = true;
        self.outbox.reply_first(
            Event::Welcome {
                nick: self.registered_nick().to_string(),
                room: None,
                resume: Some(ResumeToken::new(token.to_owned())),
                resumed: Some(rooms),
            }
            .into(),
            self.request.clone(),
        );
        debug!(peer = %self.peer, nick = %self.registered_nick(), "session resumed");
        Ok(())
    }

    /// Carries out `request`, marked by the client with `nonce`: once. A
    /// nonce this session used before is answered with the first reply
    /// and the request is not carried out again.
    pub(crate) async fn request_once(&mut self, nonce: String, request: Request) {
        if let Some(reply) = self.nonces.reply_to(&nonce).cloned() {
            self.reply(reply);
            return;
        }
        self.recording = Recording::Listening;
        let result = self.execute(request).await;
        let heard = std::mem::take(&mut self.recording);
        if result.is_ok() {
            let reply = match heard {
                Recording::Heard(reply) => *reply,
                Recording::Off | Recording::Listening => Event::Done,
            };
            let keep_for = self.hub.services.config.resume_grace();
            self.nonces.remember(nonce, reply, keep_for);
        }
        self.answer(result);
    }

    /// Ends the session's resumability for good (a quit, or the session's end).
    pub(super) fn drop_token(&mut self) {
        if let Some(key) = self.resume.take() {
            self.hub.end_session(&key, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex_and_keyed_by_their_hash() {
        let (a, key_a) = ResumeKey::issue();
        let (b, _) = ResumeKey::issue();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 2 * TOKEN_BYTES);
        assert!(a.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(ResumeKey::of(a.expose()), Some(key_a));
        assert!(!format!("{a:?}{key_a:?}").contains(a.expose()));
        assert_eq!(ResumeKey::of(&"x".repeat(65)), None);
        assert_eq!(ResumeKey::of(""), None);
    }

    #[test]
    fn nonces_are_printable_ascii_of_1_to_64_bytes() {
        assert!(valid_nonce("a"));
        assert!(valid_nonce(&"~".repeat(64)));
        assert!(!valid_nonce(""));
        assert!(!valid_nonce(&"a".repeat(65)));
        assert!(!valid_nonce("tab\there"));
        assert!(!valid_nonce("é"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_256_nonces_stay_and_younger_ones_up_to_1024() {
        let grace = Duration::from_secs(120);
        let mut nonces = Nonces::default();
        for n in 0..NONCES_MAX + 10 {
            nonces.remember(n.to_string(), Event::Done, grace);
        }
        assert_eq!(nonces.used.len(), NONCES_MAX);
        assert!(nonces.reply_to("9").is_none());
        assert!(nonces.reply_to("10").is_some());
        tokio::time::advance(grace).await;
        nonces.remember("late".into(), Event::Done, grace);
        assert_eq!(nonces.used.len(), NONCES_KEPT);
        assert!(nonces.reply_to("late").is_some());
    }
}
