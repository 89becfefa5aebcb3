//! The embedding-query cache on its hot path (`CachedVectorStore` over the
//! exact `MemoryStore`, 5,000 x 768 vectors, k = 10, with payloads):
//!
//! - `cache_hit/cached_search_hit` vs `cache_hit/raw_fred_get_same_bytes`:
//!   a cached search against a plain fred `GET` of the very bytes the hit
//!   reads (goal: hit <= 1.2x the raw GET);
//! - `cache_hit/cached_search_miss` and `cache_hit/inner_search_only`: what
//!   a miss costs (lookup + inner search + store) and what the cache saves;
//! - `codec/*`: MessagePack vs JSON for the cached hit list.
//!
//! A plain summary (medians over interleaved runs and the ratio) is printed
//! at the end. Needs a Redis: `AI_DATA_REDIS_*`, else `AI_DATA_TEST_REDIS_URL`
//! (from the environment or `.stores/env`, see `scripts/stores.sh`).
//!
//! `cargo bench --features redis,vector --bench cache_hit`

use std::hint::black_box;
use std::time::{Duration, Instant};

use ai_data::core::{EnvSource, Store};
use ai_data::redis::fred::bytes::Bytes;
use ai_data::redis::fred::interfaces::KeysInterface;
use ai_data::redis::{CachedVectorStore, Codec, RedisClient, RedisConfig};
use ai_data::vector::{
    CollectionSpec, FieldKind, MemoryStore, Metric, Record, RecordId, SearchHit, SearchQuery,
    VectorStore,
};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

const DIM: usize = 768;
const ROWS: usize = 5_000;

fn vector(seed: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| ((seed * 31 + d * 17) % 1009) as f32 / 1009.0 - 0.5)
        .collect()
}

fn config() -> Option<RedisConfig> {
    if ai_data::is_configured(&EnvSource::from_process(), Store::Redis) {
        return RedisConfig::from_env().ok();
    }
    let url = ai_data_testkit::test_var("AI_DATA_TEST_REDIS_URL")?;
    RedisConfig::from_url(&url).ok()
}

struct Setup {
    rt: Runtime,
    client: RedisClient,
    store: CachedVectorStore<MemoryStore>,
    query: SearchQuery,
    raw_key: String,
    hits: Vec<SearchHit>,
}

fn setup() -> Option<Setup> {
    let Some(config) = config() else {
        eprintln!(
            "cache_hit: no Redis configured (AI_DATA_REDIS_URL or AI_DATA_TEST_REDIS_URL); skipped"
        );
        return None;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (client, store, query, raw_key, hits) = rt.block_on(async {
        let client = RedisClient::connect(config.with_pool_size(1))
            .await
            .expect("connect to Redis");
        let inner = MemoryStore::new();
        let spec = CollectionSpec::new("bench", DIM, Metric::Cosine)
            .with_field("lang", FieldKind::Text);
        inner.ensure_collection(&spec).await.expect("collection");
        let records: Vec<Record> = (0..ROWS)
            .map(|i| {
                let payload = serde_json::json!({"lang": if i % 3 == 0 { "de" } else { "en" }, "title": format!("document {i}"), "year": 2000 + i % 25})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                Record::new(RecordId::from_key(&format!("doc-{i}")), vector(i), payload)
            })
            .collect();
        inner.upsert("bench", &records).await.expect("upsert");
        let run = std::process::id();
        let store = CachedVectorStore::new(inner, client.clone())
            .with_namespace(&format!("bench:{run}"))
            .expect("namespace")
            .with_ttl(Duration::from_secs(120));
        let query = SearchQuery::new(vector(ROWS + 1), 10);
        let hits = store.search("bench", &query).await.expect("warm-up miss");
        let again = store.search("bench", &query).await.expect("warm-up hit");
        assert_eq!(hits, again);
        assert_eq!(store.stats().hits, 1);
        let raw_key = format!("bench:{run}:raw");
        let bytes = Bytes::from(Codec::MessagePack.encode(&hits).expect("encode"));
        let _: () = client
            .pool()
            .set(&raw_key, bytes, None, None, false)
            .await
            .expect("raw set");
        (client, store, query, raw_key, hits)
    });
    Some(Setup {
        rt,
        client,
        store,
        query,
        raw_key,
        hits,
    })
}

fn hit_once(s: &Setup) -> Vec<SearchHit> {
    s.rt.block_on(s.store.search("bench", &s.query))
        .expect("hit")
}

fn raw_once(s: &Setup) -> Bytes {
    s.rt.block_on(s.client.pool().get::<Bytes, _>(&s.raw_key))
        .expect("raw get")
}

fn miss_once(s: &Setup, i: usize) -> Vec<SearchHit> {
    // A query never asked before: a miss every time.
    let mut q = s.query.clone();
    q.vector[0] += (i as f32 + 1.0) * 1e-4;
    s.rt.block_on(s.store.search("bench", &q)).expect("miss")
}

fn bench(c: &mut Criterion) {
    let Some(s) = setup() else { return };
    let mut group = c.benchmark_group("cache_hit");
    group
        .measurement_time(Duration::from_secs(4))
        .sample_size(50);
    group.bench_function("cached_search_hit", |b| b.iter(|| black_box(hit_once(&s))));
    group.bench_function("raw_fred_get_same_bytes", |b| {
        b.iter(|| black_box(raw_once(&s)))
    });
    let mut i = 0;
    group.sample_size(20);
    group.bench_function("cached_search_miss", |b| {
        b.iter(|| {
            i += 1;
            black_box(miss_once(&s, i))
        })
    });
    group.bench_function("inner_search_only", |b| {
        b.iter(|| black_box(s.rt.block_on(s.store.inner().search("bench", &s.query))))
    });
    group.finish();

    let mut codec = c.benchmark_group("codec");
    codec.measurement_time(Duration::from_secs(2));
    for (name, kind) in [("msgpack", Codec::MessagePack), ("json", Codec::Json)] {
        let bytes = kind.encode(&s.hits).expect("encode");
        println!(
            "codec {name}: 10 hits with payloads = {} bytes",
            bytes.len()
        );
        codec.bench_function(format!("{name}_encode"), |b| {
            b.iter(|| black_box(kind.encode(&s.hits).expect("encode")))
        });
        codec.bench_function(format!("{name}_decode"), |b| {
            b.iter(|| black_box(kind.decode::<Vec<SearchHit>>(&bytes).expect("decode")))
        });
    }
    codec.finish();

    summary(&s);
    s.rt.block_on(async {
        let _ = s.store.invalidate("bench").await;
        let _: Result<i64, _> = s.client.pool().del(&s.raw_key).await;
    });
}

/// Interleaved medians, so both sides see the same machine load.
fn summary(s: &Setup) {
    let median = |v: &mut Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (mut hit, mut raw, mut mget, mut miss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut raw_decoded = Vec::new();
    let gen_key = format!("{}:v1:{{bench}}:gen", s.raw_key.trim_end_matches(":raw"));
    for i in 0..3000 {
        let t = Instant::now();
        black_box(hit_once(s));
        hit.push(t.elapsed());
        let t = Instant::now();
        black_box(raw_once(s));
        raw.push(t.elapsed());
        let t = Instant::now();
        let two: Vec<Option<Bytes>> =
            s.rt.block_on(
                s.client
                    .pool()
                    .mget(vec![gen_key.as_str(), s.raw_key.as_str()]),
            )
            .expect("mget");
        black_box(two);
        mget.push(t.elapsed());
        let t = Instant::now();
        let bytes = raw_once(s);
        black_box(
            Codec::MessagePack
                .decode::<Vec<SearchHit>>(&bytes)
                .expect("decode"),
        );
        raw_decoded.push(t.elapsed());
        if i % 30 == 0 {
            let t = Instant::now();
            black_box(miss_once(s, 1_000_000 + i));
            miss.push(t.elapsed());
        }
    }
    let (hit, raw, mget, raw_decoded, miss) = (
        median(&mut hit),
        median(&mut raw),
        median(&mut mget),
        median(&mut raw_decoded),
        median(&mut miss),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "summary: cached hit {hit:?} vs raw fred GET of the same bytes {raw:?}: {:.2}x (goal <= 1.2x)\n\
         summary: raw MGET of the two keys a hit reads {mget:?}; raw GET + decode of the hits {raw_decoded:?} (hit is {:.2}x that)\n\
         summary: miss {miss:?} = {:.1}x a hit",
        ratio(hit, raw),
        ratio(hit, raw_decoded),
        ratio(miss, hit),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
