//! [`SessionStore`]: login sessions with sliding expiry and an absolute
//! lifetime, unguessable ids, revocation of one or all of a user's sessions.

use std::fmt;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, Store};
use fred::bytes::Bytes;
use fred::interfaces::{HashesInterface, KeysInterface, SetsInterface};
use fred::types::scripts::Script;
use fred::types::Key;
use rand::TryRngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::timed;
use crate::{Codec, KeySpace, RedisClient};

/// Default idle timeout: a session unused this long expires.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default absolute lifetime: no session outlives this, however active.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An opaque, unguessable session id: 256 bits from the operating system's
/// CSPRNG, as 64 lowercase hex characters.
///
/// It is a bearer secret: `Debug` shows only a short fingerprint (a hash
/// prefix), there is no `Display`, and Redis stores a hash of it, never the
/// id itself. Hand it to the client with [`SessionId::expose`].
///
/// ```
/// use ai_data_redis::SessionId;
///
/// let id = SessionId::generate().unwrap();
/// assert_eq!(id.expose().len(), 64);
/// assert!(!format!("{id:?}").contains(id.expose()));
/// assert_eq!(SessionId::parse(id.expose()), Some(id.clone()));
/// assert_eq!(SessionId::parse("guess"), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new random id. Fails only if the OS random source does.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| Error::new(ErrorKind::Backend, format!("OS random source failed: {e}")))?;
        let mut hex = String::with_capacity(64);
        for b in bytes {
            hex.push_str(&format!("{b:02x}"));
        }
        Ok(SessionId(hex))
    }

    /// An id received from a client, if it has the right shape.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| SessionId(text.to_owned()))
    }

    /// The id itself, to set as a cookie or token. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash Redis keys the session by.
    fn digest(&self) -> String {
        blake3::hash(self.0.as_bytes()).to_hex().to_string()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId(#{})", &self.digest()[..8])
    }
}

/// One session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Session<D> {
    /// Its id (a secret; see [`SessionId`]).
    pub id: SessionId,
    /// The user it belongs to.
    pub user_id: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it ends at the latest, however active (creation + max lifetime).
    pub expires_at: SystemTime,
    /// The service's data.
    pub data: D,
}

#[derive(Serialize, Deserialize)]
struct Stored<D> {
    user_id: String,
    created_ms: u64,
    expires_ms: u64,
    data: D,
}

/// Store the session hash and its idle expiry in one step.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "redis.call('HSET', KEYS[1], 'v', ARGV[1], 'u', ARGV[2], 'exp', ARGV[3]) \
         redis.call('PEXPIRE', KEYS[1], ARGV[4]) \
         return 1",
    )
});

/// Slide the idle expiry, capped at the absolute end; the value, or nil.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        "local f = redis.call('HMGET', KEYS[1], 'v', 'exp') \
         if not f[1] then return false end \
         local left = tonumber(f[2]) - tonumber(ARGV[2]) \
         if left <= 0 then redis.call('DEL', KEYS[1]) return false end \
         redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left)) \
         return f[1]",
    )
});

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Sessions in Redis.
///
/// - `create` makes a session with a fresh [`SessionId`]; it expires after
///   the idle timeout unless [`touch`](Self::touch)ed, and after the
///   absolute lifetime in any case.
/// - Keys: `<namespace>:v1:s:<hash of id>` (a hash with the encoded
///   session), and `<namespace>:v1:u:<user id>`, the set of a user's
///   session hashes, used by [`revoke_all`](Self::revoke_all).
/// - Every key is single-slot, so it works on Redis Cluster too.
/// - Each public call is one observed
///   [`Operation`](ai_data_core::observe::Operation) (`session.create`,
///   `session.get`, `session.touch`, `session.ttl`, `session.revoke`,
///   `session.revoke_all`) whose target, like its errors', is the
///   namespace: never a session id, its hash or a user id.
///
/// ```no_run
/// use ai_data_redis::{RedisClient, SessionId, SessionStore};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Claims { role: String }
///
/// # async fn demo(client: RedisClient) -> ai_data_core::Result<()> {
/// let sessions = SessionStore::<Claims>::new(client, "session")?;
/// let session = sessions.create("user-42", Claims { role: "admin".into() }).await?;
/// let cookie = session.id.expose().to_owned();
///
/// // Later, on a request:
/// let id = SessionId::parse(&cookie).expect("well-formed");
/// let live = sessions.touch(&id).await?.expect("still valid");
/// assert_eq!(live.user_id, "user-42");
/// sessions.revoke_all("user-42").await?; // e.g. after a password change
/// assert!(sessions.get(&id).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub struct SessionStore<D> {
    client: RedisClient,
    keys: KeySpace,
    idle_timeout: Duration,
    max_lifetime: Duration,
    codec: Codec,
    _data: PhantomData<fn() -> D>,
}

impl<D> Clone for SessionStore<D> {
    fn clone(&self) -> Self {
        SessionStore {
            client: self.client.clone(),
            keys: self.keys.clone(),
            idle_timeout: self.idle_timeout,
            max_lifetime: self.max_lifetime,
            codec: self.codec,
            _data: PhantomData,
        }
    }
}

impl<D> fmt::Debug for SessionStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("prefix", &self.keys.prefix())
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl<D: Serialize + DeserializeOwned> SessionStore<D> {
    /// Sessions under `<namespace>:v1:`, with [`DEFAULT_IDLE_TIMEOUT`] and
    /// [`DEFAULT_MAX_LIFETIME`].
    pub fn new(client: RedisClient, namespace: &str) -> Result<Self> {
        Ok(SessionStore {
            client,
            keys: KeySpace::new(namespace, 1)?,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            codec: Codec::default(),
            _data: PhantomData,
        })
    }

    /// Set the idle timeout (sliding expiry; at least 1 ms).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle.max(Duration::from_millis(1));
        self
    }

    /// Set the absolute lifetime (at least 1 ms).
    #[must_use]
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max.max(Duration::from_millis(1));
        self
    }

    /// One observed call on this store's namespace. Callers `pin!` the
    /// work and hand over the pinned reference, so that the Operation's
    /// future holds a pointer, not copies of a fred future.
    fn op(&self, name: &'static str) -> Operation<'_> {
        Operation::new(Store::Redis, name).target(self.keys.namespace())
    }

    fn session_key(&self, id: &SessionId) -> String {
        self.keys.key(&format!("s:{}", id.digest()))
    }

    fn user_key(&self, user_id: &str) -> String {
        self.keys.key(&format!("u:{user_id}"))
    }

    fn decode(&self, id: &SessionId, bytes: &[u8]) -> Result<Session<D>> {
        let stored: Stored<D> = self.codec.decode(bytes)?;
        Ok(Session {
            id: id.clone(),
            user_id: stored.user_id,
            created_at: UNIX_EPOCH + Duration::from_millis(stored.created_ms),
            expires_at: UNIX_EPOCH + Duration::from_millis(stored.expires_ms),
            data: stored.data,
        })
    }

    /// A new session for `user_id` holding `data`.
    pub async fn create(&self, user_id: &str, data: D) -> Result<Session<D>> {
        let create = pin!(async {
            let namespace = self.keys.namespace();
            if user_id.is_empty() {
                return Err(
                    Error::invalid_input("a session needs a user id").with_store(Store::Redis)
                );
            }
            let id = SessionId::generate()?;
            let now = SystemTime::now();
            let stored = Stored {
                user_id: user_id.to_owned(),
                created_ms: unix_ms(now),
                expires_ms: unix_ms(now) + millis(self.max_lifetime),
                data,
            };
            let bytes = Bytes::from(self.codec.encode(&stored)?);
            let key = self.session_key(&id);
            let idle = millis(self.idle_timeout.min(self.max_lifetime));
            let args: Vec<fred::types::Value> = vec![
                bytes.into(),
                user_id.into(),
                stored.expires_ms.to_string().into(),
                idle.to_string().into(),
            ];
            self.client
                .eval::<i64, _, _>(&CREATE, key.as_str(), args, "session create", namespace)
                .await?;
            // Index after the session exists: a concurrent revoke_all either
            // sees it in the set or leaves it in the set for the next one.
            let user_key = self.user_key(user_id);
            let limit = self.client.command_timeout();
            let indexed = async {
                timed(
                    limit,
                    "session index",
                    namespace,
                    self.client.pool().sadd::<i64, _, _>(&user_key, id.digest()),
                )
                .await?;
                let lifetime = i64::try_from(millis(self.max_lifetime)).unwrap_or(i64::MAX);
                timed(
                    limit,
                    "session index",
                    namespace,
                    self.client
                        .pool()
                        .pexpire::<i64, _>(&user_key, lifetime, None),
                )
                .await
            }
            .await;
            if let Err(e) = indexed {
                // A session that revoke_all cannot find must not be handed out.
                let _ = self
                    .client
                    .unlink(vec![key.as_str().into()], namespace)
                    .await;
                return Err(e);
            }
            Ok(Session {
                id,
                user_id: stored.user_id,
                created_at: UNIX_EPOCH + Duration::from_millis(stored.created_ms),
                expires_at: UNIX_EPOCH + Duration::from_millis(stored.expires_ms),
                data: stored.data,
            })
        });
        self.op("session.create").run(create).await
    }

    /// The session, if it exists and has not expired. Does not extend it.
    pub async fn get(&self, id: &SessionId) -> Result<Option<Session<D>>> {
        let key = self.session_key(id);
        let work = pin!(async {
            let bytes: Option<Bytes> = timed(
                self.client.command_timeout(),
                "session get",
                self.keys.namespace(),
                self.client.pool().hget::<Option<Bytes>, _, _>(&key, "v"),
            )
            .await?;
            bytes.map(|b| self.decode(id, &b)).transpose()
        });
        self.op("session.get")
            .run_counted(work, |s| u8::from(s.is_some()))
            .await
    }

    /// Extend the session's idle expiry (never past its absolute end) and
    /// return it; `None` when it no longer exists.
    pub async fn touch(&self, id: &SessionId) -> Result<Option<Session<D>>> {
        let key = self.session_key(id);
        let args = vec![
            millis(self.idle_timeout).to_string(),
            unix_ms(SystemTime::now()).to_string(),
        ];
        let work = pin!(async {
            let bytes: Option<Bytes> = self
                .client
                .eval(
                    &TOUCH,
                    key.as_str(),
                    args,
                    "session touch",
                    self.keys.namespace(),
                )
                .await?;
            bytes.map(|b| self.decode(id, &b)).transpose()
        });
        self.op("session.touch")
            .run_counted(work, |s| u8::from(s.is_some()))
            .await
    }

    /// How long until the session expires if not touched; `None` when gone.
    pub async fn ttl(&self, id: &SessionId) -> Result<Option<Duration>> {
        let key = self.session_key(id);
        let pttl = pin!(timed(
            self.client.command_timeout(),
            "session ttl",
            self.keys.namespace(),
            self.client.pool().pttl::<i64, _>(&key),
        ));
        let ms: i64 = self.op("session.ttl").run(pttl).await?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    /// End one session; `true` when it existed.
    pub async fn revoke(&self, id: &SessionId) -> Result<bool> {
        let revoke = pin!(async {
            let namespace = self.keys.namespace();
            let key = self.session_key(id);
            let limit = self.client.command_timeout();
            let user: Option<String> = timed(
                limit,
                "session revoke",
                namespace,
                self.client.pool().hget::<Option<String>, _, _>(&key, "u"),
            )
            .await?;
            let existed = self
                .client
                .unlink(vec![key.as_str().into()], namespace)
                .await?
                > 0;
            if let Some(user) = user {
                let user_key = self.user_key(&user);
                timed(
                    limit,
                    "session revoke",
                    namespace,
                    self.client.pool().srem::<i64, _, _>(&user_key, id.digest()),
                )
                .await?;
            }
            Ok(existed)
        });
        self.op("session.revoke")
            .run_counted(revoke, |existed| u8::from(*existed))
            .await
    }

    /// End every session of `user_id`; returns how many were live.
    pub async fn revoke_all(&self, user_id: &str) -> Result<u64> {
        let revoke = pin!(async {
            let namespace = self.keys.namespace();
            let user_key = self.user_key(user_id);
            let limit = self.client.command_timeout();
            let digests: Vec<String> = timed(
                limit,
                "session revoke all",
                namespace,
                self.client.pool().smembers::<Vec<String>, _>(&user_key),
            )
            .await?;
            if digests.is_empty() {
                return Ok(0);
            }
            let keys: Vec<Key> = digests
                .iter()
                .map(|d| Key::from(self.keys.key(&format!("s:{d}"))))
                .collect();
            let live = self.client.unlink(keys, namespace).await?;
            // Remove exactly what was read: a session indexed meanwhile stays
            // findable by the next revoke_all.
            timed(
                limit,
                "session revoke all",
                namespace,
                self.client.pool().srem::<i64, _, _>(&user_key, digests),
            )
            .await?;
            Ok(live)
        });
        self.op("session.revoke_all")
            .run_counted(revoke, |live| *live)
            .await
    }
}
