//! `VectorStore::search` on pgvector vs the same SQL issued by hand with
//! sqlx on the same pool: 10k x 768, HNSW (m 16, ef_construction 64), k = 10.
//! Also recall@10 against the exact answer at ef_search 40 and 100.
//!
//! `cargo bench --features vector,pg --bench search_pgvector`
//! (the collection `bench.search_768` is loaded once and reused).

#[path = "pg_bench_support.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ai_data::vector::conformance::{clustered, queries_near};
use ai_data::vector::{
    AccuracyHint, CollectionSpec, FieldKind, IndexSpec, MemoryStore, Metric, SearchQuery,
    VectorStore,
};
use criterion::{criterion_group, criterion_main, Criterion};
use pgvector::Vector;

const N: usize = 10_000;
const DIM: usize = 768;
const K: usize = 10;
const SEED: u64 = 768;
const CLUSTERS: usize = 50;
const COLLECTION: &str = "search_768";

fn spec() -> CollectionSpec {
    CollectionSpec::new(COLLECTION, DIM, Metric::Cosine)
        .with_index(IndexSpec::Hnsw {
            m: 16,
            ef_construction: 64,
        })
        .with_field("cluster", FieldKind::Int)
}

fn bench(c: &mut Criterion) {
    let rt = support::runtime();
    let (db, store) = support::vector_store(&rt, 4);
    let records = clustered(SEED, N, DIM, CLUSTERS);
    rt.block_on(async {
        store.ensure_collection(&spec()).await.expect("collection");
        if store.count(COLLECTION, None).await.expect("count") != N as u64 {
            let started = Instant::now();
            store.upsert(COLLECTION, &records).await.expect("load");
            sqlx::query("ANALYZE bench.search_768")
                .execute(db.primary())
                .await
                .expect("analyze");
            println!(
                "loaded {N} x {DIM} into an HNSW-indexed table in {:.1?}",
                started.elapsed()
            );
        }
    });
    let queries = queries_near(SEED, 100, DIM, CLUSTERS);

    // The hand-written baseline: the store's unfiltered query shape (for this k no
    // per-transaction settings and no CTE), minus the table guard the store adds to
    // every search (`WHERE "bench"._ai_data_same_table(...)`, a once-per-statement
    // catalog check), decoded into the same columns.
    let sql =
        "SELECT id, (embedding <=> $1)::float8 AS distance, COALESCE(payload_text, payload::text) \
         FROM \"bench\".\"search_768\" \
               ORDER BY embedding <=> $1 LIMIT $2";
    let raw = |q: &Vec<f32>| {
        let pool = db.primary().clone();
        let v = Vector::from(q.clone());
        async move {
            let rows: Vec<(uuid::Uuid, f64, String)> = sqlx::query_as(sql)
                .bind(v)
                .bind(K as i64)
                .fetch_all(&pool)
                .await
                .expect("raw query");
            rows.into_iter()
                .map(|(id, distance, text)| {
                    let payload: serde_json::Value = serde_json::from_str(&text).expect("payload");
                    (id, distance, payload)
                })
                .collect::<Vec<_>>()
        }
    };
    let ours = |q: &Vec<f32>| {
        let (store, query) = (&store, SearchQuery::new(q.clone(), K));
        async move { store.search(COLLECTION, &query).await }
    };

    // Interleaved timing of both paths over the same queries: the ratio.
    let rounds = 5;
    let (mut t_raw, mut t_ours) = (Duration::ZERO, Duration::ZERO);
    rt.block_on(async {
        for q in &queries {
            raw(q).await; // warm both paths
            ours(q).await.expect("search");
        }
        for _ in 0..rounds {
            for q in &queries {
                let t = Instant::now();
                std::hint::black_box(raw(q).await);
                t_raw += t.elapsed();
                let t = Instant::now();
                std::hint::black_box(ours(q).await.expect("search"));
                t_ours += t.elapsed();
            }
        }
    });
    let per = |d: Duration| d / (rounds * queries.len()) as u32;
    println!(
        "search_pgvector: VectorStore::search {:?}/query, raw sqlx {:?}/query, ratio {:.3} (goal <= 1.05)",
        per(t_ours),
        per(t_raw),
        t_ours.as_secs_f64() / t_raw.as_secs_f64()
    );

    // Recall@10 against the exact answer (MemoryStore over the same records).
    rt.block_on(async {
        let exact = MemoryStore::new();
        exact
            .ensure_collection(&spec().with_index(IndexSpec::Exact))
            .await
            .expect("exact");
        exact
            .upsert(COLLECTION, &records)
            .await
            .expect("exact load");
        for ef in [40_u32, 100] {
            let mut found = 0;
            for q in &queries {
                let truth: HashSet<_> = exact
                    .search(COLLECTION, &SearchQuery::new(q.clone(), K))
                    .await
                    .expect("exact")
                    .into_iter()
                    .map(|h| h.id)
                    .collect();
                let query =
                    SearchQuery::new(q.clone(), K).with_accuracy(AccuracyHint::ef_search(ef));
                let got = store.search(COLLECTION, &query).await.expect("search");
                found += got.iter().filter(|h| truth.contains(&h.id)).count();
            }
            println!(
                "recall@{K} at ef_search {ef}: {:.4} over {} queries",
                found as f64 / (K * queries.len()) as f64,
                queries.len()
            );
        }
    });

    let mut group = c.benchmark_group("search_pgvector_10k_x_768");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    let mut i = 0;
    group.bench_function("raw_sqlx", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % queries.len();
            raw(&queries[i])
        })
    });
    let mut j = 0;
    group.bench_function("vector_store_search", |b| {
        b.to_async(&rt).iter(|| {
            j = (j + 1) % queries.len();
            ours(&queries[j])
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
