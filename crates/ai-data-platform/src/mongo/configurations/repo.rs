//! [`ConfigurationRepo`]: publish, activate, read and roll back versions,
//! each method one operation of the store's executor.

use std::sync::Arc;
use std::time::Duration;

use ai_data_mongo::bson::{doc, to_document, DateTime, Document};
use ai_data_mongo::mongodb::Collection;
use ai_data_mongo::{is_duplicate_key, map_err, validate_field_names, MongoStore};
use futures::TryStreamExt;
use tokio::sync::OnceCell;

use ai_data_core::executor::Call;
use ai_data_core::{Error, ErrorKind, Result, RetryPolicy, Store};

use super::{ActivationMode, Configuration, NewConfiguration};
use crate::mongo::CONFIGURATIONS_COLLECTION;

/// Attempts at claiming a version number before [`ConfigurationRepo::publish`] gives up.
const PUBLISH_ATTEMPTS: usize = 32;

/// Typed access to `configurations`.
///
/// Each method is one operation `configurations.<method>` on target
/// `configurations` of the store's [`executor`](MongoStore::executor) (see
/// [`ai_data_core::observe`]); what a method does through another (a
/// roll-back's activation) is part of its own operation.
///
/// # Version numbers
///
/// The seed's index on `(component, environment, version)` is not unique,
/// and the bootstrap creates exactly the seed's indexes. So that two
/// concurrent publishers cannot both take version *n*, a document's `_id`
/// is its natural key `{component, environment, version}`: the `_id` index
/// is unique, and a publisher that loses the race retries with the next
/// number.
///
/// # Activation
///
/// Every activation takes a sequence number one above the group's highest
/// `activation_seq`; `(activation_seq, version)` orders activations.
///
/// * **Transaction** (replica sets and sharded clusters): in one
///   transaction the target is set active and every other version of the
///   group inactive, all of them stamped with the new sequence number.
///   Because each activation writes every document of the group, two
///   concurrent activations always collide on a write; the loser gets a
///   `TransientTransactionError` and is retried, so they serialize.
/// * **Guarded** (standalone servers, no transactions): (1) set the target
///   active with its sequence number, unless it already carries a newer
///   one; (2) deactivate the active versions with an older `(seq, version)`;
///   (3) if a newer activation is active, deactivate the target again
///   (only if it still carries our number) and report
///   [`ErrorKind::Conflict`]. The newest activation is never deactivated
///   and every older one is deactivated by step 2 of the newest or step 3
///   of its own, so once the activators finish exactly one version is
///   active; while they run, a reader may see two, and
///   [`get_active`](Self::get_active) returns the newest of them.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_mongo::bson::doc;
/// use ai_data_platform::mongo::{NewConfiguration, SeedCollections};
///
/// let configs = store.configurations();
/// let v = configs
///     .publish(&NewConfiguration::new("model_service", "production", &doc! { "replicas": 3 })?)
///     .await?;
/// configs.activate("model_service", "production", v.version).await?;
/// let active = configs.get_active("model_service", "production").await?.unwrap();
/// assert_eq!(active.version, v.version);
/// configs.roll_back("model_service", "production").await.ok();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ConfigurationRepo {
    pub(super) store: MongoStore,
    pub(super) coll: Collection<Configuration>,
    pub(super) raw: Collection<Document>,
    pub(super) ns: String,
    mode: ActivationMode,
    transactions: Arc<OnceCell<bool>>,
    retry: RetryPolicy,
}

impl ConfigurationRepo {
    /// The repository over `configurations` in the store's database, in
    /// [`ActivationMode::Auto`].
    pub fn new(store: &MongoStore) -> Self {
        let db = store.database();
        ConfigurationRepo {
            store: store.clone(),
            coll: db.collection(CONFIGURATIONS_COLLECTION),
            raw: db.collection(CONFIGURATIONS_COLLECTION),
            ns: format!("{}.{CONFIGURATIONS_COLLECTION}", db.name()),
            mode: ActivationMode::Auto,
            transactions: Arc::new(OnceCell::new()),
            retry: RetryPolicy::default()
                .with_min_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(250))
                .with_max_attempts(60)
                .with_deadline(Duration::from_secs(30)),
        }
    }

    /// Choose how activation is made exclusive.
    #[must_use]
    pub fn with_activation_mode(mut self, mode: ActivationMode) -> Self {
        self.mode = mode;
        self
    }

    /// How often a transaction that lost a write conflict is retried.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The mode [`Self::activate`] uses (asks the server once in `Auto`).
    pub async fn effective_mode(&self) -> Result<ActivationMode> {
        self.call("configurations.effective_mode")
            .idempotent()
            .run(|| async {
                Ok(match self.mode {
                    ActivationMode::Auto => {
                        let txn = self
                            .transactions
                            .get_or_try_init(|| self.store.supports_transactions())
                            .await?;
                        if *txn {
                            ActivationMode::Transaction
                        } else {
                            ActivationMode::Guarded
                        }
                    }
                    other => other,
                })
            })
            .await
    }

    /// Store `new` as the next version (inactive); the stored document.
    ///
    /// [`ErrorKind::InvalidInput`], before any I/O, when a field name of
    /// the content is refused (see [`validate_field_names`]).
    pub async fn publish(&self, new: &NewConfiguration) -> Result<Configuration> {
        self.call("configurations.publish")
            .run_once_counted(self.claim_next_version(new), |_| 1_u64)
            .await
    }

    /// Insert `new` under the next free version number.
    async fn claim_next_version(&self, new: &NewConfiguration) -> Result<Configuration> {
        validate_field_names("config", &new.config)
            .map_err(|e| e.with_operation("publish").with_target(self.ns.clone()))?;
        for _ in 0..PUBLISH_ATTEMPTS {
            let latest = self
                .coll
                .find_one(doc! { "component": &new.component, "environment": &new.environment })
                .sort(doc! { "version": -1 })
                .await
                .map_err(map_err("find_one", &self.ns))?
                .map_or(0, |c| c.version);
            let config = Configuration {
                component: new.component.clone(),
                environment: new.environment.clone(),
                version: latest + 1,
                config: new.config.clone(),
                is_active: false,
                created_at: DateTime::now(),
                created_by: new.created_by.clone(),
                description: new.description.clone(),
                activated_at: None,
                activation_seq: None,
            };
            let mut document = to_document(&config).map_err(|e| {
                Error::invalid_input(format!("configuration cannot be stored: {e}"))
                    .with_store(Store::Mongo)
            })?;
            document.insert(
                "_id",
                doc! {
                    "component": &config.component,
                    "environment": &config.environment,
                    "version": config.version,
                },
            );
            match self.raw.insert_one(document).await {
                Ok(_) => return Ok(config),
                // Another publisher took this version: take the next one.
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(map_err("insert_one", &self.ns)(e)),
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "could not claim a version for {}/{} after {PUBLISH_ATTEMPTS} attempts",
                new.component, new.environment
            ),
        )
        .temporary()
        .with_store(Store::Mongo)
        .with_operation("publish")
        .with_target(self.ns.clone()))
    }

    /// Make `version` the one active version of `component` in
    /// `environment`; the document as read afterwards.
    ///
    /// [`ErrorKind::NotFound`] when the version does not exist. In guarded
    /// mode, [`ErrorKind::Conflict`] when a concurrent, newer activation
    /// won (its version is then the active one).
    pub async fn activate(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<Configuration> {
        let activate = async {
            match self.effective_mode().await? {
                ActivationMode::Guarded => {
                    self.activate_guarded(component, environment, version)
                        .await?
                }
                _ => {
                    self.retry
                        .run(|| self.activate_in_transaction(component, environment, version))
                        .await?
                }
            }
            self.get_version(component, environment, version)
                .await?
                .ok_or_else(|| self.not_found(component, environment, Some(version)))
        };
        self.call("configurations.activate")
            .run_once(activate)
            .await
    }

    /// The active version, if any (the newest activation if a guarded
    /// activation is in flight).
    pub async fn get_active(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Option<Configuration>> {
        let find = || async {
            self.coll
                .find_one(
                    doc! { "component": component, "environment": environment, "is_active": true },
                )
                .sort(doc! { "activation_seq": -1, "version": -1 })
                .await
                .map_err(map_err("find_one", &self.ns))
        };
        self.call("configurations.get_active")
            .idempotent()
            .run_counted(find, Option::is_some)
            .await
    }

    /// One version.
    pub async fn get_version(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<Option<Configuration>> {
        let find = || async {
            self.coll
                .find_one(
                    doc! { "component": component, "environment": environment, "version": version },
                )
                .await
                .map_err(map_err("find_one", &self.ns))
        };
        self.call("configurations.get_version")
            .idempotent()
            .run_counted(find, Option::is_some)
            .await
    }

    /// Every version, oldest first.
    pub async fn list_versions(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Vec<Configuration>> {
        let list = || async {
            self.coll
                .find(doc! { "component": component, "environment": environment })
                .sort(doc! { "version": 1 })
                .await
                .map_err(map_err("find", &self.ns))?
                .try_collect()
                .await
                .map_err(map_err("find", &self.ns))
        };
        self.call("configurations.list_versions")
            .idempotent()
            .run_counted(list, Vec::len)
            .await
    }

    /// Activate the version just below the active one; the document.
    ///
    /// [`ErrorKind::NotFound`] when nothing is active or the active
    /// version is the first.
    pub async fn roll_back(&self, component: &str, environment: &str) -> Result<Configuration> {
        let roll_back = async {
            let active = self
                .get_active(component, environment)
                .await?
                .ok_or_else(|| self.not_found(component, environment, None))?;
            let previous = self
                .coll
                .find_one(doc! {
                    "component": component,
                    "environment": environment,
                    "version": { "$lt": active.version },
                })
                .sort(doc! { "version": -1 })
                .await
                .map_err(map_err("find_one", &self.ns))?
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "{component}/{environment} has no version before the active v{}",
                            active.version
                        ),
                    )
                    .with_store(Store::Mongo)
                    .with_operation("roll_back")
                    .with_target(self.ns.clone())
                })?;
            self.activate(component, environment, previous.version)
                .await
        };
        self.call("configurations.roll_back")
            .run_once(roll_back)
            .await
    }

    /// A call of the store's executor on `configurations`.
    fn call(&self, operation: &'static str) -> Call<'_> {
        self.store
            .executor()
            .call(operation)
            .target(CONFIGURATIONS_COLLECTION)
    }

    pub(super) fn not_found(
        &self,
        component: &str,
        environment: &str,
        version: Option<i64>,
    ) -> Error {
        let what = match version {
            Some(v) => format!("no configuration {component}/{environment} v{v}"),
            None => format!("no active configuration for {component}/{environment}"),
        };
        Error::new(ErrorKind::NotFound, what)
            .with_store(Store::Mongo)
            .with_operation("activate")
            .with_target(self.ns.clone())
    }
}
