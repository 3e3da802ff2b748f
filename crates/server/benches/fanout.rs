//! Criterion benches of the server hot paths: rendering an event to its wire
//! line, and fanning one chat message out to the 1,000 members of a room
//! (offer to every outbox and hand it to the store, then each writer taking
//! its batch, as in a run).

use std::hint::black_box;
use std::sync::Arc;

use banter_proto::event::RoomMessage;
use banter_proto::{Event, Nick, RoomName};
use banter_server::bench_support::{
    plain_text, Delivery, InProcessBroker, Member, NodeId, Outbox, Room, RoomSetup, SessionId,
};
use banter_server::store::memory::MemoryStore;
use banter_server::store::{MessageKind, StoredMessage};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::FutureExt;

fn chat() -> Event {
    Event::Message(RoomMessage {
        id: 1,
        at: 0,
        room: "r0".into(),
        from: "b1x2c17".into(),
        text: "b1x2 17 4242 123456789012 .......................".into(),
        kind: banter_proto::event::MessageKind::Chat,
    })
}

/// The same chat line as the store receives it.
fn message() -> StoredMessage {
    StoredMessage {
        id: 0,
        room: "r0".into(),
        sender: "b1x2c17".into(),
        text: "b1x2 17 4242 123456789012 .......................".into(),
        kind: MessageKind::Chat,
        at: 0,
        from_room: None,
        recipient: None,
    }
}

fn rendering(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    let event = chat();
    group.bench_function("chat event to text", |b| {
        b.iter(|| plain_text(black_box(&event)))
    });
    group.bench_function("delivery: wrap (weighed, not yet rendered)", |b| {
        b.iter(|| Delivery::new(black_box(chat())).cost())
    });
    group.finish();
}

/// Takes everything queued in each outbox, as each session's writer would
/// (an empty outbox's writer would wait, so it is skipped).
fn drain(outboxes: &[Arc<Outbox>]) -> usize {
    outboxes
        .iter()
        .filter_map(|outbox| outbox.next_batch().now_or_never())
        .map(|batch| batch.deliveries.len())
        .sum()
}

fn fan_out(c: &mut Criterion) {
    const MEMBERS: usize = 1000;
    let store = Arc::new(MemoryStore::new(10_000));
    let broker = Arc::new(InProcessBroker::new(store.clone()));
    let room = Room::new(
        RoomName::parse("r0").expect("valid room name"),
        RoomSetup::default(),
        store,
        broker,
        20,
    );
    let outboxes: Vec<Arc<Outbox>> = (0..MEMBERS)
        .map(|_| Arc::new(Outbox::new(1 << 20)))
        .collect();
    for (id, outbox) in outboxes.iter().enumerate() {
        room.join(
            Member {
                id: SessionId::new(NodeId::SINGLE, id as u64),
                nick: Nick::parse(&format!("member{id}")).expect("valid name"),
                outbox: Arc::clone(outbox),
                address: [127, 0, 0, 1].into(),
            },
            false,
            false,
        )
        .expect("the room is open");
    }
    drain(&outboxes);
    let mut group = c.benchmark_group("fan-out");
    group.throughput(Throughput::Elements(MEMBERS as u64 - 1));
    group.bench_function("one chat message to 1,000 members", |b| {
        b.iter(|| {
            let speaker = SessionId::new(NodeId::SINGLE, 0);
            room.say(message(), Some(speaker), speaker)
                .expect("the room is open");
            assert_eq!(drain(&outboxes), MEMBERS - 1);
        })
    });
    group.finish();
}

criterion_group!(benches, rendering, fan_out);
criterion_main!(benches);
