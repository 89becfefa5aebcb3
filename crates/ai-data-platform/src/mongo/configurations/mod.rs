//! `configurations`: versioned configuration documents per component and
//! environment, with exactly one active version.

mod activation;
mod repo;

use ai_data_mongo::bson::{from_document, to_document, DateTime, Document};
use ai_data_mongo::validate_field_names;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use ai_data_core::{Error, Result, Store};

pub use repo::ConfigurationRepo;

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
/// use ai_data_platform::mongo::NewConfiguration;
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
    /// `$` or contain `.` or NUL (see [`validate_field_names`](ai_data_mongo::validate_field_names)); checked by
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
    /// start with `$` or contain `.` or NUL ([`ErrorKind::InvalidInput`](ai_data_core::ErrorKind::InvalidInput),
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
