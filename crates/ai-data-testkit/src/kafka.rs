//! Kafka brokers and a topic prefix of the test's own.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::ClientConfig;

use crate::{test_var, unavailable, unique_name, KAFKA_BROKERS_VAR};

/// Bootstrap servers that answered a metadata request, and a fresh topic prefix.
#[derive(Debug)]
pub struct KafkaTest {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub brokers: String,
    /// Prefix for this test's topics and consumer groups (`test-<id>-`).
    pub prefix: String,
    #[cfg(feature = "testcontainers")]
    _container:
        Option<testcontainers::ContainerAsync<testcontainers_modules::kafka::apache::Kafka>>,
}

impl KafkaTest {
    /// `name` under this test's prefix.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A client config pointing at the brokers.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config
    }
}

/// Brokers that answered, or `None` (skip) when no Kafka is configured and
/// stores are not required.
pub async fn kafka() -> Option<KafkaTest> {
    #[cfg(feature = "testcontainers")]
    let mut container = None;
    let brokers = match test_var(KAFKA_BROKERS_VAR) {
        Some(brokers) => brokers,
        None => {
            #[cfg(feature = "testcontainers")]
            if crate::docker_available() {
                use testcontainers::runners::AsyncRunner;
                let c = testcontainers_modules::kafka::apache::Kafka::default()
                    .start()
                    .await
                    .expect("start the kafka container");
                let port = c
                    .get_host_port_ipv4(testcontainers_modules::kafka::apache::KAFKA_PORT)
                    .await
                    .expect("mapped port");
                container = Some(c);
                format!("127.0.0.1:{port}")
            } else {
                return unavailable(
                    "Kafka",
                    &format!("{KAFKA_BROKERS_VAR} is not set and Docker is not reachable"),
                );
            }
            #[cfg(not(feature = "testcontainers"))]
            return unavailable("Kafka", &format!("{KAFKA_BROKERS_VAR} is not set"));
        }
    };
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &brokers);
    let producer: FutureProducer = config.create().expect("create a kafka client");
    let probe = tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|m| m.brokers().len())
    })
    .await
    .expect("metadata task");
    match probe {
        Ok(n) if n > 0 => {}
        Ok(_) => return unavailable("Kafka", "metadata lists no broker"),
        Err(e) => {
            return unavailable(
                "Kafka",
                &format!("no metadata from {KAFKA_BROKERS_VAR}: {e}"),
            )
        }
    }
    Some(KafkaTest {
        brokers,
        prefix: format!("{}-", unique_name("test-")),
        #[cfg(feature = "testcontainers")]
        _container: container,
    })
}
