//! `Platform` against the real local stores (and the Weaviate contract
//! fake): every configured store connected, migrated or bootstrapped, and
//! in the health report; unconfigured stores absent; a configured store
//! that cannot be reached or parsed is a typed error.

use std::time::{Duration, Instant};

use ai_data::core::{EnvSource, ErrorKind, Store};
use ai_data::weaviate::bootstrap::{seed_classes, SeedOptions};
use ai_data::{Platform, PlatformOptions};
use ai_data_weaviate_fake::FakeWeaviate;

const SEED_DIMENSION: usize = 48;

#[tokio::test]
async fn setup_connects_migrates_and_bootstraps_every_configured_store() {
    let Some(pg) = ai_data_testkit::pg().await else {
        return;
    };
    let Some(mongo) = ai_data_testkit::mongo().await else {
        return;
    };
    let Some(redis) = ai_data_testkit::redis().await else {
        return;
    };
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let weaviate = FakeWeaviate::new().start().await.expect("Weaviate fake");
    let env = EnvSource::from_pairs([
        ("AI_DATA_PG_URL", pg.url.clone()),
        ("AI_DATA_MONGO_URL", mongo.url.clone()),
        ("AI_DATA_MONGO_DATABASE", mongo.database.clone()),
        ("AI_DATA_REDIS_URL", redis.url.clone()),
        ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", kafka.brokers.clone()),
        // One local broker: the seed's replication factor 2 cannot be met.
        ("AI_DATA_KAFKA_TOPIC_PARTITIONS", "1".to_owned()),
        ("AI_DATA_KAFKA_TOPIC_REPLICATION", "1".to_owned()),
        ("AI_DATA_KAFKA_GROUP_ID", kafka.topic("indexer")),
        ("AI_DATA_WEAVIATE_URL", weaviate.url()),
        ("AI_DATA_WEAVIATE_GRPC_URL", weaviate.grpc_url()),
        (
            "AI_DATA_WEAVIATE_SEED_DIMENSION",
            SEED_DIMENSION.to_string(),
        ),
    ]);

    let platform = Platform::from_env_source(&env, PlatformOptions::setup())
        .await
        .expect("every store connects");

    let health = platform.health().await;
    assert!(health.is_healthy(), "{health}");
    let mut checked: Vec<Store> = health.reports.iter().map(|(s, _)| *s).collect();
    checked.sort_by_key(|s| format!("{s:?}"));
    // Kafka twice: the brokers, and the configured group's consumer lag.
    let mut expected = vec![
        Store::Postgres,
        Store::Mongo,
        Store::Redis,
        Store::Kafka,
        Store::Kafka,
        Store::Weaviate,
    ];
    expected.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(checked, expected, "{health}");
    let lag_key = format!("lag:{}", kafka.topic("indexer"));
    let lag_report = health
        .reports
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .find(|r| r.details.contains_key(&lag_key))
        .unwrap_or_else(|| panic!("no {lag_key} in {health:?}"));
    assert!(
        lag_report.details[&lag_key].parse::<u64>().is_ok(),
        "{lag_report:?}"
    );
    assert_eq!(health.warnings().count(), 0, "{health}");

    // PostgreSQL migrated.
    let pool = platform.pg.as_ref().expect("pg").primary();
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('auth.users')::text")
        .fetch_one(pool)
        .await
        .expect("query");
    assert_eq!(users.as_deref(), Some("auth.users"));

    // MongoDB bootstrapped in the configured database.
    let store = platform.mongo.as_ref().expect("mongo");
    assert_eq!(store.database().name(), mongo.database);
    let collections = store
        .database()
        .list_collection_names()
        .await
        .expect("collections");
    for name in ["system_logs", "task_status_cache"] {
        assert!(
            collections.iter().any(|c| c == name),
            "{name} missing from {collections:?}"
        );
    }

    // The seed's topics and their dead-letter topics exist.
    let (_, producer) = platform.kafka.as_ref().expect("kafka");
    let topics = producer.cluster_info().await.expect("metadata").topics;
    for name in ["data-ingestion", "model-events", "system-logs"] {
        assert!(topics.contains_key(name), "{name} missing");
        let dead_letter = ai_data::kafka::dead_letter_name(name);
        assert!(topics.contains_key(&dead_letter), "{dead_letter} missing");
    }

    // The seed's Weaviate classes, with the configured dimension: asking
    // for the same definitions creates nothing, another dimension conflicts.
    let store = platform.weaviate.as_ref().expect("weaviate");
    for class in seed_classes(&SeedOptions::default().with_dimension(SEED_DIMENSION)) {
        let created = store
            .ensure_collection_with(&class.spec, &class.options)
            .await
            .expect("same definition");
        assert!(!created, "{} was not bootstrapped", class.spec.name);
    }
    let other = seed_classes(&SeedOptions::default().with_dimension(SEED_DIMENSION + 1));
    let err = store
        .ensure_collection_with(&other[0].spec, &other[0].options)
        .await
        .expect_err("dimension differs");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");

    // Setup twice is fine (every step is idempotent).
    Platform::from_env_source(&env, PlatformOptions::setup())
        .await
        .expect("second setup");
    assert!(
        weaviate.violations().is_empty(),
        "{:?}",
        weaviate.violations()
    );
}

#[tokio::test]
async fn unconfigured_stores_are_absent_and_bad_ones_are_typed_errors() {
    let platform = Platform::from_env_source(&EnvSource::default(), PlatformOptions::setup())
        .await
        .expect("nothing to connect");
    assert!(platform.pg.is_none() && platform.mongo.is_none() && platform.redis.is_none());
    assert!(platform.kafka.is_none() && platform.weaviate.is_none());
    assert!(platform.health().await.reports.is_empty());

    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let env = EnvSource::from_pairs([
        ("AI_DATA_WEAVIATE_URL", format!("http://127.0.0.1:{closed}")),
        ("AI_DATA_WEAVIATE_CONNECT_TIMEOUT", "2s".to_owned()),
    ]);
    let started = Instant::now();
    let err = Platform::from_env_source(&env, PlatformOptions::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "{err}");

    let env = EnvSource::from_pairs([
        ("AI_DATA_PG_HOST", "127.0.0.1"),
        ("AI_DATA_PG_PORT", "fifty"),
        ("AI_DATA_PG_PASSWORD", "hunter2-secret"),
    ]);
    let err = Platform::from_env_source(&env, PlatformOptions::default())
        .await
        .expect_err("bad port");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("AI_DATA_PG_PORT"), "{shown}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
}

/// The seed's deployment (issue 13 item 13): its whole Secret mounted as
/// `AI_DATA_SECRETS_DIR`, the Mongo endpoint in the environment, no
/// `AI_DATA_MONGO_USER`. `Platform::from_env` logs in as the seed's
/// application user, whose password the Secret's `mongodb-password` is, and
/// bootstraps with it.
#[tokio::test]
async fn the_seeds_mounted_secret_without_a_mongo_user_is_usable() {
    let Some(mongo) = ai_data_testkit::mongo().await else {
        return;
    };
    let password = format!("app-{}", uuid::Uuid::new_v4().simple());
    // The seed's init script creates the application user in the platform
    // database (here the test's own).
    ai_data::mongo::Bootstrap::new(Vec::<&'static str>::new(), Vec::new())
        .with_user(ai_data::platform::mongo::seed_app_user(password.clone()))
        .run(&mongo.db())
        .await
        .expect("create the seed's app user");

    let dir = tempfile::tempdir().expect("tempdir");
    for (key, value) in [
        ("postgres-password", "pg-secret"),
        ("mongodb-password", password.as_str()),
        ("redis-password", "redis-secret"),
        ("weaviate-apikey", "weaviate-secret"),
        ("kafka-password", "kafka-secret"),
    ] {
        std::fs::write(dir.path().join(key), format!("{value}\n")).expect("write secret");
    }
    let url = url::Url::parse(&mongo.url).expect("test URL");
    let env = EnvSource::from_pairs([
        (
            "AI_DATA_MONGO_HOST",
            url.host_str().expect("host").to_owned(),
        ),
        (
            "AI_DATA_MONGO_PORT",
            url.port().unwrap_or(27017).to_string(),
        ),
        ("AI_DATA_MONGO_DATABASE", mongo.database.clone()),
        (
            "AI_DATA_SECRETS_DIR",
            dir.path().to_str().expect("utf8").to_owned(),
        ),
    ]);
    let platform = Platform::from_env_source(&env, PlatformOptions::setup())
        .await
        .expect("the seed's Secret alone is enough");
    let store = platform.mongo.as_ref().expect("mongo configured");
    let user = ai_data_testkit::authenticated_user(store.database()).await;
    assert_eq!(
        user.map(|(name, _)| name).as_deref(),
        Some(ai_data::platform::mongo::SEED_APP_USER)
    );
    let collections = store
        .database()
        .list_collection_names()
        .await
        .expect("collections");
    assert!(
        collections.iter().any(|c| c == "system_logs"),
        "bootstrapped as the app user: {collections:?}"
    );
    assert!(platform.health().await.is_healthy());
}
