//! `PgVectorStore`'s keyword and hybrid search and `halfvec` storage against
//! the live PostgreSQL: the query plans at 10k rows (both arms on their
//! indexes), and 2048-d half-precision vectors (above `vector`'s 2,000
//! dimension limit for indexing).

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_vector::conformance::{half_precision_recall, uniform_records, uniform_vector};
use ai_data_vector::{
    CollectionSpec, ErrorKind, FieldKind, Filter, IndexSpec, Metric, Precision, SearchQuery,
    TextAnalyzer, TextQuery, VectorStore,
};

async fn store(schema: &str) -> Option<(ai_data_testkit::PgTestDb, PgVectorStore)> {
    let test_db = ai_data_testkit::pg().await?;
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, schema).await.expect("store");
    Some((test_db, store))
}

const WORDS: [&str; 12] = [
    "vector", "search", "index", "graph", "model", "stream", "cache", "query", "rust", "neural",
    "kafka", "redis",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_arms_of_a_hybrid_search_use_their_indexes_at_10k_rows() {
    let Some((t, store)) = store("hybrid").await else {
        return;
    };
    let dim = 32;
    let spec = CollectionSpec::new("docs", dim, Metric::Cosine)
        .with_index(IndexSpec::default())
        .with_field("lang", FieldKind::Text)
        .with_field("body", FieldKind::Text)
        .with_text_search(["body"], TextAnalyzer::English);
    store.ensure_collection(&spec).await.expect("collection");
    let mut records = uniform_records(10_000, dim);
    for (i, record) in records.iter_mut().enumerate() {
        // Most words are common; "neural" is in 1 of 97 records.
        let body: Vec<&str> = (0..6).map(|j| WORDS[(i * 5 + j * 7) % 9]).collect();
        let rare = if i % 97 == 0 { " neural" } else { "" };
        record
            .payload
            .insert("body".into(), format!("{}{rare}", body.join(" ")).into());
    }
    let report = store.upsert("docs", &records).await.expect("upsert");
    assert_eq!(report.upserted, 10_000);
    // What autovacuum does after a bulk load: statistics, and the GIN
    // index's pending list merged (until then every keyword search reads
    // the whole list, and the planner rightly prefers a sequential scan).
    sqlx::query("VACUUM ANALYZE hybrid.docs")
        .execute(&t.pool)
        .await
        .expect("analyze");

    let query =
        SearchQuery::new(uniform_vector(77, dim), 10).with_text(TextQuery::new("neural networks"));
    for q in [
        query.clone(),
        query.clone().with_filter(Filter::eq("lang", "en")),
    ] {
        let plan = store.explain_search("docs", &q).await.expect("explain");
        assert!(
            plan.contains("Index Scan using docs_embedding_idx"),
            "the vector arm uses the HNSW index:\n{plan}"
        );
        assert!(
            plan.contains("Bitmap Index Scan on docs_search_text_idx"),
            "the keyword arm uses the GIN index:\n{plan}"
        );
        let hits = store.search("docs", &q).await.expect("hybrid search");
        assert_eq!(hits.len(), 10);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
    let keyword = SearchQuery::keyword("neural", 200);
    let plan = store
        .explain_search("docs", &keyword)
        .await
        .expect("explain");
    assert!(
        plan.contains("Bitmap Index Scan on docs_search_text_idx"),
        "keyword plan:\n{plan}"
    );
    let hits = store
        .search("docs", &keyword)
        .await
        .expect("keyword search");
    assert_eq!(
        hits.len(),
        10_000_usize.div_ceil(97),
        "every record with the rare term"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halfvec_stores_and_indexes_2048_dimensions() {
    let Some((_t, store)) = store("halfvec").await else {
        return;
    };
    half_precision_recall(&store, "pg", 2048, IndexSpec::default()).await;
    let f32_spec = CollectionSpec::new("too_wide", 2048, Metric::Cosine);
    let err = store
        .ensure_collection(&f32_spec)
        .await
        .expect_err("f32 2048-d hnsw");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("F16"), "{err}");
    let exact = f32_spec.with_index(IndexSpec::Exact);
    assert!(store
        .ensure_collection(&exact)
        .await
        .expect("exact f32 2048-d"));
    let wider = CollectionSpec::new("wider", 4001, Metric::Cosine).with_precision(Precision::F16);
    let err = store.ensure_collection(&wider).await.expect_err("4001-d");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
