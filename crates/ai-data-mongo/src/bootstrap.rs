//! Idempotent creation of the seed's collections and indexes (seed §3.1.2
//! and §3.4), and optionally of its least-privilege users (§3.1, §3.3.1).

use std::fmt;
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, ExposeSecret, Result, SecretString, Store};

use crate::config::DEFAULT_TASK_STATUS_TTL;
use crate::error::{code, from_driver_error, map_err, server_code};

/// Collection of structured service logs.
pub const SYSTEM_LOGS: &str = "system_logs";
/// Collection of versioned component configurations.
pub const CONFIGURATIONS: &str = "configurations";
/// Collection of task states, expired by a TTL index on `last_updated`.
pub const TASK_STATUS_CACHE: &str = "task_status_cache";
/// The seed's collections, in the seed's order.
pub const COLLECTIONS: [&str; 3] = [SYSTEM_LOGS, CONFIGURATIONS, TASK_STATUS_CACHE];

/// The seed's read-write application user (`readWrite` + `dbAdmin`).
pub const SEED_APP_USER: &str = "ai_platform_user";
/// The seed's read-only user (`read`).
pub const SEED_READ_ONLY_USER: &str = "readonly_user";

/// One index the seed asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IndexSpec {
    /// Collection the index belongs to.
    pub collection: &'static str,
    /// Index name, as mongod names it by default (`level_1_timestamp_1`).
    pub name: String,
    /// Key pattern, in order.
    pub keys: Document,
    /// TTL, for the one TTL index.
    pub expire_after: Option<Duration>,
}

impl IndexSpec {
    fn new(collection: &'static str, keys: Document, expire_after: Option<Duration>) -> Self {
        let name = keys
            .iter()
            .map(|(k, v)| format!("{k}_{}", key_value_text(v)))
            .collect::<Vec<_>>()
            .join("_");
        IndexSpec {
            collection,
            name,
            keys,
            expire_after,
        }
    }

    fn model(&self) -> IndexModel {
        let options = IndexOptions::builder()
            .name(self.name.clone())
            .expire_after(self.expire_after)
            .build();
        IndexModel::builder()
            .keys(self.keys.clone())
            .options(options)
            .build()
    }
}

/// The seed's indexes, all ascending and none unique, with the given TTL
/// on `task_status_cache.last_updated`.
///
/// ```
/// use std::time::Duration;
/// let specs = ai_data_mongo::seed_indexes(Duration::from_secs(86_400));
/// let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, [
///     "timestamp_1", "level_1_timestamp_1", "service_1_timestamp_1",
///     "component_1_environment_1_version_1", "is_active_1",
///     "task_id_1", "status_1_last_updated_1", "task_type_1_status_1", "last_updated_1",
/// ]);
/// assert_eq!(specs[8].expire_after, Some(Duration::from_secs(86_400)));
/// ```
pub fn seed_indexes(task_status_ttl: Duration) -> Vec<IndexSpec> {
    vec![
        IndexSpec::new(SYSTEM_LOGS, doc! { "timestamp": 1 }, None),
        IndexSpec::new(SYSTEM_LOGS, doc! { "level": 1, "timestamp": 1 }, None),
        IndexSpec::new(SYSTEM_LOGS, doc! { "service": 1, "timestamp": 1 }, None),
        IndexSpec::new(
            CONFIGURATIONS,
            doc! { "component": 1, "environment": 1, "version": 1 },
            None,
        ),
        IndexSpec::new(CONFIGURATIONS, doc! { "is_active": 1 }, None),
        IndexSpec::new(TASK_STATUS_CACHE, doc! { "task_id": 1 }, None),
        IndexSpec::new(
            TASK_STATUS_CACHE,
            doc! { "status": 1, "last_updated": 1 },
            None,
        ),
        IndexSpec::new(
            TASK_STATUS_CACHE,
            doc! { "task_type": 1, "status": 1 },
            None,
        ),
        IndexSpec::new(
            TASK_STATUS_CACHE,
            doc! { "last_updated": 1 },
            Some(task_status_ttl),
        ),
    ]
}

/// What a user may do in the platform database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserAccess {
    /// `readWrite` + `dbAdmin`: the services' account.
    ReadWrite,
    /// `read`: reporting and debugging.
    ReadOnly,
}

impl UserAccess {
    /// The built-in role names the seed grants.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            UserAccess::ReadWrite => &["readWrite", "dbAdmin"],
            UserAccess::ReadOnly => &["read"],
        }
    }
}

/// A least-privilege user to create in the platform database.
///
/// `Debug` shows `***` for the password.
///
/// ```
/// use ai_data_mongo::{PlatformUser, UserAccess};
/// let user = PlatformUser::seed_app("s3cret".to_owned());
/// assert_eq!(user.name(), "ai_platform_user");
/// assert_eq!(user.access(), UserAccess::ReadWrite);
/// assert!(!format!("{user:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PlatformUser {
    name: String,
    password: SecretString,
    access: UserAccess,
}

impl PlatformUser {
    /// A user with the given access.
    pub fn new(
        name: impl Into<String>,
        password: impl Into<SecretString>,
        access: UserAccess,
    ) -> Self {
        PlatformUser {
            name: name.into(),
            password: password.into(),
            access,
        }
    }

    /// The seed's application user `ai_platform_user` (`readWrite` + `dbAdmin`).
    pub fn seed_app(password: impl Into<SecretString>) -> Self {
        Self::new(SEED_APP_USER, password, UserAccess::ReadWrite)
    }

    /// The seed's read-only user `readonly_user` (`read`).
    pub fn seed_read_only(password: impl Into<SecretString>) -> Self {
        Self::new(SEED_READ_ONLY_USER, password, UserAccess::ReadOnly)
    }

    /// User name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Granted access.
    pub fn access(&self) -> UserAccess {
        self.access
    }

    fn roles_doc(&self, db: &str) -> Vec<Bson> {
        self.access
            .roles()
            .iter()
            .map(|role| Bson::Document(doc! { "role": *role, "db": db }))
            .collect()
    }
}

impl fmt::Debug for PlatformUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformUser")
            .field("name", &self.name)
            .field("password", &"***")
            .field("access", &self.access)
            .finish()
    }
}

/// Creates the seed's collections and indexes, and optionally its users.
///
/// Idempotent: what exists as specified is left alone. An index that
/// exists under the same name or key pattern with different options is
/// never silently kept: it is reported as [`IndexStatus::Conflict`] (and
/// [`BootstrapReport::into_result`] turns that into an
/// [`ErrorKind::Conflict`] error). With [`Bootstrap::update_ttl`], a TTL
/// index whose only difference is `expireAfterSeconds` is changed in place
/// with `collMod` instead.
///
/// Users need a client authenticated as a user administrator; they are
/// created in the database the bootstrap runs on (as the seed does) and
/// updated (password and roles) when they exist.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use std::time::Duration;
/// use ai_data_mongo::Bootstrap;
///
/// let report = Bootstrap::new()
///     .task_status_ttl(Duration::from_secs(3600))
///     .run(store.database())
///     .await?
///     .into_result()?; // an index with other options is an error
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Bootstrap {
    task_status_ttl: Duration,
    update_ttl: bool,
    users: Vec<PlatformUser>,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self::new()
    }
}

impl Bootstrap {
    /// The seed's collections and indexes, TTL 86400 s, no users.
    pub fn new() -> Self {
        Bootstrap {
            task_status_ttl: DEFAULT_TASK_STATUS_TTL,
            update_ttl: false,
            users: Vec::new(),
        }
    }

    /// TTL of `task_status_cache` documents (whole seconds).
    #[must_use]
    pub fn task_status_ttl(mut self, ttl: Duration) -> Self {
        self.task_status_ttl = ttl;
        self
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
    /// operation `bootstrap` (target: the database name).
    pub async fn run(&self, db: &Database) -> Result<BootstrapReport> {
        Operation::new(Store::Mongo, "bootstrap")
            .target(db.name())
            .run(self.run_unobserved(db))
            .await
    }

    /// [`Bootstrap::run`] without its own [`Operation`] (for callers that
    /// observe the whole call themselves).
    pub(crate) async fn run_unobserved(&self, db: &Database) -> Result<BootstrapReport> {
        let mut report = BootstrapReport::default();
        let ns = db.name().to_owned();
        let existing = db
            .list_collection_names()
            .await
            .map_err(map_err("list_collections", &ns))?;
        for name in COLLECTIONS {
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
                tracing::info!(collection = name, database = %ns, "collection created");
            }
            report.collections.push(CollectionOutcome {
                collection: name.to_owned(),
                created,
            });
        }
        for name in COLLECTIONS {
            let specs: Vec<IndexSpec> = seed_indexes(self.task_status_ttl)
                .into_iter()
                .filter(|s| s.collection == name)
                .collect();
            self.ensure_indexes(db, name, &specs, &mut report).await?;
        }
        for user in &self.users {
            report.users.push(ensure_user(db, user).await?);
        }
        Ok(report)
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
                    tracing::warn!(index = %outcome, "index differs from the seed; left as it is")
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

/// Create `user` in `db`, or update its password and roles when it exists.
async fn ensure_user(db: &Database, user: &PlatformUser) -> Result<UserOutcome> {
    let target = format!("{}/{}", db.name(), user.name);
    let info = db
        .run_command(doc! { "usersInfo": { "user": &user.name, "db": db.name() } })
        .await
        .map_err(map_err("users_info", &target))?;
    let exists = info
        .get_array("users")
        .map(|users| !users.is_empty())
        .unwrap_or(false);
    let roles = user.roles_doc(db.name());
    let pwd = user.password.expose_secret();
    let create = doc! { "createUser": &user.name, "pwd": pwd, "roles": roles.clone() };
    let update = doc! { "updateUser": &user.name, "pwd": pwd, "roles": roles };
    let created = if exists {
        false
    } else {
        match db.run_command(create).await {
            Ok(_) => true,
            Err(e) if server_code(&e) == Some(code::USER_EXISTS) => false,
            Err(e) => return Err(from_driver_error(e, "create_user", target)),
        }
    };
    if !created {
        db.run_command(update)
            .await
            .map_err(map_err("update_user", &target))?;
    }
    tracing::info!(user = %user.name, database = db.name(), created, "user ensured");
    Ok(UserOutcome {
        user: user.name.clone(),
        access: user.access,
        created,
    })
}

fn index_name(model: &IndexModel) -> Option<&str> {
    model.options.as_ref().and_then(|o| o.name.as_deref())
}

/// `1` for numbers equal to 1 (whatever their BSON type), else the text.
fn key_value_text(v: &Bson) -> String {
    match number(v) {
        Some(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Some(n) => n.to_string(),
        None => match v {
            Bson::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

fn number(v: &Bson) -> Option<f64> {
    match v {
        Bson::Int32(i) => Some(f64::from(*i)),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// Same fields in the same order with the same directions (1 == 1.0 == 1i64).
fn keys_equal(a: &Document, b: &Document) -> bool {
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| {
            ka == kb
                && match (number(va), number(vb)) {
                    (Some(x), Some(y)) => x == y,
                    _ => va == vb,
                }
        })
}

fn describe(model: &IndexModel) -> String {
    let mut text = format!("key {}", model.keys);
    if let Some(o) = &model.options {
        if o.unique == Some(true) {
            text.push_str(", unique");
        }
        if o.sparse == Some(true) {
            text.push_str(", sparse");
        }
        if o.hidden == Some(true) {
            text.push_str(", hidden");
        }
        if let Some(ttl) = o.expire_after {
            text.push_str(&format!(", expireAfterSeconds {}", ttl.as_secs()));
        }
        if let Some(p) = &o.partial_filter_expression {
            text.push_str(&format!(", partialFilterExpression {p}"));
        }
        if o.collation.is_some() {
            text.push_str(", collation");
        }
        if o.weights.is_some() {
            text.push_str(", text weights");
        }
    }
    text
}

/// What the bootstrap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapReport {
    /// One entry per seed collection.
    pub collections: Vec<CollectionOutcome>,
    /// One entry per seed index.
    pub indexes: Vec<IndexOutcome>,
    /// One entry per requested user.
    pub users: Vec<UserOutcome>,
}

impl BootstrapReport {
    /// Indexes that exist with options other than the seed's.
    pub fn conflicts(&self) -> impl Iterator<Item = &IndexOutcome> {
        self.indexes
            .iter()
            .filter(|i| matches!(i.status, IndexStatus::Conflict { .. }))
    }

    /// No conflicting index.
    pub fn is_clean(&self) -> bool {
        self.conflicts().next().is_none()
    }

    /// Whether this run created or changed anything.
    pub fn changed_anything(&self) -> bool {
        self.collections.iter().any(|c| c.created)
            || self.indexes.iter().any(|i| {
                matches!(
                    i.status,
                    IndexStatus::Created | IndexStatus::TtlUpdated { .. }
                )
            })
            || !self.users.is_empty()
    }

    /// The report, or an [`ErrorKind::Conflict`] error naming every
    /// conflicting index with its existing and wanted options.
    pub fn into_result(self) -> Result<Self> {
        let conflicts: Vec<String> = self.conflicts().map(ToString::to_string).collect();
        if conflicts.is_empty() {
            Ok(self)
        } else {
            Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "existing indexes differ from the seed: {}",
                    conflicts.join("; ")
                ),
            )
            .with_store(Store::Mongo)
            .with_operation("bootstrap"))
        }
    }
}

/// What happened to one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectionOutcome {
    /// Collection name.
    pub collection: String,
    /// Created by this run (else it existed).
    pub created: bool,
}

/// What happened to one index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexOutcome {
    /// Collection name.
    pub collection: String,
    /// Index name (the existing one's, when an equivalent index exists under another name).
    pub name: String,
    /// Outcome.
    pub status: IndexStatus,
}

impl fmt::Display for IndexOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: ", self.collection, self.name)?;
        match &self.status {
            IndexStatus::Created => f.write_str("created"),
            IndexStatus::Existing => f.write_str("exists"),
            IndexStatus::TtlUpdated { from, to } => {
                write!(f, "expireAfterSeconds changed from {from} to {to}")
            }
            IndexStatus::Conflict { existing, wanted } => {
                write!(f, "conflict: exists as {existing}, wanted {wanted}")
            }
        }
    }
}

/// Outcome for one index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexStatus {
    /// Created by this run.
    Created,
    /// Already there as specified.
    Existing,
    /// TTL changed with `collMod` ([`Bootstrap::update_ttl`]).
    TtlUpdated {
        /// Old `expireAfterSeconds`.
        from: u64,
        /// New `expireAfterSeconds`.
        to: u64,
    },
    /// An index with this name or key pattern exists with other options; left untouched.
    Conflict {
        /// The existing index.
        existing: String,
        /// The seed's index.
        wanted: String,
    },
}

/// What happened to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserOutcome {
    /// User name.
    pub user: String,
    /// Granted access.
    pub access: UserAccess,
    /// Created by this run (else its password and roles were updated).
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_numerically_and_in_order() {
        assert!(keys_equal(
            &doc! { "a": 1, "b": 1 },
            &doc! { "a": 1.0, "b": 1_i64 }
        ));
        assert!(!keys_equal(
            &doc! { "a": 1, "b": 1 },
            &doc! { "b": 1, "a": 1 }
        ));
        assert!(!keys_equal(&doc! { "a": 1 }, &doc! { "a": -1 }));
        assert!(!keys_equal(&doc! { "a": 1 }, &doc! { "a": "hashed" }));
    }

    #[test]
    fn seed_index_names_follow_mongod() {
        let specs = seed_indexes(Duration::from_secs(60));
        assert_eq!(specs.len(), 9);
        assert!(specs
            .iter()
            .all(|s| s.keys.values().all(|v| v == &Bson::Int32(1))));
        let ttl: Vec<_> = specs.iter().filter(|s| s.expire_after.is_some()).collect();
        assert_eq!(ttl.len(), 1);
        assert_eq!(ttl[0].collection, TASK_STATUS_CACHE);
        assert_eq!(ttl[0].name, "last_updated_1");
    }

    #[test]
    fn conflict_report_becomes_a_conflict_error() {
        let report = BootstrapReport {
            indexes: vec![IndexOutcome {
                collection: "c".into(),
                name: "a_1".into(),
                status: IndexStatus::Conflict {
                    existing: "key { a: 1 }, unique".into(),
                    wanted: "key { a: 1 }".into(),
                },
            }],
            ..BootstrapReport::default()
        };
        assert!(!report.is_clean());
        let err = report.into_result().expect_err("conflict");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.message().contains("c.a_1"), "{err}");
        assert!(err.message().contains("unique"), "{err}");
    }
}
