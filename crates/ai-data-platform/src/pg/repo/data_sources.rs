//! `data_platform.data_sources`.

use std::fmt;

use ai_data_core::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::FromRow;

use ai_data_pg::SqlxResultExt;
use ai_data_pg::{PgDatabase, Repository};

const TABLE: &str = "data_platform.data_sources";
const COLUMNS: &str =
    "id, name, description, source_type, connection_info, created_by, created_at, updated_at, is_active";

/// A data source's connection details. They often hold credentials, so
/// `Debug` and `Display` show `***`; read them with [`ConnectionInfo::expose`].
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConnectionInfo(serde_json::Value);

impl ConnectionInfo {
    /// Wrap a JSON value.
    pub fn new(value: serde_json::Value) -> Self {
        ConnectionInfo(value)
    }

    /// The JSON value. Do not log it.
    pub fn expose(&self) -> &serde_json::Value {
        &self.0
    }
}

impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectionInfo(***)")
    }
}

impl fmt::Display for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A registered data source.
///
/// ```
/// use ai_data_platform::pg::ConnectionInfo;
/// let info = ConnectionInfo::new(serde_json::json!({"password": "s3cret"}));
/// assert!(!format!("{info:?} {info}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct DataSource {
    /// Primary key.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Kind of source (`postgres`, `s3`, `kafka`, ...).
    pub source_type: String,
    /// Connection details (redacted in `Debug`).
    pub connection_info: Json<ConnectionInfo>,
    /// Creator.
    pub created_by: Option<i32>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Maintained by a trigger.
    pub updated_at: DateTime<Utc>,
    /// Inactive sources are hidden from [`DataSourceRepo::list`].
    pub is_active: bool,
}

/// A data source to register.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewDataSource {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Kind of source.
    pub source_type: String,
    /// Connection details.
    pub connection_info: ConnectionInfo,
    /// Creator.
    pub created_by: Option<i32>,
}

impl NewDataSource {
    /// A source with the required fields.
    pub fn new(
        name: impl Into<String>,
        source_type: impl Into<String>,
        connection_info: serde_json::Value,
    ) -> Self {
        NewDataSource {
            name: name.into(),
            description: None,
            source_type: source_type.into(),
            connection_info: ConnectionInfo::new(connection_info),
            created_by: None,
        }
    }
}

/// Data sources: register, get, list active ones, update connection details, deactivate.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::{DataSourceRepo, NewDataSource};
/// let sources = DataSourceRepo::new(db);
/// let s3 = sources.create(NewDataSource::new("raw", "s3", serde_json::json!({"bucket": "raw"}))).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DataSourceRepo {
    repo: Repository,
}

impl DataSourceRepo {
    /// Lists go to a replica when there is one.
    pub fn new(db: PgDatabase) -> Self {
        DataSourceRepo {
            repo: Repository::new(db),
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.repo = self.repo.primary_only();
        self
    }

    /// Register a source. `connection_info` must be a JSON object.
    pub async fn create(&self, source: NewDataSource) -> Result<DataSource> {
        self.repo
            .db()
            .observe("data_sources.create", TABLE, self.insert(source))
            .await
    }

    async fn insert(&self, source: NewDataSource) -> Result<DataSource> {
        if !source.connection_info.expose().is_object() {
            return Err(Error::invalid_input(
                "connection_info must be a JSON object",
            ));
        }
        if source.name.trim().is_empty() || source.source_type.trim().is_empty() {
            return Err(Error::invalid_input(
                "name and source_type must not be empty",
            ));
        }
        let sql = format!(
            "INSERT INTO data_platform.data_sources (name, description, source_type, connection_info, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        );
        sqlx::query_as::<_, DataSource>(&sql)
            .bind(&source.name)
            .bind(&source.description)
            .bind(&source.source_type)
            .bind(Json(&source.connection_info))
            .bind(source.created_by)
            .fetch_one(self.repo.db().primary())
            .await
            .op("create data source", TABLE)
    }

    /// By id; `NotFound` when absent.
    pub async fn get(&self, id: i32) -> Result<DataSource> {
        self.repo
            .db()
            .observe("data_sources.get", TABLE, async {
                let sql = format!("SELECT {COLUMNS} FROM data_platform.data_sources WHERE id = $1");
                sqlx::query_as::<_, DataSource>(&sql)
                    .bind(id)
                    .fetch_optional(self.repo.db().primary())
                    .await
                    .op("get data source", TABLE)?
                    .ok_or_else(|| not_found(id))
            })
            .await
    }

    /// Active sources with id greater than `after`, at most `limit`.
    pub async fn list(&self, after: Option<i32>, limit: u32) -> Result<Vec<DataSource>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM data_platform.data_sources WHERE is_active AND id > $1 ORDER BY id LIMIT $2"
        );
        let read = self.repo.read(|pool| {
            let sql = sql.clone();
            async move {
                sqlx::query_as::<_, DataSource>(&sql)
                    .bind(after.unwrap_or(0))
                    .bind(i64::from(limit))
                    .fetch_all(&pool)
                    .await
                    .op("list data sources", TABLE)
            }
        });
        self.repo
            .db()
            .observe_counted("data_sources.list", TABLE, read, Vec::len)
            .await
    }

    /// Replace the connection details.
    pub async fn update_connection_info(
        &self,
        id: i32,
        info: ConnectionInfo,
    ) -> Result<DataSource> {
        self.repo
            .db()
            .observe(
                "data_sources.update_connection_info",
                TABLE,
                self.set_connection_info(id, info),
            )
            .await
    }

    async fn set_connection_info(&self, id: i32, info: ConnectionInfo) -> Result<DataSource> {
        if !info.expose().is_object() {
            return Err(Error::invalid_input(
                "connection_info must be a JSON object",
            ));
        }
        let sql = format!(
            "UPDATE data_platform.data_sources SET connection_info = $2 WHERE id = $1 RETURNING {COLUMNS}"
        );
        sqlx::query_as::<_, DataSource>(&sql)
            .bind(id)
            .bind(Json(&info))
            .fetch_optional(self.repo.db().primary())
            .await
            .op("update data source", TABLE)?
            .ok_or_else(|| not_found(id))
    }

    /// Hide a source from lists; whether it existed.
    pub async fn deactivate(&self, id: i32) -> Result<bool> {
        self.repo
            .db()
            .observe("data_sources.deactivate", TABLE, async {
                let done = sqlx::query(
                    "UPDATE data_platform.data_sources SET is_active = false WHERE id = $1",
                )
                .bind(id)
                .execute(self.repo.db().primary())
                .await
                .op("deactivate data source", TABLE)?;
                Ok(done.rows_affected() > 0)
            })
            .await
    }
}

fn not_found(id: i32) -> Error {
    Error::new(ErrorKind::NotFound, format!("no data source {id}")).with_target(TABLE)
}
