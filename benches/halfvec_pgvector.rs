//! Half precision on pgvector at 1536-d (`text-embedding-3-small`'s size):
//! the same 10k vectors in a `vector` (f32) and a `halfvec` (f16)
//! collection with an HNSW index. Measures ingest (vectors/s, index built
//! while loading), table + index size, search QPS (k = 10, one client) and
//! recall@10 of each against exact f32 search.
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

async fn load(store: &PgVectorStore, precision: Precision, records: &[Record]) -> Duration {
    let spec = CollectionSpec::new(name(precision), DIM, Metric::Cosine)
        .with_index(IndexSpec::default())
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
        let (took, bytes, recall, qps) = rt.block_on(async {
            let took = load(&store, precision, &records).await;
            let table = format!("bench.{}", name(precision));
            let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                .bind(&table)
                .fetch_one(db.primary())
                .await
                .expect("size");
            let mut found = 0;
            let t = Instant::now();
            for q in &queries {
                let query = SearchQuery::new(q.clone(), 10).with_payloads(false);
                let got = store
                    .search(&name(precision), &query)
                    .await
                    .expect("search");
                let want = oracle.search("oracle", &query).await.expect("oracle");
                let want: HashSet<_> = want.iter().map(|h| h.id).collect();
                found += got.iter().filter(|h| want.contains(&h.id)).count();
            }
            let qps = queries.len() as f64 / t.elapsed().as_secs_f64();
            (took, bytes, found as f64 / (queries.len() * 10) as f64, qps)
        });
        println!(
            "halfvec_pgvector {precision} {N} x {DIM}: ingest {:.0} vectors/s ({took:.2?}), \
             table + indexes {:.1} MiB, recall@10 {recall:.3}, ~{qps:.0} QPS (with the exact oracle in the loop)",
            N as f64 / took.as_secs_f64(),
            bytes as f64 / (1024.0 * 1024.0)
        );
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
