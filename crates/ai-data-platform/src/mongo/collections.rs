//! The seed's MongoDB layout (seed §3.1.2, §3.3.1, §3.4): its collections,
//! their indexes, its least-privilege users, and the [`Bootstrap`] that
//! creates them.

use std::time::Duration;

use ai_data_core::SecretString;
use ai_data_mongo::bson::doc;
use ai_data_mongo::{Bootstrap, IndexSpec, PlatformUser, UserAccess, DEFAULT_USER};

/// Collection of structured service logs.
pub const SYSTEM_LOGS_COLLECTION: &str = "system_logs";
/// Collection of versioned component configurations.
pub const CONFIGURATIONS_COLLECTION: &str = "configurations";
/// Collection of task states, expired by a TTL index on `last_updated`.
pub const TASK_STATUS_CACHE_COLLECTION: &str = "task_status_cache";
/// The seed's collections, in the seed's order.
pub const COLLECTIONS: [&str; 3] = [
    SYSTEM_LOGS_COLLECTION,
    CONFIGURATIONS_COLLECTION,
    TASK_STATUS_CACHE_COLLECTION,
];

/// The seed's read-write application user (`readWrite` + `dbAdmin`); also
/// who a configured password without a user logs in as
/// ([`ai_data_mongo::DEFAULT_USER`]).
pub const SEED_APP_USER: &str = DEFAULT_USER;
/// The seed's read-only user (`read`).
pub const SEED_READ_ONLY_USER: &str = "readonly_user";

/// The seed's indexes, all ascending and none unique, with the given TTL
/// on `task_status_cache.last_updated`.
///
/// ```
/// use std::time::Duration;
/// let specs = ai_data_platform::mongo::seed_indexes(Duration::from_secs(86_400));
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
        IndexSpec::new(SYSTEM_LOGS_COLLECTION, doc! { "timestamp": 1 }, None),
        IndexSpec::new(
            SYSTEM_LOGS_COLLECTION,
            doc! { "level": 1, "timestamp": 1 },
            None,
        ),
        IndexSpec::new(
            SYSTEM_LOGS_COLLECTION,
            doc! { "service": 1, "timestamp": 1 },
            None,
        ),
        IndexSpec::new(
            CONFIGURATIONS_COLLECTION,
            doc! { "component": 1, "environment": 1, "version": 1 },
            None,
        ),
        IndexSpec::new(CONFIGURATIONS_COLLECTION, doc! { "is_active": 1 }, None),
        IndexSpec::new(TASK_STATUS_CACHE_COLLECTION, doc! { "task_id": 1 }, None),
        IndexSpec::new(
            TASK_STATUS_CACHE_COLLECTION,
            doc! { "status": 1, "last_updated": 1 },
            None,
        ),
        IndexSpec::new(
            TASK_STATUS_CACHE_COLLECTION,
            doc! { "task_type": 1, "status": 1 },
            None,
        ),
        IndexSpec::new(
            TASK_STATUS_CACHE_COLLECTION,
            doc! { "last_updated": 1 },
            Some(task_status_ttl),
        ),
    ]
}

/// The seed's collections and indexes with `task_status_cache` expiring
/// `task_status_ttl` after the last update (the seed: 86400 s), no users;
/// add them with [`Bootstrap::with_user`].
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use std::time::Duration;
/// use ai_data_platform::mongo::seed_bootstrap;
///
/// let report = seed_bootstrap(Duration::from_secs(3600))
///     .run(store.database())
///     .await?
///     .into_result()?; // an index with other options is an error
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
pub fn seed_bootstrap(task_status_ttl: Duration) -> Bootstrap {
    Bootstrap::new(COLLECTIONS, seed_indexes(task_status_ttl))
}

/// The seed's application user `ai_platform_user` (`readWrite` + `dbAdmin`).
///
/// ```
/// use ai_data_mongo::UserAccess;
/// let user = ai_data_platform::mongo::seed_app_user("s3cret".to_owned());
/// assert_eq!(user.name(), "ai_platform_user");
/// assert_eq!(user.access(), UserAccess::ReadWrite);
/// assert!(!format!("{user:?}").contains("s3cret"));
/// ```
pub fn seed_app_user(password: impl Into<SecretString>) -> PlatformUser {
    PlatformUser::new(SEED_APP_USER, password, UserAccess::ReadWrite)
}

/// The seed's read-only user `readonly_user` (`read`).
pub fn seed_read_only_user(password: impl Into<SecretString>) -> PlatformUser {
    PlatformUser::new(SEED_READ_ONLY_USER, password, UserAccess::ReadOnly)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_mongo::bson::Bson;

    #[test]
    fn seed_index_names_follow_mongod() {
        let specs = seed_indexes(Duration::from_secs(60));
        assert_eq!(specs.len(), 9);
        assert!(specs
            .iter()
            .all(|s| s.keys.values().all(|v| v == &Bson::Int32(1))));
        let ttl: Vec<_> = specs.iter().filter(|s| s.expire_after.is_some()).collect();
        assert_eq!(ttl.len(), 1);
        assert_eq!(ttl[0].collection, TASK_STATUS_CACHE_COLLECTION);
        assert_eq!(ttl[0].name, "last_updated_1");
    }
}
