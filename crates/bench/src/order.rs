//! Whether every receiver in a room saw the room's messages in one order:
//! the promise a cluster of banterd nodes must keep (issue 20), checked
//! after a run from each receiver's order of arrival (`--check-order`).
//!
//! No receiver sees its own messages, so two receivers are compared on the
//! messages both got: each receiver's arrivals must come in the order the
//! room's first two receivers (the references) saw them. With two
//! references, every message is checked against at least one of them.

use std::collections::HashMap;

use crate::client::Outcome;
use crate::scenario::Params;

/// How many receivers saw some room's messages in an order that disagrees
/// with another receiver of that room.
pub fn disagreements(params: &Params, outcomes: &[Outcome]) -> u64 {
    let mut rooms: HashMap<usize, Vec<&Outcome>> = HashMap::new();
    for outcome in outcomes.iter().filter(|o| o.index < params.clients) {
        rooms
            .entry(params.room_of(outcome.index))
            .or_default()
            .push(outcome);
    }
    let mut disagreeing = 0;
    for receivers in rooms.values_mut() {
        receivers.sort_by_key(|outcome| outcome.index);
        let references: Vec<HashMap<(u32, u64), usize>> = receivers
            .iter()
            .take(2)
            .map(|reference| positions(&reference.order))
            .collect();
        for receiver in receivers.iter() {
            if references
                .iter()
                .any(|reference| !agrees(reference, &receiver.order))
            {
                disagreeing += 1;
            }
        }
    }
    disagreeing
}

fn positions(order: &[(u32, u64)]) -> HashMap<(u32, u64), usize> {
    order
        .iter()
        .enumerate()
        .map(|(at, &message)| (message, at))
        .collect()
}

/// Whether the messages of `order` that the reference also got come in the
/// reference's order.
fn agrees(reference: &HashMap<(u32, u64), usize>, order: &[(u32, u64)]) -> bool {
    let mut last = None;
    for message in order {
        if let Some(&at) = reference.get(message) {
            if last.is_some_and(|last| at <= last) {
                return false;
            }
            last = Some(at);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_order_seen_by_all_agrees_whatever_each_misses() {
        let reference = positions(&[(1, 0), (2, 0), (1, 1), (3, 0)]);
        // The receiver is sender 2: it does not see its own message.
        assert!(agrees(&reference, &[(1, 0), (1, 1), (3, 0)]));
        // A message the reference sent itself is not in its order.
        assert!(agrees(&reference, &[(0, 0), (1, 0), (2, 0)]));
    }

    #[test]
    fn two_messages_swapped_disagree() {
        let reference = positions(&[(1, 0), (2, 0), (1, 1)]);
        assert!(!agrees(&reference, &[(2, 0), (1, 0), (1, 1)]));
        assert!(!agrees(&reference, &[(1, 0), (1, 0)]));
    }
}
