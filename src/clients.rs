//! [`Platform`]: one call that builds every configured store's client from
//! the environment (and Kubernetes Secret files), optionally migrates and
//! bootstraps them, and reports one combined health check.

use std::fmt;

use ai_data_core::{EnvSource, Error, HealthCheck, HealthReport, Result, Store};

/// What [`Platform::from_env_with`] does besides connecting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformOptions {
    /// Apply PostgreSQL migrations.
    pub migrate: bool,
    /// Create MongoDB collections and indexes, the seed's Kafka topics and
    /// the seed's Weaviate classes.
    pub bootstrap: bool,
}

impl PlatformOptions {
    /// Migrate PostgreSQL and bootstrap MongoDB and Kafka.
    pub fn setup() -> Self {
        PlatformOptions {
            migrate: true,
            bootstrap: true,
        }
    }
}

/// The clients of every store this build has a feature for and the
/// environment configures. A store is configured when its endpoint variable
/// is set: `AI_DATA_<STORE>_URL` or `_HOST` (Kafka: `AI_DATA_KAFKA_BOOTSTRAP_SERVERS`
/// or `_HOST`). A store the environment does not mention stays `None`; a store
/// it mentions but cannot reach is an error.
///
/// ```no_run
/// # async fn demo() -> ai_data::core::Result<()> {
/// use ai_data::{Platform, PlatformOptions};
/// let platform = Platform::from_env_with(PlatformOptions::setup()).await?;
/// let health = platform.health().await;
/// println!("{health}");
/// assert!(health.is_healthy());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Platform {
    /// PostgreSQL (primary and replicas).
    #[cfg(feature = "pg")]
    pub pg: Option<ai_data_pg::PgDatabase>,
    /// MongoDB.
    #[cfg(feature = "mongo")]
    pub mongo: Option<ai_data_mongo::MongoStore>,
    /// Redis.
    #[cfg(feature = "redis")]
    pub redis: Option<ai_data_redis::RedisClient>,
    /// Kafka: the configuration (for consumers) and a shared producer.
    #[cfg(feature = "kafka")]
    pub kafka: Option<(ai_data_kafka::KafkaConfig, ai_data_kafka::Producer)>,
    /// Kafka consumer lag of the configured group (`AI_DATA_KAFKA_GROUP_ID`)
    /// on the seed's topics, checked with [`Platform::health`]; warns above
    /// `AI_DATA_KAFKA_LAG_THRESHOLD` messages (default 10,000).
    #[cfg(feature = "kafka")]
    pub kafka_lag: Option<ai_data_kafka::ConsumerLagCheck>,
    /// Weaviate, as a [`VectorStore`](ai_data_vector::VectorStore).
    #[cfg(feature = "weaviate")]
    pub weaviate: Option<ai_data_weaviate::WeaviateStore>,
}

/// `AI_DATA_KAFKA_TOPIC_PARTITIONS` / `AI_DATA_KAFKA_TOPIC_REPLICATION` for
/// the seed's topics, `AI_DATA_KAFKA_LAG_THRESHOLD` for the lag check.
#[cfg(feature = "kafka")]
#[derive(serde::Deserialize)]
struct TopicLayout {
    topic_partitions: Option<i32>,
    topic_replication: Option<i32>,
    lag_threshold: Option<u64>,
}

/// `AI_DATA_WEAVIATE_SEED_DIMENSION`: the vector length of the seed's
/// classes when the platform bootstraps them (default: `SeedOptions`'s).
#[cfg(feature = "weaviate")]
#[derive(serde::Deserialize)]
struct WeaviateSeedLayout {
    seed_dimension: Option<usize>,
}

impl Platform {
    /// Connect to every configured store (no migrations, no bootstrap).
    pub async fn from_env() -> Result<Self> {
        Self::from_env_with(PlatformOptions::default()).await
    }

    /// Connect to every configured store, then migrate / bootstrap as asked.
    pub async fn from_env_with(options: PlatformOptions) -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process(), options).await
    }

    /// As [`Platform::from_env_with`], reading the given environment.
    #[allow(unused_variables, unused_mut)]
    pub async fn from_env_source(env: &EnvSource, options: PlatformOptions) -> Result<Self> {
        let mut platform = Platform::default();
        #[cfg(feature = "pg")]
        if crate::is_configured(env, Store::Postgres) {
            let db = ai_data_pg::PgDatabase::connect(&ai_data_pg::PgConfig::from_env_source(env)?)
                .await?;
            if options.migrate {
                db.migrate(&ai_data_platform::pg::MIGRATOR).await?;
            }
            platform.pg = Some(db);
        }
        #[cfg(feature = "mongo")]
        if crate::is_configured(env, Store::Mongo) {
            let mongo = ai_data_mongo::MongoStore::connect(
                &ai_data_mongo::MongoConfig::from_env_source(env)?,
            )
            .await?;
            if options.bootstrap {
                ai_data_platform::mongo::SeedCollections::bootstrap(&mongo)
                    .await?
                    .into_result()?;
            }
            platform.mongo = Some(mongo);
        }
        #[cfg(feature = "redis")]
        if crate::is_configured(env, Store::Redis) {
            let config = ai_data_redis::RedisConfig::from_env_source(env)?;
            platform.redis = Some(ai_data_redis::RedisClient::connect(config).await?);
        }
        #[cfg(feature = "kafka")]
        if crate::is_configured(env, Store::Kafka) {
            let config = ai_data_kafka::KafkaConfig::from_env_source(env)?;
            let layout: TopicLayout = env.load(Store::Kafka)?;
            if options.bootstrap {
                // The seed's layout (3 partitions, replication 2) unless the
                // environment says otherwise (a one-broker test cluster needs 1).
                let mut topics = ai_data_platform::kafka::seed_topics(
                    "",
                    layout.topic_partitions.unwrap_or(3),
                    layout.topic_replication.unwrap_or(2),
                );
                // Consumers dead-letter into `<topic>` + the dead-letter suffix.
                let dead_letters: Vec<_> = topics.iter().map(|t| t.dead_letter()).collect();
                topics.extend(dead_letters);
                ai_data_kafka::Admin::new(&config)?
                    .ensure_topics(&topics)
                    .await?
                    .into_result()?;
            }
            let producer = ai_data_kafka::Producer::connect(&config).await?;
            if let Some(group) = &config.consumer.group_id {
                let topics = [
                    ai_data_platform::kafka::DATA_INGESTION,
                    ai_data_platform::kafka::MODEL_EVENTS,
                    ai_data_platform::kafka::SYSTEM_LOGS_TOPIC,
                ];
                let check =
                    ai_data_kafka::ConsumerLagCheck::new(ai_data_kafka::Admin::new(&config)?)
                        .with_group(group.clone(), topics)
                        .with_threshold(
                            layout
                                .lag_threshold
                                .unwrap_or(ai_data_kafka::DEFAULT_LAG_THRESHOLD),
                        );
                platform.kafka_lag = Some(check);
            }
            platform.kafka = Some((config, producer));
        }
        #[cfg(feature = "weaviate")]
        if crate::is_configured(env, Store::Weaviate) {
            use ai_data_weaviate::{bootstrap, WeaviateConfig, WeaviateStore};
            let store = WeaviateStore::connect(&WeaviateConfig::from_env_source(env)?).await?;
            if options.bootstrap {
                let layout: WeaviateSeedLayout = env.load(Store::Weaviate)?;
                let mut seed = bootstrap::SeedOptions::default();
                if let Some(dimension) = layout.seed_dimension {
                    seed = seed.with_dimension(dimension);
                }
                bootstrap::bootstrap(&store, &seed).await?;
            }
            platform.weaviate = Some(store);
        }
        Ok(platform)
    }

    /// Check every connected store, concurrently.
    pub async fn health(&self) -> PlatformHealth {
        // Not mutated when no store feature is on.
        #[allow(unused_mut)]
        let mut checks: Vec<(Store, &dyn HealthCheck)> = Vec::new();
        #[cfg(feature = "pg")]
        if let Some(pg) = &self.pg {
            checks.push((Store::Postgres, pg));
        }
        #[cfg(feature = "mongo")]
        if let Some(mongo) = &self.mongo {
            checks.push((Store::Mongo, mongo));
        }
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            checks.push((Store::Redis, redis));
        }
        #[cfg(feature = "kafka")]
        if let Some((_, producer)) = &self.kafka {
            checks.push((Store::Kafka, producer));
        }
        #[cfg(feature = "kafka")]
        if let Some(lag) = &self.kafka_lag {
            checks.push((Store::Kafka, lag));
        }
        #[cfg(feature = "weaviate")]
        if let Some(weaviate) = &self.weaviate {
            checks.push((Store::Weaviate, weaviate));
        }
        let results = futures::future::join_all(checks.iter().map(|(_, c)| c.check())).await;
        PlatformHealth {
            reports: checks.into_iter().map(|(s, _)| s).zip(results).collect(),
        }
    }
}

/// One health result per connected store.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlatformHealth {
    /// Each store's report or error.
    pub reports: Vec<(Store, Result<HealthReport, Error>)>,
}

impl PlatformHealth {
    /// Every connected store answered.
    pub fn is_healthy(&self) -> bool {
        self.reports.iter().all(|(_, r)| r.is_ok())
    }

    /// The alert conditions the stores that answered flagged (seed,
    /// section 8: PostgreSQL connections, Redis memory, MongoDB replication
    /// lag, Kafka consumer lag), with their store.
    pub fn warnings(&self) -> impl Iterator<Item = (Store, &str)> {
        self.reports.iter().flat_map(|(store, result)| {
            result
                .iter()
                .flat_map(|report| report.warnings.iter())
                .map(|w| (*store, w.as_str()))
        })
    }
}

impl fmt::Display for PlatformHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (store, result) in &self.reports {
            match result {
                Ok(report) => {
                    writeln!(
                        f,
                        "{store:<9} up    {:>8.2?}  {}",
                        report.latency,
                        report.server_version.as_deref().unwrap_or("-")
                    )?;
                    for warning in &report.warnings {
                        writeln!(f, "{store:<9} WARN  {warning}")?;
                    }
                }
                Err(e) => writeln!(f, "{store:<9} DOWN  {e}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::is_configured;

    #[test]
    fn a_store_is_configured_by_its_endpoint_variables() {
        let env = EnvSource::from_pairs([
            ("AI_DATA_PG_URL", "postgres://x/y"),
            ("AI_DATA_REDIS_HOST", "cache"),
            ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
            ("AI_DATA_MONGO_PASSWORD", "only a password"),
        ]);
        assert!(is_configured(&env, Store::Postgres));
        assert!(is_configured(&env, Store::Redis));
        assert!(is_configured(&env, Store::Kafka));
        assert!(!is_configured(&env, Store::Mongo));
        assert!(!is_configured(&env, Store::Weaviate));
    }

    #[tokio::test]
    async fn nothing_configured_is_an_empty_healthy_platform() {
        let platform = Platform::from_env_source(&EnvSource::default(), PlatformOptions::setup())
            .await
            .expect("nothing to connect to");
        let health = platform.health().await;
        assert!(health.reports.is_empty());
        assert!(health.is_healthy());
        assert_eq!(health.warnings().count(), 0);
    }

    #[tokio::test]
    async fn warnings_are_listed_and_shown_per_store() {
        let report = HealthReport::measure(Store::Redis, async { Ok(Some("7.0".to_owned())) })
            .await
            .expect("report")
            .with_warning("Redis: memory 85% of maxmemory (alert above 80%)");
        let health = PlatformHealth {
            reports: vec![
                (Store::Redis, Ok(report)),
                (
                    Store::Kafka,
                    Err(Error::new(ai_data_core::ErrorKind::Connect, "down")),
                ),
            ],
        };
        let warnings: Vec<_> = health.warnings().collect();
        assert_eq!(
            warnings,
            [(
                Store::Redis,
                "Redis: memory 85% of maxmemory (alert above 80%)"
            )]
        );
        let shown = health.to_string();
        assert!(shown.contains("WARN  Redis: memory 85%"), "{shown}");
        assert!(shown.contains("DOWN"), "{shown}");
    }
}
