//! Observability against the local Redis: every public call is one
//! `ai_data.operation` span and one metric sample, named by its key
//! namespace and never by a key, a subject, a user id or a session id;
//! cache reads count hits, misses and bypasses; the pool gauges.
//!
//! A test binary of its own: `tracing` caches per call site whether anyone
//! listens, and other tests running in parallel without this test's
//! subscriber could make it miss spans.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ai_data_core::observe::OPERATIONS_TOTAL;
use ai_data_core::HealthCheck;
use ai_data_redis::{CachedVectorStore, RateLimiter, SessionStore, TypedCache, CACHE_LOOKUPS};
use ai_data_testkit::metrics::{counter, operations as operation_count, pool};
use ai_data_vector::{
    CollectionSpec, MemoryStore, Metric, Record, RecordId, SearchQuery, VectorStore,
};
use metrics_util::debugging::DebuggingRecorder;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Metadata, Subscriber};

#[path = "redis/common.rs"]
#[allow(dead_code)]
mod common;

use common::{cleanup, connect, namespace};

/// Values that must never show in a span: a cache key, a user id, a
/// rate-limit subject.
const SECRET: &str = "S3CRET";

/// The fields of every span, in creation order.
type Spans = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// A minimal subscriber that keeps every span's fields.
#[derive(Default)]
struct Capture {
    spans: Spans,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        fields.insert("span".to_owned(), attrs.metadata().name().to_owned());
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().expect("spans");
        spans.push(fields);
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &SpanValues<'_>) {
        let mut spans = self.spans.lock().expect("spans");
        if let Some(fields) = usize::try_from(span.into_u64() - 1)
            .ok()
            .and_then(|i| spans.get_mut(i))
        {
            values.record(&mut Fields(fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// What the exercise saw besides the spans and metrics.
struct Seen {
    namespace: String,
    session_id: String,
    pool_size: usize,
}

/// Every public Redis call of the crate once, plus failures on a closed client.
async fn exercise() -> Option<Seen> {
    let r = ai_data_testkit::redis().await?;
    let client = connect(&r.url).await;
    let ns = namespace(&r);
    let key = format!("key-{SECRET}");

    let cache = TypedCache::<String>::new(client.clone(), &ns, 1).expect("cache");
    cache.set(&key, &"value".to_owned()).await.expect("set");
    assert!(cache.get(&key).await.expect("hit").is_some());
    assert!(cache.get("absent").await.expect("miss").is_none());
    let loaded = cache
        .get_or_load(&format!("load-{SECRET}"), || async {
            Ok("loaded".to_owned())
        })
        .await
        .expect("loaded");
    assert_eq!(loaded, "loaded");
    assert!(cache.ttl(&key).await.expect("ttl").is_some());
    assert!(cache.delete(&key).await.expect("delete"));
    assert_eq!(cache.delete_prefix("").await.expect("delete prefix"), 1);

    let sessions =
        SessionStore::<String>::new(client.clone(), &format!("{ns}:s")).expect("sessions");
    let user = format!("user-{SECRET}");
    let session = sessions
        .create(&user, "claims".to_owned())
        .await
        .expect("create");
    assert!(sessions.get(&session.id).await.expect("get").is_some());
    assert!(sessions.touch(&session.id).await.expect("touch").is_some());
    assert!(sessions.ttl(&session.id).await.expect("ttl").is_some());
    assert!(sessions.revoke(&session.id).await.expect("revoke"));
    assert_eq!(sessions.revoke_all(&user).await.expect("revoke all"), 0);

    let limiter = RateLimiter::fixed_window(
        client.clone(),
        &format!("{ns}:rl"),
        1,
        Duration::from_secs(60),
    )
    .expect("limiter");
    let subject = format!("api-key-{SECRET}");
    assert!(limiter.check(&subject).await.expect("check").allowed);
    assert!(!limiter.check(&subject).await.expect("check").allowed);
    assert_eq!(limiter.reset(&subject).await.expect("reset"), 1);

    let store = CachedVectorStore::new(MemoryStore::new(), client.clone())
        .with_namespace(&format!("{ns}:vq"))
        .expect("namespace");
    store
        .ensure_collection(&CollectionSpec::new("docs", 2, Metric::L2))
        .await
        .expect("collection");
    let records = [Record::new(
        RecordId::from_key("a"),
        vec![1.0, 0.0],
        Default::default(),
    )];
    store.upsert("docs", &records).await.expect("upsert");
    let query = SearchQuery::new(vec![1.0, 0.1], 1);
    let miss = store.search("docs", &query).await.expect("miss");
    let hit = store.search("docs", &query).await.expect("hit");
    assert_eq!(miss, hit);

    let report = client.check().await.expect("healthy");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    // Failures: a closed client's calls fail at once.
    let closed = connect(&r.url).await;
    closed.quit().await.expect("quit");
    let dead = TypedCache::<String>::new(closed, &ns, 1)
        .expect("cache")
        .with_timeout(Duration::from_millis(200));
    dead.get(&key).await.expect_err("closed client");
    let served = dead
        .get_or_load(&key, || async { Ok("from the loader".to_owned()) })
        .await
        .expect("the loader serves a Redis failure");
    assert_eq!(served, "from the loader");

    cleanup(&r).await;
    Some(Seen {
        namespace: ns,
        session_id: session.id.expose().to_owned(),
        pool_size: client.pool().size(),
    })
}

#[test]
fn every_call_is_one_operation_named_by_namespace_never_by_key() {
    // The recorder and the subscriber are this thread's; one long async fn
    // in a debug build needs more than a test thread's 2 MiB of stack.
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(check_operations)
        .expect("spawn")
        .join()
        .expect("the check passed");
}

fn check_operations() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let capture = Capture::default();
    let spans = capture.spans.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seen = metrics::with_local_recorder(&recorder, || {
        tracing::subscriber::with_default(capture, || rt.block_on(exercise()))
    });
    let Some(seen) = seen else {
        return;
    };
    let ns = seen.namespace.as_str();
    let spans = spans.lock().expect("spans").clone();

    // Nothing secret in any span field.
    for span in &spans {
        for (field, value) in span {
            assert!(!value.contains(SECRET), "{field} = {value}");
            assert!(!value.contains(&seen.session_id), "{field} = {value}");
        }
    }

    let operations: Vec<&BTreeMap<String, String>> = spans
        .iter()
        .filter(|s| {
            s["span"] == "ai_data.operation" && s.get("store").map(String::as_str) == Some("redis")
        })
        .collect();
    let field = |s: &BTreeMap<String, String>, f: &str| s.get(f).cloned().unwrap_or_default();
    let targets: BTreeMap<String, BTreeSet<String>> =
        operations.iter().fold(BTreeMap::new(), |mut m, s| {
            m.entry(field(s, "operation"))
                .or_default()
                .insert(field(s, "target"));
            m
        });
    let want = |target: &str, names: &[&str]| {
        for name in names {
            let got = targets
                .get(*name)
                .unwrap_or_else(|| panic!("no {name} span: {targets:?}"));
            assert!(
                got.iter().all(|t| t == target),
                "{name}: {got:?}, want {target}"
            );
        }
    };
    want(
        ns,
        &[
            "cache.set",
            "cache.get",
            "cache.lookup",
            "cache.lease",
            "cache.fill",
            "cache.ttl",
            "cache.delete",
            "cache.delete_prefix",
        ],
    );
    let sessions = format!("{ns}:s");
    want(
        &sessions,
        &[
            "session.create",
            "session.get",
            "session.touch",
            "session.ttl",
            "session.revoke",
            "session.revoke_all",
        ],
    );
    want(
        &format!("{ns}:rl"),
        &["rate_limit.check", "rate_limit.reset"],
    );
    want(
        &format!("{ns}:vq"),
        &[
            "vector_cache.invalidate",
            "vector_cache.lookup",
            "vector_cache.store",
        ],
    );
    want("", &["connect", "health", "quit"]);

    // A vector search's lookup is ok on a miss (0) and on a hit (1).
    let lookups: Vec<(String, String)> = operations
        .iter()
        .filter(|s| field(s, "operation") == "vector_cache.lookup")
        .map(|s| (field(s, "outcome"), field(s, "rows")))
        .collect();
    assert_eq!(
        lookups,
        [("ok".into(), "0".into()), ("ok".into(), "1".into())]
    );

    // The closed client's failures: an error outcome, the namespace as the
    // error's target.
    let failed: Vec<&&BTreeMap<String, String>> = operations
        .iter()
        .filter(|s| field(s, "outcome") != "ok")
        .collect();
    assert_eq!(
        failed
            .iter()
            .map(|s| field(s, "operation"))
            .collect::<Vec<_>>(),
        ["cache.get", "cache.lookup", "cache.lease"],
        "{failed:?}"
    );
    for span in failed {
        let error = field(span, "error");
        assert!(error.contains(&format!("target: {ns}")), "{error}");
    }

    // Metrics: one sample per operation, lookups by result, pool gauges.
    let snapshot = snapshotter.snapshot().into_vec();
    let counter = |name: &str, want: &[(&str, &str)]| counter(&snapshot, name, want);
    let ops =
        |operation: &str, outcome: &str| operation_count(&snapshot, "redis", operation, outcome);
    assert_eq!(ops("cache.get", "ok"), 2);
    assert_eq!(ops("vector_cache.lookup", "ok"), 2);
    assert_eq!(ops("rate_limit.check", "ok"), 2);
    assert_eq!(ops("session.create", "ok"), 1);
    assert_eq!(ops("health", "ok"), 1);
    let all_gets = counter(
        OPERATIONS_TOTAL,
        &[("store", "redis"), ("operation", "cache.get")],
    );
    assert_eq!(all_gets, 3, "two ok, one failed");
    let lookups =
        |cache: &str, result: &str| counter(CACHE_LOOKUPS, &[("cache", cache), ("result", result)]);
    assert_eq!(
        (lookups("vector", "hit"), lookups("vector", "miss")),
        (1, 1)
    );
    assert_eq!(lookups("vector", "bypass"), 0);
    // get: hit, miss; get_or_load: miss; closed: get fails (not counted),
    // get_or_load bypasses.
    assert_eq!(
        (
            lookups("typed", "hit"),
            lookups("typed", "miss"),
            lookups("typed", "bypass")
        ),
        (1, 2, 1)
    );
    let max = pool(&snapshot, "redis", "max");
    assert_eq!(max, Some(seen.pool_size as f64));
}
