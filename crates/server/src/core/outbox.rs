//! The bounded per-session send queue and its overflow policy.
//!
//! Contract: pushing never blocks and never reorders. Room traffic
//! ([`Outbox::offer`]) is dropped when the queue holds more than its byte limit;
//! the session's writer then tells the client how many messages it missed once
//! the queue drains. Replies to the session's own commands
//! ([`Outbox::reply`]) are queued while the whole queue stays within
//! `--max-output-bytes` (one reply always fits an empty queue); the session
//! stops reading its client while the queue is over the limit, so a client
//! gets at most one request's answers ahead of what it reads. One that asks
//! past the hard bound anyway is [overflowed](Outbox::overflowed): its
//! session ends it rather than buffer more.
//!
//! While a hidden answer (a password) is being typed the outbox is *held*:
//! room traffic is set aside (still bounded by the same limit) and only
//! replies go out, so nothing can end the terminal's concealed input early.
//!
//! A writer waiting out its coalescing window is woken early once a full
//! batch ([`FULL_BATCH_BYTES`]) is queued: a write that big already spreads
//! its fixed cost thin, and waiting longer would only add delay.
//!
//! The lock is a std `Mutex`: every critical section is a few pointer moves,
//! never held across an `.await`.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use banter_proto::Event;
use tokio::sync::Notify;

use crate::core::delivery::{Delivery, DoorItem, Payload, RequestTag};

/// Queued bytes at which a batch goes out without waiting for the end of
/// its writer's coalescing window: about 100 chat lines, over which a
/// write's fixed cost (about 5 us of kernel time on loopback) is under 0.05 us
/// a line (BENCHMARKS.md, "Issue 23, round 11").
const FULL_BATCH_BYTES: u32 = 8 * 1024;

/// What happened to an offered delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offer {
    Queued,
    /// The queue was full; the client will be told it missed messages.
    Dropped,
    /// The session is gone.
    Closed,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Arc<Delivery>>,
    /// Room traffic set aside while held.
    deferred: Vec<Arc<Delivery>>,
    /// Bytes in `queue` and `deferred` together. Counts and bounds are
    /// `u32`s (saturating): with them an outbox is one allocation size
    /// class smaller, for every connection.
    bytes: u32,
    deferred_bytes: u32,
    /// Messages dropped since the last batch, by room (`None`: private ones).
    missed: Vec<Missed>,
    held: bool,
    closed: bool,
    /// A reply was refused for the hard bound: the client is to be dropped.
    overflowed: bool,
    /// Closed for a take-over: the writer keeps the connection open.
    handed_over: bool,
    /// The writer draining this outbox ended (its connection failed or
    /// stalled, or it was stopped) and no other has taken its place.
    writer_ended: bool,
    /// A writer waiting out its window for a full batch ([`Outbox::filled`]).
    /// A waker, not a `Notify`: the future waiting is then one reference,
    /// and a writer's task, held for the connection's life, stays smaller.
    full_waiter: Option<Waker>,
}

/// One session's outgoing queue; see the module docs.
#[derive(Debug)]
pub struct Outbox {
    limit: u32,
    /// Most bytes queued, replies included.
    max_output: u32,
    state: Mutex<State>,
    /// Wakes the writer when something is queued or the outbox closes.
    ready: Notify,
    /// Wakes the session when the writer has drained the queue.
    drained: Notify,
}

/// Messages of one room (or private ones, `room: None`) a client missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub room: Option<String>,
    pub count: u64,
}

/// What the writer takes out in one go.
pub struct Batch {
    pub deliveries: VecDeque<Arc<Delivery>>,
    /// What the deliveries are charged (about their size on the wire), so a
    /// writer can size its buffer once.
    pub bytes: usize,
    /// Messages dropped since the last batch, by room.
    pub missed: Vec<Missed>,
    /// The outbox is closed: after this batch the writer stops.
    pub closed: bool,
    /// Closed for a take-over: the connection stays open for another outbox.
    pub handed_over: bool,
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: bytes(limit),
            max_output: u32::MAX,
            state: Mutex::default(),
            ready: Notify::new(),
            drained: Notify::new(),
        }
    }

    /// With a hard bound on everything queued, replies included.
    pub fn with_max_output(mut self, max_output: usize) -> Self {
        self.max_output = bytes(max_output).max(self.limit);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this state half-changed, so poison is ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues room traffic unless the queue is over its byte limit.
    pub(super) fn offer(&self, delivery: Arc<Delivery>) -> Offer {
        let cost = bytes(delivery.cost());
        let mut state = self.lock();
        if state.closed {
            return Offer::Closed;
        }
        if state.bytes.saturating_add(cost) > self.limit && state.bytes > 0 {
            let room = delivery.event().and_then(Event::room);
            // A client is in few rooms, so this list stays short.
            match state.missed.iter_mut().find(|m| m.room.as_deref() == room) {
                Some(missed) => missed.count += 1,
                None => state.missed.push(Missed {
                    room: room.map(str::to_owned),
                    count: 1,
                }),
            }
            return Offer::Dropped;
        }
        if state.held {
            state.bytes = state.bytes.saturating_add(cost);
            state.deferred_bytes = state.deferred_bytes.saturating_add(cost);
            state.deferred.push(delivery);
            return Offer::Queued;
        }
        let filled = Self::add(&mut state, cost);
        let was_empty = state.queue.is_empty();
        state.queue.push_back(delivery);
        drop(state);
        if was_empty {
            self.ready.notify_one();
        }
        if let Some(waiter) = filled {
            waiter.wake();
        }
        Offer::Queued
    }

    /// Queues a reply to the session's own input (a core event, or any
    /// payload); see [`Outbox::reply_to`].
    pub fn reply(&self, reply: impl Into<Payload>) {
        self.reply_to(reply.into(), None);
    }

    /// Queues an item of the door's own output, as a reply (see
    /// [`Outbox::reply_to`]): it keeps its place after everything queued before it.
    pub fn reply_door(&self, item: impl DoorItem) {
        self.reply_to(Payload::Door(Box::new(item)), None);
    }

    /// Queues a reply to the client's request `request`, unless the queue
    /// would pass the hard bound: then it is dropped and the outbox is
    /// [overflowed](Outbox::overflowed).
    pub(super) fn reply_to(&self, payload: Payload, request: Option<RequestTag>) {
        let delivery = Delivery::carrying(payload, request);
        let cost = bytes(delivery.cost());
        let mut state = self.lock();
        if state.closed || state.overflowed {
            return;
        }
        if state.bytes > 0 && state.bytes.saturating_add(cost) > self.max_output {
            state.overflowed = true;
            return;
        }
        let filled = Self::add(&mut state, cost);
        state.queue.push_back(delivery);
        drop(state);
        self.ready.notify_one();
        if let Some(waiter) = filled {
            waiter.wake();
        }
    }

    /// Queues a reply ahead of everything queued: a resumed session's
    /// `welcome`, before what was queued while it waited. Never refused.
    pub(super) fn reply_first(&self, payload: Payload, request: Option<RequestTag>) {
        let delivery = Delivery::carrying(payload, request);
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.bytes = state.bytes.saturating_add(bytes(delivery.cost()));
        state.queue.push_front(delivery);
        drop(state);
        self.ready.notify_one();
    }

    /// Stops taking new deliveries and marks the outbox handed over: the
    /// writer sends what is queued and gives the connection back (see
    /// `doors::writer::run`) rather than closing it.
    pub fn hand_over(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.handed_over = true;
        drop(state);
        self.ready.notify_one();
    }

    /// True while the queue holds more than its limit; the session waits for
    /// [`Outbox::drained`] before reading more input.
    pub fn is_full(&self) -> bool {
        let state = self.lock();
        state.bytes - state.deferred_bytes >= self.limit
    }

    /// True once a reply was dropped for the hard bound: the client asked
    /// for more than it reads, and its session ends it.
    pub fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    /// Sets room traffic aside until [`Outbox::release`]; replies still go out.
    pub fn hold(&self) {
        self.lock().held = true;
    }

    /// Sends what was set aside, in order, and stops holding.
    pub fn release(&self) {
        let mut state = self.lock();
        if !state.held {
            return;
        }
        state.held = false;
        state.deferred_bytes = 0;
        let deferred = std::mem::take(&mut state.deferred);
        state.queue.extend(deferred);
        let filled = Self::full_waiter(&mut state);
        drop(state);
        self.ready.notify_one();
        if let Some(waiter) = filled {
            waiter.wake();
        }
    }

    pub async fn drained(&self) {
        self.drained.notified().await;
    }

    /// Called as the writer ends, however it ends (not for a hand-over):
    /// a session waiting in [`Outbox::drained`] wakes and finds
    /// [`Outbox::writer_ended`] true.
    pub fn end_writer(&self) {
        self.lock().writer_ended = true;
        self.drained.notify_one();
    }

    /// A new writer drains this outbox (a session taken over).
    pub fn attach_writer(&self) {
        self.lock().writer_ended = false;
    }

    /// Whether the writer ended: nothing queued here will be drained.
    pub fn writer_ended(&self) -> bool {
        self.lock().writer_ended
    }

    /// Stops taking new deliveries; the writer sends what is queued, then stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Whether the writer has something to do.
    fn has_work(state: &State) -> bool {
        !state.queue.is_empty() || (!state.missed.is_empty() && !state.held) || state.closed
    }

    /// Whether there is work now, without waiting or taking it.
    pub fn is_ready(&self) -> bool {
        Self::has_work(&self.lock())
    }

    /// Waits until there is work, without taking it. Cancel-safe.
    pub async fn ready(&self) {
        loop {
            if Self::has_work(&self.lock()) {
                return;
            }
            self.ready.notified().await;
        }
    }

    /// Waits until a full batch ([`FULL_BATCH_BYTES`]) is queued. Cancel-safe;
    /// one writer waits at a time.
    pub fn filled(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if Self::queued_bytes(&state) >= FULL_BATCH_BYTES {
                return Poll::Ready(());
            }
            match &mut state.full_waiter {
                Some(waiter) if waiter.will_wake(cx.waker()) => {}
                waiter => *waiter = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }

    /// Bytes queued for the writer (room traffic set aside while held is not).
    fn queued_bytes(state: &State) -> u32 {
        state.bytes.saturating_sub(state.deferred_bytes)
    }

    /// Counts `cost` more bytes into the queue; the writer to wake if that
    /// made a full batch (see [`Outbox::full_waiter`]).
    fn add(state: &mut State, cost: u32) -> Option<Waker> {
        state.bytes = state.bytes.saturating_add(cost);
        Self::full_waiter(state)
    }

    /// The writer waiting for a full batch, taken, if there is one now. Taken
    /// once: a writer that asks again while the batch is full is answered
    /// at once instead of waiting.
    fn full_waiter(state: &mut State) -> Option<Waker> {
        if Self::queued_bytes(state) < FULL_BATCH_BYTES {
            return None;
        }
        state.full_waiter.take()
    }

    /// Waits for work and takes all of it, so one socket write carries many lines.
    pub async fn next_batch(&self) -> Batch {
        loop {
            {
                let mut state = self.lock();
                if Self::has_work(&state) {
                    let deliveries = std::mem::take(&mut state.queue);
                    state.full_waiter = None;
                    let bytes = Self::queued_bytes(&state);
                    state.bytes = state.deferred_bytes;
                    let missed = if state.held {
                        Vec::new()
                    } else {
                        std::mem::take(&mut state.missed)
                    };
                    let batch = Batch {
                        deliveries,
                        bytes: bytes as usize,
                        missed,
                        closed: state.closed,
                        handed_over: state.handed_over,
                    };
                    drop(state);
                    self.drained.notify_one();
                    return batch;
                }
            }
            self.ready.notified().await;
        }
    }
}

/// A byte count or bound as the outbox keeps it.
fn bytes(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(text: &str) -> Arc<Delivery> {
        Delivery::new(Event::Message(banter_proto::event::RoomMessage {
            id: 1,
            at: 0,
            room: "r".into(),
            from: "a".into(),
            text: text.into(),
            kind: banter_proto::event::MessageKind::Chat,
        }))
    }

    #[tokio::test]
    async fn offers_past_the_limit_are_dropped_and_counted() {
        let outbox = Outbox::new(100);
        let mut queued = 0;
        for _ in 0..50 {
            if outbox.offer(chat("0123456789")) == Offer::Queued {
                queued += 1;
            }
        }
        assert!((1..10).contains(&queued), "{queued}");
        assert!(outbox.is_full() || queued > 0);
        let batch = outbox.next_batch().await;
        assert_eq!(batch.deliveries.len(), queued);
        assert_eq!(
            batch.missed,
            [Missed {
                room: Some("r".into()),
                count: 50 - queued as u64
            }]
        );
        assert_eq!(outbox.offer(chat("again")), Offer::Queued);
    }

    #[tokio::test]
    async fn a_session_waiting_for_its_client_to_read_wakes_when_the_writer_ends() {
        let outbox = Arc::new(Outbox::new(100));
        outbox.reply(Event::Users(vec!["x".repeat(200)]));
        assert!(outbox.is_full() && !outbox.writer_ended());
        // A door waiting mid-answer for the client to read (IRC's paced WHO).
        let waiting = {
            let outbox = Arc::clone(&outbox);
            tokio::spawn(async move {
                while outbox.is_full() && !outbox.writer_ended() {
                    outbox.drained().await;
                }
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        outbox.end_writer();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the waiting session woke")
            .unwrap();
        // A writer of a session taken over drains it again.
        outbox.attach_writer();
        assert!(!outbox.writer_ended());
    }

    #[tokio::test]
    async fn replies_are_kept_up_to_the_hard_bound_and_then_overflow() {
        let outbox = Outbox::new(10).with_max_output(10_000);
        for _ in 0..20 {
            outbox.reply(Event::Users(vec!["x".repeat(20)]));
        }
        assert!(!outbox.overflowed());
        let batch = outbox.next_batch().await;
        assert_eq!(batch.deliveries.len(), 20);
        assert!(batch.missed.is_empty());
        // One reply larger than the bound still fits an empty queue; the next does not.
        outbox.reply(Event::Users(vec!["x".repeat(20_000)]));
        assert!(!outbox.overflowed());
        outbox.reply(Event::Users(vec!["y".into()]));
        assert!(outbox.overflowed());
        let batch = outbox.next_batch().await;
        assert_eq!(batch.deliveries.len(), 1);
    }

    #[tokio::test]
    async fn while_held_only_replies_go_out_and_the_rest_follows_in_order() {
        let outbox = Outbox::new(1024);
        outbox.offer(chat("before"));
        outbox.hold();
        outbox.offer(chat("during"));
        outbox.reply(Event::Cancelled);
        let batch = outbox.next_batch().await;
        // What was set aside is not in the batch, nor in what it is charged.
        let charged: usize = batch.deliveries.iter().map(|d| d.cost()).sum();
        assert_eq!(batch.bytes, charged);
        let events: Vec<_> = batch
            .deliveries
            .iter()
            .filter_map(|d| d.event().cloned())
            .collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], Event::Cancelled);
        assert!(!outbox.is_full());
        outbox.release();
        let batch = outbox.next_batch().await;
        assert_eq!(batch.deliveries.len(), 1);
        assert!(
            matches!(batch.deliveries[0].event(), Some(Event::Message(m)) if &*m.text == "during")
        );
    }

    #[tokio::test]
    async fn a_full_batch_wakes_a_waiting_writer_and_traffic_set_aside_does_not_count() {
        use futures::FutureExt;
        let outbox = Arc::new(Outbox::new(1 << 20));
        let line = chat("0123456789");
        let lines_in_a_batch = (FULL_BATCH_BYTES as usize).div_ceil(line.cost());
        // Set aside while held: not a batch the writer could take.
        outbox.hold();
        for _ in 0..lines_in_a_batch {
            outbox.offer(Arc::clone(&line));
        }
        assert!(outbox.filled().now_or_never().is_none());
        outbox.release();
        let _ = outbox.next_batch().await;
        // A writer waiting for a full batch wakes with the line that makes one.
        let waiting = {
            let outbox = Arc::clone(&outbox);
            tokio::spawn(async move { outbox.filled().await })
        };
        for _ in 1..lines_in_a_batch {
            outbox.offer(Arc::clone(&line));
        }
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        outbox.offer(line);
        tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("a full batch wakes the writer")
            .unwrap();
    }

    #[tokio::test]
    async fn a_closed_outbox_refuses_offers_and_ends_the_writer() {
        let outbox = Outbox::new(100);
        outbox.offer(chat("last"));
        outbox.close();
        assert_eq!(outbox.offer(chat("late")), Offer::Closed);
        let batch = outbox.next_batch().await;
        assert!(batch.closed);
        assert_eq!(batch.deliveries.len(), 1);
    }
}
