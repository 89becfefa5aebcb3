//! [`TypedCache<T>`]: cache-aside for a service's own types.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, Result, Store};
use fred::bytes::Bytes;
use fred::interfaces::KeysInterface;
use fred::types::Expiration;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::map_fred;
use crate::observe::{count_lookup, CacheKind, LookupResult};
use crate::warn::RateLimitedWarn;
use crate::{Codec, KeySpace, RedisClient, SingleFlight};

/// Default time to live of an entry.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

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
/// - An entry that no longer decodes as `T` (the type changed without a
///   version bump) reads as a miss.
///
/// Clones share the connection pool, the single-flight group and the stats.
///
/// Observability: each Redis round trip is one
/// [`Operation`](ai_data_core::observe::Operation) with the namespace as
/// its target (never the key): `cache.get`, `cache.set`, `cache.ttl`,
/// `cache.delete`, `cache.delete_prefix`; `get_or_load` is `cache.lookup`
/// (its read) and, on a miss, `cache.recheck` and `cache.fill` (the write
/// after the loader; the loader itself is not a Redis operation). Reads
/// count as `ai_data_cache_lookups_total{cache="typed"}` hits, misses or
/// bypasses (Redis failed, loader served).
///
/// ```no_run
/// use std::time::Duration;
/// use ai_data_cache::{RedisClient, TypedCache};
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
            Some(bytes) => Ok(self.decode_hit(&full, &bytes)),
            None => {
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

    /// The remaining time to live of `key`; `None` when absent (or without expiry).
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let full = self.key(key);
        let pttl = pin!(async {
            self.client
                .fast(self.timeout)
                .pttl(&full)
                .await
                .map_err(|e| map_fred(e, "pttl", self.keys.namespace()))
        });
        let ms: i64 = self.op("cache.ttl").run(pttl).await?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    /// Delete `key`; `true` when it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let full = self.key(key);
        let unlink = pin!(self.client.unlink(vec![full.into()], self.keys.namespace()));
        let n = self.op("cache.delete").run_counted(unlink, |n| *n).await?;
        Ok(n > 0)
    }

    /// Delete every key of this cache that starts with `key_prefix` (all
    /// of them for `""`), page by page with `SCAN` + `UNLINK`, never `KEYS`.
    /// Returns how many were deleted. Keys written while the scan runs may
    /// survive it.
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
    /// timeouts never fail this call: the loader's value is returned.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let full = self.key(key);
        let mut redis_up = true;
        match self.read("cache.lookup", &full).await {
            Ok(Some(bytes)) => {
                if let Some(value) = self.decode_hit(&full, &bytes) {
                    return Ok(value);
                }
            }
            Ok(None) => self.miss(),
            Err(e) => {
                redis_up = false;
                Counters::bump(&self.counters.misses);
                count_lookup(CacheKind::Typed, LookupResult::Bypass);
                self.redis_failed("cache read failed: loading without the cache", &e);
            }
        }
        let bytes = self
            .flights
            .run(&full, || async {
                // A leader that arrives just after another leader finished
                // finds its value here instead of loading again.
                if redis_up {
                    if let Ok(Some(bytes)) = self.read("cache.recheck", &full).await {
                        if self.codec.decode::<T>(&bytes).is_ok() {
                            return Ok(bytes);
                        }
                    }
                }
                Counters::bump(&self.counters.loads);
                let value = load().await?;
                let bytes = Bytes::from(self.codec.encode(&value)?);
                let fill = pin!(self.set_raw(&full, bytes.clone(), self.ttl));
                let filled = self.op("cache.fill").run(fill).await;
                if let Err(e) = filled {
                    self.redis_failed("cache write failed: value not cached", &e);
                }
                Ok(bytes)
            })
            .await?;
        self.codec.decode(&bytes)
    }

    fn redis_failed(&self, message: &str, error: &Error) {
        Counters::bump(&self.counters.redis_errors);
        self.warn.warn(message, error);
    }
}
