//! One receiver's bookkeeping of what each sender in its room got through.
//!
//! Messages from one sender must arrive exactly once and in sequence order.
//! The tracker keeps, per sender, the next expected sequence number and the
//! numbers skipped so far; a late arrival that fills a gap is out of order, one
//! that fills none is a duplicate. What is still missing at the end is lost.

/// What one receiver saw from one sender.
#[derive(Debug, Clone, Default)]
struct Peer {
    /// One past the highest sequence number seen.
    next: u64,
    /// Distinct messages seen.
    unique: u64,
    /// Sequence numbers below `next` not seen yet (sorted).
    gaps: Vec<u64>,
}

/// Anomalies and counts of one receiver, summed over its senders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub duplicates: u64,
    pub out_of_order: u64,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    peers: Vec<Peer>,
    pub tally: Tally,
}

/// What one arrival was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New to this receiver (in order or late).
    New,
    Duplicate,
}

impl Tracker {
    /// Tracks `senders` senders, known by their slot in the room.
    pub fn new(senders: usize) -> Self {
        Self {
            peers: vec![Peer::default(); senders],
            tally: Tally::default(),
        }
    }

    /// Records message `seq` from the sender at `slot`; `None` if no such slot.
    pub fn record(&mut self, slot: usize, seq: u64) -> Option<Arrival> {
        let peer = self.peers.get_mut(slot)?;
        if seq >= peer.next {
            peer.gaps.extend(peer.next..seq);
            peer.next = seq + 1;
            peer.unique += 1;
            return Some(Arrival::New);
        }
        match peer.gaps.binary_search(&seq) {
            Ok(at) => {
                peer.gaps.remove(at);
                peer.unique += 1;
                self.tally.out_of_order += 1;
                Some(Arrival::New)
            }
            Err(_) => {
                self.tally.duplicates += 1;
                Some(Arrival::Duplicate)
            }
        }
    }

    /// Distinct messages seen from the sender at `slot`.
    pub fn unique(&self, slot: usize) -> u64 {
        self.peers.get(slot).map_or(0, |peer| peer.unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_arrivals_are_clean() {
        let mut tracker = Tracker::new(2);
        for seq in 0..10 {
            assert_eq!(tracker.record(1, seq), Some(Arrival::New));
        }
        assert_eq!(tracker.unique(1), 10);
        assert_eq!(tracker.unique(0), 0);
        assert_eq!(tracker.tally, Tally::default());
    }

    #[test]
    fn gaps_late_arrivals_and_repeats_are_told_apart() {
        let mut tracker = Tracker::new(1);
        tracker.record(0, 0);
        tracker.record(0, 3);
        assert_eq!(tracker.record(0, 1), Some(Arrival::New));
        assert_eq!(tracker.record(0, 1), Some(Arrival::Duplicate));
        assert_eq!(tracker.record(0, 3), Some(Arrival::Duplicate));
        assert_eq!(tracker.unique(0), 3);
        assert_eq!(
            tracker.tally,
            Tally {
                duplicates: 2,
                out_of_order: 1
            }
        );
        assert_eq!(tracker.record(5, 0), None);
    }
}
