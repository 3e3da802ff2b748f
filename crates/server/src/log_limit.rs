//! Log lines a client can cause, at most a few a second: a refusal logged
//! once per attempt would let one connection write the log as fast as it
//! can ask. Lines past the rate are counted and the count is logged with the
//! next line let through.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct LogLimit {
    per_second: u32,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    pub(crate) fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            state: Mutex::new(Window {
                started: Instant::now(),
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines suppressed since the last one logged)` when this line may
    /// be logged, `None` when it is to be dropped.
    pub(crate) fn allow(&self) -> Option<u64> {
        let mut window = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if now.duration_since(window.started) >= Duration::from_secs(1) {
            window.started = now;
            window.logged = 0;
        }
        if window.logged >= self.per_second {
            window.suppressed += 1;
            return None;
        }
        window.logged += 1;
        Some(std::mem::take(&mut window.suppressed))
    }
}

/// At most `max` bytes of a client-chosen value, cut on a character boundary.
pub(crate) fn truncated(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn lets_a_few_lines_a_second_through_and_counts_the_rest() {
        let limit = LogLimit::per_second(2);
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(limit.allow(), Some(2));
    }

    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("hello", 10), "hello");
    }
}
