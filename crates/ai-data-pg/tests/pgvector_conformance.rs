//! `PgVectorStore` against the live PostgreSQL: the whole conformance suite,
//! and the query plans.

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_vector::conformance::{uniform_records, uniform_vector};
use ai_data_vector::{
    CollectionSpec, ErrorKind, FieldKind, Filter, IndexSpec, Metric, Record, RecordId, SearchQuery,
    VectorStore,
};
use futures::FutureExt;

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

/// Issue 17: payloads come back exactly: every number, through get and search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_numbers_round_trip_exactly() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    ai_data_vector::conformance::payload_numbers_round_trip_exactly(&store, "pgx").await;
}

/// Issue 17: typed `Collection<T>` items are equal after get and search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_collection_round_trip() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    ai_data_vector::conformance::typed_collection_round_trip(std::sync::Arc::new(store), "pgx")
        .await;
}

/// Issue 17: a U+0000 in a payload fails only its own record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_payload_is_rejected_per_record() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    ai_data_vector::conformance::nul_in_payload_is_rejected_per_record(&store, "pgx").await;
}

/// Issue 13: ties cut by id, timestamps at whole microseconds, `k` hits
/// under a 0.2% filter; scenario by scenario so a failure names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgvector_ties_timestamps_and_selective_filters() {
    let Some((_t, store)) = store("data_platform").await else {
        return;
    };
    use ai_data_vector::conformance;
    conformance::ties_break_by_id(&store, "pgi").await;
    conformance::timestamps_compare_at_microseconds(&store, "pgi").await;
    conformance::selective_filter_returns_k(&store, "pgi").await;
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
    let records: Vec<Record> = uniform_records(10_000, dim);
    let report = store.upsert("plans", &records).await.expect("upsert");
    assert_eq!(report.upserted, 10_000);
    assert!(report.failures.is_empty());
    // Fresh statistics, as autovacuum would gather after a bulk load; without
    // them the planner guesses the filter's selectivity from nothing.
    sqlx::query("ANALYZE vectors.plans")
        .execute(&pool)
        .await
        .expect("analyze");

    let query = SearchQuery::new(uniform_vector(424_242, dim), 10);
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
                    uniform_vector(i, dim),
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

/// Issue 17 item 2: a stored payload that does not decode fails `get` and
/// `search` with an error naming the record and the column, instead of a
/// bare "a value could not be decoded" (get) or a hit without its payload
/// (search).
#[tokio::test]
async fn a_payload_that_does_not_decode_is_an_error_naming_the_record() {
    let Some((t, store)) = store("data_platform").await else {
        return;
    };
    let spec = CollectionSpec::new("undecodable", 2, Metric::L2).with_index(IndexSpec::Exact);
    store.ensure_collection(&spec).await.expect("create");
    let payload = |n: i64| {
        serde_json::json!({ "n": n })
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let (good, bad) = (RecordId::from_key("good"), RecordId::from_key("bad"));
    let records = vec![
        Record::new(good, vec![1.0, 0.0], payload(1)),
        Record::new(bad, vec![0.0, 1.0], payload(2)),
    ];
    store.upsert("undecodable", &records).await.expect("upsert");
    // Another client writes a JSON array where the payload object belongs.
    sqlx::query("UPDATE data_platform.undecodable SET payload_text = '[1, 2]' WHERE id = $1")
        .bind(bad.as_uuid())
        .execute(&t.pool)
        .await
        .expect("corrupt one row");
    let got = store.get("undecodable", &[good]).await.expect("get good");
    assert_eq!(got, records[..1].to_vec());
    let err = store
        .get("undecodable", &[good, bad])
        .await
        .expect_err("get bad");
    assert_eq!(err.kind(), ErrorKind::Backend);
    let shown = err.to_string();
    assert!(
        shown.contains(&bad.to_string()) && shown.contains("payload"),
        "the error names the record and its payload: {shown}"
    );
    let err = store
        .search("undecodable", &SearchQuery::new(vec![0.0, 1.0], 2))
        .await
        .expect_err("search must not return the hit without its payload");
    assert!(err.to_string().contains(&bad.to_string()), "{err}");
    // Without payloads the row is fine.
    let hits = store
        .search(
            "undecodable",
            &SearchQuery::new(vec![0.0, 1.0], 2).with_payloads(false),
        )
        .await
        .expect("search without payloads");
    assert_eq!(hits.len(), 2);
}

/// The test database's URL with another user and password.
fn url_as(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let host = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}://{user}:{password}@{host}")
}

async fn has_vector_extension(pool: &sqlx::PgPool) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
        .fetch_one(pool)
        .await
        .expect("pg_extension")
}

/// Issue 17 item 5: on a database without the `vector` extension, a role
/// that may create it gets it created by `connect`.
#[tokio::test]
async fn connect_creates_the_vector_extension_when_allowed() {
    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    sqlx::query("DROP EXTENSION vector")
        .execute(&t.pool)
        .await
        .expect("drop the extension");
    assert!(!has_vector_extension(&t.pool).await);
    let db = PgDatabase::connect(&PgConfig::from_url(&t.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, "data_platform")
        .await
        .expect("a superuser's connect creates the extension");
    assert!(has_vector_extension(&t.pool).await);
    let spec = CollectionSpec::new("fresh", 2, Metric::Cosine);
    assert!(store.ensure_collection(&spec).await.expect("create"));
    let record = Record::new(RecordId::from_key("a"), vec![0.6, 0.8], Default::default());
    store
        .upsert("fresh", std::slice::from_ref(&record))
        .await
        .expect("upsert");
    assert_eq!(
        store.get("fresh", &[record.id]).await.expect("get"),
        vec![record]
    );
}

/// Issue 17 item 5: a role that may not create the `vector` extension gets
/// a `Config` error from `connect` saying the extension is missing, with
/// the server's reason, and no secret; once it is installed, the same role
/// connects and works. And a server error with no mapping of its own shows
/// the server's message (`type "vector" does not exist`), not only its
/// SQLSTATE.
#[tokio::test]
async fn a_missing_vector_extension_is_a_config_error_that_says_so() {
    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    let role = format!("r_{}", t.database);
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    for statement in [
        "DROP EXTENSION vector".to_owned(),
        format!("CREATE ROLE {role} LOGIN NOSUPERUSER PASSWORD '{password}'"),
        format!("GRANT CREATE ON DATABASE {} TO {role}", t.database),
    ] {
        sqlx::query(&statement)
            .execute(&t.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let url = url_as(&t.url, &role, &password);
    let db = PgDatabase::connect(&PgConfig::from_url(&url).expect("url"))
        .await
        .expect("the role connects");
    // The checks run to the end even when one fails, so that the role
    // (which outlives the test database) is always dropped.
    let checks = std::panic::AssertUnwindSafe(async {
        let err = PgVectorStore::connect(db.clone(), "data_platform")
            .await
            .expect_err("no extension, no right to create it");
        let shown = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Config, "{shown}");
        assert!(
            shown.contains("`vector` extension")
                && shown.contains("not installed")
                && shown.contains("permission denied to create extension"),
            "the error says what is missing and why: {shown}"
        );
        assert!(!shown.contains(&password) && !format!("{err:?}").contains(&password));
        assert!(!has_vector_extension(&t.pool).await);

        // Installed by a superuser: the same role connects and works.
        sqlx::query("CREATE EXTENSION vector")
            .execute(&t.pool)
            .await
            .expect("create the extension");
        let store = PgVectorStore::connect(db.clone(), "data_platform")
            .await
            .expect("connect once the extension exists");
        let spec = CollectionSpec::new("docs", 2, Metric::L2);
        assert!(store.ensure_collection(&spec).await.expect("create"));

        // Dropped behind the store's back: the server's reason is in the Display.
        sqlx::query("DROP EXTENSION vector CASCADE")
            .execute(&t.pool)
            .await
            .expect("drop the extension");
        let err = store
            .ensure_collection(&CollectionSpec::new("more", 2, Metric::L2))
            .await
            .expect_err("no vector type");
        assert!(
            err.to_string().contains("type \"vector\" does not exist"),
            "the server's message is shown: {err}"
        );
    })
    .catch_unwind()
    .await;
    db.primary().close().await;
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::query(&statement)
            .execute(&t.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    if let Err(panic) = checks {
        std::panic::resume_unwind(panic);
    }
}

/// A collection table from before `payload_text` (payload in `jsonb` only)
/// gets the column at `connect`: its old rows read from the `jsonb` as
/// before, new writes come back exactly.
#[tokio::test]
async fn a_collection_from_before_payload_text_keeps_working() {
    let Some((t, store)) = store("data_platform").await else {
        return;
    };
    let spec = CollectionSpec::new("legacy", 2, Metric::L2).with_field("n", FieldKind::Int);
    store.ensure_collection(&spec).await.expect("create");
    let payload = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let old = Record::new(
        RecordId::from_key("old"),
        vec![1.0, 0.0],
        payload(serde_json::json!({"n": 1, "s": "x"})),
    );
    store
        .upsert("legacy", std::slice::from_ref(&old))
        .await
        .expect("upsert");
    sqlx::query("ALTER TABLE data_platform.legacy DROP COLUMN payload_text")
        .execute(&t.pool)
        .await
        .expect("the old layout");
    drop(store);
    let db = PgDatabase::connect(&PgConfig::from_url(&t.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, "data_platform")
        .await
        .expect("connect adds the column");
    let new = Record::new(
        RecordId::from_key("new"),
        vec![0.0, 1.0],
        payload(serde_json::json!({"n": 2, "x": 1e18, "z": -0.0})),
    );
    store
        .upsert("legacy", std::slice::from_ref(&new))
        .await
        .expect("upsert");
    let got = store.get("legacy", &[old.id, new.id]).await.expect("get");
    assert_eq!(got, vec![old.clone(), new.clone()]);
    assert_eq!(
        serde_json::to_string(&got[1].payload).ok(),
        serde_json::to_string(&new.payload).ok()
    );
    let hits = store
        .search(
            "legacy",
            &SearchQuery::new(vec![0.0, 1.0], 2).with_filter(Filter::ge("n", 1)),
        )
        .await
        .expect("search");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].payload.as_ref(), Some(&new.payload));
    assert_eq!(hits[1].payload.as_ref(), Some(&old.payload));
}

fn tagged(key: &str, vector: Vec<f32>, payload: serde_json::Value) -> Record {
    Record::new(
        RecordId::from_key(key),
        vector,
        payload.as_object().cloned().unwrap_or_default(),
    )
}

/// Issue 13: a store caches each collection's spec; after another store
/// (another process) drops and recreates the collection with other fields
/// or another dimension, the first store must notice and use the new spec
/// (not filter on the old columns, not refuse the new dimension).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_recreated_by_another_store_is_read_with_its_new_spec() {
    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    let open = || async {
        let db = PgDatabase::connect(&PgConfig::from_url(&t.url).expect("url"))
            .await
            .expect("connect");
        PgVectorStore::connect(db, "vectors").await.expect("store")
    };
    let (a, b) = (open().await, open().await);
    let old = CollectionSpec::new("shared", 2, Metric::L2)
        .with_index(IndexSpec::Exact)
        .with_field("lang", FieldKind::Text)
        .with_field("title", FieldKind::Text);
    assert!(a.ensure_collection(&old).await.expect("create"));
    a.upsert(
        "shared",
        &[tagged(
            "x",
            vec![0.0, 0.0],
            serde_json::json!({"lang": "en", "title": "de"}),
        )],
    )
    .await
    .expect("upsert");
    let en = Filter::eq("lang", "en");
    assert_eq!(a.count("shared", Some(&en)).await.expect("count"), 1);

    // Another store replaces it: the same field names, in the other order
    // (so `lang` now lives in the other generated column).
    assert!(b.drop_collection("shared").await.expect("drop"));
    let new = CollectionSpec::new("shared", 2, Metric::L2)
        .with_index(IndexSpec::Exact)
        .with_field("title", FieldKind::Text)
        .with_field("lang", FieldKind::Text);
    assert!(b.ensure_collection(&new).await.expect("recreate"));
    b.upsert(
        "shared",
        &[
            tagged(
                "y",
                vec![1.0, 0.0],
                serde_json::json!({"lang": "en", "title": "fr"}),
            ),
            tagged(
                "z",
                vec![2.0, 0.0],
                serde_json::json!({"lang": "de", "title": "en"}),
            ),
            tagged(
                "v",
                vec![3.0, 0.0],
                serde_json::json!({"lang": "en", "title": "it"}),
            ),
        ],
    )
    .await
    .expect("upsert");
    assert_eq!(
        a.count("shared", Some(&en)).await.expect("count"),
        2,
        "lang = en is y and v (z has title = en)"
    );
    let hits = a
        .search(
            "shared",
            &SearchQuery::new(vec![0.0, 0.0], 5).with_filter(en),
        )
        .await
        .expect("search");
    assert_eq!(
        hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![RecordId::from_key("y"), RecordId::from_key("v")]
    );

    // Replaced again, with another dimension: the first store takes 3-d
    // records and queries, and refuses 2-d ones.
    assert!(b.drop_collection("shared").await.expect("drop"));
    let wide = CollectionSpec::new("shared", 3, Metric::L2).with_index(IndexSpec::Exact);
    assert!(b.ensure_collection(&wide).await.expect("recreate"));
    let report = a
        .upsert(
            "shared",
            &[tagged("w", vec![1.0, 2.0, 3.0], serde_json::json!({}))],
        )
        .await
        .expect("upsert 3-d");
    assert_eq!(
        (report.upserted, report.failures.len()),
        (1, 0),
        "{:?}",
        report.failures
    );
    let hits = a
        .search("shared", &SearchQuery::new(vec![1.0, 2.0, 3.0], 5))
        .await
        .expect("search 3-d");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        a.search("shared", &SearchQuery::new(vec![1.0, 2.0], 5))
            .await
            .expect_err("2-d")
            .kind(),
        ErrorKind::InvalidInput
    );
    let got = b
        .get("shared", &[RecordId::from_key("w")])
        .await
        .expect("get");
    assert_eq!(got.len(), 1);

    // Dropped by the other store: NotFound, not a stale answer.
    assert!(b.drop_collection("shared").await.expect("drop"));
    for result in [
        a.count("shared", None).await.map(|_| ()),
        a.search("shared", &SearchQuery::new(vec![1.0, 2.0, 3.0], 5))
            .await
            .map(|_| ()),
        a.get("shared", &[RecordId::from_key("w")])
            .await
            .map(|_| ()),
    ] {
        assert_eq!(result.expect_err("dropped").kind(), ErrorKind::NotFound);
    }
}

/// A replica that has not replayed a recreate yet still holds the old table
/// (another oid) under the collection's name: the guard fails there, and
/// the retry runs on the primary (re-running on the lagging replica would
/// fail the same way). The "replica" is a second database on the server
/// whose table was created independently: to the guard, exactly a replica
/// behind by one drop-and-create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_a_recreate_sends_the_retry_to_the_primary() {
    let (Some(primary), Some(replica)) = (ai_data_testkit::pg().await, ai_data_testkit::pg().await)
    else {
        return;
    };
    let spec = CollectionSpec::new("lagged", 2, Metric::L2)
        .with_index(IndexSpec::Exact)
        .with_field("lang", FieldKind::Text);
    let open = |url: &str| {
        let config = PgConfig::from_url(url).expect("url");
        async move {
            let db = PgDatabase::connect(&config).await.expect("connect");
            PgVectorStore::connect(db, "vectors").await.expect("store")
        }
    };
    // The replica's (older) table, with a record the primary no longer has.
    let old = open(&replica.url).await;
    assert!(old.ensure_collection(&spec).await.expect("old table"));
    old.upsert(
        "lagged",
        &[tagged(
            "old",
            vec![0.0, 0.0],
            serde_json::json!({"lang": "en"}),
        )],
    )
    .await
    .expect("old upsert");
    let writer = open(&primary.url).await;
    assert!(writer.ensure_collection(&spec).await.expect("new table"));
    writer
        .upsert(
            "lagged",
            &[tagged(
                "new",
                vec![1.0, 0.0],
                serde_json::json!({"lang": "en"}),
            )],
        )
        .await
        .expect("new upsert");

    let db = PgDatabase::from_pools(primary.pool.clone(), vec![replica.pool.clone()]);
    let store = PgVectorStore::connect(db, "vectors")
        .await
        .expect("store")
        .with_replica_reads();
    let hits = store
        .search("lagged", &SearchQuery::new(vec![0.0, 0.0], 5))
        .await
        .expect("search retried on the primary");
    assert_eq!(
        hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![RecordId::from_key("new")],
        "the primary's table answers"
    );
    let en = Filter::eq("lang", "en");
    assert_eq!(
        store
            .count("lagged", Some(&en))
            .await
            .expect("count retried on the primary"),
        1
    );
    assert_eq!(
        store.count("lagged", None).await.expect("unfiltered count"),
        1
    );
}

/// Issue 13: a hit whose id does not decode is an error, not a shorter
/// answer. (The table's `id` column is turned into `text` behind the
/// store's back.)
#[tokio::test]
async fn a_row_that_does_not_decode_fails_the_search() {
    let Some((t, store)) = store("vectors").await else {
        return;
    };
    let spec = CollectionSpec::new("odd", 2, Metric::L2).with_index(IndexSpec::Exact);
    store.ensure_collection(&spec).await.expect("create");
    let records: Vec<Record> = (0..3)
        .map(|i| tagged(&format!("o{i}"), vec![i as f32, 0.0], serde_json::json!({})))
        .collect();
    store.upsert("odd", &records).await.expect("upsert");
    assert_eq!(
        store
            .search("odd", &SearchQuery::new(vec![0.0, 0.0], 3))
            .await
            .expect("search")
            .len(),
        3
    );
    sqlx::query("ALTER TABLE vectors.odd ALTER COLUMN id TYPE text")
        .execute(&t.pool)
        .await
        .expect("alter");
    let err = store
        .search("odd", &SearchQuery::new(vec![0.0, 0.0], 3))
        .await
        .expect_err("an id that is not a uuid");
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
}
