//! Rows of a collection table back to records and hits. Every value that
//! does not decode is an error naming the record and the column: a read
//! never returns a silently different answer (a hit without the payload
//! it was asked for, a record skipped).
//!
//! The payload is read from `payload_text`, the exact JSON text written
//! (see [`super::ddl::create_table`]), and parsed with `serde_json`'s
//! round-trip-exact float parser, so it comes back unchanged: every float
//! bit for bit with its sign, `1e18` still a float, key for key. Tables
//! created before that column existed have it added empty by
//! [`super::ddl::init`]; their older rows are read from the `jsonb`
//! (`payload::text`), as they were.

use ai_data_core::{ErrorKind, Store};
use pgvector::Vector;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use ai_data_vector::{Error, Payload, RecordId, Result};

/// The select-list item that reads the payload (as column `payload_text`).
pub(crate) const PAYLOAD: &str = "COALESCE(payload_text, payload::text) AS payload_text";

/// Where a row is read, for the errors.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) operation: &'static str,
    pub(crate) collection: &'a str,
}

impl Reader<'_> {
    fn error(&self, message: String) -> Error {
        Error::new(ErrorKind::Backend, message)
            .with_store(Store::Postgres)
            .with_operation(self.operation)
            .with_target(self.collection)
    }

    fn column(&self, id: Option<Uuid>, column: &str, e: sqlx::Error) -> Error {
        let record = id.map_or_else(|| "a row".to_owned(), |id| format!("record {id}"));
        self.error(format!(
            "{record}: column {column} could not be decoded: {e}"
        ))
        .with_source(e)
    }

    /// The row's id.
    pub(crate) fn id(&self, row: &PgRow) -> Result<Uuid> {
        row.try_get("id").map_err(|e| self.column(None, "id", e))
    }

    /// The row's vector (column `embedding`).
    pub(crate) fn vector(&self, id: Uuid, row: &PgRow) -> Result<Vec<f32>> {
        row.try_get::<Vector, _>("embedding")
            .map(|v| v.to_vec())
            .map_err(|e| self.column(Some(id), "embedding", e))
    }

    /// The row's payload (column `payload_text`, see [`PAYLOAD`]).
    pub(crate) fn payload(&self, id: Uuid, row: &PgRow) -> Result<Payload> {
        let text: String = row
            .try_get("payload_text")
            .map_err(|e| self.column(Some(id), "payload_text", e))?;
        serde_json::from_str(&text).map_err(|e| {
            self.error(format!(
                "record {}: the stored payload is not a JSON object: {e}",
                RecordId::from_uuid(id)
            ))
            .with_source(e)
        })
    }
}
