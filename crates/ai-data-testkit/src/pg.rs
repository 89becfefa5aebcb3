//! A fresh PostgreSQL database per test, with pgvector installed.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::{cleanup_blocking, test_var, unavailable, unique_name, PG_URL_VAR};

/// One test's own database on the test server. Dropped (with `FORCE`) when
/// the handle is dropped.
#[derive(Debug)]
pub struct PgTestDb {
    /// URL of the test's database (contains the throwaway server's password).
    pub url: String,
    /// Name of the test's database.
    pub database: String,
    /// A small pool on the test's database.
    pub pool: PgPool,
    admin: PgConnectOptions,
    #[cfg(feature = "testcontainers")]
    _container: Option<testcontainers::ContainerAsync<testcontainers_modules::postgres::Postgres>>,
}

/// A fresh database with the `vector` extension, or `None` (skip) when no
/// PostgreSQL is configured and stores are not required.
pub async fn pg() -> Option<PgTestDb> {
    #[cfg(feature = "testcontainers")]
    let mut container = None;
    let admin_url = match test_var(PG_URL_VAR) {
        Some(url) => url,
        None => {
            #[cfg(feature = "testcontainers")]
            if crate::docker_available() {
                let (c, url) = start_container().await;
                container = Some(c);
                url
            } else {
                return unavailable(
                    "PostgreSQL",
                    &format!("{PG_URL_VAR} is not set and Docker is not reachable"),
                );
            }
            #[cfg(not(feature = "testcontainers"))]
            return unavailable("PostgreSQL", &format!("{PG_URL_VAR} is not set"));
        }
    };
    let admin: PgConnectOptions = match admin_url.parse() {
        Ok(options) => options,
        Err(e) => panic!("{PG_URL_VAR} is not a PostgreSQL URL: {e}"),
    };
    let mut conn = match admin.connect().await {
        Ok(conn) => conn,
        Err(e) => {
            return unavailable(
                "PostgreSQL",
                &format!("cannot connect to {PG_URL_VAR}: {e}"),
            )
        }
    };
    let database = unique_name("t_");
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    let options = admin.clone().database(&database);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("connect to the test database");
    sqlx::query("CREATE EXTENSION IF NOT EXISTS vector")
        .execute(&pool)
        .await
        .expect("install pgvector in the test database");
    let url = replace_database(&admin_url, &database);
    Some(PgTestDb {
        url,
        database,
        pool,
        admin,
        #[cfg(feature = "testcontainers")]
        _container: container,
    })
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(feature = "testcontainers")]
async fn start_container() -> (
    testcontainers::ContainerAsync<testcontainers_modules::postgres::Postgres>,
    String,
) {
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    let container = testcontainers_modules::postgres::Postgres::default()
        .with_name("pgvector/pgvector")
        .with_tag("pg16")
        .start()
        .await
        .expect("start the pgvector container");
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .expect("mapped port");
    let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
    (container, url)
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let database = self.database.clone();
        // Not `pool.close()`: its connections belong to the test's runtime,
        // which is blocked in this drop. FORCE ends them server-side.
        cleanup_blocking(move || async move {
            if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_is_replaced_and_query_kept() {
        assert_eq!(
            replace_database("postgres://u:p@h:1/postgres?sslmode=disable", "t_1"),
            "postgres://u:p@h:1/t_1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:1", "t_2"),
            "postgres://h:1/t_2"
        );
    }
}
