//! [`Repository`]: what every typed repository over a [`PgDatabase`]
//! holds, the database and where its lag-tolerant reads go.

use ai_data_core::Result;
use sqlx::PgPool;

use crate::{PgDatabase, ReadFrom};

/// The base of a typed repository: the database and the routing of its
/// lag-tolerant reads (lists, searches). A repository holds one and
/// forwards its `new` and `primary_only` to it; lookups by key and writes
/// go to [`PgDatabase::primary`] whatever [`Repository::reads`] says.
///
/// Cheap to clone (the pools are reference-counted).
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_pg::{map_sqlx, ReadFrom, Repository};
///
/// #[derive(Debug, Clone)]
/// struct TagRepo {
///     repo: Repository,
/// }
///
/// impl TagRepo {
///     async fn names(&self) -> ai_data_core::Result<Vec<String>> {
///         self.repo
///             .read(|pool| async move {
///                 sqlx::query_scalar("SELECT name FROM tags ORDER BY name")
///                     .fetch_all(&pool)
///                     .await
///                     .map_err(|e| map_sqlx(e, "tags.names", "tags"))
///             })
///             .await
///     }
/// }
///
/// let tags = TagRepo { repo: Repository::new(db).primary_only() };
/// assert_eq!(tags.repo.reads(), ReadFrom::Primary);
/// let names = tags.names().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Repository {
    db: PgDatabase,
    reads: ReadFrom,
}

impl Repository {
    /// Lag-tolerant reads go to a replica when there is one.
    pub fn new(db: PgDatabase) -> Self {
        Repository {
            db,
            reads: ReadFrom::Replica,
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.reads = ReadFrom::Primary;
        self
    }

    /// The database.
    pub fn db(&self) -> &PgDatabase {
        &self.db
    }

    /// Where lag-tolerant reads go.
    pub fn reads(&self) -> ReadFrom {
        self.reads
    }

    /// Run a lag-tolerant read where [`Repository::reads`] says
    /// ([`PgDatabase::read`]: a failed replica falls back to the primary).
    pub async fn read<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.db.read(self.reads, op).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_go_to_a_replica_unless_primary_only() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("lazy pool");
        let repo = Repository::new(PgDatabase::from_pools(pool, Vec::new()));
        assert_eq!(repo.reads(), ReadFrom::Replica);
        assert_eq!(repo.clone().primary_only().reads(), ReadFrom::Primary);
        assert!(repo.db().replicas().is_empty());
    }
}
