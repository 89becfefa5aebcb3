//! Half precision on pgvector at 1536-d (`text-embedding-3-small`'s size):
//! the same 10k vectors in a `vector` (f32) and a `halfvec` (f16)
//! collection. Measures ingest (vectors/s) without a vector index and with
//! the HNSW index built while loading, table + index size, search QPS
//! (k = 10, one client, 4 rounds of the 50 queries) and recall@10 of each
//! against exact f32 search.
//!
//! `cargo bench --features vector,pg --bench halfvec_pgvector`

#[path = "pg_bench_support.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ai_data::pg::PgVectorStore;
use ai_data::vector::conformance::{clustered, queries_near};
use ai_data::vector::{
    CollectionSpec, IndexSpec, MemoryStore, Metric, Precision, Record, SearchQuery, VectorStore,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const N: usize = 10_000;
const DIM: usize = 1536;
const CLUSTERS: usize = 50;

fn name(precision: Precision) -> String {
    format!("halfvec_bench_{precision}")
}

fn plain_name(precision: Precision) -> String {
    format!("halfvec_bench_{precision}_noindex")
}

async fn load(
    store: &PgVectorStore,
    name: &str,
    index: IndexSpec,
    precision: Precision,
    records: &[Record],
) -> Duration {
    let spec = CollectionSpec::new(name, DIM, Metric::Cosine)
        .with_index(index)
        .with_precision(precision);
    store.drop_collection(&spec.name).await.expect("drop");
    store.ensure_collection(&spec).await.expect("create");
    let t = Instant::now();
    store.upsert(&spec.name, records).await.expect("upsert");
    t.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = support::runtime();
    let (db, store) = support::vector_store(&rt, 4);
    let records = clustered(11, N, DIM, CLUSTERS);
    let queries = queries_near(11, 50, DIM, CLUSTERS);
    let oracle = MemoryStore::new();
    rt.block_on(async {
        let spec = CollectionSpec::new("oracle", DIM, Metric::Cosine).with_index(IndexSpec::Exact);
        oracle.ensure_collection(&spec).await.expect("oracle");
        oracle
            .upsert("oracle", &records)
            .await
            .expect("oracle upsert");
    });
    for precision in [Precision::F32, Precision::F16] {
        let size = |name: String| {
            let db = &db;
            async move {
                let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                    .bind(format!("bench.{name}"))
                    .fetch_one(db.primary())
                    .await
                    .expect("size");
                bytes as f64 / (1024.0 * 1024.0)
            }
        };
        let rate = |took: Duration| N as f64 / took.as_secs_f64();
        rt.block_on(async {
            let plain = plain_name(precision);
            let took = load(&store, &plain, IndexSpec::Exact, precision, &records).await;
            let mib = size(plain.clone()).await;
            store.drop_collection(&plain).await.expect("drop");
            println!(
                "halfvec_pgvector {precision} {N} x {DIM}, no vector index: ingest {:.0} vectors/s ({took:.2?}), table {mib:.1} MiB",
                rate(took)
            );
            let took = load(&store, &name(precision), IndexSpec::default(), precision, &records).await;
            let mib = size(name(precision)).await;
            let mut found = 0;
            for q in &queries {
                let query = SearchQuery::new(q.clone(), 10).with_payloads(false);
                let got = store.search(&name(precision), &query).await.expect("search");
                let want = oracle.search("oracle", &query).await.expect("oracle");
                let want: HashSet<_> = want.iter().map(|h| h.id).collect();
                found += got.iter().filter(|h| want.contains(&h.id)).count();
            }
            let recall = found as f64 / (queries.len() * 10) as f64;
            let t = Instant::now();
            for q in queries.iter().cycle().take(4 * queries.len()) {
                let query = SearchQuery::new(q.clone(), 10).with_payloads(false);
                store.search(&name(precision), &query).await.expect("search");
            }
            let qps = (4 * queries.len()) as f64 / t.elapsed().as_secs_f64();
            println!(
                "halfvec_pgvector {precision} {N} x {DIM}, HNSW: ingest {:.0} vectors/s ({took:.2?}), \
                 table + indexes {mib:.1} MiB, recall@10 {recall:.3}, {qps:.0} QPS",
                rate(took)
            );
        });
    }
    let mut group = c.benchmark_group("halfvec_pgvector_search_10k_x_1536");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    for precision in [Precision::F32, Precision::F16] {
        group.bench_with_input(
            BenchmarkId::new("search_k10", precision),
            &precision,
            |b, p| {
                let mut i = 0;
                b.to_async(&rt).iter(|| {
                    i += 1;
                    let query = SearchQuery::new(queries[i % queries.len()].clone(), 10)
                        .with_payloads(false);
                    let (store, name) = (&store, name(*p));
                    async move { store.search(&name, &query).await.expect("search") }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
