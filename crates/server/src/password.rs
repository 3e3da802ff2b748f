//! Room passwords: Argon2id hashing off the async workers, and the lockout
//! that slows down guessing.
//!
//! A hash costs tens of milliseconds and about 19 MiB, so it runs on the
//! blocking pool behind a semaphore (at most [`CONCURRENT_HASHES`] at once):
//! no hash stalls other clients, and a crowd typing passwords cannot exhaust
//! memory. Passwords are never logged, echoed or put in any message.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Hashes computed at the same time, server-wide.
const CONCURRENT_HASHES: usize = 2;
/// Wrong answers for one room, within [`FAILURE_WINDOW`], that start a lockout.
const FAILURES_BEFORE_LOCKOUT: usize = 3;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Hashes and checks passwords on the blocking pool; cheap to clone.
#[derive(Debug, Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
        }
    }
}

impl Passwords {
    /// An Argon2id PHC string with a fresh random salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))
        })
        .await?
    }

    /// True if `password` matches the PHC string `hash`.
    pub async fn verify(&self, password: String, hash: String) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false)
    }
}

/// One connection's wrong answers, per room (by case-folded name).
#[derive(Debug)]
pub struct Lockout {
    wait: Duration,
    failures: HashMap<String, Vec<Instant>>,
    locked_until: HashMap<String, Instant>,
}

impl Lockout {
    /// `wait`: how long a connection must wait after too many wrong answers.
    pub fn new(wait: Duration) -> Self {
        Self {
            wait,
            failures: HashMap::new(),
            locked_until: HashMap::new(),
        }
    }

    /// `Err(remaining)` while this connection must wait before trying `room`.
    pub fn check(&mut self, room: &str, now: Instant) -> Result<(), Duration> {
        match self.locked_until.get(room) {
            Some(&until) if until > now => Err(until - now),
            Some(_) => {
                self.locked_until.remove(room);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a wrong answer; returns true if it started a lockout.
    pub fn failed(&mut self, room: &str, now: Instant) -> bool {
        let recent = self.failures.entry(room.to_owned()).or_default();
        recent.retain(|&at| now.saturating_duration_since(at) < FAILURE_WINDOW);
        recent.push(now);
        if recent.len() < FAILURES_BEFORE_LOCKOUT {
            return false;
        }
        self.failures.remove(room);
        self.locked_until.insert(room.to_owned(), now + self.wait);
        true
    }

    pub fn succeeded(&mut self, room: &str) {
        self.failures.remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password_and_is_salted() {
        let passwords = Passwords::default();
        let hash = passwords.hash("open sesame".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("open sesame"));
        assert!(passwords.verify("open sesame".into(), hash.clone()).await);
        assert!(!passwords.verify("open sesame!".into(), hash.clone()).await);
        let again = passwords.hash("open sesame".into()).await.unwrap();
        assert_ne!(hash, again);
        assert!(!passwords.verify("x".into(), "not a hash".into()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn three_misses_within_a_minute_lock_out_for_the_wait() {
        let mut lockout = Lockout::new(Duration::from_secs(30));
        let start = Instant::now();
        assert!(!lockout.failed("games", start));
        assert!(!lockout.failed("games", start + Duration::from_secs(10)));
        assert!(lockout.check("games", start).is_ok());
        assert!(lockout.failed("games", start + Duration::from_secs(20)));
        let now = start + Duration::from_secs(21);
        assert_eq!(lockout.check("games", now), Err(Duration::from_secs(29)));
        assert!(lockout.check("other", now).is_ok());
        assert!(lockout
            .check("games", start + Duration::from_secs(51))
            .is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn misses_spread_over_more_than_a_minute_do_not_lock_out() {
        let mut lockout = Lockout::new(Duration::from_secs(30));
        let start = Instant::now();
        assert!(!lockout.failed("games", start));
        assert!(!lockout.failed("games", start + Duration::from_secs(40)));
        assert!(!lockout.failed("games", start + Duration::from_secs(70)));
    }
}
