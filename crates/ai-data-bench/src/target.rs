//! Which store a `--url` names, and whether it is on this machine.

use std::net::IpAddr;
use std::path::PathBuf;

use ai_data_pg::PgConfig;

use crate::error::BenchError;

/// The store under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The in-process exact `MemoryStore` (`--url memory`).
    Memory,
    /// PostgreSQL + pgvector (`postgres://` or `postgresql://`).
    Postgres {
        /// The URL as given (may hold a password: never printed).
        url: String,
    },
    // Weaviate (`http://`, `https://`): add a variant here, a connect arm in
    // `main.rs` and an `Endpoint` check below; the rest is backend-neutral.
}

impl Target {
    /// Recognise the URL's scheme; a usage error for anything else.
    pub(crate) fn parse(url: &str) -> Result<Target, BenchError> {
        let trimmed = url.trim();
        if trimmed.eq_ignore_ascii_case("memory") || trimmed.eq_ignore_ascii_case("memory://") {
            return Ok(Target::Memory);
        }
        let scheme = trimmed
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(Target::Postgres {
                url: trimmed.to_owned(),
            }),
            Some("http" | "https") => Err(BenchError::Usage(
                "Weaviate targets (http:// and https:// URLs) are not supported yet; \
                 use a postgres:// URL or `memory`"
                    .into(),
            )),
            _ => Err(BenchError::Usage(
                "--url must be a postgres:// (or postgresql://) URL or `memory`".into(),
            )),
        }
    }

    /// The backend's short name, as reported.
    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Target::Memory => "memory",
            Target::Postgres { .. } => "pgvector",
        }
    }

    /// The URL with its password replaced by `***`, for reports.
    pub(crate) fn redacted(&self) -> String {
        match self {
            Target::Memory => "memory".into(),
            Target::Postgres { url } => redact(url),
        }
    }
}

/// `url` with any password (and `password=` query value) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparsable URL>".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Where a connection actually goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// A Unix-domain socket (directory or file): always local.
    Socket(PathBuf),
    /// A host name or IP address literal.
    Host(String),
}

impl Endpoint {
    /// Whether the endpoint is on this machine without any name lookup:
    /// a Unix socket, `localhost`, an address in 127.0.0.0/8, `::1` (or
    /// `::ffff:127.x.y.z`). Other names, even ones that resolve to loopback,
    /// are not trusted.
    pub(crate) fn is_loopback(&self) -> bool {
        match self {
            Endpoint::Socket(_) => true,
            Endpoint::Host(host) => is_loopback_host(host),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Socket(path) => write!(f, "Unix socket {}", path.display()),
            Endpoint::Host(host) => write!(f, "host {host}"),
        }
    }
}

/// See [`Endpoint::is_loopback`].
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    if host.starts_with('/') {
        return true; // libpq/sqlx: a host starting with `/` is a socket directory
    }
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower == "localhost." {
        return true;
    }
    let bare = lower
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&lower);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// Where a PostgreSQL configuration connects, as sqlx resolves it: the URL's
/// host, its `host=` / `hostaddr=` parameters, and for a URL without host
/// the `PGHOST` / `PGHOSTADDR` variables or the local socket directory.
pub(crate) fn postgres_endpoint(config: &PgConfig) -> Result<Endpoint, BenchError> {
    let options = config
        .primary_options()
        .map_err(|e| BenchError::Usage(format!("--url: {}", e.message())))?;
    if let Some(socket) = options.get_socket() {
        return Ok(Endpoint::Socket(socket.clone()));
    }
    let host = options.get_host();
    if host.starts_with('/') {
        return Ok(Endpoint::Socket(PathBuf::from(host)));
    }
    Ok(Endpoint::Host(host.to_owned()))
}

/// Refuse a non-loopback endpoint unless `allow_remote` (exit code 2).
pub(crate) fn check_loopback(endpoint: &Endpoint, allow_remote: bool) -> Result<(), BenchError> {
    if endpoint.is_loopback() || allow_remote {
        return Ok(());
    }
    Err(BenchError::Remote(format!(
        "refusing to benchmark {endpoint}: it is not loopback (localhost, 127.0.0.0/8, ::1 or a \
         Unix socket). The benchmark writes a collection there and loads the server; pass \
         --allow-remote if that is intended."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        let config = PgConfig::from_url(url).expect("config");
        postgres_endpoint(&config).expect("endpoint")
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "::ffff:127.0.0.1",
            "/var/run/postgresql",
        ] {
            assert!(is_loopback_host(host), "{host} should be loopback");
        }
        for host in [
            "db.example.com",
            "localhost.example.com",
            "mylocalhost",
            "10.0.0.5",
            "192.168.1.2",
            "0.0.0.0",
            "128.0.0.1",
            "::",
            "[2001:db8::1]",
            "::ffff:10.0.0.1",
            "2130706433",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host} should not be loopback");
        }
    }

    #[test]
    fn postgres_urls_resolve_to_their_real_endpoint() {
        let local = [
            "postgres://u:p@localhost:5432/db",
            "postgres://u:p@127.0.0.1:55432/db",
            "postgresql://u@[::1]:5432/db",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
            "postgres://u@localhost/db?host=/tmp",
        ];
        for url in local {
            assert!(endpoint(url).is_loopback(), "{url}");
        }
        let remote = [
            "postgres://u:p@db.example.com:5432/x",
            "postgres://u:p@10.1.2.3/x",
            // A query parameter overrides the URL's host.
            "postgres://u@localhost/x?host=db.example.com",
            "postgres://u@localhost/x?hostaddr=10.0.0.7",
        ];
        for url in remote {
            assert!(!endpoint(url).is_loopback(), "{url}");
        }
        assert_eq!(
            endpoint("postgres://u@localhost/db?host=/tmp"),
            Endpoint::Socket("/tmp".into())
        );
    }

    #[test]
    fn refusal_unless_allowed() {
        let remote = Endpoint::Host("db.example.com".into());
        let err = check_loopback(&remote, false).expect_err("refused");
        assert_eq!(err.exit_code_number(), 2);
        assert!(err.to_string().contains("--allow-remote"), "{err}");
        assert!(check_loopback(&remote, true).is_ok());
        assert!(check_loopback(&Endpoint::Host("127.0.0.1".into()), false).is_ok());
        assert!(check_loopback(&Endpoint::Socket("/tmp".into()), false).is_ok());
    }

    #[test]
    fn targets_by_scheme() {
        assert_eq!(Target::parse("memory").expect("memory"), Target::Memory);
        assert!(matches!(
            Target::parse("postgresql://h/db"),
            Ok(Target::Postgres { .. })
        ));
        for bad in ["http://weaviate:8080", "mysql://h/db", "h:5432"] {
            let err = Target::parse(bad).expect_err(bad);
            assert_eq!(err.exit_code_number(), 2, "{bad}");
        }
    }

    #[test]
    fn redaction_hides_passwords() {
        let shown =
            redact("postgres://app:s3cret@127.0.0.1:5432/db?password=other&sslmode=disable");
        assert!(
            !shown.contains("s3cret") && !shown.contains("other"),
            "{shown}"
        );
        assert!(shown.contains("app:***@127.0.0.1:5432/db"), "{shown}");
        assert!(shown.contains("sslmode=disable"), "{shown}");
        assert_eq!(
            Target::Postgres {
                url: "postgres://h/db".into()
            }
            .redacted(),
            "postgres://h/db"
        );
    }
}
