//! Connection limits shared by every door: `--max-connections` in total and
//! `--max-connections-per-ip` from one address. A connection holds a
//! [`Permit`] for its whole life, handshakes included.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use banter_proto::Refusal;

use crate::config::Config;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Open connections, in total and by address, across every door.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it gives the slot back.
pub(crate) struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub(crate) fn new(config: &Config) -> Arc<Self> {
        Arc::new(Self {
            max_total: config.max_connections,
            max_per_ip: config.max_connections_per_ip,
            counts: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a connection from `ip`, or why there is none.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let mut counts = self.lock();
        if counts.total >= self.max_total {
            return Err(Refusal::ServerFull {
                max: self.max_total,
            });
        }
        let from_ip = counts.by_ip.entry(ip).or_default();
        if self.max_per_ip > 0 && *from_ip >= self.max_per_ip {
            return Err(Refusal::TooManyFromAddress {
                max: self.max_per_ip,
            });
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Permit {
            limits: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limits.lock();
        counts.total -= 1;
        if let Some(from_ip) = counts.by_ip.get_mut(&self.ip) {
            *from_ip -= 1;
            if *from_ip == 0 {
                counts.by_ip.remove(&self.ip);
            }
        }
    }
}
