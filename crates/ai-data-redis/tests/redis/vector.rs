//! `CachedVectorStore`: hits, misses, invalidation through writes, eviction
//! of the generation counter, single-flight, and Redis paused or killed
//! mid-test (a private redis-server).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_data_core::{ErrorKind, Result};
use ai_data_redis::{CachedVectorStore, Reconnect, RedisClient, RedisConfig, VectorCacheStats};
use ai_data_vector::{
    AccuracyHint, Capabilities, CollectionSpec, FieldKind, Filter, MemoryStore, Metric, Payload,
    Record, RecordId, SearchHit, SearchQuery, Selector, UpsertReport, VectorStore,
};
use async_trait::async_trait;
use fred::interfaces::{ClientLike, KeysInterface};

use ai_data_testkit::eventually;

use crate::common::{cleanup, connect, keys, namespace};

/// A memory store that counts searches and can be slow.
#[derive(Debug)]
struct Counting {
    inner: MemoryStore,
    searches: AtomicUsize,
    delay: Duration,
}

impl Counting {
    fn new(delay: Duration) -> Self {
        Counting {
            inner: MemoryStore::new(),
            searches: AtomicUsize::new(0),
            delay,
        }
    }

    fn searches(&self) -> usize {
        self.searches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl VectorStore for Counting {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        self.inner.ensure_collection(spec).await
    }
    async fn drop_collection(&self, name: &str) -> Result<bool> {
        self.inner.drop_collection(name).await
    }
    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        self.inner.upsert(collection, records).await
    }
    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        self.inner.get(collection, ids).await
    }
    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        self.inner.delete(collection, selector).await
    }
    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        self.inner.count(collection, filter).await
    }
    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        self.searches.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.inner.search(collection, query).await
    }
}

fn payload(lang: &str) -> Payload {
    serde_json::json!({ "lang": lang, "title": "quote \" and 引号" })
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn record(i: usize) -> Record {
    let lang = if i % 2 == 0 { "en" } else { "de" };
    Record::new(
        RecordId::from_key(&format!("doc-{i}")),
        vec![i as f32, ((i * 7) % 13) as f32, 1.0, 0.5],
        payload(lang),
    )
}

async fn seeded<S: VectorStore>(store: &S) {
    let spec = CollectionSpec::new("docs", 4, Metric::L2).with_field("lang", FieldKind::Text);
    store.ensure_collection(&spec).await.expect("collection");
    let records: Vec<Record> = (0..50).map(record).collect();
    store.upsert("docs", &records).await.expect("upsert");
}

/// A cache over an instant inner store in the test's namespace, holding
/// the seeded `docs` collection.
async fn seeded_cache(r: &ai_data_testkit::RedisTest) -> CachedVectorStore<Counting> {
    let store = CachedVectorStore::new(Counting::new(Duration::ZERO), connect(&r.url).await)
        .with_namespace(&namespace(r))
        .expect("namespace");
    seeded(&store).await;
    store
}

/// [`seeded_cache`] after one search of `docs` (a miss): the store, the
/// query, the keys under the test's prefix and the stats at that point.
async fn cached_docs(
    r: &ai_data_testkit::RedisTest,
) -> (
    CachedVectorStore<Counting>,
    SearchQuery,
    Vec<String>,
    VectorCacheStats,
) {
    let store = seeded_cache(r).await;
    let q = query();
    store.search("docs", &q).await.expect("miss");
    let before_keys = keys(r).await;
    let before = store.stats();
    assert_eq!(before.collections, 1, "{before:?}");
    (store, q, before_keys, before)
}

fn query() -> SearchQuery {
    SearchQuery::new(vec![10.2, 5.0, 1.0, 0.5], 5)
}

#[tokio::test]
async fn hits_misses_and_invalidation_on_writes() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let store = seeded_cache(&r).await;
    let q = query();
    let expected = store
        .inner()
        .inner
        .search("docs", &q)
        .await
        .expect("direct");

    let first = store.search("docs", &q).await.expect("miss");
    assert_eq!(first, expected);
    let second = store.search("docs", &q).await.expect("hit");
    assert_eq!(second, expected);
    let s = store.stats();
    assert_eq!((s.hits, s.misses, s.bypassed), (1, 1, 0), "{s:?}");
    assert_eq!(store.inner().searches(), 1);

    // Every part of the query is part of the key.
    let variants = [
        SearchQuery::new(q.vector.clone(), 6),
        q.clone().with_filter(Filter::eq("lang", "en")),
        q.clone().with_accuracy(AccuracyHint::ef_search(40)),
        q.clone().with_vectors(true),
    ];
    for v in &variants {
        let got = store.search("docs", v).await.expect("variant");
        assert_eq!(
            got,
            store.inner().inner.search("docs", v).await.expect("direct")
        );
    }
    assert_eq!(store.stats().misses, 1 + variants.len() as u64);

    // A write through the store invalidates the collection's entries.
    let closer = Record::new(
        RecordId::from_key("closest"),
        q.vector.clone(),
        payload("fr"),
    );
    store.upsert("docs", &[closer]).await.expect("upsert");
    // Creating the collection, the seed upsert and this upsert.
    assert_eq!(store.stats().invalidations, 3);
    let after = store.search("docs", &q).await.expect("search");
    assert_eq!(after[0].id, RecordId::from_key("closest"));
    assert_eq!(
        after,
        store
            .inner()
            .inner
            .search("docs", &q)
            .await
            .expect("direct")
    );
    let deleted = store
        .delete("docs", Selector::Ids(vec![RecordId::from_key("closest")]))
        .await
        .expect("delete");
    assert_eq!(deleted, 1);
    assert_eq!(store.search("docs", &q).await.expect("search"), expected);

    // A write that bypasses the decorator needs an explicit invalidation.
    let hits_before = store.stats().hits;
    store.search("docs", &q).await.expect("cached again");
    assert_eq!(store.stats().hits, hits_before + 1);
    store
        .inner()
        .upsert(
            "docs",
            &[Record::new(
                RecordId::from_key("direct"),
                q.vector.clone(),
                payload("it"),
            )],
        )
        .await
        .expect("direct write");
    let stale = store.search("docs", &q).await.expect("search");
    assert_ne!(
        stale[0].id,
        RecordId::from_key("direct"),
        "served from the cache"
    );
    store.invalidate("docs").await.expect("invalidate");
    let fresh = store.search("docs", &q).await.expect("search");
    assert_eq!(fresh[0].id, RecordId::from_key("direct"));

    // Errors of the inner store pass through and are not cached.
    let missing = store.search("nope", &q).await.expect_err("no collection");
    assert_eq!(missing.kind(), ai_data_core::ErrorKind::NotFound);
    cleanup(&r).await;
}

#[tokio::test]
async fn an_evicted_generation_never_resurrects_old_entries() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let store = seeded_cache(&r).await;
    let q = query();
    store.search("docs", &q).await.expect("miss");
    store.search("docs", &q).await.expect("hit");
    assert_eq!(store.stats().hits, 1);
    let gen_key = format!("{}:v1:{{docs}}:gen", namespace(&r));
    let before: i64 = r.client.get(&gen_key).await.expect("generation");
    assert!(before > 1 << 32, "starts at a random value: {before}");

    // allkeys-lru evicts the counter (simulated), then a write elsewhere.
    let _: i64 = r.client.del(&gen_key).await.expect("evict");
    store
        .inner()
        .upsert(
            "docs",
            &[Record::new(
                RecordId::from_key("new"),
                q.vector.clone(),
                payload("x"),
            )],
        )
        .await
        .expect("write");
    let got = store.search("docs", &q).await.expect("search");
    assert_eq!(
        got[0].id,
        RecordId::from_key("new"),
        "the old entry was not served"
    );
    let after: i64 = r.client.get(&gen_key).await.expect("generation");
    assert_ne!(after, before);
    assert!(after > 1 << 32);
    cleanup(&r).await;
}

#[tokio::test]
async fn concurrent_identical_misses_search_the_inner_store_once() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let store = Arc::new(
        CachedVectorStore::new(
            Counting::new(Duration::from_millis(150)),
            connect(&r.url).await,
        )
        .with_namespace(&namespace(&r))
        .expect("namespace"),
    );
    seeded(store.as_ref()).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.search("docs", &query()).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("join").expect("search"));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(store.inner().searches(), 1);
    cleanup(&r).await;
}

async fn private_client(url: &str) -> RedisClient {
    let config = RedisConfig::from_url(url)
        .expect("url")
        .with_connect_timeout(Duration::from_secs(2))
        .with_command_timeout(Duration::from_millis(500))
        .with_reconnect(Reconnect::new(
            0,
            Duration::from_millis(20),
            Duration::from_millis(200),
        ));
    RedisClient::connect(config).await.expect("connect")
}

/// A search that must answer from the inner store within the timeout.
async fn timed_search<S: VectorStore>(
    store: &CachedVectorStore<S>,
    q: &SearchQuery,
) -> (Vec<SearchHit>, Duration) {
    let started = Instant::now();
    let hits = store
        .search("docs", q)
        .await
        .expect("a Redis failure never fails a search");
    (hits, started.elapsed())
}

#[tokio::test]
async fn redis_paused_or_killed_mid_test_never_fails_a_search() {
    let Some(mut server) = ai_data_testkit::RedisServer::start() else {
        return;
    };
    let timeout = Duration::from_millis(150);
    // Answer within the cache timeout, plus scheduling slack on a busy machine.
    let budget = timeout + Duration::from_millis(400);
    let store = CachedVectorStore::new(
        Counting::new(Duration::ZERO),
        private_client(&server.url()).await,
    )
    .with_timeout(timeout)
    .with_retry_interval(Duration::from_millis(200));
    seeded(&store).await;
    let q = query();
    let expected = store
        .inner()
        .inner
        .search("docs", &q)
        .await
        .expect("direct");
    assert_eq!(store.search("docs", &q).await.expect("miss"), expected);
    assert_eq!(store.search("docs", &q).await.expect("hit"), expected);
    assert_eq!(store.stats().hits, 1);

    // Slow: every client of the server is paused for 1.5 s.
    let side = private_client(&server.url()).await;
    let _: String = side
        .pool()
        .custom(fred::cmd!("CLIENT"), vec!["PAUSE", "1500", "ALL"])
        .await
        .expect("CLIENT PAUSE");
    let q2 = SearchQuery::new(vec![3.0, 3.0, 1.0, 0.5], 3);
    let (hits, took) = timed_search(&store, &q2).await;
    assert_eq!(
        hits,
        store
            .inner()
            .inner
            .search("docs", &q2)
            .await
            .expect("direct")
    );
    assert!(took < budget, "paused Redis delayed the search by {took:?}");
    let s = store.stats();
    assert!(s.bypassed >= 1 && s.redis_errors >= 1, "{s:?}");
    // Writes while Redis is paused succeed; the invalidation is retried later.
    let report = store
        .upsert(
            "docs",
            &[Record::new(
                RecordId::from_key("during-pause"),
                q.vector.clone(),
                payload("x"),
            )],
        )
        .await
        .expect("write during the pause");
    assert_eq!(report.upserted, 1);
    let (hits, took) = timed_search(&store, &q).await;
    assert_eq!(hits[0].id, RecordId::from_key("during-pause"));
    assert!(took < budget, "{took:?}");
    // After the pause the cache works again, and serves nothing stale.
    let current = store
        .inner()
        .inner
        .search("docs", &q)
        .await
        .expect("direct");
    let hits_before = store.stats().hits;
    eventually(
        "the cache answers again after the pause",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let got = store.search("docs", &q).await.expect("search");
            assert_eq!(got, current, "stale or wrong result");
            (store.stats().hits > hits_before).then_some(())
        },
    )
    .await;

    // Down: the server is killed (by PID).
    let pid = server.pid().expect("running");
    server.kill();
    assert!(!server.ping(), "server {pid} still answers");
    for i in 0..5 {
        let (hits, took) = timed_search(&store, &q).await;
        assert_eq!(hits, current, "search {i} while Redis is down");
        assert!(took < budget, "search {i} took {took:?}");
    }
    let report = store
        .upsert(
            "docs",
            &[Record::new(
                RecordId::from_key("while-down"),
                q.vector.clone(),
                payload("y"),
            )],
        )
        .await
        .expect("a write while Redis is down succeeds");
    assert_eq!(report.upserted, 1);
    let (hits, took) = timed_search(&store, &q).await;
    assert_eq!(hits[0].id, RecordId::from_key("while-down"));
    assert!(took < budget, "{took:?}");

    // Back (empty): the client reconnects and caching resumes.
    server.restart();
    let current = store
        .inner()
        .inner
        .search("docs", &q)
        .await
        .expect("direct");
    let hits_before = store.stats().hits;
    eventually(
        "the cache answers again after a restart",
        Duration::from_secs(15),
        Duration::from_millis(50),
        || async {
            let got = store.search("docs", &q).await.expect("search");
            assert_eq!(got, current, "stale or wrong result");
            (store.stats().hits > hits_before).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn invalid_collection_names_touch_neither_redis_nor_the_process() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let (store, q, before_keys, before) = cached_docs(&r).await;

    let long = "x".repeat(64);
    // `}` first: in a cluster its keys would hash to different slots.
    let names = [
        "}",
        "}docs",
        "}:gen",
        "{docs}",
        "docs}",
        "",
        "bad name",
        "docs;drop",
        "über",
        long.as_str(),
    ];
    for name in names {
        let err = store.search(name, &q).await.expect_err(name);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        let err = store.upsert(name, &[record(1)]).await.expect_err("upsert");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        let err = store
            .delete(name, Selector::Ids(vec![RecordId::from_key("doc-1")]))
            .await
            .expect_err("delete");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        let err = store.drop_collection(name).await.expect_err("drop");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        let err = store
            .ensure_collection(&CollectionSpec::new(name, 4, Metric::L2))
            .await
            .expect_err("ensure");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        let err = store.invalidate(name).await.expect_err("invalidate");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
    }
    assert_eq!(keys(&r).await, before_keys, "nothing written to Redis");
    let after = store.stats();
    assert_eq!(after.collections, 1, "the in-process map grew: {after:?}");
    assert_eq!(
        (after.redis_errors, after.bypassed, after.invalidations),
        (0, 0, before.invalidations),
        "{after:?}"
    );

    // The cache still serves the valid collection.
    store.search("docs", &q).await.expect("hit");
    let s = store.stats();
    assert_eq!((s.hits, s.bypassed), (before.hits + 1, 0), "{s:?}");
    cleanup(&r).await;
}

#[tokio::test]
async fn collections_the_inner_store_lacks_leave_no_trace() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let (store, q, before_keys, before) = cached_docs(&r).await;

    // Well-formed names, as a request might carry them, of no collection.
    for i in 0..40 {
        let name = format!("missing_{i}");
        let err = store.search(&name, &q).await.expect_err("search");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
        let err = store.upsert(&name, &[record(1)]).await.expect_err("upsert");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
        let err = store
            .delete(&name, Selector::Ids(vec![RecordId::from_key("doc-1")]))
            .await
            .expect_err("delete");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
        assert!(!store.drop_collection(&name).await.expect("drop"), "{name}");
        store.invalidate(&name).await.expect("invalidate");
        // Searched again: still not cached, still an error.
        let err = store.search(&name, &q).await.expect_err("search again");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
    }
    let mut after_keys = keys(&r).await;
    after_keys.sort();
    let mut expected_keys = before_keys.clone();
    expected_keys.sort();
    assert_eq!(
        after_keys, expected_keys,
        "no Redis key for a missing collection"
    );
    let after = store.stats();
    assert_eq!(after.collections, 1, "the in-process map grew: {after:?}");
    assert_eq!(after.redis_errors, 0, "{after:?}");

    // The cache still serves and invalidates the real collection.
    store.search("docs", &q).await.expect("hit");
    assert_eq!(store.stats().hits, before.hits + 1);
    let closer = Record::new(
        RecordId::from_key("closest"),
        q.vector.clone(),
        payload("fr"),
    );
    store.upsert("docs", &[closer]).await.expect("upsert");
    let fresh = store.search("docs", &q).await.expect("search");
    assert_eq!(fresh[0].id, RecordId::from_key("closest"));
    cleanup(&r).await;
}

#[tokio::test]
async fn the_remembered_generations_are_bounded() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let store = CachedVectorStore::new(Counting::new(Duration::ZERO), connect(&r.url).await)
        .with_namespace(&namespace(&r))
        .expect("namespace")
        .with_max_collections(2);
    let q = query();
    let names = ["c_one", "c_two", "c_three"];
    for name in names {
        let spec = CollectionSpec::new(name, 4, Metric::L2);
        store.ensure_collection(&spec).await.expect("collection");
        store.upsert(name, &[record(1)]).await.expect("upsert");
        store.search(name, &q).await.expect("miss");
    }
    let s = store.stats();
    assert_eq!((s.collections, s.misses), (2, 3), "{s:?}");
    // A forgotten generation is read again from Redis: still a hit.
    for name in names {
        let hits = store.search(name, &q).await.expect("hit");
        assert_eq!(hits[0].id, record(1).id, "{name}");
    }
    let s = store.stats();
    assert_eq!((s.collections, s.hits, s.misses), (2, 3, 3), "{s:?}");
    cleanup(&r).await;
}

/// The whole conformance suite through the cache: a `CachedVectorStore`
/// is a `VectorStore` like its inner one, writes and drops included (the
/// suite searches right after each write, so a stale cached answer fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_through_the_cache() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let store = CachedVectorStore::new(MemoryStore::new(), connect(&r.url).await)
        .with_namespace(&namespace(&r))
        .expect("namespace");
    ai_data_vector::conformance::run_all(&store, "cached").await;
    let stats = store.stats();
    assert!(
        stats.hits + stats.misses > 0,
        "searches went through the cache: {stats:?}"
    );
    cleanup(&r).await;
}
