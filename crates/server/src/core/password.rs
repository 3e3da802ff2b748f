//! Room passwords: Argon2id hashing off the async workers, and the lockout
//! that slows down guessing.
//!
//! A hash costs tens of milliseconds and 19 MiB of working memory, so it runs
//! on the blocking pool behind a semaphore (at most [`CONCURRENT_HASHES`] at
//! once): no hash stalls other clients. The semaphore serves in order, and
//! each address holds at most one place in its queue (its other requests
//! wait their turn behind that one), so a crowd guessing from one address
//! delays a user elsewhere by a hash or two, not by the crowd. At shutdown
//! the queue is closed and whoever waits is told at once. Each running hash borrows a slot of
//! working memory, allocated on first use and then kept for the next hash.
//! Allocating it afresh per hash, on whichever blocking thread ran it, left
//! hundreds of MB of freed heap resident; with the slots a crowd typing
//! passwords costs at most [`CONCURRENT_HASHES`] × 19 MiB, once. Passwords
//! are never logged, echoed or put in any message.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::warn;

/// Hashes computed at the same time, server-wide; also the most slots.
const CONCURRENT_HASHES: usize = 2;
/// A slot's size: what a hash with the default parameters (ours) needs.
const SLOT_BLOCKS: usize = Params::DEFAULT.block_count();
/// Wrong answers for one room, within [`FAILURE_WINDOW`], that start a lockout.
const FAILURES_BEFORE_LOCKOUT: usize = 3;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Past this many addresses, those with nothing waiting are forgotten.
const REMEMBERED_ADDRESSES: usize = 1024;

/// Hashes and checks passwords on the blocking pool; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Passwords {
    permits: Arc<Semaphore>,
    /// One place in the queue for `permits` per address.
    turns: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
    slots: Arc<Slots>,
}

/// The server is shutting down: no more hashing.
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub(super) struct Closed;

impl Default for Passwords {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
            turns: Arc::default(),
            slots: Arc::default(),
        }
    }
}

impl Passwords {
    /// An Argon2id PHC string with a fresh random salt, in the format
    /// `Argon2::default().hash_password` gives.
    pub(super) async fn hash(&self, from: IpAddr, password: String) -> anyhow::Result<String> {
        self.with_slot(from, move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            hash_in(memory, password.as_bytes(), &salt)
        })
        .await?
        .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))
    }

    /// Whether `password` matches the PHC string `hash`; `Err` at shutdown.
    pub(super) async fn verify(
        &self,
        from: IpAddr,
        password: String,
        hash: String,
    ) -> Result<bool, Closed> {
        match self
            .with_slot(from, move |memory| {
                verify_in(memory, password.as_bytes(), &hash)
            })
            .await
        {
            Ok(matched) => Ok(matched.unwrap_or(false)),
            Err(_) if self.permits.is_closed() => Err(Closed),
            Err(_) => Ok(false),
        }
    }

    /// Stops hashing: every wait ends at once with [`Closed`].
    pub(crate) fn close(&self) {
        self.permits.close();
    }

    /// Runs `work` on the blocking pool with a slot, once it is `from`'s
    /// turn and a permit is free. The blocking task holds the turn, the
    /// permit and the slot until `work` ends, even if the caller stops
    /// waiting, so no more than [`CONCURRENT_HASHES`] slots ever exist.
    async fn with_slot<T: Send + 'static>(
        &self,
        from: IpAddr,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let turn = self.turn(from).acquire_owned().await?;
        if self.permits.is_closed() {
            return Err(Closed.into());
        }
        let permit = Arc::clone(&self.permits).acquire_owned().await?;
        let slots = Arc::clone(&self.slots);
        let done = tokio::task::spawn_blocking(move || {
            let mut memory = slots.take();
            let done = work(&mut memory);
            slots.put(memory);
            drop((permit, turn));
            done
        })
        .await?;
        Ok(done)
    }

    /// The queue place of one address.
    fn turn(&self, from: IpAddr) -> Arc<Semaphore> {
        let mut turns = self
            .turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if turns.len() >= REMEMBERED_ADDRESSES {
            // Held only by the map: nobody from there is waiting or hashing.
            turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        Arc::clone(
            turns
                .entry(from)
                .or_insert_with(|| Arc::new(Semaphore::new(1))),
        )
    }
}

/// Argon2 working memory, [`SLOT_BLOCKS`] blocks each, kept between hashes.
/// A slot is taken only under a permit, so there are at most as many as
/// permits; one lost to a panic is allocated again on the next take.
#[derive(Default)]
struct Slots(Mutex<Vec<Box<[Block]>>>);

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Vec<Box<[Block]>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take(&self) -> Box<[Block]> {
        let free = self.lock().pop();
        free.unwrap_or_else(|| vec![Block::new(); SLOT_BLOCKS].into_boxed_slice())
    }

    fn put(&self, slot: Box<[Block]>) {
        self.lock().push(slot);
    }
}

impl fmt::Debug for Slots {
    // The blocks themselves are 19 MiB of noise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("free", &self.lock().len())
            .finish()
    }
}

/// The PHC string for `password` and `salt` with the default parameters,
/// hashed in `memory`.
fn hash_in(
    memory: &mut [Block],
    password: &[u8],
    salt: &SaltString,
) -> password_hash::Result<String> {
    let params = Params::DEFAULT;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(memory, &argon2, password, salt.as_salt())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`, hashed in `memory` with
/// the algorithm, version and parameters `phc` names. One needing more memory
/// than a slot is refused rather than allocated for.
fn verify_in(memory: &mut [Block], password: &[u8], phc: &str) -> password_hash::Result<bool> {
    let hash = PasswordHash::new(phc)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&hash)?;
    if params.block_count() > memory.len() {
        warn!(
            m_cost = params.m_cost(),
            "refusing a password hash that needs more memory than a hashing slot"
        );
        return Ok(false);
    }
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)?;
    let argon2 = Argon2::new(Algorithm::try_from(hash.algorithm)?, version, params);
    // `Output` equality is constant-time.
    Ok(compute(memory, &argon2, password, salt)? == expected)
}

/// The raw Argon2 output for `password` and `salt`, as long as `argon2`'s
/// parameters ask (32 bytes by default).
fn compute(
    memory: &mut [Block],
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
) -> password_hash::Result<Output> {
    let mut decoded = [0; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut decoded)?;
    let len = argon2
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(len, |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut *memory)?)
    })
}

/// One connection's wrong answers, per room (by case-folded name).
#[derive(Debug)]
pub(super) struct Lockout {
    wait: Duration,
    failures: HashMap<String, Vec<Instant>>,
    locked_until: HashMap<String, Instant>,
}

impl Lockout {
    /// `wait`: how long a connection must wait after too many wrong answers.
    pub(super) fn new(wait: Duration) -> Self {
        Self {
            wait,
            failures: HashMap::new(),
            locked_until: HashMap::new(),
        }
    }

    /// `Err(remaining)` while this connection must wait before trying `room`.
    pub(super) fn check(&mut self, room: &str, now: Instant) -> Result<(), Duration> {
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
    pub(super) fn failed(&mut self, room: &str, now: Instant) -> bool {
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

    pub(super) fn succeeded(&mut self, room: &str) {
        self.failures.remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password_and_is_salted() {
        let passwords = Passwords::default();
        let hash = passwords.hash(HERE, "open sesame".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("open sesame"));
        assert!(passwords
            .verify(HERE, "open sesame".into(), hash.clone())
            .await
            .unwrap());
        assert!(!passwords
            .verify(HERE, "open sesame!".into(), hash.clone())
            .await
            .unwrap());
        let again = passwords.hash(HERE, "open sesame".into()).await.unwrap();
        assert_ne!(hash, again);
        assert!(!passwords
            .verify(HERE, "x".into(), "not a hash".into())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn hashes_keep_the_format_of_argon2_and_old_ones_still_verify() {
        use argon2::password_hash::PasswordHasher;

        let passwords = Passwords::default();
        let hash = passwords.hash(HERE, "open sesame".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"open sesame", &salt)
            .unwrap()
            .to_string();
        let mut memory = vec![Block::new(); SLOT_BLOCKS];
        assert_eq!(hash_in(&mut memory, b"open sesame", &salt).unwrap(), old);
        assert!(passwords
            .verify(HERE, "open sesame".into(), old.clone())
            .await
            .unwrap());
        assert!(!passwords
            .verify(HERE, "open sesamE".into(), old)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn closing_ends_every_wait_at_once() {
        let passwords = Passwords::default();
        let hash = passwords.hash(HERE, "open sesame".into()).await.unwrap();
        let waiting: Vec<_> = (0..8)
            .map(|_| {
                let passwords = passwords.clone();
                let hash = hash.clone();
                tokio::spawn(async move { passwords.verify(HERE, "guess".into(), hash).await })
            })
            .collect();
        passwords.close();
        let mut closed = 0;
        for wait in waiting {
            closed += usize::from(wait.await.unwrap().is_err());
        }
        // Those already hashing finish; every one still waiting is told.
        assert!(closed >= 6, "{closed}");
        assert!(passwords.hash(HERE, "late".into()).await.is_err());
    }

    #[test]
    fn the_stored_parameters_are_honoured_up_to_a_slot() {
        use argon2::password_hash::PasswordHasher;

        let mut memory = vec![Block::new(); SLOT_BLOCKS];
        let salt = SaltString::generate(&mut OsRng);
        let hash_with = |m_cost, algorithm| {
            let params = Params::new(m_cost, 1, 1, None).unwrap();
            Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string()
        };
        let small = hash_with(1024, Algorithm::Argon2i);
        assert!(verify_in(&mut memory, b"pw", &small).unwrap());
        assert!(!verify_in(&mut memory, b"pW", &small).unwrap());
        // More memory than a slot: refused without hashing.
        let large = hash_with(SLOT_BLOCKS as u32 + 8, Algorithm::Argon2id);
        assert!(!verify_in(&mut memory, b"pw", &large).unwrap());
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
