//! MongoConfig: environment, redaction, driver options.

use std::time::Duration;

use mongodb::options::{ServerAddress, Tls};

use super::*;
use ai_data_core::{ConnectionConfig, EnvSource, ErrorKind, Store};

const SECRET: &str = "Pa55-w0rd-in-test";

fn env(pairs: &[(&str, &str)]) -> EnvSource {
    EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
}

fn assert_hidden(config: &MongoConfig) {
    for shown in [format!("{config:?}"), config.to_string()] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[tokio::test]
async fn password_never_shows_from_any_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("mongodb-password"), format!("{SECRET}\n")).expect("write");
    let file = dir.path().join("pw");
    std::fs::write(&file, SECRET).expect("write");
    let url = format!("mongodb://app:{SECRET}@db:27017/ai_platform?appName=x");
    // Options with secrets in the query are not shown either.
    let query =
        format!("mongodb://app:{SECRET}@db/ai_platform?tlsCertificateKeyFilePassword={SECRET}");
    assert_hidden(&MongoConfig::from_url(&query).expect("parses"));
    let sources = [
        env(&[("AI_DATA_MONGO_URL", url.as_str())]),
        env(&[
            ("AI_DATA_MONGO_HOST", "db"),
            ("AI_DATA_MONGO_USER", "app"),
            ("AI_DATA_MONGO_PASSWORD", SECRET),
        ]),
        env(&[
            ("AI_DATA_MONGO_HOST", "db"),
            ("AI_DATA_MONGO_USER", "app"),
            ("AI_DATA_MONGO_PASSWORD_FILE", file.to_str().expect("utf8")),
        ]),
        env(&[
            ("AI_DATA_MONGO_HOST", "db"),
            ("AI_DATA_MONGO_USER", "app"),
            ("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8")),
        ]),
    ];
    for source in &sources {
        let config = MongoConfig::from_env_source(source).expect("loads");
        assert_hidden(&config);
        let options = config.client_options().await.expect("options");
        let credential = options.credential.as_ref().expect("credential");
        assert_eq!(credential.password.as_deref(), Some(SECRET));
        assert_eq!(credential.username.as_deref(), Some("app"));
        assert!(!format!("{credential:?}").contains(SECRET));
    }
    let coded = MongoConfig::new(ConnectionConfig::new(Store::Mongo).with_host("h"))
        .with_username("u")
        .with_password(SECRET.to_owned());
    assert_hidden(&coded);
}

#[tokio::test]
async fn url_parts_and_mongo_options_map_to_client_options() {
    let config = MongoConfig::from_env_source(&env(&[
        (
            "AI_DATA_MONGO_URL",
            "mongodb://u:p@url-host:1/urldb?authSource=admin&appName=fromurl",
        ),
        ("AI_DATA_MONGO_HOST", "part-host"),
        ("AI_DATA_MONGO_PORT", "27018"),
        ("AI_DATA_MONGO_REPLICA_SET", "rs0"),
        ("AI_DATA_MONGO_APP_NAME", "svc"),
        ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "1500ms"),
        ("AI_DATA_MONGO_CONNECT_TIMEOUT", "2s"),
        ("AI_DATA_MONGO_POOL_MAX_SIZE", "7"),
        ("AI_DATA_MONGO_POOL_MIN_IDLE", "2"),
        ("AI_DATA_MONGO_TASK_STATUS_TTL", "1h"),
    ]))
    .expect("loads");
    assert_eq!(config.task_status_ttl, Duration::from_secs(3600));
    let o = config.client_options().await.expect("options");
    assert_eq!(
        o.hosts,
        vec![ServerAddress::Tcp {
            host: "part-host".into(),
            port: Some(27018)
        }]
    );
    assert_eq!(o.default_database.as_deref(), Some("urldb"));
    assert_eq!(o.repl_set_name.as_deref(), Some("rs0"));
    assert_eq!(o.app_name.as_deref(), Some("svc"));
    assert_eq!(
        o.server_selection_timeout,
        Some(Duration::from_millis(1500))
    );
    assert_eq!(o.connect_timeout, Some(Duration::from_secs(2)));
    assert_eq!((o.max_pool_size, o.min_pool_size), (Some(7), Some(2)));
    let credential = o.credential.expect("credential");
    assert_eq!(
        credential.source.as_deref(),
        Some("admin"),
        "URL authSource kept"
    );
}

#[tokio::test]
async fn auth_source_defaults_follow_the_uri_rules() {
    // Explicit variable wins.
    let c = MongoConfig::from_env_source(&env(&[
        (
            "AI_DATA_MONGO_URL",
            "mongodb://u:p@h/ai_platform?authSource=x",
        ),
        ("AI_DATA_MONGO_AUTH_SOURCE", "admin"),
    ]))
    .expect("loads");
    let cred = c.client_options().await.expect("options").credential;
    assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("admin"));
    // The configured database when nothing else says.
    let c = MongoConfig::from_env_source(&env(&[
        ("AI_DATA_MONGO_HOST", "h"),
        ("AI_DATA_MONGO_DATABASE", "ai_platform"),
        ("AI_DATA_MONGO_USER", "ai_platform_user"),
        ("AI_DATA_MONGO_PASSWORD", "p"),
    ]))
    .expect("loads");
    let cred = c.client_options().await.expect("options").credential;
    assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("ai_platform"));
    // No database anywhere: the URI rule, admin (not our default database).
    let c = MongoConfig::from_url("mongodb://root:p@h:27017").expect("loads");
    assert_eq!(c.database(), DEFAULT_DATABASE);
    let cred = c.client_options().await.expect("options").credential;
    assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("admin"));
}

#[tokio::test]
async fn seed_list_and_bad_entries() {
    let c = MongoConfig::from_env_source(&env(&[
        ("AI_DATA_MONGO_URL", "mongodb://h1/ai_platform"),
        (
            "AI_DATA_MONGO_HOSTS",
            "10.0.0.1:27017, 10.0.0.2,[::1]:27019",
        ),
    ]))
    .expect("loads");
    let o = c.client_options().await.expect("options");
    assert_eq!(o.hosts.len(), 3);
    assert_eq!(
        o.hosts[2],
        ServerAddress::Tcp {
            host: "::1".into(),
            port: Some(27019)
        }
    );
    let err = MongoConfig::from_env_source(&env(&[(
        "AI_DATA_MONGO_URL",
        &format!("mongodb://u:{SECRET}@h1:1,h2:2/db"),
    )]))
    .expect_err("the shared parser takes one host");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_MONGO_HOSTS"), "{err}");
    assert!(!format!("{err} {err:?}").contains(SECRET));

    let c = MongoConfig::from_env_source(&env(&[
        ("AI_DATA_MONGO_HOST", "h"),
        ("AI_DATA_MONGO_HOSTS", "h:notaport"),
    ]))
    .expect("loads");
    let err = c.client_options().await.expect_err("bad port");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn tls_modes_map_and_verify_ca_is_refused() {
    let ca = tempfile::NamedTempFile::new().expect("tmp");
    let ca_path = ca.path().to_str().expect("utf8");
    let load = |mode: &str| {
        MongoConfig::from_env_source(&env(&[
            ("AI_DATA_MONGO_HOST", "h"),
            ("AI_DATA_MONGO_TLS_MODE", mode),
            ("AI_DATA_MONGO_TLS_CA_FILE", ca_path),
        ]))
        .expect("loads")
    };
    match load("verify-full").client_options().await.expect("ok").tls {
        Some(Tls::Enabled(o)) => {
            assert_eq!(o.ca_file_path.as_deref(), Some(ca.path()));
            assert_eq!(o.allow_invalid_certificates, None);
        }
        other => panic!("expected TLS on, got {other:?}"),
    }
    match load("require").client_options().await.expect("ok").tls {
        Some(Tls::Enabled(o)) => assert_eq!(o.allow_invalid_certificates, Some(true)),
        other => panic!("expected TLS on, got {other:?}"),
    }
    assert!(matches!(
        load("disable").client_options().await.expect("ok").tls,
        Some(Tls::Disabled)
    ));
    let err = load("verify-ca")
        .client_options()
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("verify-full"));
}

#[tokio::test]
async fn password_without_user_is_the_seed_app_users() {
    let c = MongoConfig::from_env_source(&env(&[
        ("AI_DATA_MONGO_HOST", "h"),
        ("AI_DATA_MONGO_PASSWORD", SECRET),
    ]))
    .expect("loads");
    assert_hidden(&c);
    let cred = c.client_options().await.expect("options").credential;
    let cred = cred.expect("credential");
    assert_eq!(cred.username.as_deref(), Some(DEFAULT_USER));
    assert_eq!(cred.source.as_deref(), Some(DEFAULT_DATABASE));
    // In another configured database, that database.
    let c = c.with_database("tenant_a");
    let cred = c.client_options().await.expect("options").credential;
    assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("tenant_a"));
}

#[tokio::test]
async fn invalid_connection_string_option_is_a_config_error_without_secret() {
    let c = MongoConfig::from_url(&format!("mongodb://u:{SECRET}@h/db?maxPoolSize=lots"))
        .expect("URL itself parses");
    let err = c.client_options().await.expect_err("driver rejects option");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");
}
