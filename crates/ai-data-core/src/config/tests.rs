use super::*;
use crate::{EnvSource, ErrorKind};
use secrecy::ExposeSecret;

const SECRET: &str = "Sup3r-Secret-Value";

fn env(pairs: &[(&str, &str)]) -> EnvSource {
    EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
}

#[test]
fn every_store_config_hides_its_secret_from_every_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    for store in Store::ALL {
        std::fs::write(dir.path().join(store.secret_file_key()), SECRET).expect("write");
    }
    let dir_s = dir.path().to_str().expect("utf8");
    let secret_var = |s: Store| s.var(s.secret_var());
    for store in Store::ALL {
        let host = store.var("HOST");
        let url_var = store.var("URL");
        let url = format!(
            "{}://user:{SECRET}@host:1/db?password={SECRET}",
            store.name()
        );
        let sources = [
            env(&[(host.as_str(), "h"), ("AI_DATA_SECRETS_DIR", dir_s)]),
            env(&[(host.as_str(), "h"), (secret_var(store).as_str(), SECRET)]),
            env(&[(url_var.as_str(), url.as_str())]),
        ];
        for source in &sources {
            let config = ConnectionConfig::from_env_source(source, store).expect("loads");
            let secret = config.secret.as_ref().expect("secret resolved");
            assert_eq!(secret.expose_secret(), SECRET);
            let debug = format!("{config:?}");
            let display = format!("{config}");
            for shown in [&debug, &display] {
                assert!(!shown.contains(SECRET), "{store}: {shown}");
                assert!(shown.contains("***"), "{store}: {shown}");
            }
        }
        let from_url = ConnectionConfig::from_url(store, &url).expect("parses");
        assert!(!format!("{from_url:?} {from_url}").contains(SECRET));
    }
}

#[test]
fn missing_endpoint_names_both_variables() {
    let err =
        ConnectionConfig::from_env_source(&env(&[]), Store::Postgres).expect_err("no endpoint");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_PG_URL"), "{err}");
    assert!(err.message().contains("AI_DATA_PG_HOST"), "{err}");
}

#[test]
fn unparsable_url_names_the_variable_not_the_secret() {
    let bad = format!("postgres://u:{SECRET}@[::1");
    let err = ConnectionConfig::from_env_source(&env(&[("AI_DATA_PG_URL", &bad)]), Store::Postgres)
        .expect_err("bad url");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_PG_URL"), "{err}");
    assert!(!format!("{err} {err:?}").contains(SECRET));
}

#[test]
fn unparsable_port_and_duration_name_their_variables() {
    let err = ConnectionConfig::from_env_source(
        &env(&[("AI_DATA_REDIS_HOST", "h"), ("AI_DATA_REDIS_PORT", "70000")]),
        Store::Redis,
    )
    .expect_err("port out of range");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_REDIS_PORT"), "{err}");

    let err = ConnectionConfig::from_env_source(
        &env(&[
            ("AI_DATA_KAFKA_HOST", "h"),
            ("AI_DATA_KAFKA_CONNECT_TIMEOUT", "soon"),
        ]),
        Store::Kafka,
    )
    .expect_err("bad duration");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("AI_DATA_KAFKA_CONNECT_TIMEOUT"),
        "{err}"
    );
}

#[test]
fn bad_tls_mode_and_missing_ca_file_are_config_errors() {
    let err = ConnectionConfig::from_env_source(
        &env(&[
            ("AI_DATA_PG_HOST", "h"),
            ("AI_DATA_PG_TLS_MODE", "sometimes"),
        ]),
        Store::Postgres,
    )
    .expect_err("bad mode");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_PG_TLS_MODE"), "{err}");

    let err = ConnectionConfig::from_env_source(
        &env(&[
            ("AI_DATA_PG_HOST", "h"),
            ("AI_DATA_PG_TLS_CA_FILE", "/nonexistent/ca.pem"),
        ]),
        Store::Postgres,
    )
    .expect_err("missing CA");
    assert!(err.message().contains("AI_DATA_PG_TLS_CA_FILE"), "{err}");
}

#[test]
fn parts_override_the_url_and_values_parse() {
    let config = ConnectionConfig::from_env_source(
        &env(&[
            ("AI_DATA_PG_URL", "postgres://a@url-host:1/urldb"),
            ("AI_DATA_PG_HOST", "part-host"),
            ("AI_DATA_PG_TLS_MODE", "verify-full"),
            ("AI_DATA_PG_POOL_ACQUIRE_TIMEOUT", "250ms"),
            // A numeric password must stay a string.
            ("AI_DATA_PG_PASSWORD", "12345678"),
        ]),
        Store::Postgres,
    )
    .expect("loads");
    assert_eq!(config.effective_host(), Some("part-host"));
    assert_eq!(config.effective_port(), Some(1));
    assert_eq!(config.effective_database(), Some("urldb"));
    assert_eq!(config.effective_username().as_deref(), Some("a"));
    assert_eq!(config.tls.mode, Some(TlsMode::VerifyFull));
    assert_eq!(config.pool.acquire_timeout, Duration::from_millis(250));
    assert_eq!(config.secret.expect("secret").expose_secret(), "12345678");
}
