//! A Redis connection and a key prefix of the test's own.

use fred::prelude::*;

use crate::{test_var, unavailable, unique_name, REDIS_URL_VAR};

/// A connected client and a fresh key prefix (`test:<id>:`).
pub struct RedisTest {
    /// The server's URL (contains the throwaway server's password).
    pub url: String,
    /// Prefix every key of this test starts with.
    pub prefix: String,
    /// A connected fred client.
    pub client: Client,
    #[cfg(feature = "testcontainers")]
    _container: Option<testcontainers::ContainerAsync<testcontainers_modules::redis::Redis>>,
}

impl std::fmt::Debug for RedisTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTest")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisTest {
    /// `key` under this test's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// A connected Redis client, or `None` (skip) when no Redis is configured
/// and stores are not required.
pub async fn redis() -> Option<RedisTest> {
    #[cfg(feature = "testcontainers")]
    let mut container = None;
    let url = match test_var(REDIS_URL_VAR) {
        Some(url) => url,
        None => {
            #[cfg(feature = "testcontainers")]
            if crate::docker_available() {
                use testcontainers::runners::AsyncRunner;
                let c = testcontainers_modules::redis::Redis::default()
                    .start()
                    .await
                    .expect("start the redis container");
                let port = c.get_host_port_ipv4(6379).await.expect("mapped port");
                container = Some(c);
                format!("redis://127.0.0.1:{port}/0")
            } else {
                return unavailable(
                    "Redis",
                    &format!("{REDIS_URL_VAR} is not set and Docker is not reachable"),
                );
            }
            #[cfg(not(feature = "testcontainers"))]
            return unavailable("Redis", &format!("{REDIS_URL_VAR} is not set"));
        }
    };
    let config = match Config::from_url(&url) {
        Ok(config) => config,
        Err(e) => panic!("{REDIS_URL_VAR} is not a Redis URL: {e}"),
    };
    let client = Builder::from_config(config)
        .build()
        .expect("build the redis client");
    if let Err(e) = client.init().await {
        return unavailable("Redis", &format!("cannot connect to {REDIS_URL_VAR}: {e}"));
    }
    Some(RedisTest {
        url,
        prefix: format!("{}:", unique_name("test:")),
        client,
        #[cfg(feature = "testcontainers")]
        _container: container,
    })
}
