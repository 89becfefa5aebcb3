//! The five stores and the names each one uses in the environment.

use std::fmt;

/// One of the platform's stores. Each has its own environment prefix and
/// its own key in a mounted Kubernetes Secret (the seed's `db-credentials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Store {
    /// PostgreSQL with pgvector.
    Postgres,
    /// MongoDB.
    Mongo,
    /// Weaviate.
    Weaviate,
    /// Redis.
    Redis,
    /// Kafka.
    Kafka,
}

impl Store {
    /// Every store, in the seed's order.
    pub const ALL: [Store; 5] = [
        Store::Postgres,
        Store::Mongo,
        Store::Weaviate,
        Store::Redis,
        Store::Kafka,
    ];

    /// Prefix of this store's environment variables, e.g. `AI_DATA_PG_`.
    pub const fn env_prefix(self) -> &'static str {
        match self {
            Store::Postgres => "AI_DATA_PG_",
            Store::Mongo => "AI_DATA_MONGO_",
            Store::Weaviate => "AI_DATA_WEAVIATE_",
            Store::Redis => "AI_DATA_REDIS_",
            Store::Kafka => "AI_DATA_KAFKA_",
        }
    }

    /// Name of the secret variable after the prefix: Weaviate authenticates
    /// with an API key, the others with a password.
    pub const fn secret_var(self) -> &'static str {
        match self {
            Store::Weaviate => "API_KEY",
            _ => "PASSWORD",
        }
    }

    /// File name of this store's secret in `AI_DATA_SECRETS_DIR`, as the
    /// seed's `kubectl create secret generic db-credentials` names it.
    pub const fn secret_file_key(self) -> &'static str {
        match self {
            Store::Postgres => "postgres-password",
            Store::Mongo => "mongodb-password",
            Store::Weaviate => "weaviate-apikey",
            Store::Redis => "redis-password",
            Store::Kafka => "kafka-password",
        }
    }

    /// Short lowercase name used in errors and health reports.
    pub const fn name(self) -> &'static str {
        match self {
            Store::Postgres => "postgres",
            Store::Mongo => "mongodb",
            Store::Weaviate => "weaviate",
            Store::Redis => "redis",
            Store::Kafka => "kafka",
        }
    }

    /// Full name of one of this store's variables: `var("PORT")` is `AI_DATA_PG_PORT`.
    pub fn var(self, suffix: &str) -> String {
        format!("{}{}", self.env_prefix(), suffix)
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
