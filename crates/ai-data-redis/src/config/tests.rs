use super::*;
use ai_data_core::ErrorKind;
use ai_data_core::ExposeSecret;

const SECRET: &str = "Redis-S3cret-Value";

fn env(pairs: &[(&str, &str)]) -> EnvSource {
    EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
}

#[test]
fn standalone_from_url_with_database_and_acl_user() {
    let config = RedisConfig::from_url(&format!("redis://app:{SECRET}@cache:6380/3")).expect("url");
    assert_eq!(config.topology, Topology::Standalone);
    assert_eq!(config.database().expect("db"), 3);
    assert_eq!(config.endpoints(), vec![HostPort::new("cache", 6380)]);
    assert_eq!(
        config.connection.effective_username().as_deref(),
        Some("app")
    );
    assert!(!config.uses_tls().expect("tls"));
    assert_eq!(config.pool_size, DEFAULT_POOL_SIZE);
    let shown = format!("{config:?} {config}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    config.fred_builder().expect("builds");
}

#[test]
fn rediss_scheme_turns_tls_on_and_disable_turns_it_off() {
    let config = RedisConfig::from_url("rediss://cache:6379").expect("url");
    assert!(config.uses_tls().expect("tls"));
    config.fred_builder().expect("builds a TLS client config");
    let off = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_URL", "rediss://cache:6379"),
        ("AI_DATA_REDIS_TLS_MODE", "disable"),
    ]))
    .expect("env");
    assert!(!off.uses_tls().expect("tls"));
}

#[test]
fn tls_modes_without_verification_are_refused() {
    let err = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_HOST", "cache"),
        ("AI_DATA_REDIS_TLS_MODE", "require"),
    ]))
    .expect_err("require is not offered");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("AI_DATA_REDIS_TLS_MODE"), "{err}");
}

#[test]
fn password_comes_from_the_seed_secret_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("redis-password"), format!("{SECRET}\n")).expect("write");
    let config = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_HOST", "cache"),
        ("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8")),
    ]))
    .expect("env");
    let secret = config.connection.secret.as_ref().expect("secret");
    assert_eq!(secret.expose_secret(), SECRET);
    assert!(!format!("{config:?} {config}").contains(SECRET));
}

#[test]
fn sentinel_layout_of_the_seed() {
    let config = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_SENTINELS", "s1:26379, s2 ,[::1]:26380"),
        ("AI_DATA_REDIS_HOST", "ignored-for-sentinels"),
        ("AI_DATA_REDIS_SENTINEL_MASTER", "mymaster"),
        ("AI_DATA_REDIS_SENTINEL_AUTH", "false"),
        ("AI_DATA_REDIS_PASSWORD", SECRET),
        ("AI_DATA_REDIS_DATABASE", "2"),
    ]))
    .expect("env");
    assert_eq!(
        config.topology,
        Topology::Sentinel {
            service_name: "mymaster".into(),
            sentinels: vec![
                HostPort::new("s1", 26379),
                HostPort::new("s2", 26379),
                HostPort::new("::1", 26380)
            ],
            sentinel_auth: false,
        }
    );
    assert_eq!(config.database().expect("db"), 2);
    let shown = config.to_string();
    assert!(
        shown.contains("sentinel master mymaster via s1:26379,s2:26379,[::1]:26380"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET));
    config.fred_builder().expect("builds");

    let from_url =
        RedisConfig::from_url("redis-sentinel://:pw@sa:26379/1?sentinelServiceName=cache&node=sb")
            .expect("url");
    assert_eq!(
        from_url.topology,
        Topology::Sentinel {
            service_name: "cache".into(),
            sentinels: vec![HostPort::new("sa", 26379), HostPort::new("sb", 26379)],
            sentinel_auth: true,
        }
    );
}

#[test]
fn cluster_nodes_and_its_single_database() {
    let config = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_CLUSTER_NODES", "n1:7000,n2:7001"),
        ("AI_DATA_REDIS_POOL_MAX_SIZE", "8"),
    ]))
    .expect_err("a host or URL is still required by the shared config");
    assert_eq!(config.kind(), ErrorKind::Config);

    let config = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_HOST", "n0"),
        ("AI_DATA_REDIS_CLUSTER_NODES", "n1:7000,n2:7001"),
        ("AI_DATA_REDIS_POOL_MAX_SIZE", "8"),
    ]))
    .expect("env");
    assert_eq!(config.endpoints().len(), 2);
    assert_eq!(config.pool_size, 8);

    let err =
        RedisConfig::from_env_source(&env(&[("AI_DATA_REDIS_URL", "redis-cluster://n1:7000/4")]))
            .expect_err("cluster has only db 0");
    assert!(err.message().contains("database"), "{err}");
}

#[test]
fn bad_values_name_their_variables() {
    for (var, value) in [
        ("AI_DATA_REDIS_DATABASE", "zero"),
        ("AI_DATA_REDIS_MODE", "ring"),
        ("AI_DATA_REDIS_COMMAND_TIMEOUT", "soon"),
        ("AI_DATA_REDIS_SENTINELS", "a:b:c"),
        ("AI_DATA_REDIS_POOL_MAX_SIZE", "0"),
        ("AI_DATA_REDIS_CONNECT_TIMEOUT", "0s"),
    ] {
        let err = RedisConfig::from_env_source(&env(&[("AI_DATA_REDIS_HOST", "h"), (var, value)]))
            .expect_err(var);
        assert_eq!(err.kind(), ErrorKind::Config, "{var}: {err}");
        let named = var.trim_start_matches("AI_DATA_REDIS_");
        assert!(err.message().contains(named), "{var}: {err}");
    }
    let err = RedisConfig::from_url("memcached://h:1").expect_err("scheme");
    assert!(err.message().contains("scheme"), "{err}");
}

#[test]
fn timeouts_and_reconnect_from_env() {
    let config = RedisConfig::from_env_source(&env(&[
        ("AI_DATA_REDIS_URL", "redis://h"),
        ("AI_DATA_REDIS_CONNECT_TIMEOUT", "3s"),
        ("AI_DATA_REDIS_COMMAND_TIMEOUT", "150ms"),
        ("AI_DATA_REDIS_RECONNECT_MAX_ATTEMPTS", "7"),
        ("AI_DATA_REDIS_RECONNECT_MIN_DELAY", "20ms"),
        ("AI_DATA_REDIS_RECONNECT_MAX_DELAY", "1s"),
    ]))
    .expect("env");
    assert_eq!(config.connection.connect_timeout, Duration::from_secs(3));
    assert_eq!(config.command_timeout, Duration::from_millis(150));
    assert_eq!(
        config.reconnect,
        Reconnect::new(7, Duration::from_millis(20), Duration::from_secs(1))
    );
    let builder = config.fred_builder().expect("builds");
    assert_eq!(
        builder.get_performance_config().default_command_timeout,
        Duration::from_millis(150)
    );
    assert_eq!(
        builder.get_connection_config().connection_timeout,
        Duration::from_secs(3)
    );
}

#[test]
fn host_port_parsing() {
    assert_eq!(
        HostPort::parse_with_default("h", 1).expect("h"),
        HostPort::new("h", 1)
    );
    assert_eq!(
        "[fe80::1]:7".parse::<HostPort>().expect("v6"),
        HostPort::new("fe80::1", 7)
    );
    assert_eq!(HostPort::new("fe80::1", 7).to_string(), "[fe80::1]:7");
    for bad in ["", ":1", "h:", "h:70000", "[::1", "::1"] {
        assert!(HostPort::parse_with_default(bad, 1).is_err(), "{bad}");
    }
}
