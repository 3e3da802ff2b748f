//! Flood control: two token buckets per connection.
//!
//! Every item a client's input decodes to (a line, a telnet negotiation, an
//! over-long line's notice) costs one token of [`Flood`]. A client within its
//! rate is untouched. Past it, each item waits for a token (the session stops
//! reading, so TCP pushes back on the client and nobody else is slowed), the
//! client is warned once, and a client that keeps sending over the limit
//! without a pause is disconnected.
//!
//! Some bytes decode to nothing at all: NULs and other stripped bytes, the
//! discarded rest of an over-long line. [`ByteBudget`] charges every byte
//! read, whatever it becomes, so no input is free: once a client has spent
//! its bytes, its socket is not read until they are earned back. It is its
//! own limit rather than lines times line length, so that a small
//! `--max-line-bytes` does not make pasting slow.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    Go,
    /// Handle the line after `delay`; `warn` on the first line of a flood.
    Wait {
        delay: Duration,
        warn: bool,
    },
    Disconnect,
}

/// Every connection holds two of these buckets (in its session, or an
/// HTTP connection's meter), so the settings are kept as the config's
/// `u32`s: the connection's state is a size class smaller for it.
#[derive(Debug)]
pub(crate) struct Flood {
    tokens: f64,
    last: Instant,
    per_second: u32,
    burst: u32,
    /// Lines over the limit since the bucket was last full.
    strikes: u32,
    disconnect_after: u32,
}

impl Flood {
    pub(crate) fn new(config: &Config) -> Self {
        let burst = config.rate_burst.max(1);
        Self {
            per_second: config.rate_limit,
            burst,
            tokens: f64::from(burst),
            last: Instant::now(),
            strikes: 0,
            disconnect_after: config.flood_disconnect,
        }
    }

    /// Called for every line the client sends.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        if self.per_second == 0 {
            return Verdict::Go;
        }
        let (per_second, burst) = (f64::from(self.per_second), f64::from(self.burst));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * per_second).min(burst);
        if self.tokens >= burst {
            self.strikes = 0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Go;
        }
        self.strikes += 1;
        if self.disconnect_after > 0 && self.strikes > self.disconnect_after {
            return Verdict::Disconnect;
        }
        let delay = Duration::from_secs_f64((1.0 - self.tokens) / per_second);
        // Spend the token now; it is earned back during the delay.
        self.tokens -= 1.0;
        Verdict::Wait {
            delay,
            warn: self.strikes == 1,
        }
    }
}

impl Flood {
    /// Charges `items` more at once (the extra targets of one line): nothing
    /// waits now, but the next item waits for all of them, and they count
    /// toward a disconnect like any other.
    pub(crate) fn charge(&mut self, items: usize, now: Instant) {
        for _ in 0..items {
            if self.check(now) == Verdict::Disconnect {
                return;
            }
        }
    }
}

/// The bytes a connection may send: [`Config::input_byte_rate`] a second,
/// with bursts of twice that. Off when that is 0.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    tokens: f64,
    last: Instant,
    /// The config's rate; the burst is twice that.
    per_second: u32,
}

impl ByteBudget {
    /// `None` when the byte rate is unlimited.
    pub(crate) fn new(config: &Config) -> Option<Self> {
        if config.input_byte_rate == 0 {
            return None;
        }
        Some(Self {
            tokens: 2.0 * f64::from(config.input_byte_rate),
            last: Instant::now(),
            per_second: config.input_byte_rate,
        })
    }

    /// Charges `bytes` just read; returns when reading may go on, if the
    /// budget is overspent.
    pub(crate) fn spend(&mut self, bytes: usize, now: Instant) -> Option<Instant> {
        let per_second = f64::from(self.per_second);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * per_second).min(2.0 * per_second) - bytes as f64;
        (self.tokens < 0.0).then(|| now + Duration::from_secs_f64(-self.tokens / per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood(rate: u32, burst: u32, disconnect_after: u32) -> Flood {
        let mut config = Config::defaults();
        config.rate_limit = rate;
        config.rate_burst = burst;
        config.flood_disconnect = disconnect_after;
        Flood::new(&config)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_lines_wait_and_one_warning_is_given() {
        let mut flood = flood(10, 3, 0);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(flood.check(now), Verdict::Go);
        }
        let Verdict::Wait { delay, warn: true } = flood.check(now) else {
            panic!("expected a warning wait");
        };
        assert_eq!(delay, Duration::from_millis(100));
        let later = now + delay;
        assert!(matches!(
            flood.check(later),
            Verdict::Wait { warn: false, .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_forgives_and_constant_flooding_disconnects() {
        let mut flood = flood(10, 2, 3);
        let mut now = Instant::now();
        flood.check(now);
        flood.check(now);
        for _ in 0..3 {
            assert!(matches!(flood.check(now), Verdict::Wait { .. }));
        }
        now += Duration::from_secs(5);
        assert_eq!(flood.check(now), Verdict::Go);
        assert_eq!(flood.check(now), Verdict::Go);
        for _ in 0..3 {
            assert!(matches!(flood.check(now), Verdict::Wait { .. }));
        }
        assert_eq!(flood.check(now), Verdict::Disconnect);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_zero_turns_it_off() {
        let mut flood = flood(0, 1, 1);
        for _ in 0..1000 {
            assert_eq!(flood.check(Instant::now()), Verdict::Go);
        }
        let mut config = Config::defaults();
        config.input_byte_rate = 0;
        assert!(ByteBudget::new(&config).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_past_the_burst_wait_for_their_time() {
        let mut config = Config::defaults();
        config.input_byte_rate = 1000;
        let mut budget = ByteBudget::new(&config).unwrap();
        let now = Instant::now();
        // A burst of two seconds' worth passes; 1,000 bytes a second after that.
        assert_eq!(budget.spend(2000, now), None);
        assert_eq!(
            budget.spend(500, now),
            Some(now + Duration::from_millis(500))
        );
        // Debt is paid back at the rate before anything more is free.
        let later = now + Duration::from_millis(500);
        assert_eq!(budget.spend(0, later), None);
        assert_eq!(
            budget.spend(100, later),
            Some(later + Duration::from_millis(100))
        );
    }
}
