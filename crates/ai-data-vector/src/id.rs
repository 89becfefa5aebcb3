//! [`RecordId`]: the UUID every backend keys records by.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

/// The id of a record: a UUID, because Weaviate keys objects by UUID and a
/// `uuid` column is the cheapest key in PostgreSQL.
///
/// Services whose records have string keys derive the id with
/// [`RecordId::from_key`], a UUID v5 that is the same on every run, machine
/// and language.
///
/// ```
/// use ai_data_vector::RecordId;
///
/// let a = RecordId::from_key("doc-1");
/// assert_eq!(a, RecordId::from_key("doc-1"));
/// assert_ne!(a, RecordId::from_key("doc-2"));
/// // The same id Weaviate's Python client gives `generate_uuid5("doc-1")`.
/// assert_eq!(a.to_string(), "eea9cb72-744e-5814-a929-652d970d86ac");
/// let parsed: RecordId = "eea9cb72-744e-5814-a929-652d970d86ac".parse()?;
/// assert_eq!(parsed, a);
/// # Ok::<(), ai_data_vector::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

impl RecordId {
    /// The id of a string key: UUID v5 of `key` in the DNS namespace.
    ///
    /// This is exactly what Weaviate's clients compute for
    /// `generate_uuid5(key)` (Python) / `generateUuid5(key)` (TypeScript), so
    /// ids written by services in other languages line up.
    pub fn from_key(key: &str) -> Self {
        RecordId(Uuid::new_v5(&Uuid::NAMESPACE_DNS, key.as_bytes()))
    }

    /// A random id (UUID v4).
    pub fn random() -> Self {
        RecordId(Uuid::new_v4())
    }

    /// Wrap a UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        RecordId(uuid)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Parse the hyphenated (or simple, braced, URN) text form.
    pub fn parse(text: &str) -> Result<Self> {
        Uuid::parse_str(text)
            .map(RecordId)
            .map_err(|e| Error::invalid_input(format!("`{text}` is not a UUID record id: {e}")))
    }
}

impl From<Uuid> for RecordId {
    fn from(uuid: Uuid) -> Self {
        RecordId(uuid)
    }
}

impl From<RecordId> for Uuid {
    fn from(id: RecordId) -> Self {
        id.0
    }
}

impl FromStr for RecordId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        RecordId::parse(s)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn from_key_matches_python_uuid5_dns() {
        // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, '向量'))"
        assert_eq!(
            RecordId::from_key("向量").to_string(),
            "eb1f1ea6-359e-5b97-91dd-ac3b24ccea79"
        );
        assert_eq!(RecordId::from_key("doc-1").as_uuid().get_version_num(), 5);
    }

    #[test]
    fn parse_rejects_garbage_with_invalid_input() {
        let err = RecordId::parse("not-a-uuid").err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        let random = RecordId::random();
        assert_eq!(RecordId::parse(&random.to_string()).ok(), Some(random));
    }

    #[test]
    fn serde_is_the_plain_uuid_string() {
        let id = RecordId::from_key("doc-1");
        let json = serde_json::to_string(&id).ok();
        assert_eq!(
            json.as_deref(),
            Some("\"eea9cb72-744e-5814-a929-652d970d86ac\"")
        );
    }
}
