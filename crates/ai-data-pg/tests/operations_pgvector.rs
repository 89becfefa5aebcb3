//! `PgVectorStore` against the live PostgreSQL: every call is exactly one
//! observed `ai_data.operation` (named after the trait method, the
//! collection as its target), however many statements, chunks or
//! connections it takes. One test in its own binary: the recording
//! subscriber is this thread's default, and tracing's callsite interest is
//! global, so no other test runs alongside.

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_vector::conformance::uniform_records;
use ai_data_vector::{
    CollectionSpec, FieldKind, Filter, Metric, Record, SearchQuery, Selector, VectorStore,
};

use ai_data_testkit::spans as operations;

#[tokio::test]
async fn every_call_is_exactly_one_observed_operation() {
    let (ops, _guard) = operations::Operations::install();
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    ops.take(); // ai-data-pg's own operations
    let store = PgVectorStore::connect(db, "observed")
        .await
        .expect("store")
        .with_write_parallelism(2);
    let summary = |seen: Vec<operations::Seen>| -> Vec<(String, String, Option<u64>, String)> {
        assert!(seen.iter().all(|s| s.store == "postgres"), "{seen:?}");
        seen.into_iter()
            .map(|s| (s.operation, s.target, s.rows, s.outcome))
            .collect()
    };
    let one = |operation: &str, target: &str, rows: Option<u64>, outcome: &str| {
        vec![(
            operation.to_owned(),
            target.to_owned(),
            rows,
            outcome.to_owned(),
        )]
    };
    assert_eq!(summary(ops.take()), one("connect", "observed", None, "ok"));

    let spec = CollectionSpec::new("obs", 3, Metric::L2).with_field("lang", FieldKind::Text);
    store.drop_collection("obs").await.expect("clean slate");
    ops.take();
    store.ensure_collection(&spec).await.expect("created");
    assert_eq!(
        summary(ops.take()),
        one("ensure_collection", "obs", None, "ok")
    );
    let records: Vec<Record> = uniform_records(2_500, 3);
    // Three chunks over two connections: still one operation.
    store.upsert("obs", &records).await.expect("upsert");
    assert_eq!(summary(ops.take()), one("upsert", "obs", Some(2_500), "ok"));
    let ids = [records[3].id, records[4].id];
    assert_eq!(store.get("obs", &ids).await.expect("get").len(), 2);
    assert_eq!(summary(ops.take()), one("get", "obs", Some(2), "ok"));
    let query = SearchQuery::new(vec![0.0; 3], 5).with_filter(Filter::eq("lang", "en"));
    assert_eq!(store.search("obs", &query).await.expect("search").len(), 5);
    assert_eq!(summary(ops.take()), one("search", "obs", Some(5), "ok"));
    store.explain_search("obs", &query).await.expect("plan");
    assert_eq!(
        summary(ops.take()),
        one("explain_search", "obs", None, "ok")
    );
    let en = Filter::eq("lang", "en");
    assert_eq!(store.count("obs", Some(&en)).await.expect("count"), 1_250);
    assert_eq!(summary(ops.take()), one("count", "obs", Some(1_250), "ok"));
    let deleted = store
        .delete("obs", Selector::Filter(en))
        .await
        .expect("delete");
    assert_eq!(deleted, 1_250);
    assert_eq!(summary(ops.take()), one("delete", "obs", Some(1_250), "ok"));
    assert!(store.drop_collection("obs").await.expect("dropped"));
    assert_eq!(
        summary(ops.take()),
        one("drop_collection", "obs", None, "ok")
    );
    // A failure is one operation too, its error kind the outcome.
    store.search("obs", &query).await.expect_err("gone");
    assert_eq!(summary(ops.take()), one("search", "obs", None, "not_found"));
}
