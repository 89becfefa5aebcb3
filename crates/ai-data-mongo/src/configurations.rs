//! `configurations`: versioned configuration documents per component and
//! environment, with exactly one active version.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, from_document, to_document, DateTime, Document};
use mongodb::options::{ReadConcern, WriteConcern};
use mongodb::{Client, ClientSession, Collection, Database};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, RetryPolicy, Store};

use crate::bootstrap::CONFIGURATIONS;
use crate::error::{is_duplicate_key, map_err};
use crate::health::supports_transactions;
use crate::keys::validate_field_names;

/// Attempts at claiming a version number before [`ConfigurationRepo::publish`] gives up.
const PUBLISH_ATTEMPTS: usize = 32;

/// One version of one component's configuration in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Configuration {
    /// Component, e.g. `model_service`.
    pub component: String,
    /// Environment, e.g. `production`.
    pub environment: String,
    /// 1, 2, 3, ... per component and environment.
    pub version: i64,
    /// The configuration itself.
    pub config: Document,
    /// Whether this is the version in force.
    pub is_active: bool,
    /// When the version was published.
    pub created_at: DateTime,
    /// Who published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// What changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was last activated (server time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTime>,
    /// Sequence number of the last activation that wrote this document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_seq: Option<i64>,
}

impl Configuration {
    /// The configuration as the service's own type.
    pub fn config_as<T: DeserializeOwned>(&self) -> Result<T> {
        from_document(self.config.clone()).map_err(|e| {
            Error::invalid_input(format!(
                "configuration {}/{} v{} does not match the requested type: {e}",
                self.component, self.environment, self.version
            ))
            .with_store(Store::Mongo)
        })
    }
}

/// A configuration to publish as the next version.
///
/// ```
/// use ai_data_mongo::NewConfiguration;
/// #[derive(serde::Serialize)]
/// struct ModelServing { replicas: u32, model: String }
///
/// let new = NewConfiguration::new(
///     "model_service",
///     "production",
///     &ModelServing { replicas: 3, model: "bge-m3".into() },
/// )
/// .unwrap()
/// .description("scale to 3 replicas")
/// .created_by("ops");
/// assert_eq!(new.config.get_i64("replicas").unwrap(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewConfiguration {
    /// Component.
    pub component: String,
    /// Environment.
    pub environment: String,
    /// Content. Field names, at any depth, must not be empty, start with
    /// `$` or contain `.` or NUL (see [`validate_field_names`]); checked by
    /// [`NewConfiguration::new`] and again by [`ConfigurationRepo::publish`].
    pub config: Document,
    /// What changed.
    pub description: Option<String>,
    /// Who publishes it.
    pub created_by: Option<String>,
}

impl NewConfiguration {
    /// `config` serialized to a BSON document; component and environment
    /// must not be empty, and no field name of the content may be empty,
    /// start with `$` or contain `.` or NUL ([`ErrorKind::InvalidInput`],
    /// see [`validate_field_names`]).
    pub fn new(
        component: impl Into<String>,
        environment: impl Into<String>,
        config: &impl Serialize,
    ) -> Result<Self> {
        let component = component.into();
        let environment = environment.into();
        if component.is_empty() || environment.is_empty() {
            return Err(Error::invalid_input(
                "configuration component and environment must not be empty",
            )
            .with_store(Store::Mongo));
        }
        let config = to_document(config).map_err(|e| {
            Error::invalid_input(format!("configuration is not a BSON document: {e}"))
                .with_store(Store::Mongo)
        })?;
        validate_field_names("config", &config)?;
        Ok(NewConfiguration {
            component,
            environment,
            config,
            description: None,
            created_by: None,
        })
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Set the publisher.
    #[must_use]
    pub fn created_by(mut self, who: impl Into<String>) -> Self {
        self.created_by = Some(who.into());
        self
    }
}

/// How [`ConfigurationRepo::activate`] keeps exactly one version active.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActivationMode {
    /// A transaction when the deployment supports them (replica set,
    /// sharded cluster), else guarded updates. Decided once per repository.
    #[default]
    Auto,
    /// Always a transaction.
    Transaction,
    /// Always guarded updates (see [`ConfigurationRepo`]).
    Guarded,
}

/// Typed access to `configurations`.
///
/// Each method is one observed operation `configurations.<method>` on
/// target `configurations` (see [`ai_data_core::observe`]); what a method
/// does through another (a roll-back's activation) is part of its own
/// operation.
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
/// use ai_data_mongo::NewConfiguration;
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
    coll: Collection<Configuration>,
    raw: Collection<Document>,
    client: Client,
    db: Database,
    ns: String,
    mode: ActivationMode,
    transactions: Arc<OnceCell<bool>>,
    retry: RetryPolicy,
}

impl ConfigurationRepo {
    /// The repository over `db.configurations`, in [`ActivationMode::Auto`].
    pub fn new(db: &Database) -> Self {
        ConfigurationRepo {
            coll: db.collection(CONFIGURATIONS),
            raw: db.collection(CONFIGURATIONS),
            client: db.client().clone(),
            db: db.clone(),
            ns: format!("{}.{CONFIGURATIONS}", db.name()),
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
        self.observe("configurations.effective_mode")
            .run(self.effective_mode_unobserved())
            .await
    }

    async fn effective_mode_unobserved(&self) -> Result<ActivationMode> {
        Ok(match self.mode {
            ActivationMode::Auto => {
                let txn = self
                    .transactions
                    .get_or_try_init(|| supports_transactions(&self.db))
                    .await?;
                if *txn {
                    ActivationMode::Transaction
                } else {
                    ActivationMode::Guarded
                }
            }
            other => other,
        })
    }

    /// Store `new` as the next version (inactive); the stored document.
    ///
    /// [`ErrorKind::InvalidInput`], before any I/O, when a field name of
    /// the content is refused (see [`validate_field_names`]).
    pub async fn publish(&self, new: &NewConfiguration) -> Result<Configuration> {
        self.observe("configurations.publish")
            .run_counted(self.publish_unobserved(new), |_| 1_u64)
            .await
    }

    async fn publish_unobserved(&self, new: &NewConfiguration) -> Result<Configuration> {
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
        self.observe("configurations.activate")
            .run(self.activate_unobserved(component, environment, version))
            .await
    }

    async fn activate_unobserved(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<Configuration> {
        match self.effective_mode_unobserved().await? {
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
        self.get_version_unobserved(component, environment, version)
            .await?
            .ok_or_else(|| self.not_found(component, environment, Some(version)))
    }

    /// The active version, if any (the newest activation if a guarded
    /// activation is in flight).
    pub async fn get_active(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Option<Configuration>> {
        self.observe("configurations.get_active")
            .run_counted(
                self.get_active_unobserved(component, environment),
                Option::is_some,
            )
            .await
    }

    async fn get_active_unobserved(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Option<Configuration>> {
        self.coll
            .find_one(
                doc! { "component": component, "environment": environment, "is_active": true },
            )
            .sort(doc! { "activation_seq": -1, "version": -1 })
            .await
            .map_err(map_err("find_one", &self.ns))
    }

    /// One version.
    pub async fn get_version(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<Option<Configuration>> {
        self.observe("configurations.get_version")
            .run_counted(
                self.get_version_unobserved(component, environment, version),
                Option::is_some,
            )
            .await
    }

    async fn get_version_unobserved(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<Option<Configuration>> {
        self.coll
            .find_one(
                doc! { "component": component, "environment": environment, "version": version },
            )
            .await
            .map_err(map_err("find_one", &self.ns))
    }

    /// Every version, oldest first.
    pub async fn list_versions(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Vec<Configuration>> {
        let list = async {
            self.coll
                .find(doc! { "component": component, "environment": environment })
                .sort(doc! { "version": 1 })
                .await
                .map_err(map_err("find", &self.ns))?
                .try_collect()
                .await
                .map_err(map_err("find", &self.ns))
        };
        self.observe("configurations.list_versions")
            .run_counted(list, Vec::len)
            .await
    }

    /// Activate the version just below the active one; the document.
    ///
    /// [`ErrorKind::NotFound`] when nothing is active or the active
    /// version is the first.
    pub async fn roll_back(&self, component: &str, environment: &str) -> Result<Configuration> {
        self.observe("configurations.roll_back")
            .run(self.roll_back_unobserved(component, environment))
            .await
    }

    async fn roll_back_unobserved(
        &self,
        component: &str,
        environment: &str,
    ) -> Result<Configuration> {
        let active = self
            .get_active_unobserved(component, environment)
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
        self.activate_unobserved(component, environment, previous.version)
            .await
    }

    /// An [`Operation`] on `configurations`.
    fn observe(&self, operation: &'static str) -> Operation<'static> {
        Operation::new(Store::Mongo, operation).target(CONFIGURATIONS)
    }

    fn not_found(&self, component: &str, environment: &str, version: Option<i64>) -> Error {
        let what = match version {
            Some(v) => format!("no configuration {component}/{environment} v{v}"),
            None => format!("no active configuration for {component}/{environment}"),
        };
        Error::new(ErrorKind::NotFound, what)
            .with_store(Store::Mongo)
            .with_operation("activate")
            .with_target(self.ns.clone())
    }

    /// One above the highest `activation_seq` of the group.
    async fn next_seq(
        &self,
        component: &str,
        environment: &str,
        session: Option<&mut ClientSession>,
    ) -> Result<i64> {
        let find = self
            .raw
            .find_one(doc! { "component": component, "environment": environment })
            .sort(doc! { "activation_seq": -1 })
            .projection(doc! { "activation_seq": 1 });
        let find = match session {
            Some(s) => find.session(s),
            None => find,
        };
        let top = find.await.map_err(map_err("find_one", &self.ns))?;
        let seq = top
            .and_then(|d| {
                d.get("activation_seq")
                    .and_then(|b| b.as_i64().or_else(|| b.as_i32().map(i64::from)))
            })
            .unwrap_or(0);
        Ok(seq + 1)
    }

    async fn activate_in_transaction(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let mut session = self
            .client
            .start_session()
            .await
            .map_err(map_err("start_session", &self.ns))?;
        session
            .start_transaction()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::majority())
            .await
            .map_err(map_err("start_transaction", &self.ns))?;
        if let Err(e) = self
            .transaction_body(&mut session, component, environment, version)
            .await
        {
            // Best effort: the server aborts it anyway when the session ends.
            let _ = session.abort_transaction().await;
            return Err(e);
        }
        let mut attempts = 0;
        loop {
            match session.commit_transaction().await {
                Ok(()) => return Ok(()),
                Err(e)
                    if attempts < 3
                        && e.contains_label(mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT) =>
                {
                    attempts += 1;
                }
                Err(e) => return Err(map_err("commit_transaction", &self.ns)(e)),
            }
        }
    }

    async fn transaction_body(
        &self,
        session: &mut ClientSession,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let seq = self
            .next_seq(component, environment, Some(&mut *session))
            .await?;
        let target = self
            .raw
            .update_one(
                doc! { "component": component, "environment": environment, "version": version },
                doc! {
                    "$set": { "is_active": true, "activation_seq": seq },
                    "$currentDate": { "activated_at": true },
                },
            )
            .session(&mut *session)
            .await
            .map_err(map_err("update_one", &self.ns))?;
        if target.matched_count == 0 {
            return Err(self.not_found(component, environment, Some(version)));
        }
        // Every other version is written too (the new sequence number always
        // changes the document), so concurrent activations conflict.
        self.raw
            .update_many(
                doc! { "component": component, "environment": environment, "version": { "$ne": version } },
                doc! { "$set": { "is_active": false, "activation_seq": seq } },
            )
            .session(&mut *session)
            .await
            .map_err(map_err("update_many", &self.ns))?;
        Ok(())
    }

    async fn activate_guarded(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let seq = self.next_seq(component, environment, None).await?;
        let group = doc! { "component": component, "environment": environment };

        // 1. The target, unless a newer activation of it already happened.
        let mut claim = group.clone();
        claim.insert("version", version);
        claim.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$lte": seq } },
                doc! { "activation_seq": null },
            ],
        );
        let claimed = self
            .raw
            .update_one(
                claim,
                doc! {
                    "$set": { "is_active": true, "activation_seq": seq },
                    "$currentDate": { "activated_at": true },
                },
            )
            .await
            .map_err(map_err("update_one", &self.ns))?;
        if claimed.matched_count == 0 {
            return match self
                .get_version_unobserved(component, environment, version)
                .await?
            {
                None => Err(self.not_found(component, environment, Some(version))),
                Some(_) => Err(self.superseded(component, environment, version, version)),
            };
        }

        // 2. Older activations.
        let mut older = group.clone();
        older.insert("is_active", true);
        older.insert("version", doc! { "$ne": version });
        older.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$lt": seq } },
                doc! { "activation_seq": seq, "version": { "$lt": version } },
                doc! { "activation_seq": null },
            ],
        );
        self.raw
            .update_many(older, doc! { "$set": { "is_active": false } })
            .await
            .map_err(map_err("update_many", &self.ns))?;

        // 3. A newer activation wins: step back.
        let mut newer = group.clone();
        newer.insert("is_active", true);
        newer.insert("version", doc! { "$ne": version });
        newer.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$gt": seq } },
                doc! { "activation_seq": seq, "version": { "$gt": version } },
            ],
        );
        let winner = self
            .coll
            .find_one(newer)
            .await
            .map_err(map_err("find_one", &self.ns))?;
        if let Some(winner) = winner {
            let mut mine = group;
            mine.insert("version", version);
            mine.insert("is_active", true);
            mine.insert("activation_seq", seq);
            self.raw
                .update_one(mine, doc! { "$set": { "is_active": false } })
                .await
                .map_err(map_err("update_one", &self.ns))?;
            return Err(self.superseded(component, environment, version, winner.version));
        }
        Ok(())
    }

    fn superseded(&self, component: &str, environment: &str, version: i64, winner: i64) -> Error {
        Error::new(
            ErrorKind::Conflict,
            format!(
                "activation of {component}/{environment} v{version} was superseded by a \
                 concurrent activation of v{winner}"
            ),
        )
        .with_store(Store::Mongo)
        .with_operation("activate")
        .with_target(self.ns.clone())
    }
}
