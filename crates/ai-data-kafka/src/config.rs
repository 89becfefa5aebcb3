//! [`KafkaConfig`]: where the brokers are, how to authenticate, and how the
//! producer and consumer behave; loadable from the environment and Secret
//! files, or built in code.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ai_data_core::{resolve_secret, EnvSource, Error, ExposeSecret, Result, SecretString, Store};
use rdkafka::ClientConfig;
use serde::Deserialize;

/// Default client id sent to the brokers.
pub const DEFAULT_CLIENT_ID: &str = "ai-data";
/// Default port when only `AI_DATA_KAFKA_HOST` is given.
pub const DEFAULT_PORT: u16 = 9092;

/// `security.protocol`: how clients talk to the brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// No TLS, no authentication (local development, the test broker).
    #[default]
    Plaintext,
    /// SASL authentication over plain TCP (the seed's Helm values: `clientProtocol: sasl`).
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
    /// TLS without SASL.
    Ssl,
}

impl SecurityProtocol {
    /// librdkafka's name: `PLAINTEXT`, `SASL_PLAINTEXT`, `SASL_SSL`, `SSL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
            SecurityProtocol::Ssl => "SSL",
        }
    }

    /// Whether this protocol authenticates with SASL (user name and password).
    pub const fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether this protocol uses TLS.
    pub const fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::SaslSsl | SecurityProtocol::Ssl)
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_uppercase().replace('-', "_").as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            "SSL" => Ok(SecurityProtocol::Ssl),
            _ => Err("expected PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL".into()),
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// User name and password in the clear (use with `SASL_SSL`); the seed's choice.
    #[default]
    Plain,
    /// SCRAM with SHA-256.
    ScramSha256,
    /// SCRAM with SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// librdkafka's name: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for SaslMechanism {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_uppercase().replace('_', "-").as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            _ => Err("expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512".into()),
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `acks`: how many replicas must have a message before it counts as delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Acks {
    /// Every in-sync replica (`acks=all`); required by the idempotent producer.
    #[default]
    All,
    /// The partition leader only (`acks=1`).
    Leader,
    /// No acknowledgement (`acks=0`): fire and forget.
    None,
}

impl Acks {
    /// librdkafka's value: `all`, `1`, `0`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::Leader => "1",
            Acks::None => "0",
        }
    }
}

impl FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" | "-1" => Ok(Acks::All),
            "1" | "leader" => Ok(Acks::Leader),
            "0" | "none" => Ok(Acks::None),
            _ => Err("expected all, 1 or 0".into()),
        }
    }
}

/// `compression.type` of produced batches.
///
/// zstd is not offered: the bundled librdkafka is built without libzstd
/// (the `zstd` feature of rdkafka would add it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
}

impl Compression {
    /// librdkafka's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
        }
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "snappy" => Ok(Compression::Snappy),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Err("zstd is not built into this librdkafka; use lz4, snappy or gzip".into()),
            _ => Err("expected none, gzip, snappy or lz4".into()),
        }
    }
}

/// `auto.offset.reset`: where a consumer group without a committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OffsetReset {
    /// From the oldest retained message (default: a new group misses nothing).
    #[default]
    Earliest,
    /// From new messages only.
    Latest,
}

impl OffsetReset {
    /// librdkafka's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        }
    }
}

impl FromStr for OffsetReset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "earliest" | "smallest" | "beginning" => Ok(OffsetReset::Earliest),
            "latest" | "largest" | "end" => Ok(OffsetReset::Latest),
            _ => Err("expected earliest or latest".into()),
        }
    }
}

/// Producer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerSettings {
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `enable.idempotence` (default on): no duplicates or reordering from
    /// the producer's own retries. Requires `acks=all`.
    pub idempotence: bool,
    /// `linger.ms`: how long to wait to fill a batch (default 5 ms).
    pub linger: Duration,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `message.timeout.ms`: how long delivery may take, retries included,
    /// before a send fails with a timeout (default 30 s).
    pub message_timeout: Duration,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        ProducerSettings {
            acks: Acks::All,
            idempotence: true,
            linger: Duration::from_millis(5),
            compression: Compression::None,
            message_timeout: Duration::from_secs(30),
        }
    }
}

/// Consumer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerSettings {
    /// `group.id`; a consumer needs one (here or on the consumer itself).
    pub group_id: Option<String>,
    /// `session.timeout.ms`: how long the group waits for a silent member
    /// before giving its partitions away (default 10 s).
    pub session_timeout: Duration,
    /// `auto.offset.reset` for a group without a committed offset (default earliest).
    pub auto_offset_reset: OffsetReset,
    /// `group.instance.id`: static group membership (KIP-345; default off).
    ///
    /// A static member keeps its place in the group across restarts: it
    /// does not leave the group when it stops, and when it comes back
    /// with the same id within [`session_timeout`](Self::session_timeout)
    /// it gets its partitions back at once, without a rebalance of the
    /// other members (a rolling restart moves no partitions). A member that
    /// does not come back loses its partitions only when the session
    /// timeout passes, so raise that to cover a restart (e.g. 30-60 s).
    ///
    /// The id must be stable per instance and unique per group: the pod
    /// name of a StatefulSet, say. A second consumer joining the group
    /// with an id in use fences the first, whose run ends with an error;
    /// two consumers of one process in the same group need ids of their
    /// own ([`Consumer::with_group_instance_id`](crate::Consumer::with_group_instance_id)).
    pub group_instance_id: Option<String>,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            group_id: None,
            session_timeout: Duration::from_secs(10),
            auto_offset_reset: OffsetReset::Earliest,
            group_instance_id: None,
        }
    }
}

/// Everything needed to reach a Kafka cluster, and the producer's and
/// consumer's behaviour.
///
/// Environment variables (prefix `AI_DATA_KAFKA_`):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AI_DATA_KAFKA_BOOTSTRAP_SERVERS` | `host:port[,host:port]`; or `_HOST` (+ `_PORT`, default 9092) | required |
/// | `AI_DATA_KAFKA_CLIENT_ID` | `client.id` | `ai-data` |
/// | `AI_DATA_KAFKA_SECURITY_PROTOCOL` | `PLAINTEXT`, `SASL_PLAINTEXT`, `SASL_SSL`, `SSL` | `PLAINTEXT` |
/// | `AI_DATA_KAFKA_SASL_MECHANISM` | `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` | `PLAIN` |
/// | `AI_DATA_KAFKA_USER` | SASL user name | — |
/// | `AI_DATA_KAFKA_PASSWORD`, `_PASSWORD_FILE`, or `kafka-password` in `AI_DATA_SECRETS_DIR` | SASL password | — |
/// | `AI_DATA_KAFKA_TLS_CA_FILE` | CA bundle (PEM) for `SSL` / `SASL_SSL` | system store |
/// | `AI_DATA_KAFKA_CONNECT_TIMEOUT` | connect, metadata, admin and health-check timeout (see [`KafkaConfig::connect_timeout`]) | `10s` |
/// | `AI_DATA_KAFKA_ACKS` | `all`, `1`, `0` | `all` |
/// | `AI_DATA_KAFKA_ENABLE_IDEMPOTENCE` | `true` / `false` | `true` |
/// | `AI_DATA_KAFKA_LINGER` | e.g. `5ms` | `5ms` |
/// | `AI_DATA_KAFKA_COMPRESSION` | `none`, `gzip`, `snappy`, `lz4` | `none` |
/// | `AI_DATA_KAFKA_MESSAGE_TIMEOUT` | delivery timeout, retries included | `30s` |
/// | `AI_DATA_KAFKA_GROUP_ID` | consumer group | — |
/// | `AI_DATA_KAFKA_SESSION_TIMEOUT` | consumer session timeout | `10s` |
/// | `AI_DATA_KAFKA_GROUP_INSTANCE_ID` | `group.instance.id`: static group membership, a stable id per instance (see [`ConsumerSettings::group_instance_id`]) | — (dynamic membership) |
/// | `AI_DATA_KAFKA_AUTO_OFFSET_RESET` | `earliest`, `latest` | `earliest` |
/// | `AI_DATA_KAFKA_PROPERTIES` | any other librdkafka properties, `key=value` separated by `;` or newlines | — |
///
/// The pass-through properties are applied last, so they can override the
/// settings above, except that a consumer always runs with
/// `enable.auto.commit=false` (its commits are its own).
///
/// `Debug` and `Display` never show the password (nor pass-through values
/// whose names look secret).
///
/// ```
/// use ai_data_kafka::{KafkaConfig, SaslMechanism, SecurityProtocol};
/// use ai_data_core::EnvSource;
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "ai-kafka.default.svc.cluster.local:9092"),
///     ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
///     ("AI_DATA_KAFKA_USER", "user"),
///     ("AI_DATA_KAFKA_PASSWORD", "changeThisToSecurePassword"),
///     ("AI_DATA_KAFKA_PROPERTIES", "statistics.interval.ms=60000"),
/// ]);
/// let config = KafkaConfig::from_env_source(&env).unwrap();
/// assert_eq!(config.security_protocol, SecurityProtocol::SaslPlaintext);
/// assert_eq!(config.sasl_mechanism, SaslMechanism::Plain);
/// assert_eq!(config.properties["statistics.interval.ms"], "60000");
/// let shown = format!("{config} {config:?}");
/// assert!(!shown.contains("changeThisToSecurePassword"));
/// assert_eq!(
///     config.to_string(),
///     "kafka://user:***@ai-kafka.default.svc.cluster.local:9092 (SASL_PLAINTEXT, PLAIN)"
/// );
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `host:port[,host:port]`.
    pub bootstrap_servers: String,
    /// `client.id`.
    pub client_id: String,
    /// `security.protocol`.
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanism` (used with the `SASL_*` protocols).
    pub sasl_mechanism: SaslMechanism,
    /// `sasl.username`.
    pub username: Option<String>,
    /// `sasl.password`.
    pub password: Option<SecretString>,
    /// `ssl.ca.location`: CA bundle (PEM).
    pub ca_file: Option<PathBuf>,
    /// Timeout of metadata requests, admin operations and health checks;
    /// also librdkafka's `socket.connection.setup.timeout.ms`.
    ///
    /// It bounds every step that first needs the brokers:
    /// [`Producer::connect`](crate::Producer::connect),
    /// [`Admin::ensure_topics`](crate::Admin::ensure_topics) and the other
    /// admin calls' metadata request, the health checks, and the start of
    /// [`Consumer::run`](crate::Consumer::run). When no broker answers
    /// within it, the step fails with [`ErrorKind::Connect`](ai_data_core::ErrorKind::Connect)
    /// (retryable), and its `source()` says why: what librdkafka reported
    /// for the broker ("Connect to ipv4#10.0.0.5:9092 failed: Connection
    /// refused"), or that no connection was set up within the timeout.
    pub connect_timeout: Duration,
    /// Producer settings.
    pub producer: ProducerSettings,
    /// Consumer settings.
    pub consumer: ConsumerSettings,
    /// Any other librdkafka property, applied last.
    pub properties: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawKafkaConfig {
    bootstrap_servers: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    client_id: Option<String>,
    security_protocol: Option<String>,
    sasl_mechanism: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    tls_ca_file: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    connect_timeout: Option<Duration>,
    acks: Option<String>,
    enable_idempotence: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    linger: Option<Duration>,
    compression: Option<String>,
    #[serde(default, with = "humantime_serde")]
    message_timeout: Option<Duration>,
    group_id: Option<String>,
    #[serde(default, with = "humantime_serde")]
    session_timeout: Option<Duration>,
    auto_offset_reset: Option<String>,
    group_instance_id: Option<String>,
    properties: Option<String>,
}

fn parse_var<T: FromStr<Err = String>>(value: Option<&str>, suffix: &str) -> Result<Option<T>> {
    value
        .map(|v| {
            v.parse().map_err(|why| {
                Error::config(format!(
                    "invalid value for {}: {why}",
                    Store::Kafka.var(suffix)
                ))
                .with_store(Store::Kafka)
            })
        })
        .transpose()
}

/// Names of librdkafka properties whose values must never be shown.
pub(crate) fn is_sensitive_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "pem", "token", "jaas", "credential"]
        .iter()
        .any(|word| key.contains(word))
        || key.ends_with(".key")
}

fn millis(d: Duration) -> String {
    d.as_millis().min(i32::MAX as u128).to_string()
}

impl KafkaConfig {
    /// A configuration for `bootstrap_servers` with every other setting at its default.
    ///
    /// ```
    /// let config = ai_data_kafka::KafkaConfig::new("127.0.0.1:9092").with_group_id("indexer");
    /// assert_eq!(config.consumer.group_id.as_deref(), Some("indexer"));
    /// assert!(config.producer.idempotence);
    /// ```
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.into(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: SaslMechanism::Plain,
            username: None,
            password: None,
            ca_file: None,
            connect_timeout: ai_data_core::DEFAULT_CONNECT_TIMEOUT,
            producer: ProducerSettings::default(),
            consumer: ConsumerSettings::default(),
            properties: BTreeMap::new(),
        }
    }

    /// From the process environment and secret files.
    pub fn from_env() -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process())
    }

    /// From the given environment and the secret files it names (see the
    /// table on [`KafkaConfig`]).
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let store = Store::Kafka;
        let raw: RawKafkaConfig = env.load(store)?;
        let bootstrap_servers = match (raw.bootstrap_servers, raw.host) {
            (Some(servers), _) => servers,
            (None, Some(host)) => format!("{host}:{}", raw.port.unwrap_or(DEFAULT_PORT)),
            (None, None) => {
                return Err(Error::config(format!(
                    "missing required variable {} (or {})",
                    store.var("BOOTSTRAP_SERVERS"),
                    store.var("HOST")
                ))
                .with_store(store))
            }
        };
        let password = resolve_secret(env, store, raw.password)?;
        let defaults_p = ProducerSettings::default();
        let defaults_c = ConsumerSettings::default();
        let properties = match raw.properties.as_deref() {
            Some(text) => parse_properties(text)?,
            None => BTreeMap::new(),
        };
        let config = KafkaConfig {
            bootstrap_servers,
            client_id: raw
                .client_id
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned()),
            security_protocol: parse_var(raw.security_protocol.as_deref(), "SECURITY_PROTOCOL")?
                .unwrap_or_default(),
            sasl_mechanism: parse_var(raw.sasl_mechanism.as_deref(), "SASL_MECHANISM")?
                .unwrap_or_default(),
            username: raw.user,
            password,
            ca_file: raw.tls_ca_file,
            connect_timeout: raw
                .connect_timeout
                .unwrap_or(ai_data_core::DEFAULT_CONNECT_TIMEOUT),
            producer: ProducerSettings {
                acks: parse_var(raw.acks.as_deref(), "ACKS")?.unwrap_or(defaults_p.acks),
                idempotence: raw.enable_idempotence.unwrap_or(defaults_p.idempotence),
                linger: raw.linger.unwrap_or(defaults_p.linger),
                compression: parse_var(raw.compression.as_deref(), "COMPRESSION")?
                    .unwrap_or(defaults_p.compression),
                message_timeout: raw.message_timeout.unwrap_or(defaults_p.message_timeout),
            },
            consumer: ConsumerSettings {
                group_id: raw.group_id,
                session_timeout: raw.session_timeout.unwrap_or(defaults_c.session_timeout),
                auto_offset_reset: parse_var(
                    raw.auto_offset_reset.as_deref(),
                    "AUTO_OFFSET_RESET",
                )?
                .unwrap_or(defaults_c.auto_offset_reset),
                group_instance_id: raw.group_instance_id,
            },
            properties,
        };
        config.validate()?;
        Ok(config)
    }

    /// Set `client.id`.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Authenticate with SASL: protocol (`SASL_PLAINTEXT` or `SASL_SSL`),
    /// mechanism, user name and password.
    #[must_use]
    pub fn with_sasl(
        mut self,
        protocol: SecurityProtocol,
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.security_protocol = protocol;
        self.sasl_mechanism = mechanism;
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Set the security protocol.
    #[must_use]
    pub fn with_security_protocol(mut self, protocol: SecurityProtocol) -> Self {
        self.security_protocol = protocol;
        self
    }

    /// Trust the CA certificates in this PEM file.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Set the metadata / admin / health-check timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Replace the producer settings.
    #[must_use]
    pub fn with_producer(mut self, producer: ProducerSettings) -> Self {
        self.producer = producer;
        self
    }

    /// Set the delivery timeout of produced messages.
    #[must_use]
    pub fn with_message_timeout(mut self, timeout: Duration) -> Self {
        self.producer.message_timeout = timeout;
        self
    }

    /// Set the consumer group.
    #[must_use]
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.consumer.group_id = Some(group_id.into());
        self
    }

    /// Set the consumer session timeout.
    #[must_use]
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.consumer.session_timeout = timeout;
        self
    }

    /// Join consumer groups as a static member with this `group.instance.id`
    /// (see [`ConsumerSettings::group_instance_id`]).
    ///
    /// ```
    /// let config = ai_data_kafka::KafkaConfig::new("127.0.0.1:9092")
    ///     .with_group_id("indexer")
    ///     .with_group_instance_id("indexer-0");
    /// let c = config.rdkafka_consumer_config("indexer");
    /// assert_eq!(c.get("group.instance.id"), Some("indexer-0"));
    /// ```
    #[must_use]
    pub fn with_group_instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.consumer.group_instance_id = Some(instance_id.into());
        self
    }

    /// Set where a group without committed offsets starts.
    #[must_use]
    pub fn with_auto_offset_reset(mut self, reset: OffsetReset) -> Self {
        self.consumer.auto_offset_reset = reset;
        self
    }

    /// Set any other librdkafka property (applied last).
    #[must_use]
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Check the settings that librdkafka would reject later with a less
    /// helpful message, or that would silently weaken guarantees.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::config(msg).with_store(Store::Kafka));
        if self.bootstrap_servers.trim().is_empty() {
            return fail("bootstrap servers are empty".into());
        }
        if self.security_protocol.uses_sasl() {
            if self.username.as_deref().is_none_or(str::is_empty) {
                return fail(format!(
                    "{} needs a user name ({})",
                    self.security_protocol,
                    Store::Kafka.var("USER")
                ));
            }
            if self.password.is_none() {
                return fail(format!(
                    "{} needs a password ({}, {} or kafka-password in {})",
                    self.security_protocol,
                    Store::Kafka.var("PASSWORD"),
                    Store::Kafka.var("PASSWORD_FILE"),
                    ai_data_core::SECRETS_DIR_VAR
                ));
            }
        }
        if let Some(ca) = &self.ca_file {
            if !ca.is_file() {
                return fail(format!(
                    "CA file {} ({}) is not a readable file",
                    ca.display(),
                    Store::Kafka.var("TLS_CA_FILE")
                ));
            }
        }
        if self.producer.idempotence && self.producer.acks != Acks::All {
            return fail(format!(
                "the idempotent producer needs acks=all, not acks={} (or set {}=false)",
                self.producer.acks.as_str(),
                Store::Kafka.var("ENABLE_IDEMPOTENCE")
            ));
        }
        if self.producer.message_timeout <= self.producer.linger {
            return fail("the message timeout must be longer than linger".into());
        }
        if let Some(id) = &self.consumer.group_instance_id {
            validate_group_instance_id(id)?;
        }
        if self.connect_timeout.is_zero() {
            return fail("the connect timeout must not be zero".into());
        }
        if self.properties.keys().any(|k| k.trim().is_empty()) {
            return fail("a pass-through property has an empty name".into());
        }
        Ok(())
    }

    fn common(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", &self.client_id)
            .set("security.protocol", self.security_protocol.as_str())
            .set(
                "socket.connection.setup.timeout.ms",
                millis(self.connect_timeout.max(Duration::from_secs(1))),
            );
        if self.security_protocol.uses_sasl() {
            c.set("sasl.mechanism", self.sasl_mechanism.as_str());
            if let Some(user) = &self.username {
                c.set("sasl.username", user);
            }
            if let Some(password) = &self.password {
                c.set("sasl.password", password.expose_secret());
            }
        }
        if let Some(ca) = &self.ca_file {
            c.set("ssl.ca.location", ca.to_string_lossy());
        }
        c
    }

    fn apply_properties(&self, c: &mut ClientConfig) {
        for (k, v) in &self.properties {
            c.set(k, v);
        }
    }

    /// The librdkafka properties of a producer made from this configuration.
    ///
    /// For code that needs rdkafka directly (a benchmark, an unusual client).
    /// The result holds the SASL password in the clear and its `Debug`
    /// shows it: never log it.
    pub fn rdkafka_producer_config(&self) -> ClientConfig {
        let p = &self.producer;
        let mut c = self.common();
        c.set("acks", p.acks.as_str())
            .set("enable.idempotence", p.idempotence.to_string())
            .set("linger.ms", millis(p.linger))
            .set("compression.type", p.compression.as_str())
            .set("message.timeout.ms", millis(p.message_timeout));
        self.apply_properties(&mut c);
        c
    }

    /// The librdkafka properties of a group consumer made from this
    /// configuration: offsets are never committed or stored automatically.
    ///
    /// Same caveat as [`KafkaConfig::rdkafka_producer_config`]: it holds the password.
    pub fn rdkafka_consumer_config(&self, group_id: &str) -> ClientConfig {
        let s = &self.consumer;
        let session = s.session_timeout.max(Duration::from_secs(1));
        let mut c = self.common();
        c.set("group.id", group_id)
            .set("session.timeout.ms", millis(session))
            .set("heartbeat.interval.ms", millis(session / 3))
            .set("auto.offset.reset", s.auto_offset_reset.as_str())
            .set("enable.partition.eof", "false")
            // The consumer moves records out of librdkafka's queue into its
            // lanes quickly, but after that queue was full librdkafka waits
            // this long (default 1 s) before fetching the partition again.
            .set("fetch.queue.backoff.ms", "50");
        if let Some(id) = &s.group_instance_id {
            c.set("group.instance.id", id);
        }
        self.apply_properties(&mut c);
        c.set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        c
    }

    /// The librdkafka properties of an admin / metadata client.
    pub(crate) fn rdkafka_admin_config(&self) -> ClientConfig {
        let mut c = self.common();
        c.set("allow.auto.create.topics", "false");
        self.apply_properties(&mut c);
        c
    }
}

/// A `group.instance.id` the brokers accept: 1-249 of `[a-zA-Z0-9._-]`
/// (Kafka's rule for topic names and instance ids).
pub(crate) fn validate_group_instance_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 249
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid group instance id {id:?} ({}): use 1-249 of [a-zA-Z0-9._-]",
            Store::Kafka.var("GROUP_INSTANCE_ID")
        ))
        .with_store(Store::Kafka))
    }
}

/// Parse `key=value` entries separated by `;` or newlines.
fn parse_properties(text: &str) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for entry in text.split([';', '\n']).map(str::trim) {
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let Some((k, v)) = entry.split_once('=') else {
            // Show the entry only if it cannot be a secret value.
            let shown = if is_sensitive_property(entry) {
                "***"
            } else {
                entry
            };
            return Err(Error::config(format!(
                "{}: entry `{shown}` is not key=value",
                Store::Kafka.var("PROPERTIES")
            ))
            .with_store(Store::Kafka));
        };
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(map)
}

impl fmt::Display for KafkaConfig {
    /// `kafka://user:***@host:port[,host:port] (PROTOCOL[, MECHANISM])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("kafka://")?;
        if self.security_protocol.uses_sasl() {
            if let Some(user) = &self.username {
                f.write_str(user)?;
            }
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{} ({}", self.bootstrap_servers, self.security_protocol)?;
        if self.security_protocol.uses_sasl() {
            write!(f, ", {}", self.sasl_mechanism)?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if is_sensitive_property(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_file)
            .field("connect_timeout", &self.connect_timeout)
            .field("producer", &self.producer)
            .field("consumer", &self.consumer)
            .field("properties", &properties)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;

    const SECRET: &str = "kafka-Sup3r-Secret";

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    fn get(c: &ClientConfig, key: &str) -> Option<String> {
        c.get(key).map(str::to_owned)
    }

    #[test]
    fn defaults_are_idempotent_acks_all_and_no_auto_commit() {
        let config = KafkaConfig::from_env_source(&env(&[(
            "AI_DATA_KAFKA_BOOTSTRAP_SERVERS",
            "a:9092,b:9092",
        )]))
        .expect("loads");
        let p = config.rdkafka_producer_config();
        assert_eq!(
            get(&p, "bootstrap.servers").as_deref(),
            Some("a:9092,b:9092")
        );
        assert_eq!(get(&p, "enable.idempotence").as_deref(), Some("true"));
        assert_eq!(get(&p, "acks").as_deref(), Some("all"));
        assert_eq!(get(&p, "security.protocol").as_deref(), Some("PLAINTEXT"));
        assert_eq!(get(&p, "sasl.password"), None);
        let c = config.rdkafka_consumer_config("g");
        assert_eq!(get(&c, "enable.auto.commit").as_deref(), Some("false"));
        assert_eq!(
            get(&c, "enable.auto.offset.store").as_deref(),
            Some("false")
        );
        assert_eq!(get(&c, "auto.offset.reset").as_deref(), Some("earliest"));
        assert_eq!(get(&c, "fetch.queue.backoff.ms").as_deref(), Some("50"));
        assert_eq!(get(&c, "group.id").as_deref(), Some("g"));
    }

    #[test]
    fn host_and_port_make_the_bootstrap_list() {
        let config =
            KafkaConfig::from_env_source(&env(&[("AI_DATA_KAFKA_HOST", "ai-kafka")])).expect("ok");
        assert_eq!(config.bootstrap_servers, "ai-kafka:9092");
        let err = KafkaConfig::from_env_source(&env(&[])).expect_err("no endpoint");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("AI_DATA_KAFKA_BOOTSTRAP_SERVERS"),
            "{err}"
        );
    }

    #[test]
    fn every_setting_loads_from_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").expect("write");
        let config = KafkaConfig::from_env_source(&env(&[
            ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9093"),
            ("AI_DATA_KAFKA_CLIENT_ID", "indexer"),
            ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
            ("AI_DATA_KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("AI_DATA_KAFKA_USER", "svc"),
            ("AI_DATA_KAFKA_PASSWORD", SECRET),
            ("AI_DATA_KAFKA_TLS_CA_FILE", ca.to_str().expect("utf8")),
            ("AI_DATA_KAFKA_CONNECT_TIMEOUT", "3s"),
            ("AI_DATA_KAFKA_ACKS", "1"),
            ("AI_DATA_KAFKA_ENABLE_IDEMPOTENCE", "false"),
            ("AI_DATA_KAFKA_LINGER", "20ms"),
            ("AI_DATA_KAFKA_COMPRESSION", "lz4"),
            ("AI_DATA_KAFKA_MESSAGE_TIMEOUT", "45s"),
            ("AI_DATA_KAFKA_GROUP_ID", "indexers"),
            ("AI_DATA_KAFKA_SESSION_TIMEOUT", "30s"),
            ("AI_DATA_KAFKA_AUTO_OFFSET_RESET", "latest"),
            ("AI_DATA_KAFKA_GROUP_INSTANCE_ID", "indexer-0"),
            (
                "AI_DATA_KAFKA_PROPERTIES",
                "statistics.interval.ms=1000; debug=broker,topic\nssl.key.password=hidden-one",
            ),
        ]))
        .expect("loads");
        assert_eq!(config.client_id, "indexer");
        assert_eq!(config.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(config.sasl_mechanism, SaslMechanism::ScramSha512);
        assert_eq!(config.connect_timeout, Duration::from_secs(3));
        assert_eq!(config.producer.acks, Acks::Leader);
        assert!(!config.producer.idempotence);
        assert_eq!(config.producer.compression, Compression::Lz4);
        assert_eq!(config.consumer.group_id.as_deref(), Some("indexers"));
        assert_eq!(config.consumer.auto_offset_reset, OffsetReset::Latest);
        assert_eq!(config.properties["debug"], "broker,topic");
        let p = config.rdkafka_producer_config();
        assert_eq!(get(&p, "sasl.mechanism").as_deref(), Some("SCRAM-SHA-512"));
        assert_eq!(get(&p, "sasl.username").as_deref(), Some("svc"));
        assert_eq!(get(&p, "sasl.password").as_deref(), Some(SECRET));
        assert_eq!(get(&p, "linger.ms").as_deref(), Some("20"));
        assert_eq!(get(&p, "compression.type").as_deref(), Some("lz4"));
        assert_eq!(get(&p, "message.timeout.ms").as_deref(), Some("45000"));
        assert_eq!(get(&p, "statistics.interval.ms").as_deref(), Some("1000"));
        assert!(get(&p, "ssl.ca.location").is_some_and(|l| l.ends_with("ca.pem")));
        let c = config.rdkafka_consumer_config("indexers");
        assert_eq!(get(&c, "session.timeout.ms").as_deref(), Some("30000"));
        assert_eq!(get(&c, "heartbeat.interval.ms").as_deref(), Some("10000"));
        assert_eq!(
            config.consumer.group_instance_id.as_deref(),
            Some("indexer-0")
        );
        assert_eq!(get(&c, "group.instance.id").as_deref(), Some("indexer-0"));
        assert_eq!(get(&p, "group.instance.id"), None, "consumers only");

        let shown = format!("{config} {config:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("hidden-one"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn password_comes_from_the_secrets_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("kafka-password"), format!("{SECRET}\n")).expect("write");
        let config = KafkaConfig::from_env_source(&env(&[
            ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
            ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("AI_DATA_KAFKA_USER", "user"),
            ("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8")),
        ]))
        .expect("loads");
        assert_eq!(
            config
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
            Some(SECRET.to_owned())
        );
        assert!(!format!("{config:?}{config}").contains(SECRET));
    }

    #[test]
    fn sasl_without_credentials_and_bad_values_are_config_errors() {
        let err = KafkaConfig::from_env_source(&env(&[
            ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
            ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("AI_DATA_KAFKA_USER", "user"),
        ]))
        .expect_err("no password");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("kafka-password"), "{err}");

        for (var, value) in [
            ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "TLS"),
            ("AI_DATA_KAFKA_SASL_MECHANISM", "GSSAPI"),
            ("AI_DATA_KAFKA_ACKS", "2"),
            ("AI_DATA_KAFKA_COMPRESSION", "zstd"),
            ("AI_DATA_KAFKA_AUTO_OFFSET_RESET", "middle"),
            ("AI_DATA_KAFKA_LINGER", "soon"),
            ("AI_DATA_KAFKA_PROPERTIES", "no-equals-sign"),
            ("AI_DATA_KAFKA_GROUP_INSTANCE_ID", "pod 0"),
        ] {
            let err = KafkaConfig::from_env_source(&env(&[
                ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
                (var, value),
            ]))
            .expect_err(var);
            assert_eq!(err.kind(), ErrorKind::Config, "{var}");
            assert!(err.message().contains(var), "{var}: {err}");
        }

        let err = KafkaConfig::from_env_source(&env(&[
            ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
            ("AI_DATA_KAFKA_ACKS", "1"),
        ]))
        .expect_err("idempotence needs acks=all");
        assert!(err.message().contains("acks=all"), "{err}");
    }

    #[test]
    fn static_membership_is_off_by_default_and_validated_in_code() {
        let config = KafkaConfig::new("k:9092");
        assert_eq!(config.consumer.group_instance_id, None);
        assert_eq!(
            get(&config.rdkafka_consumer_config("g"), "group.instance.id"),
            None
        );
        let err = config
            .with_group_instance_id("a/b")
            .validate()
            .expect_err("a slash is not allowed");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("AI_DATA_KAFKA_GROUP_INSTANCE_ID"),
            "{err}"
        );
        assert!(KafkaConfig::new("k:9092")
            .with_group_instance_id("indexer-0.eu_1")
            .validate()
            .is_ok());
    }

    #[test]
    fn consumer_never_auto_commits_even_when_told_to() {
        let config = KafkaConfig::new("k:9092").with_property("enable.auto.commit", "true");
        let c = config.rdkafka_consumer_config("g");
        assert_eq!(get(&c, "enable.auto.commit").as_deref(), Some("false"));
    }
}
