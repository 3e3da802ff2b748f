//! How fast one address may make rooms (`--max-new-rooms-per-minute`), on
//! every door: rooms outlive their makers and count against `--max-rooms`,
//! so without this one client could fill the server with empty rooms and
//! nobody could make another.
//!
//! A token bucket per address, full at the per-minute figure and refilled
//! at that rate. Addresses whose bucket has refilled are forgotten when the
//! map grows, so it holds only recent makers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use banter_proto::Refusal;
use tokio::time::Instant;

/// Past this many addresses, full buckets are dropped.
const REMEMBERED_ADDRESSES: usize = 4096;

#[derive(Debug)]
pub(super) struct RoomQuota {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RoomQuota {
    /// `per_minute` rooms a minute from one address; 0 is no limit.
    pub(super) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Takes one room from `address`'s allowance, or says how long to wait.
    pub(super) fn take(&self, address: IpAddr) -> Result<(), Refusal> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let full = f64::from(self.per_minute);
        let per_second = full / 60.0;
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= REMEMBERED_ADDRESSES {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * per_second < full
            });
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: full,
            last: now,
        });
        let earned = now.duration_since(bucket.last).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + earned).min(full);
        bucket.last = now;
        if bucket.tokens < 1.0 {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil() as u64;
            return Err(Refusal::RoomCreationLimited {
                per_minute: self.per_minute,
                retry_secs: wait.max(1),
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_address_gets_its_rooms_a_minute_and_others_are_not_touched() {
        let quota = RoomQuota::new(3);
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            quota.take(one).unwrap();
        }
        let refused = quota.take(one).unwrap_err();
        assert_eq!(refused.code(), "room_creation_limited");
        quota.take(other).unwrap();
        tokio::time::advance(Duration::from_secs(20)).await;
        quota.take(one).unwrap();
        assert!(quota.take(one).is_err());
    }

    #[test]
    fn zero_is_no_limit() {
        let quota = RoomQuota::new(0);
        for _ in 0..1000 {
            quota.take("10.0.0.1".parse().unwrap()).unwrap();
        }
    }
}
