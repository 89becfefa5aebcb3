//! The seed's deployment: its whole Secret (`db-credentials`, five keys)
//! mounted as `AI_DATA_SECRETS_DIR`, the endpoint in the environment, and
//! no `AI_DATA_MONGO_USER`. The seed's `mongodb-password` is the password of
//! its application user `ai_platform_user`, created in `ai_platform`, and
//! that is who the configuration logs in as.

mod mongo_common;

use std::path::Path;

use ai_data_core::{EnvSource, ExposeSecret};
use ai_data_mongo::bson::doc;
use ai_data_mongo::mongodb::options::{ClientOptions, ServerAddress};
use ai_data_mongo::{MongoConfig, MongoStore, DEFAULT_TASK_STATUS_TTL};
use ai_data_platform::mongo::{
    seed_app_user, seed_bootstrap, SeedCollections, SystemLog, SEED_APP_USER,
};
use ai_data_platform::LogLevel;

const MONGO_SECRET: &str = "mongo-Secret-from-the-mount";

/// The seed's `kubectl create secret generic db-credentials ...` as files.
fn mount_seed_secret(dir: &Path, mongodb_password: &str) {
    for (key, value) in [
        ("postgres-password", "pg-secret"),
        ("mongodb-password", mongodb_password),
        ("redis-password", "redis-secret"),
        ("weaviate-apikey", "weaviate-secret"),
        ("kafka-password", "kafka-secret"),
    ] {
        std::fs::write(dir.join(key), format!("{value}\n")).expect("write secret");
    }
}

#[tokio::test]
async fn a_mounted_password_without_a_user_is_the_seed_app_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    mount_seed_secret(dir.path(), MONGO_SECRET);
    let secrets = dir.path().to_str().expect("utf8");
    for endpoint in [
        (
            "AI_DATA_MONGO_HOST",
            "ai-mongodb.database.svc.cluster.local",
        ),
        (
            "AI_DATA_MONGO_URL",
            "mongodb://ai-mongodb.database.svc.cluster.local:27017",
        ),
    ] {
        let env = EnvSource::from_pairs([endpoint, ("AI_DATA_SECRETS_DIR", secrets)]);
        let config = MongoConfig::from_env_source(&env).expect("loads");
        assert_eq!(config.username().as_deref(), Some(SEED_APP_USER));
        let shown = format!("{config} {config:?}");
        assert!(
            shown.contains("ai_platform_user:***@"),
            "{endpoint:?}: {shown}"
        );
        assert!(!shown.contains(MONGO_SECRET), "{shown}");
        let options = config.client_options().await.expect("usable as deployed");
        let credential = options.credential.expect("credential");
        assert_eq!(credential.username.as_deref(), Some(SEED_APP_USER));
        assert_eq!(credential.password.as_deref(), Some(MONGO_SECRET));
        // The seed creates the user in ai_platform (getSiblingDB("ai_platform")).
        assert_eq!(credential.source.as_deref(), Some("ai_platform"));
    }

    // An explicit user, and an explicit auth source, still win.
    let env = EnvSource::from_pairs([
        ("AI_DATA_MONGO_HOST", "db"),
        ("AI_DATA_MONGO_USER", "reporting"),
        ("AI_DATA_MONGO_AUTH_SOURCE", "admin"),
        ("AI_DATA_SECRETS_DIR", secrets),
    ]);
    let config = MongoConfig::from_env_source(&env).expect("loads");
    let credential = config
        .client_options()
        .await
        .expect("options")
        .credential
        .expect("credential");
    assert_eq!(credential.username.as_deref(), Some("reporting"));
    assert_eq!(credential.source.as_deref(), Some("admin"));
    assert_eq!(credential.password.as_deref(), Some(MONGO_SECRET));

    // No password anywhere: no user is invented either.
    let env = EnvSource::from_pairs([("AI_DATA_MONGO_HOST", "db")]);
    let config = MongoConfig::from_env_source(&env).expect("loads");
    assert_eq!(config.username(), None);
    assert!(config
        .client_options()
        .await
        .expect("options")
        .credential
        .is_none());
}

#[tokio::test]
async fn the_seed_deployment_logs_in_and_writes_as_the_app_user() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    // The seed's init script: the application user in the platform database.
    let password = mongo_common::random_password();
    seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .with_user(seed_app_user(password.clone()))
        .run(store.database())
        .await
        .expect("bootstrap with the app user");

    // The pod: endpoint and database from the environment, the Secret mounted.
    let dir = tempfile::tempdir().expect("tempdir");
    mount_seed_secret(dir.path(), &password);
    let url_options = ClientOptions::parse(&m.url).await.expect("test URL");
    let ServerAddress::Tcp { host, port } = &url_options.hosts[0] else {
        panic!("a TCP test server")
    };
    let port = port.unwrap_or(27017).to_string();
    let env = EnvSource::from_pairs([
        ("AI_DATA_MONGO_HOST", host.as_str()),
        ("AI_DATA_MONGO_PORT", port.as_str()),
        ("AI_DATA_MONGO_DATABASE", m.database.as_str()),
        ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "5s"),
        ("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8")),
    ]);
    let config = MongoConfig::from_env_source(&env).expect("loads");
    assert_eq!(
        config
            .connection
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Some(password.clone())
    );
    let app = MongoStore::connect(&config)
        .await
        .expect("logs in as the seed's app user");
    assert_eq!(
        ai_data_testkit::authenticated_user(app.database()).await,
        Some((SEED_APP_USER.to_owned(), m.database.clone()))
    );
    app.logs()
        .insert_one(&SystemLog::new(
            LogLevel::Info,
            "seed",
            "deployed as the seed",
        ))
        .await
        .expect("readWrite");

    m.db()
        .run_command(doc! { "dropUser": SEED_APP_USER })
        .await
        .expect("dropUser");
}
