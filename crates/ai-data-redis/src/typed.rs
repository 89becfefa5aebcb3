//! [`TypedCache<T>`]: cache-aside for a service's own types.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, Result, Store};
use fred::bytes::Bytes;
use fred::interfaces::KeysInterface;
use fred::types::scripts::Script;
use fred::types::{Expiration, SetOptions, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::map_fred;
use crate::observe::{count_lookup, CacheKind, LookupResult};
use crate::warn::RateLimitedWarn;
use crate::{Codec, KeySpace, RedisClient, SingleFlight};

/// Default time to live of an entry.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Default life of a load marker (see [`TypedCache::with_load_lease`]).
pub const DEFAULT_LOAD_LEASE: Duration = Duration::from_secs(60);

/// A load marker is this prefix and a random token. `0xC1` is never
/// produced by MessagePack and is not UTF-8 (so not JSON): no encoded
/// value starts like this.
// Kept from before the crate was renamed from ai-data-cache: it is part of
// what is stored in Redis, so a rename must not change it.
const MARKER_PREFIX: &[u8] = b"\xC1ai-data-cache:loading:";

fn is_marker(bytes: &[u8]) -> bool {
    bytes.starts_with(MARKER_PREFIX)
}

/// A fresh load marker.
fn new_marker() -> Bytes {
    let token: u128 = rand::random();
    let mut marker = MARKER_PREFIX.to_vec();
    marker.extend_from_slice(format!("{token:032x}").as_bytes());
    Bytes::from(marker)
}

/// The single-flight key of a load under `marker`: loads under different
/// markers (one before an invalidation, one after) never share a flight.
fn flight_key(full: &str, marker: &[u8]) -> String {
    let token = &marker[MARKER_PREFIX.len().min(marker.len())..];
    format!("{full}\0{}", String::from_utf8_lossy(token))
}

/// `KEYS[1]` the entry, `ARGV` marker, value, TTL ms: write the value only
/// where the marker still is. Returns 1 when written.
static FILL: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end \
         return 0",
    )
});

/// `KEYS[1]` the entry, `ARGV[1]` a marker: remove the marker if it is still there.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end \
         return 0",
    )
});

/// `KEYS[1]` the entry, `ARGV[1]` the marker prefix: remove the key;
/// returns 1 if it held a value (not a load marker).
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "local head = redis.call('GETRANGE', KEYS[1], 0, string.len(ARGV[1]) - 1) \
         local n = redis.call('UNLINK', KEYS[1]) \
         if head == ARGV[1] then return 0 end \
         return n",
    )
});

/// `KEYS[1]` the entry, `ARGV[1]` the marker prefix: its `PTTL`, or -2
/// (absent) when it holds a load marker, not a value.
static ENTRY_PTTL: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "local head = redis.call('GETRANGE', KEYS[1], 0, string.len(ARGV[1]) - 1) \
         if head == ARGV[1] then return -2 end \
         return redis.call('PTTL', KEYS[1])",
    )
});

/// What the lookup of `get_or_load` found, short of a hit.
enum Seen {
    /// Another load's marker.
    Loading(Bytes),
    /// Nothing usable: absent, or Redis failed (take a marker with `SET NX`).
    Nothing,
    /// An entry that does not decode: replace it with a marker.
    Undecodable,
}

/// Counters of one cache (shared by its clones), for hit-rate monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from Redis.
    pub hits: u64,
    /// Reads Redis could not answer (absent or undecodable entry).
    pub misses: u64,
    /// Loader runs of [`TypedCache::get_or_load`].
    pub loads: u64,
    /// Redis failures that [`TypedCache::get_or_load`] absorbed.
    pub redis_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    redis_errors: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A typed cache over Redis: keys `<namespace>:v<version>:<key>`, values
/// encoded with a [`Codec`] (MessagePack by default), each with a TTL.
///
/// - [`get`](Self::get), [`set`](Self::set), [`delete`](Self::delete),
///   [`delete_prefix`](Self::delete_prefix) report Redis failures as errors.
/// - [`get_or_load`](Self::get_or_load) is cache-aside and never fails
///   because of Redis: a Redis error or timeout is logged (at most one
///   warning per 10 s) and the loader's value returned. Concurrent misses
///   of one key in this process run the loader once (single-flight).
/// - **Invalidation wins over a load in flight**, in every process sharing
///   the Redis: before its loader runs, `get_or_load` marks the key as
///   being loaded (a load marker: a random token under the entry's key,
///   `SET NX`, living [`DEFAULT_LOAD_LEASE`]), and it writes the loaded
///   value only if its marker is still there (one Lua compare-and-set).
///   [`delete`](Self::delete), [`delete_prefix`](Self::delete_prefix) and
///   [`set`](Self::set) replace or remove the marker, so a value loaded
///   before them is returned to its caller but never cached; a caller that
///   arrives after them starts a load of its own instead of joining the
///   old one. A load that outlives its marker is not cached either. Readers
///   see a marker as a miss.
/// - An entry that no longer decodes as `T` (the type changed without a
///   version bump) reads as a miss.
///
/// Clones share the connection pool, the single-flight group and the stats.
///
/// Observability: each Redis round trip is one
/// [`Operation`](ai_data_core::observe::Operation) with the namespace as
/// its target (never the key): `cache.get`, `cache.set`, `cache.ttl`,
/// `cache.delete`, `cache.delete_prefix`; `get_or_load` is `cache.lookup`
/// (its read) and, on a miss, `cache.lease` (the load marker), `cache.fill`
/// (the write after the loader; the loader itself is not a Redis
/// operation), `cache.recheck` (a read when another load holds the key)
/// and `cache.release` (the marker removed after a loader error). Reads
/// count as `ai_data_cache_lookups_total{cache="typed"}` hits, misses or
/// bypasses (Redis failed, loader served).
///
/// ```no_run
/// use std::time::Duration;
/// use ai_data_redis::{RedisClient, TypedCache};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct ModelCard { name: String, dims: u32 }
///
/// # async fn demo(client: RedisClient) -> ai_data_core::Result<()> {
/// let cards = TypedCache::<ModelCard>::new(client, "model-cards", 1)?
///     .with_ttl(Duration::from_secs(600));
/// let card = cards
///     .get_or_load("bge-m3", || async {
///         // e.g. a PostgreSQL query; runs once for concurrent misses
///         Ok(ModelCard { name: "bge-m3".into(), dims: 1024 })
///     })
///     .await?;
/// assert_eq!(card.dims, 1024);
/// cards.delete_prefix("bge").await?; // SCAN + UNLINK, never KEYS
/// # Ok(())
/// # }
/// ```
pub struct TypedCache<T> {
    client: RedisClient,
    keys: KeySpace,
    ttl: Duration,
    timeout: Duration,
    lease: Duration,
    codec: Codec,
    flights: Arc<SingleFlight<Bytes>>,
    counters: Arc<Counters>,
    warn: Arc<RateLimitedWarn>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedCache<T> {
    fn clone(&self) -> Self {
        TypedCache {
            client: self.client.clone(),
            keys: self.keys.clone(),
            ttl: self.ttl,
            timeout: self.timeout,
            lease: self.lease,
            codec: self.codec,
            flights: self.flights.clone(),
            counters: self.counters.clone(),
            warn: self.warn.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for TypedCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedCache")
            .field("type", &std::any::type_name::<T>())
            .field("prefix", &self.keys.prefix())
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .field("load_lease", &self.lease)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

fn check_ttl(ttl: Duration) -> Result<i64> {
    let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    if ms < 1 {
        return Err(
            Error::invalid_input("a cache TTL must be at least 1 ms").with_store(Store::Redis)
        );
    }
    Ok(ms)
}

impl<T: Serialize + DeserializeOwned> TypedCache<T> {
    /// A cache of `T` under `<namespace>:v<version>:` with [`DEFAULT_TTL`].
    pub fn new(client: RedisClient, namespace: &str, version: u32) -> Result<Self> {
        Ok(TypedCache {
            timeout: client.command_timeout(),
            client,
            keys: KeySpace::new(namespace, version)?,
            ttl: DEFAULT_TTL,
            lease: DEFAULT_LOAD_LEASE,
            codec: Codec::default(),
            flights: Arc::new(SingleFlight::new()),
            counters: Arc::new(Counters::default()),
            warn: Arc::new(RateLimitedWarn::new(Duration::from_secs(10))),
            _type: PhantomData,
        })
    }

    /// Set the TTL of entries written by [`set`](Self::set) and
    /// [`get_or_load`](Self::get_or_load) (at least 1 ms).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// Longest wait for one Redis call (default: the client's command
    /// timeout). While the client is disconnected, calls fail at once
    /// instead of waiting for the reconnect, so `get_or_load` goes straight
    /// to its loader.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long the load marker of [`get_or_load`](Self::get_or_load)
    /// lives (default [`DEFAULT_LOAD_LEASE`], at least 1 ms): a load that
    /// takes longer is returned but not cached. The marker of a load whose
    /// caller went away expires after this; meanwhile other callers load
    /// (and cache) without waiting for it.
    #[must_use]
    pub fn with_load_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Set the codec.
    #[must_use]
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The full Redis key of `key`.
    pub fn key(&self, key: &str) -> String {
        self.keys.key(key)
    }

    /// Counters since this cache was created.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            loads: c.loads.load(Ordering::Relaxed),
            redis_errors: c.redis_errors.load(Ordering::Relaxed),
        }
    }

    /// One observed Redis round trip on this cache's namespace. Callers
    /// `pin!` the work and hand over the pinned reference, so that the
    /// Operation's future holds a pointer, not copies of a fred future.
    fn op(&self, name: &'static str) -> Operation<'_> {
        Operation::new(Store::Redis, name).target(self.keys.namespace())
    }

    async fn get_raw(&self, full: &str) -> Result<Option<Bytes>> {
        self.client
            .fast(self.timeout)
            .get(full)
            .await
            .map_err(|e| map_fred(e, "get", self.keys.namespace()))
    }

    /// `get_raw` as the operation `name`, counting the entry found (1 or 0).
    async fn read(&self, name: &'static str, full: &str) -> Result<Option<Bytes>> {
        let get = pin!(self.get_raw(full));
        self.op(name)
            .run_counted(get, |b| u8::from(b.is_some()))
            .await
    }

    async fn set_raw(&self, full: &str, bytes: Bytes, ttl: Duration) -> Result<()> {
        let ms = check_ttl(ttl)?;
        self.client
            .fast(self.timeout)
            .set(full, bytes, Some(Expiration::PX(ms)), None, false)
            .await
            .map_err(|e| map_fred(e, "set", self.keys.namespace()))
    }

    fn miss(&self) {
        Counters::bump(&self.counters.misses);
        count_lookup(CacheKind::Typed, LookupResult::Miss);
    }

    /// Decode, counting a hit; undecodable bytes count as a miss.
    fn decode_hit(&self, full: &str, bytes: &[u8]) -> Option<T> {
        match self.codec.decode(bytes) {
            Ok(value) => {
                Counters::bump(&self.counters.hits);
                count_lookup(CacheKind::Typed, LookupResult::Hit);
                Some(value)
            }
            Err(e) => {
                self.miss();
                self.warn.warn(
                    &format!("cache entry {full} does not decode: treated as a miss"),
                    &e,
                );
                None
            }
        }
    }

    /// The value under `key`, if present and decodable.
    pub async fn get(&self, key: &str) -> Result<Option<T>> {
        let full = self.key(key);
        match self.read("cache.get", &full).await? {
            Some(bytes) if !is_marker(&bytes) => Ok(self.decode_hit(&full, &bytes)),
            _ => {
                self.miss();
                Ok(None)
            }
        }
    }

    /// Store `value` under `key` with the cache's TTL.
    pub async fn set(&self, key: &str, value: &T) -> Result<()> {
        self.set_with_ttl(key, value, self.ttl).await
    }

    /// Store `value` under `key` with this TTL (at least 1 ms).
    pub async fn set_with_ttl(&self, key: &str, value: &T, ttl: Duration) -> Result<()> {
        let set = pin!(async {
            let bytes = Bytes::from(self.codec.encode(value)?);
            self.set_raw(&self.key(key), bytes, ttl).await
        });
        self.op("cache.set").run(set).await
    }

    /// The remaining time to live of `key`; `None` when absent (or without
    /// expiry). A key that is only being loaded (its load marker, not a
    /// value, is in Redis) is absent, as for [`get`](Self::get).
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let full = self.key(key);
        let pttl = pin!(self.client.eval_within(
            self.timeout,
            &ENTRY_PTTL,
            full.as_str(),
            vec![Value::Bytes(Bytes::from_static(MARKER_PREFIX))],
            "pttl",
            self.keys.namespace(),
        ));
        let ms: i64 = self.op("cache.ttl").run(pttl).await?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    /// Delete `key`; `true` when it held a value. A load of `key` in
    /// flight (in any process) is not cached afterwards.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let full = self.key(key);
        let unlink = pin!(self.client.eval::<u64, _, _>(
            &DELETE,
            full.as_str(),
            vec![Value::Bytes(Bytes::from_static(MARKER_PREFIX))],
            "delete",
            self.keys.namespace(),
        ));
        let n = self.op("cache.delete").run_counted(unlink, |n| *n).await?;
        Ok(n > 0)
    }

    /// Delete every key of this cache that starts with `key_prefix` (all
    /// of them for `""`), page by page with `SCAN` + `UNLINK`, never `KEYS`.
    /// Returns how many were deleted (load markers included). Keys written
    /// while the scan runs may survive it; loads in flight when their
    /// marker is deleted are not cached.
    pub async fn delete_prefix(&self, key_prefix: &str) -> Result<u64> {
        let pattern = self.keys.scan_pattern(key_prefix);
        let namespace = self.keys.namespace();
        let scan = pin!(self.client.scan_pages(&pattern, namespace, |keys| {
            let client = self.client.clone();
            async move { client.unlink(keys, namespace).await }
        }));
        self.op("cache.delete_prefix")
            .run_counted(scan, |n| *n)
            .await
    }

    /// Cache-aside: the cached value, else `load()`'s value, stored with the
    /// cache's TTL. Concurrent misses of one key run `load` once (the
    /// others wait for it and get the same value, or a copy of its error).
    /// Loader errors are returned and not cached. Redis failures and
    /// timeouts never fail this call: the loader's value is returned. A
    /// [`delete`](Self::delete), [`delete_prefix`](Self::delete_prefix) or
    /// [`set`](Self::set) of the key while `load` runs wins: the loaded
    /// value is returned to this caller but not cached, and later callers
    /// do not wait for this load (see the type docs).
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let full = self.key(key);
        let seen = match self.read("cache.lookup", &full).await {
            Ok(Some(bytes)) if is_marker(&bytes) => {
                self.miss();
                Seen::Loading(bytes)
            }
            Ok(Some(bytes)) => match self.decode_hit(&full, &bytes) {
                Some(value) => return Ok(value),
                None => Seen::Undecodable,
            },
            Ok(None) => {
                self.miss();
                Seen::Nothing
            }
            Err(e) => {
                Counters::bump(&self.counters.misses);
                count_lookup(CacheKind::Typed, LookupResult::Bypass);
                self.redis_failed("cache read failed: loading without the cache", &e);
                Seen::Nothing
            }
        };
        let bytes = match seen {
            Seen::Loading(marker) => self.join_load(&full, marker, load).await?,
            Seen::Nothing | Seen::Undecodable => {
                let replace = matches!(seen, Seen::Undecodable);
                let marker = new_marker();
                // Registered before the marker is written, so that a caller
                // here who reads the marker joins this flight.
                self.flights
                    .run(&flight_key(&full, &marker), || async {
                        match self.mark(&full, &marker, replace).await {
                            Ok(true) => self.load_and_fill(&full, Some(&marker), load).await,
                            // Another load marked it first, or filled it.
                            Ok(false) => match self.read("cache.recheck", &full).await {
                                Ok(Some(other)) if is_marker(&other) => {
                                    self.join_load(&full, other, load).await
                                }
                                Ok(Some(bytes)) if self.codec.decode::<T>(&bytes).is_ok() => {
                                    Ok(bytes)
                                }
                                Ok(_) => self.load_and_fill(&full, None, load).await,
                                Err(e) => {
                                    self.redis_failed("cache read failed: value not cached", &e);
                                    self.load_uncached(&full, load).await
                                }
                            },
                            Err(e) => {
                                self.redis_failed("cache write failed: value not cached", &e);
                                self.load_uncached(&full, load).await
                            }
                        }
                    })
                    .await?
            }
        };
        self.codec.decode(&bytes)
    }

    /// Join the load that holds `marker`, or (no such load in this
    /// process: another process's, or one that just ended) load under the
    /// same marker while it is still there.
    async fn join_load<F, Fut>(&self, full: &str, marker: Bytes, load: F) -> Result<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.flights
            .run(&flight_key(full, &marker), || async {
                match self.read("cache.recheck", full).await {
                    Ok(Some(now)) if now == marker => {
                        self.load_and_fill(full, Some(&marker), load).await
                    }
                    Ok(Some(bytes))
                        if !is_marker(&bytes) && self.codec.decode::<T>(&bytes).is_ok() =>
                    {
                        Ok(bytes)
                    }
                    // Invalidated, expired or taken over: load, uncached.
                    Ok(_) => self.load_and_fill(full, None, load).await,
                    Err(e) => {
                        self.redis_failed("cache read failed: value not cached", &e);
                        self.load_uncached(full, load).await
                    }
                }
            })
            .await
    }

    /// Load without caching because Redis failed: once for concurrent
    /// callers here, so that an outage does not multiply the loads.
    async fn load_uncached<F, Fut>(&self, full: &str, load: F) -> Result<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.flights
            .run(&format!("{full}\0-"), || {
                self.load_and_fill(full, None, load)
            })
            .await
    }

    /// Write `marker` under `full` (only where nothing is, unless `replace`);
    /// `true` when written.
    async fn mark(&self, full: &str, marker: &Bytes, replace: bool) -> Result<bool> {
        let ms = check_ttl(self.lease)?;
        let set = pin!(async {
            let reply: Option<String> = self
                .client
                .fast(self.timeout)
                .set(
                    full,
                    marker.clone(),
                    Some(Expiration::PX(ms)),
                    (!replace).then_some(SetOptions::NX),
                    false,
                )
                .await
                .map_err(|e| map_fred(e, "set", self.keys.namespace()))?;
            Ok(reply.is_some())
        });
        self.op("cache.lease").run(set).await
    }

    /// Run the loader; with a marker, cache its value if the marker is
    /// still there (and remove the marker after a loader error).
    async fn load_and_fill<F, Fut>(
        &self,
        full: &str,
        marker: Option<&Bytes>,
        load: F,
    ) -> Result<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        Counters::bump(&self.counters.loads);
        let loaded = match load().await {
            Ok(value) => self.codec.encode(&value).map(Bytes::from),
            Err(e) => Err(e),
        };
        let Some(marker) = marker else {
            return loaded;
        };
        let bytes = match loaded {
            Ok(bytes) => bytes,
            Err(e) => {
                let release = pin!(self.client.eval::<u64, _, _>(
                    &RELEASE,
                    full,
                    vec![Value::Bytes(marker.clone())],
                    "release",
                    self.keys.namespace(),
                ));
                if let Err(redis) = self.op("cache.release").run(release).await {
                    self.redis_failed("cache write failed: load marker left to expire", &redis);
                }
                return Err(e);
            }
        };
        let ms = check_ttl(self.ttl)?;
        let fill = pin!(self.client.eval_within::<u8, _, _>(
            self.timeout,
            &FILL,
            full,
            vec![
                Value::Bytes(marker.clone()),
                Value::Bytes(bytes.clone()),
                Value::Integer(ms),
            ],
            "fill",
            self.keys.namespace(),
        ));
        match self.op("cache.fill").run_counted(fill, |n| *n).await {
            Ok(1) => {}
            Ok(_) => tracing::debug!(
                target: "ai_data_cache",
                namespace = self.keys.namespace(),
                "key invalidated while loading: value returned, not cached"
            ),
            Err(e) => self.redis_failed("cache write failed: value not cached", &e),
        }
        Ok(bytes)
    }

    fn redis_failed(&self, message: &str, error: &Error) {
        Counters::bump(&self.counters.redis_errors);
        self.warn.warn(message, error);
    }
}
