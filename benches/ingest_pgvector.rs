//! Bulk ingest into pgvector: `VectorStore::upsert` of 10k x 768 vs a
//! row-at-a-time INSERT loop on the same pool (the peers' pattern), in
//! vectors/s. Python psycopg3 `COPY ... (FORMAT BINARY)` of the same shape
//! is measured by `benches/ingest_pgvector_psycopg.py` (see benches/README.md).
//! Tables have no vector index while loading ("load first, index after").
//!
//! `cargo bench --features vector,pg --bench ingest_pgvector`

#[path = "pg_bench_support.rs"]
mod support;

use std::time::{Duration, Instant};

use ai_data::pg::PgVectorStore;
use ai_data::vector::conformance::clustered;
use ai_data::vector::{CollectionSpec, IndexSpec, Metric, Record, VectorStore};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pgvector::Vector;

const N: usize = 10_000;
const DIM: usize = 768;

async fn fresh(store: &PgVectorStore, name: &str) {
    store.drop_collection(name).await.expect("drop");
    let spec = CollectionSpec::new(name, DIM, Metric::Cosine).with_index(IndexSpec::Exact);
    store.ensure_collection(&spec).await.expect("create");
}

async fn row_at_a_time(pool: &sqlx::PgPool, records: &[Record]) {
    for r in records {
        sqlx::query(
            "INSERT INTO \"bench\".\"ingest_rows\" (id, embedding, payload, payload_text) \
             VALUES ($1, $2, $3::jsonb, $3) ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, \
             payload = EXCLUDED.payload, payload_text = EXCLUDED.payload_text",
        )
        .bind(r.id.as_uuid())
        .bind(Vector::from(r.vector.clone()))
        .bind(serde_json::to_string(&r.payload).expect("payload"))
        .execute(pool)
        .await
        .expect("insert");
    }
}

fn bench(c: &mut Criterion) {
    let rt = support::runtime();
    let (db, store) = support::vector_store(&rt, 4);
    let records = clustered(7, N, DIM, 50);

    // One timed pass of each, for the vectors/s line and the ratio.
    let (ours, rows) = rt.block_on(async {
        fresh(&store, "ingest_upsert").await;
        let t = Instant::now();
        store
            .upsert("ingest_upsert", &records)
            .await
            .expect("upsert");
        let ours = t.elapsed();
        fresh(&store, "ingest_rows").await;
        let t = Instant::now();
        row_at_a_time(db.primary(), &records).await;
        (ours, t.elapsed())
    });
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "ingest_pgvector {N} x {DIM}: upsert {:.0} vectors/s ({ours:.2?}), row-at-a-time {:.0} vectors/s ({rows:.2?}), \
         speed-up {:.1}x (goal >= 5x)",
        rate(ours),
        rate(rows),
        rows.as_secs_f64() / ours.as_secs_f64()
    );

    let mut group = c.benchmark_group("ingest_pgvector_10k_x_768");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(N as u64));
    group.bench_function(BenchmarkId::new("vector_store_upsert", N), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (store, records) = (&store, &records);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fresh(store, "ingest_upsert").await;
                    let t = Instant::now();
                    store
                        .upsert("ingest_upsert", records)
                        .await
                        .expect("upsert");
                    total += t.elapsed();
                }
                total
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
