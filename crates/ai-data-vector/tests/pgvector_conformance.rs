//! `PgVectorStore` against the live PostgreSQL: the whole conformance suite,
//! and the query plans.

use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_vector::{
    CollectionSpec, ErrorKind, FieldKind, Filter, IndexSpec, Metric, PgVectorStore, Record,
    RecordId, SearchQuery, VectorStore,
};

async fn store(schema: &str) -> Option<(ai_data_testkit::PgTestDb, PgVectorStore)> {
    let test_db = ai_data_testkit::pg().await?;
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, schema).await.expect("store");
    Some((test_db, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgvector_passes_the_conformance_suite() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    ai_data_vector::conformance::run_all(&store, "pg").await;
}

/// Deterministic pseudo-random vectors (no RNG dependency needed here).
fn vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hnsw_index_serves_unfiltered_and_filtered_searches_at_10k_rows() {
    let Some((t, store)) = store("vectors").await else {
        return;
    };
    let pool = t.pool.clone();
    let dim = 32;
    let spec = CollectionSpec::new("plans", dim, Metric::Cosine)
        .with_index(IndexSpec::Hnsw {
            m: 16,
            ef_construction: 64,
        })
        .with_field("lang", FieldKind::Text);
    store.ensure_collection(&spec).await.expect("collection");
    let records: Vec<Record> = (0..10_000_u64)
        .map(|i| {
            let lang = if i % 2 == 0 { "en" } else { "de" };
            let payload = serde_json::json!({ "lang": lang })
                .as_object()
                .cloned()
                .unwrap_or_default();
            Record::new(RecordId::from_key(&i.to_string()), vector(i, dim), payload)
        })
        .collect();
    let report = store.upsert("plans", &records).await.expect("upsert");
    assert_eq!(report.upserted, 10_000);
    assert!(report.failures.is_empty());
    // Fresh statistics, as autovacuum would gather after a bulk load; without
    // them the planner guesses the filter's selectivity from nothing.
    sqlx::query("ANALYZE vectors.plans")
        .execute(&pool)
        .await
        .expect("analyze");

    let query = SearchQuery::new(vector(424_242, dim), 10);
    let plan = store
        .explain_search("plans", &query)
        .await
        .expect("explain");
    assert!(
        plan.contains("Index Scan using plans_embedding_idx"),
        "unfiltered plan:\n{plan}"
    );

    let filtered = query.clone().with_filter(Filter::eq("lang", "en"));
    let plan = store
        .explain_search("plans", &filtered)
        .await
        .expect("explain");
    assert!(
        plan.contains("Index Scan using plans_embedding_idx"),
        "filtered plan:\n{plan}"
    );
    let hits = store.search("plans", &filtered).await.expect("search");
    assert_eq!(hits.len(), 10);
}

#[tokio::test]
async fn a_registered_collection_keeps_its_dimension_and_metric() {
    let Some((_t, store)) = store("vectors").await else {
        return;
    };
    let spec = CollectionSpec::new("docs", 8, Metric::L2);
    assert!(store.ensure_collection(&spec).await.expect("create"));
    assert!(!store.ensure_collection(&spec).await.expect("again"));
    let err = store
        .ensure_collection(&CollectionSpec::new("docs", 16, Metric::L2))
        .await
        .expect_err("dimension");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = store
        .ensure_collection(&CollectionSpec::new("docs", 8, Metric::Cosine))
        .await
        .expect_err("metric");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let reserved = CollectionSpec::new("_vector_collections", 8, Metric::L2);
    assert_eq!(
        store
            .ensure_collection(&reserved)
            .await
            .expect_err("reserved")
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn vectors_stay_in_the_row_instead_of_the_toast_table() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db.clone(), "vectors")
        .await
        .expect("store");
    for (name, dim, expected_storage) in [("small", 768, "p"), ("wide", 2000, "m")] {
        store
            .ensure_collection(
                &CollectionSpec::new(name, dim, Metric::Cosine).with_index(IndexSpec::Exact),
            )
            .await
            .expect("create");
        let records: Vec<Record> = (0..20)
            .map(|i| {
                Record::new(
                    RecordId::from_key(&format!("{name}-{i}")),
                    vector(i, dim),
                    serde_json::Map::new(),
                )
            })
            .collect();
        let report = store.upsert(name, &records).await.expect("upsert");
        assert_eq!(report.upserted, records.len() as u64);
        let (storage, toast_bytes): (String, i64) = sqlx::query_as(
            "SELECT a.attstorage::text, COALESCE(pg_relation_size(c.reltoastrelid), 0) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE a.attrelid = format('%I.%I', 'vectors', $1::text)::regclass \
               AND a.attname = 'embedding'",
        )
        .bind(name)
        .fetch_one(db.primary())
        .await
        .expect("catalog");
        assert_eq!(storage, expected_storage, "{name}");
        assert_eq!(toast_bytes, 0, "{name}: vectors were moved to TOAST");
        let back = store.get(name, &[records[7].id]).await.expect("get");
        assert_eq!(back[0].vector, records[7].vector, "{name}");
    }
}
