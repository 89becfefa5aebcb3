use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_vector::PgVectorStore;
async fn store(schema: &str) -> Option<(ai_data_testkit::PgTestDb, PgVectorStore)> {
    let test_db = ai_data_testkit::pg().await?;
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, schema).await.expect("store");
    Some((test_db, store))
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    ai_data_vector::conformance::timestamps_compare_at_microseconds(&store, "s").await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sel() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    let t0 = std::time::Instant::now();
    ai_data_vector::conformance::selective_filter_returns_k(&store, "s").await;
    eprintln!("selective took {:?}", t0.elapsed());
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbg_sel() {
    use ai_data_vector::{conformance::{clustered, queries_near}, *};
    let Some((t, store)) = store("data_platform").await else { return; };
    let spec = CollectionSpec::new("dbg", 8, Metric::Cosine).with_index(IndexSpec::default()).with_field("bucket", FieldKind::Int);
    store.ensure_collection(&spec).await.unwrap();
    let reference = MemoryStore::new();
    reference.ensure_collection(&spec).await.unwrap();
    let mut records = clustered(20_240_613, 20_000, 8, 16);
    for (i, r) in records.iter_mut().enumerate() { r.payload.insert("bucket".into(), ((i % 500) as i64).into()); }
    store.upsert("dbg", &records).await.unwrap();
    reference.upsert("dbg", &records).await.unwrap();
    for (form, f) in [("eq", Filter::eq("bucket", 7)), ("notne", !Filter::ne("bucket", 311))] {
      for (qi, q) in queries_near(20_240_613, 5, 8, 16).iter().enumerate() {
        for hint in [None, Some(100u32), Some(400)] {
        let mut query = SearchQuery::new(q.clone(), 10).with_filter(f.clone());
        if let Some(h) = hint { query = query.with_accuracy(AccuracyHint::ef_search(h)); }
        let want = reference.search("dbg", &query).await.unwrap();
        let got = store.search("dbg", &query).await.unwrap();
        let ov = got.iter().filter(|h| want.iter().any(|w| w.id == h.id)).count();
        eprintln!("{form} q{qi} hint {hint:?}: got {} overlap {ov} want_d10 {:.4} got_d10 {:.4}", got.len(), want[9].distance, got.last().map(|h| h.distance).unwrap_or(0.0));
        }
      }
    }
    for (qi, q) in queries_near(20_240_613, 5, 8, 16).iter().enumerate() {
        let mut tx = t.pool.begin().await.unwrap();
        for (mode, mst, mult) in [("relaxed_order", 20000, 1), ("relaxed_order", 100000, 4), ("strict_order", 100000, 4), ("relaxed_order", 1000000, 100)] {
            sqlx::query("SELECT set_config('hnsw.ef_search', '40', true), set_config('hnsw.iterative_scan', $1, true), set_config('hnsw.max_scan_tuples', $2, true), set_config('hnsw.scan_mem_multiplier', $3, true)")
                .bind(mode).bind(mst.to_string()).bind(mult.to_string()).execute(&mut *tx).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT id FROM data_platform.dbg WHERE NOT COALESCE(f0 <> 311, false) ORDER BY embedding <=> $1 LIMIT 40) s")
                .bind(::pgvector::Vector::from(q.clone())).fetch_one(&mut *tx).await.unwrap();
            eprintln!("q{qi} {mode} {mst} {mult}: {n} candidates");
        }
        tx.commit().await.unwrap();
    }
    let q = queries_near(20_240_613, 5, 8, 16)[0].clone();
    eprintln!("{}", store.explain_search("dbg", &SearchQuery::new(q, 10).with_filter(!Filter::ne("bucket", 311))).await.unwrap());
    let _ = t;
}
