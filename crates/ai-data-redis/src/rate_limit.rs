//! [`RateLimiter`]: fixed- or sliding-window request limits, decided
//! atomically on the Redis server by a Lua script, on the server's clock.

use std::fmt;
use std::pin::pin;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, Result, Store};
use fred::types::scripts::Script;

use crate::keys::KeySpace;
use crate::RedisClient;

/// Which counter a [`RateLimiter`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WindowKind {
    /// At most `limit` per calendar window (`floor(now / window)`): exact
    /// and cheap, but a burst may straddle two windows (up to `2 * limit`
    /// within one window's length).
    Fixed,
    /// Sliding-window counter: the previous window's count, weighted by how
    /// much of it still overlaps the last `window`, plus the current
    /// window's. Smooths the boundary burst; approximates a true sliding log.
    Sliding,
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateDecision {
    /// Whether the request may proceed (it was counted only if so).
    pub allowed: bool,
    /// The limit.
    pub limit: u64,
    /// Requests counted in the window, this one included when allowed
    /// (for `Sliding`, the weighted estimate, rounded up).
    pub used: u64,
    /// `limit - used`, at least 0.
    pub remaining: u64,
    /// When refused: how long until a request of the same cost would pass,
    /// if nothing else is counted meanwhile. Zero when allowed.
    pub retry_after: Duration,
    /// Start of the (current) window, on the Redis server's clock.
    pub window_start: SystemTime,
}

/// `KEYS[1]`: the subject's key prefix (hash-tagged, so every window key of
/// a subject shares its slot). `ARGV`: window ms, limit, cost.
/// Returns `{allowed, used, retry_ms, window_start_ms}`.
static FIXED: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local idx = math.floor(now / w)
local key = KEYS[1] .. idx
local used = tonumber(redis.call('GET', key) or '0')
if used + cost > limit then
  return {0, used, (idx + 1) * w - now, idx * w}
end
used = redis.call('INCRBY', key, cost)
if used == cost then redis.call('PEXPIRE', key, w + 1000) end
return {1, used, 0, idx * w}
",
    )
});

/// Same keys and arguments as [`FIXED`]; sliding-window counter.
static SLIDING: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local idx = math.floor(now / w)
local elapsed = now - idx * w
local cur_key = KEYS[1] .. idx
local cur = tonumber(redis.call('GET', cur_key) or '0')
local prev = tonumber(redis.call('GET', KEYS[1] .. (idx - 1)) or '0')
local est = prev * (w - elapsed) / w + cur
if est + cost > limit then
  local retry
  local need = limit - cost - cur
  if need >= 0 and prev > 0 then
    retry = math.ceil(w * (1 - need / prev)) - elapsed
  else
    local later = 0
    if cur > 0 then later = math.max(0, math.ceil(w * (1 - (limit - cost) / cur))) end
    retry = (w - elapsed) + later
  end
  if retry < 1 then retry = 1 end
  return {0, math.ceil(est), retry, idx * w}
end
local c = redis.call('INCRBY', cur_key, cost)
if c == cost then redis.call('PEXPIRE', cur_key, 2 * w + 1000) end
return {1, math.ceil(est + cost), 0, idx * w}
",
    )
});

/// `KEYS[1]` as in [`FIXED`], `ARGV[1]` the window ms: delete the windows
/// a decision can read (current and previous, and the next in case of a
/// clock step).
static RESET: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idx = math.floor(now / tonumber(ARGV[1]))
return redis.call('DEL', KEYS[1] .. (idx - 1), KEYS[1] .. idx, KEYS[1] .. (idx + 1))
",
    )
});

/// A distributed rate limit: every service replica sharing the Redis
/// shares the count. Keys: `<name>:v1:{<subject hash>}:<window index>`,
/// each expiring soon after its window is no longer needed.
///
/// The subject (often an API key, a user id or an address) never appears
/// in Redis: its hash does, 32 hex characters (128 bits of BLAKE3 in a
/// context of its own), the same in every replica. A high-entropy subject
/// such as an API key cannot be recovered from it; a guessable one (a user
/// id, an IP address) could be confirmed by anyone who can list the keys
/// and hash candidates, unless the limiter has a secret
/// [`with_subject_key`](Self::with_subject_key) (then the hash is keyed).
///
/// A refused request is not counted, so a client that keeps retrying does
/// not lock itself out beyond the window. Time is the Redis server's
/// (`TIME` inside the script), so replicas with skewed clocks agree.
///
/// When Redis fails, [`check`](Self::check) returns the error: the caller
/// chooses to fail open (allow) or closed (refuse) per endpoint.
///
/// Each call is one observed [`Operation`](ai_data_core::observe::Operation),
/// `rate_limit.check` (counting 1 when allowed, 0 when refused) or
/// `rate_limit.reset`, whose target, like its errors', is the limiter's
/// name: never the subject (which may be an API key or a user id).
///
/// ```no_run
/// use std::time::Duration;
/// use ai_data_redis::{RateLimiter, RedisClient};
///
/// # async fn demo(client: RedisClient) -> ai_data_core::Result<()> {
/// // 100 embedding requests per minute per API key.
/// let limiter = RateLimiter::sliding_window(client, "embed", 100, Duration::from_secs(60))?;
/// let decision = limiter.check("api-key-7").await?;
/// if !decision.allowed {
///     println!("429, Retry-After: {}s", decision.retry_after.as_secs().max(1));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    client: RedisClient,
    keys: KeySpace,
    limit: u64,
    window: Duration,
    kind: WindowKind,
    /// Key of the subject hash, when one is set (never shown).
    subject_key: Option<[u8; 32]>,
}

/// BLAKE3 `derive_key` context of unkeyed subject hashes.
// Kept from before the crate was renamed from ai-data-cache: it is part of
// what is stored in Redis, so a rename must not change it.
const SUBJECT_CONTEXT: &str = "ai-data-cache rate-limit subject v1";
/// BLAKE3 `derive_key` context turning a subject key into a hash key.
const SUBJECT_KEY_CONTEXT: &str = "ai-data-cache rate-limit subject key v1";

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("prefix", &self.keys.prefix())
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("kind", &self.kind)
            .field("keyed_subjects", &self.subject_key.is_some())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// At most `limit` requests per subject per window (`window` ≥ 1 ms, `limit` ≥ 1).
    pub fn new(
        client: RedisClient,
        name: &str,
        limit: u64,
        window: Duration,
        kind: WindowKind,
    ) -> Result<Self> {
        if limit == 0 || window < Duration::from_millis(1) {
            return Err(Error::invalid_input(
                "a rate limit needs limit >= 1 and a window of at least 1 ms",
            )
            .with_store(Store::Redis));
        }
        Ok(RateLimiter {
            client,
            keys: KeySpace::new(name, 1)?,
            limit,
            window,
            kind,
            subject_key: None,
        })
    }

    /// Hash subjects with this secret (any length; e.g. the content of a
    /// mounted Secret), so that a subject cannot be confirmed from the key
    /// names without it. Every replica sharing the limit must use the same
    /// secret; changing it starts every subject's count afresh. The secret
    /// is never shown (`Debug` says only whether one is set).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ai_data_redis::{RateLimiter, RedisClient};
    ///
    /// # async fn demo(client: RedisClient, secret: Vec<u8>) -> ai_data_core::Result<()> {
    /// let limiter = RateLimiter::fixed_window(client, "login", 5, Duration::from_secs(60))?
    ///     .with_subject_key(&secret);
    /// limiter.check("alice@example.com").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_subject_key(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.subject_key = Some(blake3::derive_key(SUBJECT_KEY_CONTEXT, secret.as_ref()));
        self
    }

    /// A [`WindowKind::Fixed`] limiter.
    pub fn fixed_window(
        client: RedisClient,
        name: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Self> {
        Self::new(client, name, limit, window, WindowKind::Fixed)
    }

    /// A [`WindowKind::Sliding`] limiter.
    pub fn sliding_window(
        client: RedisClient,
        name: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Self> {
        Self::new(client, name, limit, window, WindowKind::Sliding)
    }

    /// `<name>:v1:{<subject hash>}:`.
    fn subject_prefix(&self, subject: &str) -> String {
        let hash = match &self.subject_key {
            Some(key) => blake3::keyed_hash(key, subject.as_bytes()),
            None => blake3::Hasher::new_derive_key(SUBJECT_CONTEXT)
                .update(subject.as_bytes())
                .finalize(),
        };
        let hex = hash.to_hex();
        self.keys.key(&format!("{{{}}}:", &hex[..32]))
    }

    /// Count one request of `subject`, if the limit allows it.
    pub async fn check(&self, subject: &str) -> Result<RateDecision> {
        self.check_n(subject, 1).await
    }

    /// Count a request of weight `cost` (1 ..= limit), if the limit allows it.
    pub async fn check_n(&self, subject: &str, cost: u64) -> Result<RateDecision> {
        if cost == 0 || cost > self.limit {
            return Err(Error::invalid_input(format!(
                "a request's cost must be 1..={}, got {cost}",
                self.limit
            ))
            .with_store(Store::Redis));
        }
        let script = match self.kind {
            WindowKind::Fixed => &*FIXED,
            WindowKind::Sliding => &*SLIDING,
        };
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let args = vec![
            window_ms.to_string(),
            self.limit.to_string(),
            cost.to_string(),
        ];
        let prefix = self.subject_prefix(subject);
        // Pinned: the Operation's future holds a pointer, not copies of a
        // fred future.
        let decide = pin!(self.decide(script, &prefix, args));
        Operation::new(Store::Redis, "rate_limit.check")
            .target(self.keys.namespace())
            .run_counted(decide, |d| u8::from(d.allowed))
            .await
    }

    async fn decide(
        &self,
        script: &Script,
        prefix: &str,
        args: Vec<String>,
    ) -> Result<RateDecision> {
        let reply: Vec<i64> = self
            .client
            .eval(script, prefix, args, "rate limit", self.keys.namespace())
            .await?;
        let [allowed, used, retry_ms, start_ms] = reply[..] else {
            return Err(Error::new(
                ai_data_core::ErrorKind::Backend,
                format!("rate limit script answered {reply:?}"),
            )
            .with_store(Store::Redis));
        };
        let non_neg = |v: i64| u64::try_from(v).unwrap_or(0);
        let used = non_neg(used);
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: self.limit,
            used,
            remaining: self.limit.saturating_sub(used),
            retry_after: Duration::from_millis(non_neg(retry_ms)),
            window_start: UNIX_EPOCH + Duration::from_millis(non_neg(start_ms)),
        })
    }

    /// Forget `subject`'s counts (e.g. after a successful login);
    /// returns how many window counters were deleted.
    pub async fn reset(&self, subject: &str) -> Result<u64> {
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let prefix = self.subject_prefix(subject);
        let reset = pin!(self.client.eval(
            &RESET,
            prefix.as_str(),
            vec![window_ms.to_string()],
            "rate limit reset",
            self.keys.namespace(),
        ));
        Operation::new(Store::Redis, "rate_limit.reset")
            .target(self.keys.namespace())
            .run_counted(reset, |n: &u64| *n)
            .await
    }
}
