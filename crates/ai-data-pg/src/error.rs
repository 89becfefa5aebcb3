//! sqlx errors as `ai-data-core` errors.

use ai_data_core::{Error, ErrorKind, Store};

/// Map a sqlx error to an [`Error`] with kind, retryability, operation and
/// target; the sqlx error stays as `source()`.
///
/// | sqlx / SQLSTATE | kind | retryable |
/// |---|---|---|
/// | `RowNotFound` | NotFound | no |
/// | 23505 unique violation | Conflict (names the constraint) | no |
/// | 23503 foreign key, 23502 not null, 23514 check, 22xxx data | InvalidInput | no |
/// | 40001 serialization failure, 40P01 deadlock | Conflict | yes |
/// | 57P01/57P02/57P03 shutdown, 08xxx connection | Connect | yes |
/// | 57014 statement timeout / cancel | Timeout | yes |
/// | 28xxx auth | Auth | no |
/// | 42P01 undefined table, 3D000 unknown database | NotFound | no |
/// | 25006 read-only transaction (a write sent to a replica) | Backend | no |
/// | any other SQLSTATE | Backend, with the server's message | no |
/// | `PoolTimedOut` | Timeout | yes |
/// | I/O, TLS, closed pool connection | Connect | yes |
pub fn map_sqlx(err: sqlx::Error, operation: &'static str, target: &str) -> Error {
    let mapped = match &err {
        sqlx::Error::RowNotFound => Error::new(ErrorKind::NotFound, "no such row"),
        sqlx::Error::Database(db) => map_database(db.as_ref()),
        sqlx::Error::PoolTimedOut => Error::new(
            ErrorKind::Timeout,
            "timed out waiting for a pooled connection",
        ),
        sqlx::Error::PoolClosed => Error::new(ErrorKind::Connect, "the pool is closed").permanent(),
        // The I/O and TLS causes name no secret: shown, so that a log line
        // says "connection refused" and not only that something failed.
        sqlx::Error::Io(e) => Error::new(
            ErrorKind::Connect,
            format!("connection to PostgreSQL failed: {e}"),
        ),
        sqlx::Error::Tls(e) => Error::new(
            ErrorKind::Connect,
            format!("TLS with PostgreSQL failed: {e}"),
        ),
        sqlx::Error::WorkerCrashed => {
            Error::new(ErrorKind::Connect, "connection to PostgreSQL failed")
        }
        sqlx::Error::Configuration(_) => {
            Error::new(ErrorKind::Config, "invalid connection settings")
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => {
            Error::new(ErrorKind::Backend, "a value could not be decoded")
        }
        sqlx::Error::Protocol(_) => {
            Error::new(ErrorKind::Connect, "protocol error on the connection")
        }
        _ => Error::new(ErrorKind::Backend, "PostgreSQL operation failed"),
    };
    mapped
        .with_store(Store::Postgres)
        .with_operation(operation)
        .with_target(target)
        .with_source(err)
}

fn map_database(db: &dyn sqlx::error::DatabaseError) -> Error {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let constraint = db.constraint().unwrap_or("?");
    match code.as_str() {
        "23505" => Error::new(
            ErrorKind::Conflict,
            format!("unique constraint {constraint} violated"),
        ),
        "23503" => Error::invalid_input(format!(
            "foreign key {constraint} violated: the referenced row does not exist"
        )),
        "23502" => Error::invalid_input("a required value is missing (not-null violation)"),
        "23514" => Error::invalid_input(format!("check constraint {constraint} violated")),
        "40001" => Error::new(ErrorKind::Conflict, "serialization failure").temporary(),
        "40P01" => Error::new(ErrorKind::Conflict, "deadlock detected").temporary(),
        "57P01" | "57P02" | "57P03" => Error::new(
            ErrorKind::Connect,
            "the server is shutting down or starting up",
        ),
        "57014" => Error::new(
            ErrorKind::Timeout,
            "statement cancelled (statement_timeout)",
        ),
        "42P01" => Error::new(
            ErrorKind::NotFound,
            "relation does not exist (are migrations applied?)",
        ),
        "3D000" => Error::new(ErrorKind::NotFound, "database does not exist"),
        "25006" => Error::new(
            ErrorKind::Backend,
            "write refused: read-only transaction (a replica?)",
        ),
        c if c.starts_with("08") => Error::new(ErrorKind::Connect, "connection exception"),
        c if c.starts_with("28") => Error::new(ErrorKind::Auth, "authentication failed"),
        c if c.starts_with("22") => Error::invalid_input(format!("invalid value (SQLSTATE {c})")),
        // The server's primary message (never its DETAIL, which may quote row values).
        c => Error::new(
            ErrorKind::Backend,
            format!("database error (SQLSTATE {c}): {}", db.message()),
        ),
    }
}

/// Map a sqlx result in one call: `.op(operation, target)` is
/// `.map_err(|e| map_sqlx(e, operation, target))`.
///
/// ```no_run
/// # async fn demo(pool: sqlx::PgPool) -> ai_data_core::Result<()> {
/// use ai_data_pg::SqlxResultExt;
/// let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tags")
///     .fetch_one(&pool)
///     .await
///     .op("tags.count", "tags")?;
/// # Ok(()) }
/// ```
pub trait SqlxResultExt<T> {
    /// The error mapped by [`map_sqlx`] with this operation and target.
    fn op(self, operation: &'static str, target: &str) -> Result<T, Error>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn op(self, operation: &'static str, target: &str) -> Result<T, Error> {
        self.map_err(|e| map_sqlx(e, operation, target))
    }
}
