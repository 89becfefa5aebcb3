//! Wire encodings of one 1536-d embedding (OpenAI `text-embedding-3-small`
//! size), both directions: little-endian `f32` bytes (Weaviate gRPC
//! `vector_bytes`) and JSON text (Weaviate REST/GraphQL, pgvector text).
//!
//! Run: `cargo bench --features vector --bench encode`.

use std::hint::black_box;
use std::time::Duration;

use ai_data::vector::wire;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DIM: usize = 1536;

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    // Embedding-like values: roughly unit-norm, many significant digits.
    let vector: Vec<f32> = (0..DIM)
        .map(|_| rng.random_range(-1.0_f32..1.0) / (DIM as f32).sqrt())
        .collect();
    let bytes = wire::encode_f32_le(&vector);
    let text = wire::encode_json(&vector);
    assert_eq!(wire::decode_f32_le(&bytes).ok().as_ref(), Some(&vector));
    assert_eq!(wire::decode_json(&text).ok().as_ref(), Some(&vector));
    println!(
        "one {DIM}-d vector: {} bytes as f32 LE, {} bytes as JSON text",
        bytes.len(),
        text.len()
    );

    let mut group = c.benchmark_group("wire_1536d");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(text.len() * 2);
    group.bench_function("f32_le/encode", |b| {
        b.iter(|| {
            out.clear();
            wire::encode_f32_le_into(black_box(&vector), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("f32_le/decode", |b| {
        b.iter(|| black_box(wire::decode_f32_le(black_box(&bytes))))
    });
    group.bench_function("json/encode", |b| {
        b.iter(|| {
            out.clear();
            wire::encode_json_into(black_box(&vector), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("json/decode", |b| {
        b.iter(|| black_box(wire::decode_json(black_box(&text))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
