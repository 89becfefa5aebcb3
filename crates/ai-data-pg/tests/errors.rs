//! Each error mapping, provoked for real, on tables of the tests' own.

mod common;

use std::time::Duration;

use ai_data_core::ErrorKind;
use ai_data_pg::{map_sqlx, PgConfig, PgDatabase, SqlxResultExt};

/// A users table shaped like the platform's `auth.users` keys.
const USERS: &str = "CREATE TABLE users (id SERIAL PRIMARY KEY, \
     username VARCHAR(150) UNIQUE NOT NULL, email VARCHAR(254) UNIQUE NOT NULL)";

async fn create_user(db: &PgDatabase, username: &str, email: &str) -> ai_data_core::Result<i32> {
    sqlx::query_scalar("INSERT INTO users (username, email) VALUES ($1, $2) RETURNING id")
        .bind(username)
        .bind(email)
        .fetch_one(db.primary())
        .await
        .op("users.create", "users")
}

#[tokio::test]
async fn unique_violation_is_conflict_naming_the_constraint() {
    let Some((_t, db)) = common::connected().await else {
        return;
    };
    common::execute(&db, &[USERS]).await;
    create_user(&db, "dup", "dup@example.com")
        .await
        .expect("first");
    let err = create_user(&db, "dup", "other@example.com")
        .await
        .expect_err("dup");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("users_username_key"), "{err}");
    assert!(!err.is_retryable());
    assert!(
        std::error::Error::source(&err).is_some(),
        "driver error kept"
    );
}

#[tokio::test]
async fn foreign_key_violation_is_invalid_input() {
    let Some((_t, db)) = common::connected().await else {
        return;
    };
    common::execute(
        &db,
        &[
            USERS,
            "CREATE TABLE permissions (id SERIAL PRIMARY KEY, code VARCHAR(150) UNIQUE NOT NULL)",
            "CREATE TABLE user_permissions ( \
                 user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
                 permission_id INTEGER NOT NULL REFERENCES permissions (id) ON DELETE CASCADE, \
                 PRIMARY KEY (user_id, permission_id))",
        ],
    )
    .await;
    // A grant to a user that does not exist.
    let err = sqlx::query(
        "WITH p AS (INSERT INTO permissions (code) VALUES ($2) \
           ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id) \
         INSERT INTO user_permissions (user_id, permission_id) SELECT $1, id FROM p \
         ON CONFLICT DO NOTHING",
    )
    .bind(424_242)
    .bind("x.y")
    .execute(db.primary())
    .await
    .op("grant permission", "user_permissions")
    .expect_err("fk");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("foreign key"), "{err}");
}

#[tokio::test]
async fn statement_timeout_is_a_retryable_timeout() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let config = PgConfig::from_url(&test_db.url)
        .expect("url")
        .with_statement_timeout(Some(Duration::from_millis(100)));
    let db = PgDatabase::connect(&config).await.expect("connect");
    let err = sqlx::query("SELECT pg_sleep(5)")
        .execute(db.primary())
        .await
        .map_err(|e| map_sqlx(e, "sleep", "-"))
        .expect_err("cancelled");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn serialization_failure_is_retryable() {
    let Some((_t, db)) = common::connected().await else {
        return;
    };
    common::execute(
        &db,
        &[
            "CREATE TABLE system_config (key VARCHAR(200) PRIMARY KEY, value JSONB NOT NULL)",
            "INSERT INTO system_config (key, value) VALUES ('k', '1'), ('j', '1')",
        ],
    )
    .await;
    let mut a = db.primary().begin().await.expect("tx a");
    let mut b = db.primary().begin().await.expect("tx b");
    for tx in [&mut a, &mut b] {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .execute(&mut **tx)
            .await
            .expect("iso");
        sqlx::query("SELECT sum((value)::text::int) FROM system_config")
            .execute(&mut **tx)
            .await
            .expect("read");
    }
    sqlx::query("UPDATE system_config SET value = '2' WHERE key = 'k'")
        .execute(&mut *a)
        .await
        .expect("a writes");
    sqlx::query("UPDATE system_config SET value = '2' WHERE key = 'j'")
        .execute(&mut *b)
        .await
        .expect("b writes");
    a.commit().await.expect("a commits");
    let err = b
        .commit()
        .await
        .map_err(|e| map_sqlx(e, "commit", "system_config"))
        .expect_err("b must fail");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn terminated_backend_is_a_retryable_connect_error() {
    let Some((_t, db)) = common::connected().await else {
        return;
    };
    let mut victim = db.primary().acquire().await.expect("connection");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *victim)
        .await
        .expect("pid");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(db.primary())
        .await
        .expect("terminate");
    assert!(killed);
    let err = sqlx::query("SELECT 1")
        .execute(&mut *victim)
        .await
        .map_err(|e| map_sqlx(e, "select", "-"))
        .expect_err("connection was terminated");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn wrong_password_is_auth_and_closed_port_is_connect() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let mut url = url::Url::parse(&test_db.url).expect("url");
    url.set_password(Some("definitely-wrong"))
        .expect("password");
    let err = PgDatabase::connect(&PgConfig::from_url(url.as_str()).expect("url"))
        .await
        .expect_err("auth");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    assert!(!format!("{err} {err:?}").contains("definitely-wrong"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    // The pool's acquire timeout is left at its 30 s default: connect must
    // not wait for it, and must say what happened.
    let config = PgConfig::from_url(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .expect("url")
        .with_connect_timeout(Duration::from_secs(5));
    let started = std::time::Instant::now();
    let err = PgDatabase::connect(&config)
        .await
        .expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(err.is_retryable());
}
