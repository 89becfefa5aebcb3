//! What a [`Bootstrap`](super::Bootstrap) run did: per collection, index
//! and user, and the conflicts it left alone.

use std::fmt;

use ai_data_core::{Error, ErrorKind, Result, Store};

use super::users::UserAccess;

/// What the bootstrap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapReport {
    /// One entry per collection.
    pub collections: Vec<CollectionOutcome>,
    /// One entry per index.
    pub indexes: Vec<IndexOutcome>,
    /// One entry per requested user.
    pub users: Vec<UserOutcome>,
}

impl BootstrapReport {
    /// Indexes that exist with options other than the specified ones.
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
    /// TTL changed with `collMod` ([`Bootstrap::update_ttl`](super::Bootstrap::update_ttl)).
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
        /// The specified index.
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
