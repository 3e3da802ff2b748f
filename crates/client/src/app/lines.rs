//! Lines to be said (`say`, `emote`, `msg`, `say_elsewhere`), typed or
//! pasted: each gets a nonce, waits its turn in order, goes out at a pace
//! under the server's flood limit, and stays pending until its answer
//! comes back. A connection lost before the answer puts the line back, to
//! be sent again with the same nonce once reconnected: a resumed session's
//! server answers a repeat with the first answer and delivers it nowhere,
//! so nothing typed is lost or said twice.
//!
//! The server does not say its rate (`--rate-limit`, 10 lines a second with
//! bursts of 20 by default, and a disconnect after 100 delayed lines), so
//! lines go at [`PACE_PER_SECOND`] with bursts of [`PACE_BURST`], below the
//! default; a `rate_limited` warning (a server set lower) halves the pace.

use std::collections::VecDeque;

use super::{App, Pending};
use crate::protocol::{Envelope, Request};
use crate::state::Kind;

/// Lines a second, under the server's default of 10, leaving room for the
/// client's other requests.
pub(super) const PACE_PER_SECOND: f64 = 8.0;
/// Lines sent at once before the pace applies (the server allows 20).
pub(super) const PACE_BURST: f64 = 10.0;
/// The slowest the pace goes after `rate_limited` warnings.
const PACE_SLOWEST: f64 = 1.0;
/// The longest text the server takes (`--max-line-bytes`' default), in
/// bytes; longer is refused (`too_long`), so it is never sent.
pub const MAX_LINE_BYTES: usize = 4096;

/// One line to be said.
#[derive(Debug)]
pub(super) struct Line {
    /// With its nonce.
    request: Request,
    pending: Pending,
    /// The request id it was last sent with, until its answer comes.
    sent: Option<u64>,
    /// Part of a paste (counted on the status line).
    pasted: bool,
}

/// A token bucket in milliseconds of the app's clock.
#[derive(Debug)]
pub(super) struct Pacer {
    per_second: f64,
    tokens: f64,
    last: i64,
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            per_second: PACE_PER_SECOND,
            tokens: PACE_BURST,
            last: 0,
        }
    }
}

impl Pacer {
    fn refill(&mut self, now: i64) {
        let elapsed = now.saturating_sub(self.last).max(0) as f64 / 1000.0;
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(PACE_BURST);
    }

    /// Takes a token if there is one.
    fn take(&mut self, now: i64) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token is there.
    fn ready_at(&self) -> i64 {
        let missing = (1.0 - self.tokens).max(0.0);
        self.last + (missing * 1000.0 / self.per_second).ceil() as i64
    }

    /// The server says we are too fast: half the pace, and wait.
    pub(super) fn slow_down(&mut self) {
        self.per_second = (self.per_second / 2.0).max(PACE_SLOWEST);
        self.tokens = self.tokens.min(0.0);
    }
}

/// A random nonce: 16 hex characters (64 bits), unique among one
/// session's lines.
fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Progress of a paste being sent: (answered, total).
#[derive(Debug, Default, Clone, Copy)]
pub struct PasteProgress {
    pub done: usize,
    pub total: usize,
}

impl App {
    /// Queues a line to be said, giving it its nonce; it goes out when its
    /// turn and pace allow.
    pub(super) fn queue_line(&mut self, mut request: Request, pending: Pending, pasted: bool) {
        if let Request::Say { nonce: mark, .. }
        | Request::Emote { nonce: mark, .. }
        | Request::SayElsewhere { nonce: mark, .. }
        | Request::Msg { nonce: mark, .. } = &mut request
        {
            *mark = Some(nonce());
        }
        self.lines.push_back(Line {
            request,
            pending,
            sent: None,
            pasted,
        });
        if pasted {
            self.paste_total += 1;
        }
    }

    /// Lines waiting to be sent or answered.
    pub fn unsent(&self) -> usize {
        self.lines.len()
    }

    /// How far the paste being sent has got, while one is.
    pub fn paste_progress(&self) -> Option<PasteProgress> {
        let left = self.lines.iter().filter(|l| l.pasted).count();
        (left > 0).then_some(PasteProgress {
            done: self.paste_total - left,
            total: self.paste_total,
        })
    }

    /// Whether a line for `room` can go now (`Some(true)`), must wait for
    /// the room to be entered again after a reconnect (`Some(false)`), or
    /// can never go (`None`: the room was left).
    fn room_ready(&self, line: &Line) -> Option<bool> {
        let room = match &line.request {
            Request::Say { room, .. } | Request::Emote { room, .. } => room,
            _ => return Some(true),
        };
        let index = self.conversations.find(Kind::Room, room)?;
        let conversation = &self.conversations.list[index];
        if conversation.joined {
            Some(true)
        } else if conversation.rejoin {
            Some(false)
        } else {
            None
        }
    }

    /// Sends the lines whose turn it is, as the pace allows.
    pub(super) fn pump(&mut self) {
        if !self.online {
            return;
        }
        let mut at = 0;
        while at < self.lines.len() {
            if self.lines[at].sent.is_some() {
                at += 1;
                continue;
            }
            match self.room_ready(&self.lines[at]) {
                Some(true) => {}
                // Later lines keep their order behind it.
                Some(false) => return,
                None => {
                    let line = self.lines.remove(at).expect("in range");
                    let index = self.conversations.selected;
                    self.error(index, "a line was not sent: you are no longer in its room");
                    if line.pasted {
                        self.paste_total -= 1;
                    }
                    continue;
                }
            }
            if !self.pacer.take(self.now) {
                return;
            }
            let id = self.next_id;
            self.next_id += 1;
            let line = &mut self.lines[at];
            line.sent = Some(id);
            let text = Envelope {
                body: line.request.clone(),
                id: Some(id),
            }
            .to_json();
            self.pending.insert(id, line.pending.clone());
            self.effects.push(super::Effect::Send(text));
            at += 1;
        }
        if self.paste_progress().is_none() {
            self.paste_total = 0;
        }
    }

    /// When the next line may go, if one is waiting only for the pace.
    pub fn next_wake(&self) -> Option<i64> {
        if !self.online {
            return None;
        }
        let waiting = self
            .lines
            .iter()
            .find(|line| line.sent.is_none())
            .is_some_and(|line| self.room_ready(line) == Some(true));
        waiting.then(|| self.pacer.ready_at())
    }

    /// The app's timer: the pace allows another line.
    pub fn tick(&mut self) {
        self.pump();
    }

    /// The answer to request `id` came: if it was a line's, the line is done.
    pub(super) fn line_answered(&mut self, id: u64) {
        if let Some(at) = self.lines.iter().position(|l| l.sent == Some(id)) {
            self.lines.remove(at);
        }
    }

    /// The connection is gone: lines sent and not answered go again, first.
    pub(super) fn lines_unsent(&mut self) {
        for line in &mut self.lines {
            line.sent = None;
        }
    }
}

/// Whether a line's text is more than the server takes.
pub(super) fn too_long(text: &str) -> bool {
    text.len() > MAX_LINE_BYTES
}

/// The queue type, for the app's field.
pub(super) type Lines = VecDeque<Line>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_allows_a_burst_then_its_rate_and_halves_when_told() {
        let mut pacer = Pacer {
            last: 1_000,
            ..Pacer::default()
        };
        let sent = (0..20).filter(|_| pacer.take(1_000)).count();
        assert_eq!(sent, PACE_BURST as usize);
        assert_eq!(pacer.ready_at(), 1_000 + 125);
        assert!(!pacer.take(1_124));
        assert!(pacer.take(1_125));
        // A second holds eight more.
        let sent = (0..20).filter(|_| pacer.take(2_125)).count();
        assert_eq!(sent, 8);
        pacer.slow_down();
        assert_eq!(pacer.ready_at(), 2_125 + 250);
        for _ in 0..10 {
            pacer.slow_down();
        }
        assert_eq!(pacer.per_second, PACE_SLOWEST);
    }

    #[test]
    fn nonces_are_sixteen_hex_characters() {
        let a = nonce();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, nonce());
    }
}
