//! [`CachedVectorStore`]: search results of any [`VectorStore`] cached in
//! Redis, invalidated per collection by a generation counter, and never
//! failed by Redis.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, Store};
use ai_data_vector::{
    validate, Capabilities, CollectionSpec, Filter, Record, RecordId, SearchHit, SearchQuery,
    Selector, UpsertReport, VectorStore,
};
use async_trait::async_trait;
use fred::bytes::Bytes;
use fred::clients::{Client, WithOptions};
use fred::interfaces::KeysInterface;
use fred::types::scripts::Script;
use fred::types::Expiration;
use hashlink::LruCache;
use rand::Rng;

use crate::error::map_fred;
use crate::observe::{count_lookup, CacheKind, LookupResult};
use crate::warn::RateLimitedWarn;
use crate::{Codec, KeySpace, RedisClient, SingleFlight};

/// Version of the cached entry format; part of every key.
pub const VECTOR_CACHE_FORMAT: u32 = 1;

/// Default number of collection generations a [`CachedVectorStore`]
/// remembers in process (see [`CachedVectorStore::with_max_collections`]).
pub const DEFAULT_MAX_COLLECTIONS: usize = 4096;

/// Counters of one [`CachedVectorStore`] (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VectorCacheStats {
    /// Searches answered from Redis.
    pub hits: u64,
    /// Searches Redis did not hold; answered by the inner store, then cached.
    pub misses: u64,
    /// Searches answered by the inner store without the cache, because
    /// Redis failed, was slower than the timeout, or was being skipped
    /// after a recent failure.
    pub bypassed: u64,
    /// Inner-store searches run (misses and bypasses, minus those that
    /// joined a concurrent identical search).
    pub inner_searches: u64,
    /// Collection generations bumped by writes or [`CachedVectorStore::invalidate`].
    pub invalidations: u64,
    /// Redis failures and timeouts absorbed.
    pub redis_errors: u64,
    /// Collections whose generation this store remembers (in process; one
    /// small entry per existing collection searched or written, at most
    /// [`CachedVectorStore::with_max_collections`], least recently used
    /// forgotten first).
    pub collections: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    inner_searches: AtomicU64,
    invalidations: AtomicU64,
    redis_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// `INCR` the generation if it exists; returns 0 (and creates nothing) when
/// it is missing (never searched, evicted under `allkeys-lru`, or removed
/// after the inner store said `NotFound`): a missing generation has no
/// valid entries, since the next search creates it at a fresh random value.
static BUMP: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end \
         return 0",
    )
});

/// Remove the generation `ARGV[1]` (one the inner store said `NotFound`
/// for) if it is still current.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end \
         return 0",
    )
});

/// Read the generation, creating it at a random value when missing (new,
/// or evicted under `allkeys-lru`), so that entries of an earlier life of
/// the counter can never be read again.
static CURRENT: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "local g = redis.call('GET', KEYS[1]) \
         if not g then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end \
         return tonumber(g)",
    )
});

fn random_generation() -> String {
    // Below 2^39, so that Lua's doubles and `INCR` stay exact for ages.
    rand::rng()
        .random_range(1_u64 << 32..1_u64 << 39)
        .to_string()
}

#[derive(Debug)]
struct State {
    /// Last generation seen per collection (an LRU): lets the hit path
    /// read the generation and the entry in one `MGET`.
    generations: Mutex<LruCache<String, i64>>,
    /// Collections written while Redis was unreachable: their generation
    /// must be bumped before the cache serves them again.
    pending: Mutex<HashSet<String>>,
    /// Skip Redis until this many ms after `epoch` (0: do not skip).
    skip_until: AtomicU64,
    epoch: Instant,
    flights: SingleFlight<Vec<SearchHit>>,
    counters: Counters,
    warn: RateLimitedWarn,
}

/// A [`VectorStore`] decorator that caches search results in Redis.
///
/// - **Key**: `<namespace>:v<format>:{<collection>}:g<generation>:<hash>`,
///   where the hash (BLAKE3, 128 bits) covers the collection, the query
///   vector's bytes, `k`, the filter, the distance threshold, the accuracy
///   hint, the payload/vector flags and anything else a [`SearchQuery`]
///   says. Entries expire after the TTL (default 5 min).
/// - **Invalidation**: every write through this store (`upsert`, `delete`,
///   `drop_collection`, a creating `ensure_collection`) increments the
///   collection's generation (`{<collection>}:gen`, one `INCR`), so older
///   entries are never read again and age out by TTL: O(1), no key scan.
///   A write made elsewhere is announced with [`invalidate`](Self::invalidate).
///   The first search of a collection creates its generation at a random
///   value; a bump of a missing generation creates nothing (nothing is
///   cached under it).
/// - **Only collections the inner store has leave state**: a search the
///   inner store answers `NotFound` removes the generation it read (in
///   Redis and in process); a write it answers `NotFound` bumps nothing.
///   So well-formed names of no collection, taken from requests, cannot
///   grow Redis or the process. The in-process map of generations is an
///   LRU bounded by [`with_max_collections`](Self::with_max_collections).
/// - **One round trip per hit**: the generation and the entry are read
///   with one `MGET` (same hash slot), using the last generation seen.
/// - **Redis never fails a search**: each Redis call is bounded by a
///   timeout (default 100 ms); on an error or timeout the search is served
///   by the inner store, a warning is logged (at most one per 10 s), and
///   Redis is skipped for a retry interval (default 1 s). A write whose
///   invalidation fails is remembered, and that collection is served
///   without the cache until the generation bump succeeds.
/// - Identical concurrent misses run one inner search (single-flight).
/// - **Observed**: the Redis part of a search is one
///   [`Operation`](ai_data_core::observe::Operation), `vector_cache.lookup`
///   (outcome `ok` on a hit and on a miss; it counts 1 for a hit, 0 for a
///   miss), a miss adds `vector_cache.store`, and generation bumps are
///   `vector_cache.invalidate`, all with the key namespace as the target.
///   Every search also counts in `ai_data_cache_lookups_total{cache="vector"}`
///   as a `hit`, `miss` or `bypass`. The inner store observes its own calls.
///
/// - **Collection names are checked before Redis is touched**: only names
///   that pass [`validate::collection_name`] (the rule of every
///   `ai-data-vector` backend: `^[A-Za-z_][A-Za-z0-9_]{0,62}$`) are cached.
///   Any other name goes straight to the inner store, which refuses it
///   (`InvalidInput`) or, for a store with a looser rule, answers uncached;
///   either way no Redis key and no in-process entry is made for it, and
///   no such name can break the hash tag (a name starting with `}` would
///   put a collection's keys in different cluster slots).
///   [`invalidate`](Self::invalidate) refuses such names.
///
/// Other replicas of a service that wrote while Redis was unreachable may
/// serve entries older than that write until their TTL ends.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ai_data_redis::{CachedVectorStore, RedisClient};
/// use ai_data_vector::{MemoryStore, SearchQuery, VectorStore};
///
/// # async fn demo(client: RedisClient) -> ai_data_core::Result<()> {
/// let store = CachedVectorStore::new(MemoryStore::new(), client)
///     .with_ttl(Duration::from_secs(60))
///     .with_timeout(Duration::from_millis(50));
/// let query = SearchQuery::new(vec![0.1, 0.2, 0.3], 10);
/// let first = store.search("docs", &query).await?; // miss: inner store, then cached
/// let again = store.search("docs", &query).await?; // hit: one MGET
/// assert_eq!(first, again);
/// # Ok(())
/// # }
/// ```
pub struct CachedVectorStore<S> {
    inner: S,
    client: RedisClient,
    keys: KeySpace,
    ttl: Duration,
    timeout: Duration,
    retry_interval: Duration,
    state: Arc<State>,
}

impl<S: fmt::Debug> fmt::Debug for CachedVectorStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedVectorStore")
            .field("inner", &self.inner)
            .field("prefix", &self.keys.prefix())
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .field("retry_interval", &self.retry_interval)
            .finish_non_exhaustive()
    }
}

impl<S: Clone> Clone for CachedVectorStore<S> {
    fn clone(&self) -> Self {
        CachedVectorStore {
            inner: self.inner.clone(),
            client: self.client.clone(),
            keys: self.keys.clone(),
            ttl: self.ttl,
            timeout: self.timeout,
            retry_interval: self.retry_interval,
            state: self.state.clone(),
        }
    }
}

/// BLAKE3 of the vector's little-endian bytes. BLAKE3 hashes 1 KiB chunks
/// side by side (SIMD) in power-of-two groups, so a 768-dimension vector
/// (3 KiB) is zero-padded to 4 KiB: measured a third faster. The length is
/// hashed separately, so the padding is unambiguous.
fn vector_digest(vector: &[f32]) -> blake3::Hash {
    const CHUNK: usize = 1024;
    let len = vector.len() * 4;
    let padded = if len > CHUNK {
        len.div_ceil(CHUNK).next_power_of_two() * CHUNK
    } else {
        len
    };
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|bytes| {
        bytes.clear();
        bytes.resize(padded, 0);
        for (dst, x) in bytes.chunks_exact_mut(4).zip(vector) {
            dst.copy_from_slice(&x.to_le_bytes());
        }
        blake3::hash(bytes)
    })
}

/// The cache key's hash of one query, as 32 hex characters (128 bits of
/// BLAKE3: a cryptographic hash, so nobody can craft a query whose key
/// collides with another tenant's query and read or poison its results).
fn query_hash(collection: &str, query: &SearchQuery) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    // The name before the crate was renamed: it salts the cache keys, which
    // must not change with a rename.
    hasher.update(b"ai-data-cache/vector-query/1\0");
    hasher.update(&(collection.len() as u64).to_le_bytes());
    hasher.update(collection.as_bytes());
    hasher.update(&(query.vector.len() as u64).to_le_bytes());
    hasher.update(vector_digest(&query.vector).as_bytes());
    // Everything else the query says, whatever fields it gains later.
    let mut rest = query.clone();
    rest.vector = Vec::new();
    hasher.update(&Codec::MessagePack.encode(&rest)?);
    let hex = hasher.finalize().to_hex();
    Ok(hex[..32].to_owned())
}

impl<S: VectorStore> CachedVectorStore<S> {
    /// Cache `inner`'s searches in Redis under the namespace `vq`.
    pub fn new(inner: S, client: RedisClient) -> Self {
        CachedVectorStore {
            inner,
            client,
            // "vq" is a valid namespace.
            keys: KeySpace::new("vq", VECTOR_CACHE_FORMAT)
                .unwrap_or_else(|_| unreachable!("constant namespace")),
            ttl: Duration::from_secs(300),
            timeout: Duration::from_millis(100),
            retry_interval: Duration::from_secs(1),
            state: Arc::new(State {
                generations: Mutex::new(LruCache::new(DEFAULT_MAX_COLLECTIONS)),
                pending: Mutex::new(HashSet::new()),
                skip_until: AtomicU64::new(0),
                epoch: Instant::now(),
                flights: SingleFlight::new(),
                counters: Counters::default(),
                warn: RateLimitedWarn::new(Duration::from_secs(10)),
            }),
        }
    }

    /// Use another key namespace (e.g. one per service sharing a Redis).
    pub fn with_namespace(mut self, namespace: &str) -> Result<Self> {
        self.keys = KeySpace::new(namespace, VECTOR_CACHE_FORMAT)?;
        Ok(self)
    }

    /// Time to live of cached results (at least 1 ms).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// Longest wait for any one Redis call on the search path (at least 1 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long to skip Redis after a failure before trying it again.
    #[must_use]
    pub fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// Remember the generations of at most this many collections in
    /// process (at least 1; default [`DEFAULT_MAX_COLLECTIONS`]); the least
    /// recently used is forgotten first. A forgotten generation costs its
    /// next search one more round trip, never a wrong result.
    #[must_use]
    pub fn with_max_collections(self, max: usize) -> Self {
        self.state
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_capacity(max.max(1));
        self
    }

    /// The decorated store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Counters since creation.
    pub fn stats(&self) -> VectorCacheStats {
        let c = &self.state.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        VectorCacheStats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            bypassed: get(&c.bypassed),
            inner_searches: get(&c.inner_searches),
            invalidations: get(&c.invalidations),
            redis_errors: get(&c.redis_errors),
            collections: self
                .state
                .generations
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len() as u64,
        }
    }

    /// `<prefix>{<collection>}:` (the hash tag keeps a collection's keys in one slot).
    fn collection_prefix(&self, collection: &str, extra: usize) -> String {
        let prefix = self.keys.prefix();
        let mut key = String::with_capacity(prefix.len() + collection.len() + 3 + extra);
        key.push_str(prefix);
        key.push('{');
        key.push_str(collection);
        key.push_str("}:");
        key
    }

    fn gen_key(&self, collection: &str) -> String {
        let mut key = self.collection_prefix(collection, 3);
        key.push_str("gen");
        key
    }

    fn entry_key(&self, collection: &str, generation: i64, hash: &str) -> String {
        let mut key = self.collection_prefix(collection, 22 + hash.len());
        // Writing to a String cannot fail.
        let _ = write!(key, "g{generation}:{hash}");
        key
    }

    fn fast(&self) -> WithOptions<Client> {
        self.client.fast(self.timeout)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.state.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn redis_skipped(&self) -> bool {
        self.now_ms() < self.state.skip_until.load(Ordering::Relaxed)
    }

    /// Note a Redis failure: count it, warn (rate-limited), skip Redis for a while.
    fn redis_failed(&self, what: &str, error: &Error) {
        bump(&self.state.counters.redis_errors);
        let retry_ms = u64::try_from(self.retry_interval.as_millis()).unwrap_or(u64::MAX);
        self.state
            .skip_until
            .store(self.now_ms().saturating_add(retry_ms), Ordering::Relaxed);
        self.state.warn.warn(
            &format!("vector search cache: {what}; serving from the inner store"),
            error,
        );
    }

    fn remembered_generation(&self, collection: &str) -> Option<i64> {
        self.state
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(collection)
            .copied()
    }

    fn forget_generation(&self, collection: &str) {
        self.state
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(collection);
    }

    /// The inner store does not have `collection`: remove the generation
    /// this search created (or read) for it, in Redis and here, so that
    /// names of no collection leave nothing behind. Removing a generation
    /// is always safe: the next search creates a fresh random one.
    async fn forget(&self, collection: &str, generation: i64) {
        {
            let mut generations = self
                .state
                .generations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if generations.peek(collection) == Some(&generation) {
                generations.remove(collection);
            }
        }
        let key = self.gen_key(collection);
        let removed: Result<i64> = self
            .client
            .eval_within(
                self.timeout,
                &FORGET,
                key.as_str(),
                vec![generation.to_string()],
                "cache generation",
                &key,
            )
            .await;
        if let Err(e) = removed {
            self.redis_failed("removing the generation of a missing collection failed", &e);
        }
    }

    fn remember_generation(&self, collection: &str, generation: i64) {
        self.state
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(collection.to_owned(), generation);
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.state
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One observed Redis round trip on this cache's namespace. Callers
    /// `pin!` the work first and hand the Operation the pinned reference:
    /// an Operation that owned a large fred future would hold copies of it
    /// (tripling this store's search future, 15 KB to 44 KB, and costing a
    /// hit ~1.5 µs of copying).
    fn op(&self, name: &'static str) -> Operation<'_> {
        Operation::new(Store::Redis, name).target(self.keys.namespace())
    }

    /// Bump the collection's generation: every cached search of it is
    /// dropped at once. Use after writing to the inner store directly.
    /// A name that is not a valid collection name is `InvalidInput`.
    pub async fn invalidate(&self, collection: &str) -> Result<()> {
        validate::collection_name(collection)?;
        self.invalidate_within(collection, self.client.command_timeout())
            .await
    }

    /// [`invalidate`](Self::invalidate) within `limit`.
    async fn invalidate_within(&self, collection: &str, limit: Duration) -> Result<()> {
        let key = self.gen_key(collection);
        let bump_generation = pin!(self.client.eval_within(
            limit,
            &BUMP,
            key.as_str(),
            vec![random_generation()],
            "invalidate",
            &key,
        ));
        let generation: i64 = self
            .op("vector_cache.invalidate")
            .run(bump_generation)
            .await?;
        if generation == 0 {
            // No generation in Redis: nothing cached to invalidate.
            self.forget_generation(collection);
        } else {
            self.remember_generation(collection, generation);
        }
        bump(&self.state.counters.invalidations);
        Ok(())
    }

    /// After a write: bump the generation (within the timeout), or
    /// remember to.
    async fn after_write(&self, collection: &str) {
        match self.invalidate_within(collection, self.timeout).await {
            Ok(()) => {
                self.pending().remove(collection);
            }
            Err(e) => {
                self.pending().insert(collection.to_owned());
                self.redis_failed(
                    "invalidation failed (retried before the next cached search)",
                    &e,
                );
            }
        }
    }

    /// The generation and, if present, the entry for `hash`: one `MGET`
    /// when the remembered generation is current.
    async fn lookup(&self, collection: &str, hash: &str) -> Result<(i64, Option<Bytes>)> {
        let gen_key = self.gen_key(collection);
        if let Some(seen) = self.remembered_generation(collection) {
            let entry_key = self.entry_key(collection, seen, hash);
            let mut values: Vec<Option<Bytes>> = self
                .fast()
                .mget(vec![gen_key.as_str(), entry_key.as_str()])
                .await
                .map_err(|e| map_fred(e, "cache lookup", &gen_key))?;
            let entry = values.pop().flatten();
            let current = values
                .pop()
                .flatten()
                .and_then(|b| std::str::from_utf8(&b).ok()?.parse::<i64>().ok());
            if current == Some(seen) {
                return Ok((seen, entry));
            }
        }
        let current: i64 = self
            .client
            .eval_within(
                self.timeout,
                &CURRENT,
                gen_key.as_str(),
                vec![random_generation()],
                "cache generation",
                &gen_key,
            )
            .await?;
        self.remember_generation(collection, current);
        let entry_key = self.entry_key(collection, current, hash);
        let entry: Option<Bytes> = self
            .fast()
            .get(entry_key.as_str())
            .await
            .map_err(|e| map_fred(e, "cache lookup", &entry_key))?;
        Ok((current, entry))
    }

    /// The inner search, once for concurrent identical queries; cached
    /// under `generation` when it is known.
    async fn search_inner(
        &self,
        collection: &str,
        query: &SearchQuery,
        hash: &str,
        generation: Option<i64>,
    ) -> Result<Vec<SearchHit>> {
        let flight = format!("{collection}\0{hash}\0{generation:?}");
        self.state
            .flights
            .run(&flight, || async {
                bump(&self.state.counters.inner_searches);
                let hits = match self.inner.search(collection, query).await {
                    Ok(hits) => hits,
                    Err(e) => {
                        if let (Some(generation), true) = (generation, is_not_found(&e)) {
                            self.forget(collection, generation).await;
                        }
                        return Err(e);
                    }
                };
                if let Some(generation) = generation {
                    self.store(collection, generation, hash, &hits).await;
                }
                Ok(hits)
            })
            .await
    }

    async fn store(&self, collection: &str, generation: i64, hash: &str, hits: &[SearchHit]) {
        let bytes = match Codec::MessagePack.encode(hits) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                self.state
                    .warn
                    .warn("vector search cache: hits not encodable", &e);
                return;
            }
        };
        let key = self.entry_key(collection, generation, hash);
        let ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let set = pin!(async {
            self.fast()
                .set(key.as_str(), bytes, Some(Expiration::PX(ms)), None, false)
                .await
                .map_err(|e| map_fred(e, "cache store", &key))
        });
        let stored: Result<()> = self.op("vector_cache.store").run(set).await;
        if let Err(e) = stored {
            self.redis_failed("storing a result failed", &e);
        }
    }

    async fn cached_search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let hash = query_hash(collection, query)?;
        match self.try_cache(collection, &hash).await {
            Lookup::Hit(hits) => Ok(hits),
            Lookup::Miss(generation) => {
                self.search_inner(collection, query, &hash, Some(generation))
                    .await
            }
            Lookup::Bypass => self.search_inner(collection, query, &hash, None).await,
        }
    }

    async fn try_cache(&self, collection: &str, hash: &str) -> Lookup {
        if self.redis_skipped() {
            return self.bypass();
        }
        let pending = self.pending().contains(collection);
        if pending {
            self.after_write(collection).await;
            let still_pending = self.pending().contains(collection);
            if still_pending {
                return self.bypass();
            }
        }
        let lookup_future = pin!(self.lookup(collection, hash));
        let looked_up = self
            .op("vector_cache.lookup")
            .run_counted(lookup_future, |(_, entry)| u8::from(entry.is_some()))
            .await;
        match looked_up {
            Ok((generation, Some(bytes))) => match Codec::MessagePack.decode(&bytes) {
                Ok(hits) => {
                    bump(&self.state.counters.hits);
                    count_lookup(CacheKind::Vector, LookupResult::Hit);
                    Lookup::Hit(hits)
                }
                Err(e) => {
                    self.state.warn.warn(
                        "vector search cache: entry does not decode; treated as a miss",
                        &e,
                    );
                    self.miss(generation)
                }
            },
            Ok((generation, None)) => self.miss(generation),
            Err(e) => {
                self.redis_failed("lookup failed", &e);
                self.bypass()
            }
        }
    }

    fn miss(&self, generation: i64) -> Lookup {
        bump(&self.state.counters.misses);
        count_lookup(CacheKind::Vector, LookupResult::Miss);
        Lookup::Miss(generation)
    }

    fn bypass(&self) -> Lookup {
        bump(&self.state.counters.bypassed);
        count_lookup(CacheKind::Vector, LookupResult::Bypass);
        Lookup::Bypass
    }
}

/// Whether the cache may key `collection`: the rule of every
/// `ai-data-vector` backend, which also keeps `{`, `}` and `:` out of the
/// hash tag.
fn cacheable(collection: &str) -> bool {
    validate::collection_name(collection).is_ok()
}

fn is_not_found(error: &Error) -> bool {
    error.kind() == ErrorKind::NotFound
}

/// Whether a write that ended with `result` may have changed `collection`:
/// one the inner store says is not there (`NotFound`) did not, and must not
/// make a generation for the name.
fn may_have_written<T>(collection: &str, result: &Result<T>) -> bool {
    cacheable(collection) && !matches!(result, Err(e) if is_not_found(e))
}

/// What the cache said about one search.
enum Lookup {
    Hit(Vec<SearchHit>),
    /// Not cached; cache the inner result under this generation.
    Miss(i64),
    /// Redis failed or is being skipped: inner store only.
    Bypass,
}

#[async_trait]
impl<S: VectorStore> VectorStore for CachedVectorStore<S> {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        let created = self.inner.ensure_collection(spec).await?;
        if created && cacheable(&spec.name) {
            self.after_write(&spec.name).await;
        }
        Ok(created)
    }

    async fn drop_collection(&self, name: &str) -> Result<bool> {
        let result = self.inner.drop_collection(name).await;
        if may_have_written(name, &result) {
            self.after_write(name).await;
        }
        result
    }

    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        let result = self.inner.upsert(collection, records).await;
        if !records.is_empty() && may_have_written(collection, &result) {
            self.after_write(collection).await;
        }
        result
    }

    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        self.inner.get(collection, ids).await
    }

    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        let result = self.inner.delete(collection, selector).await;
        if may_have_written(collection, &result) {
            self.after_write(collection).await;
        }
        result
    }

    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        self.inner.count(collection, filter).await
    }

    /// Cached; see the type docs. Errors come only from the inner store.
    /// A collection name the cache cannot key goes to the inner store
    /// uncached and uncounted (every `ai-data-vector` store refuses it).
    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        if !cacheable(collection) {
            return self.inner.search(collection, query).await;
        }
        self.cached_search(collection, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::AccuracyHint;

    #[test]
    fn every_part_of_a_query_changes_its_hash() {
        let base = SearchQuery::new(vec![0.25, -1.0, 3.5], 10);
        let h = |c: &str, q: &SearchQuery| query_hash(c, q).expect("hash");
        let reference = h("docs", &base);
        assert_eq!(reference.len(), 32);
        assert_eq!(reference, h("docs", &base.clone()), "deterministic");
        let mut other_vector = base.clone();
        other_vector.vector[2] = 3.5000002;
        let mut other_k = base.clone();
        other_k.k = 11;
        let variants = [
            h("docs2", &base),
            h("docs", &other_vector),
            h("docs", &other_k),
            h("docs", &base.clone().with_filter(Filter::eq("lang", "en"))),
            h("docs", &base.clone().with_filter(Filter::eq("lang", "de"))),
            h(
                "docs",
                &base.clone().with_accuracy(AccuracyHint::ef_search(64)),
            ),
            h("docs", &base.clone().with_accuracy(AccuracyHint::probes(4))),
            h("docs", &base.clone().with_max_distance(0.5)),
            h("docs", &base.clone().with_vectors(true)),
            h("docs", &base.clone().with_payloads(false)),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(v, &reference, "variant {i}");
        }
        let unique: HashSet<&String> = variants.iter().collect();
        assert_eq!(unique.len(), variants.len());
    }
}
