//! Idempotent creation of collections and indexes from a spec list
//! ([`Bootstrap`], [`IndexSpec`]), and optionally of least-privilege users
//! ([`PlatformUser`]). The seed's lists are in `ai_data_platform::mongo`.

mod index;
mod report;
mod users;

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::{Database, IndexModel};

use ai_data_core::executor::Executor;
use ai_data_core::{Error, Result, Store};

use crate::error::{code, from_driver_error, map_err, server_code};
use index::{describe, index_name, keys_equal};
use users::ensure_user;

pub use index::IndexSpec;
pub use report::{BootstrapReport, CollectionOutcome, IndexOutcome, IndexStatus, UserOutcome};
pub use users::{PlatformUser, UserAccess};

/// Creates the given collections and indexes, and optionally users.
///
/// Idempotent: what exists as specified is left alone. An index that
/// exists under the same name or key pattern with different options is
/// never silently kept: it is reported as [`IndexStatus::Conflict`] (and
/// [`BootstrapReport::into_result`] turns that into an
/// [`ErrorKind::Conflict`](ai_data_core::ErrorKind::Conflict) error). With
/// [`Bootstrap::update_ttl`], a TTL index whose only difference is
/// `expireAfterSeconds` is changed in place with `collMod` instead.
///
/// Users need a client authenticated as a user administrator; they are
/// created in the database the bootstrap runs on and updated (password and
/// roles) when they exist.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use std::time::Duration;
/// use ai_data_mongo::bson::doc;
/// use ai_data_mongo::{Bootstrap, IndexSpec};
///
/// let bootstrap = Bootstrap::new(
///     ["events"],
///     [
///         IndexSpec::new("events", doc! { "tenant": 1, "at": 1 }, None),
///         IndexSpec::new("events", doc! { "at": 1 }, Some(Duration::from_secs(3600))),
///     ],
/// );
/// let report = store
///     .run_bootstrap(&bootstrap)
///     .await?
///     .into_result()?; // an index with other options is an error
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Bootstrap {
    collections: Vec<String>,
    indexes: Vec<IndexSpec>,
    update_ttl: bool,
    users: Vec<PlatformUser>,
}

impl Bootstrap {
    /// Ensure `collections` (in this order) and `indexes` (grouped by
    /// collection, in this order), no users.
    pub fn new<C, I>(collections: C, indexes: I) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
        I: IntoIterator<Item = IndexSpec>,
    {
        Bootstrap {
            collections: collections.into_iter().map(Into::into).collect(),
            indexes: indexes.into_iter().collect(),
            update_ttl: false,
            users: Vec::new(),
        }
    }

    /// The collections to ensure.
    pub fn collections(&self) -> &[String] {
        &self.collections
    }

    /// The indexes to ensure.
    pub fn indexes(&self) -> &[IndexSpec] {
        &self.indexes
    }

    /// Change an existing TTL index's `expireAfterSeconds` with `collMod`
    /// instead of reporting a conflict (default off).
    #[must_use]
    pub fn update_ttl(mut self, update: bool) -> Self {
        self.update_ttl = update;
        self
    }

    /// Also create (or update) this user.
    #[must_use]
    pub fn with_user(mut self, user: PlatformUser) -> Self {
        self.users.push(user);
        self
    }

    /// Create what is missing in `db` and report on everything.
    ///
    /// Errors only when the server fails; differing indexes are entries in
    /// the report (see [`BootstrapReport::into_result`]). Observed as
    /// operation `bootstrap` (target: the database name) by an
    /// [`Executor`] of its own (no retry); inside another executor call
    /// (such as [`MongoStore::run_bootstrap`](crate::MongoStore::run_bootstrap))
    /// it is part of that call.
    pub async fn run(&self, db: &Database) -> Result<BootstrapReport> {
        Executor::new(Store::Mongo)
            .call("bootstrap")
            .target(db.name())
            .run_once(self.apply(db))
            .await
    }

    async fn apply(&self, db: &Database) -> Result<BootstrapReport> {
        let mut report = BootstrapReport::default();
        let ns = db.name().to_owned();
        let existing = db
            .list_collection_names()
            .await
            .map_err(map_err("list_collections", &ns))?;
        for name in &self.collections {
            let created = if existing.iter().any(|c| c == name) {
                false
            } else {
                match db.create_collection(name).await {
                    Ok(()) => true,
                    // Created concurrently by someone else: fine.
                    Err(e) if server_code(&e) == Some(code::NAMESPACE_EXISTS) => false,
                    Err(e) => {
                        return Err(from_driver_error(
                            e,
                            "create_collection",
                            format!("{ns}.{name}"),
                        ))
                    }
                }
            };
            if created {
                tracing::info!(collection = %name, database = %ns, "collection created");
            }
            report.collections.push(CollectionOutcome {
                collection: name.clone(),
                created,
            });
        }
        for name in self.index_collections() {
            let specs: Vec<IndexSpec> = self
                .indexes
                .iter()
                .filter(|s| s.collection == name)
                .cloned()
                .collect();
            self.ensure_indexes(db, name, &specs, &mut report).await?;
        }
        for user in &self.users {
            report.users.push(ensure_user(db, user).await?);
        }
        Ok(report)
    }

    /// The collections whose indexes to ensure, in order: the listed ones,
    /// then those only the index specs name (in the order they appear).
    fn index_collections(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.collections.iter().map(String::as_str).collect();
        for spec in &self.indexes {
            if !names.contains(&spec.collection) {
                names.push(spec.collection);
            }
        }
        names
    }

    async fn ensure_indexes(
        &self,
        db: &Database,
        collection: &str,
        specs: &[IndexSpec],
        report: &mut BootstrapReport,
    ) -> Result<()> {
        let target = format!("{}.{collection}", db.name());
        let coll = db.collection::<Document>(collection);
        let existing: Vec<IndexModel> = coll
            .list_indexes()
            .await
            .map_err(map_err("list_indexes", &target))?
            .try_collect()
            .await
            .map_err(map_err("list_indexes", &target))?;
        for spec in specs {
            let found = existing
                .iter()
                .find(|m| index_name(m) == Some(spec.name.as_str()))
                .or_else(|| existing.iter().find(|m| keys_equal(&m.keys, &spec.keys)));
            let status = match found {
                None => {
                    coll.create_index(spec.model())
                        .await
                        .map_err(map_err("create_index", &target))?;
                    IndexStatus::Created
                }
                Some(model) => self.compare(db, collection, spec, model).await?,
            };
            let name = match (&status, found.and_then(index_name)) {
                (IndexStatus::Existing, Some(existing_name)) => existing_name.to_owned(),
                _ => spec.name.clone(),
            };
            let outcome = IndexOutcome {
                collection: collection.to_owned(),
                name,
                status,
            };
            match outcome.status {
                IndexStatus::Conflict { .. } => {
                    tracing::warn!(index = %outcome, "index differs from the spec; left as it is")
                }
                IndexStatus::Existing => tracing::debug!(index = %outcome, "index exists"),
                _ => tracing::info!(index = %outcome, "index changed"),
            }
            report.indexes.push(outcome);
        }
        Ok(())
    }

    async fn compare(
        &self,
        db: &Database,
        collection: &str,
        spec: &IndexSpec,
        model: &IndexModel,
    ) -> Result<IndexStatus> {
        let options = model.options.clone().unwrap_or_default();
        let wanted_ttl = spec.expire_after.map(|d| d.as_secs());
        let existing_ttl = options.expire_after.map(|d| d.as_secs());
        let other_options_match = keys_equal(&model.keys, &spec.keys)
            && !options.unique.unwrap_or(false)
            && !options.sparse.unwrap_or(false)
            && !options.hidden.unwrap_or(false)
            && options.partial_filter_expression.is_none()
            && options.collation.is_none()
            && options.weights.is_none();
        if other_options_match && wanted_ttl == existing_ttl {
            return Ok(IndexStatus::Existing);
        }
        if let (true, true, Some(from), Some(to)) = (
            self.update_ttl,
            other_options_match,
            existing_ttl,
            wanted_ttl,
        ) {
            let name = index_name(model).unwrap_or(&spec.name).to_owned();
            let target = format!("{}.{collection}", db.name());
            let to_i64 = i64::try_from(to)
                .map_err(|_| Error::invalid_input("TTL too large").with_store(Store::Mongo))?;
            db.run_command(doc! {
                "collMod": collection,
                "index": { "name": name, "expireAfterSeconds": to_i64 },
            })
            .await
            .map_err(map_err("coll_mod", &target))?;
            return Ok(IndexStatus::TtlUpdated { from, to });
        }
        Ok(IndexStatus::Conflict {
            existing: describe(model),
            wanted: describe(&spec.model()),
        })
    }
}
