//! Criterion benches of the proto hot paths: parsing a client line into a
//! command, and decoding raw input into lines with the codec.

use banter_proto::command::parse;
use banter_proto::LineCodec;
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use tokio_util::codec::Decoder;

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.bench_function("chat line", |b| {
        b.iter(|| parse(black_box("b1x2c17 17 4242 123456789012 ................")))
    });
    group.bench_function(":msg command", |b| {
        b.iter(|| parse(black_box(":msg alice are you coming to the meeting?")))
    });
    group.bench_function(":join command", |b| {
        b.iter(|| parse(black_box(":cr games")))
    });
    group.finish();
}

fn decoding(c: &mut Criterion) {
    const LINES: usize = 64;
    let line = "b1x2c17 17 4242 123456789012 ..................\n";
    let input: BytesMut = line.repeat(LINES).as_bytes().into();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("decode 64 lines of 48 bytes", |b| {
        b.iter_batched_ref(
            || (LineCodec::new(4096), input.clone()),
            |(codec, buffer)| {
                let mut lines = 0;
                while let Some(item) = codec.decode(buffer).expect("valid input") {
                    black_box(item);
                    lines += 1;
                }
                assert_eq!(lines, LINES);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, parsing, decoding);
criterion_main!(benches);
