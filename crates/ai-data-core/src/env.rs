//! A snapshot of environment variables, and typed loading of one store's
//! prefixed variables through `envy` + serde.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;

use crate::{Error, Result, Store};

/// Name of the directory variable holding the seed's secret files.
pub const SECRETS_DIR_VAR: &str = "AI_DATA_SECRETS_DIR";

/// The environment a configuration is read from.
///
/// Taking a snapshot (rather than reading `std::env` at every step) makes
/// loading deterministic and lets tests pass their own variables without
/// touching the process environment. Empty values count as unset, since
/// Kubernetes renders an absent optional value as an empty string.
///
/// `Debug` lists variable names only: values may be secrets.
///
/// ```
/// use ai_data_core::EnvSource;
/// let env = EnvSource::from_pairs([("AI_DATA_PG_HOST", "db"), ("AI_DATA_PG_PORT", "")]);
/// assert_eq!(env.get("AI_DATA_PG_HOST"), Some("db"));
/// assert_eq!(env.get("AI_DATA_PG_PORT"), None);
/// ```
#[derive(Clone, Default)]
pub struct EnvSource {
    vars: BTreeMap<String, String>,
}

impl EnvSource {
    /// Snapshot of the process environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// An environment made of the given pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        EnvSource { vars }
    }

    /// Value of one variable, `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Deserialize a store's variables (prefix stripped, lowercased) into `T`.
    ///
    /// Field `port` of `T` reads `AI_DATA_PG_PORT` for [`Store::Postgres`].
    /// Errors name the variable and are [`crate::ErrorKind::Config`].
    pub fn load<T: DeserializeOwned>(&self, store: Store) -> Result<T> {
        self.load_vars(store, &self.prefixed(store))
    }

    /// The variables starting with `store`'s prefix, in name order.
    pub(crate) fn prefixed(&self, store: Store) -> Vec<(String, String)> {
        let prefix = store.env_prefix();
        self.vars
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// [`EnvSource::load`] over variables already taken by
    /// [`EnvSource::prefixed`], so several types can share one snapshot.
    pub(crate) fn load_vars<T: DeserializeOwned>(
        &self,
        store: Store,
        prefixed: &[(String, String)],
    ) -> Result<T> {
        let prefix = store.env_prefix();
        let load = |pairs: Vec<(String, String)>| envy::prefixed(prefix).from_iter::<_, T>(pairs);
        match load(prefixed.to_vec()) {
            Ok(value) => Ok(value),
            Err(envy::Error::MissingValue(field)) => Err(Error::config(format!(
                "missing required variable {}",
                store.var(&field.to_uppercase())
            ))
            .with_store(store)),
            Err(envy::Error::Custom(msg)) => {
                // envy does not always say which variable failed (enum and
                // duration errors do not): find the one whose removal makes
                // this error go away. Secrets are plain strings and never fail
                // to parse, so the message cannot contain one.
                let culprit = prefixed.iter().map(|(k, _)| k).find(|name| {
                    let without = prefixed
                        .iter()
                        .filter(|(k, _)| k != *name)
                        .cloned()
                        .collect();
                    !matches!(load(without), Err(envy::Error::Custom(m)) if m == msg)
                });
                let message = match culprit {
                    Some(name) => format!("invalid value for {name}: {}", strip_envy_key(&msg)),
                    None => format!("invalid value in {prefix}* variables: {msg}"),
                };
                Err(Error::config(message).with_store(store))
            }
        }
    }
}

/// envy appends `provided by <lowercased key>` to some messages; the caller
/// names the variable properly, so drop it.
fn strip_envy_key(msg: &str) -> &str {
    msg.rsplit_once(" provided by ")
        .map_or(msg, |(head, _)| head)
}

impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSource")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Sample {
        host: String,
        port: Option<u16>,
    }

    #[test]
    fn loads_prefixed_fields_and_ignores_other_stores() {
        let env = EnvSource::from_pairs([
            ("AI_DATA_PG_HOST", "db.internal"),
            ("AI_DATA_PG_PORT", "6543"),
            ("AI_DATA_REDIS_HOST", "cache"),
        ]);
        let sample: Sample = env.load(Store::Postgres).expect("loads");
        assert_eq!(sample.host, "db.internal");
        assert_eq!(sample.port, Some(6543));
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = EnvSource::default()
            .load::<Sample>(Store::Redis)
            .expect_err("host is required");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_REDIS_HOST"), "{err}");
    }

    #[test]
    fn unparsable_port_is_named() {
        let env =
            EnvSource::from_pairs([("AI_DATA_MONGO_HOST", "m"), ("AI_DATA_MONGO_PORT", "27O17")]);
        let err = env
            .load::<Sample>(Store::Mongo)
            .expect_err("port is not a number");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_MONGO_PORT"), "{err}");
    }

    #[test]
    fn debug_lists_names_not_values() {
        let env = EnvSource::from_pairs([("AI_DATA_PG_PASSWORD", "hunter2-value")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("AI_DATA_PG_PASSWORD"));
        assert!(!shown.contains("hunter2-value"));
    }
}
