//! [`Collection<T>`]: a collection whose payloads are a service's own
//! `Serialize + DeserializeOwned` struct.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{
    CollectionSpec, Error, Filter, Payload, Record, RecordId, Result, SearchQuery, Selector,
    UpsertReport, VectorStore,
};

/// A search hit with its payload decoded as `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedHit<T> {
    /// The record's id.
    pub id: RecordId,
    /// Distance to the query (see [`crate::Metric`]).
    pub distance: f32,
    /// The decoded payload.
    pub item: T,
    /// The vector, when the query asked for it.
    pub vector: Option<Vec<f32>>,
}

/// A stored record with its payload decoded as `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedRecord<T> {
    /// The record's id.
    pub id: RecordId,
    /// The vector.
    pub vector: Vec<f32>,
    /// The decoded payload.
    pub item: T,
}

/// One collection of a [`VectorStore`], read and written as `T`.
///
/// `T` must serialize to a JSON object (a struct or map); its declared
/// filterable fields are ordinary fields of `T`.
///
/// ```
/// use std::sync::Arc;
/// use ai_data_vector::{Collection, CollectionSpec, FieldKind, Filter, MemoryStore, Metric, RecordId, SearchQuery};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Doc { title: String, lang: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// let spec = CollectionSpec::new("docs", 2, Metric::Cosine).with_field("lang", FieldKind::Text);
/// let docs: Collection<Doc> = Collection::create(Arc::new(MemoryStore::new()), &spec).await?;
/// let doc = |t: &str, l: &str| Doc { title: t.into(), lang: l.into() };
/// docs.upsert(vec![
///     (RecordId::from_key("a"), vec![1.0, 0.0], doc("Hello", "en")),
///     (RecordId::from_key("b"), vec![0.9, 0.1], doc("Hallo", "de")),
/// ]).await?.into_result()?;
///
/// let query = SearchQuery::new(vec![0.9, 0.1], 5).with_filter(Filter::eq("lang", "en"));
/// let hits = docs.search(&query).await?;
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].item, doc("Hello", "en"));
/// let got = docs.get(&[RecordId::from_key("b")]).await?;
/// assert_eq!(got[0].item.title, "Hallo");
/// # Ok(())
/// # }
/// ```
pub struct Collection<T> {
    store: Arc<dyn VectorStore>,
    name: String,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Collection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .field("item", &std::any::type_name::<T>())
            .field("store", &self.store)
            .finish()
    }
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection {
            store: Arc::clone(&self.store),
            name: self.name.clone(),
            _item: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Collection<T> {
    /// A handle on an existing collection (nothing is checked until used).
    pub fn new(store: Arc<dyn VectorStore>, name: impl Into<String>) -> Self {
        Collection {
            store,
            name: name.into(),
            _item: PhantomData,
        }
    }

    /// [`VectorStore::ensure_collection`], then a handle on it.
    pub async fn create(store: Arc<dyn VectorStore>, spec: &CollectionSpec) -> Result<Self> {
        store.ensure_collection(spec).await?;
        Ok(Self::new(store, spec.name.clone()))
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn VectorStore> {
        &self.store
    }

    /// Upsert `(id, vector, item)` triples. An item that does not serialize to
    /// a JSON object is a per-record failure (`InvalidInput`), like any other
    /// invalid record; the rest are written.
    pub async fn upsert(
        &self,
        items: impl IntoIterator<Item = (RecordId, Vec<f32>, T)>,
    ) -> Result<UpsertReport> {
        let mut records = Vec::new();
        let mut positions = Vec::new();
        let mut report = UpsertReport::new(0);
        for (index, (id, vector, item)) in items.into_iter().enumerate() {
            match to_payload(&item) {
                Ok(payload) => {
                    records.push(Record::new(id, vector, payload));
                    positions.push(index);
                }
                Err(e) => report.push_failure(index, id, e),
            }
        }
        let mut written = self.store.upsert(&self.name, &records).await?;
        for failure in &mut written.failures {
            failure.index = positions[failure.index];
        }
        report.merge(written);
        Ok(report)
    }

    /// The `query.k` nearest items (payloads are always fetched to decode `T`).
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<TypedHit<T>>> {
        let hits = if query.include_payload {
            self.store.search(&self.name, query).await?
        } else {
            let with_payload = query.clone().with_payloads(true);
            self.store.search(&self.name, &with_payload).await?
        };
        hits.into_iter()
            .map(|hit| {
                let payload = hit.payload.unwrap_or_default();
                Ok(TypedHit {
                    id: hit.id,
                    distance: hit.distance,
                    item: from_payload(hit.id, payload)?,
                    vector: hit.vector,
                })
            })
            .collect()
    }

    /// The items with these ids that exist, in the order first requested.
    pub async fn get(&self, ids: &[RecordId]) -> Result<Vec<TypedRecord<T>>> {
        self.store
            .get(&self.name, ids)
            .await?
            .into_iter()
            .map(|r| {
                Ok(TypedRecord {
                    id: r.id,
                    item: from_payload(r.id, r.payload)?,
                    vector: r.vector,
                })
            })
            .collect()
    }

    /// Delete the selected records; returns how many were deleted.
    pub async fn delete(&self, selector: Selector) -> Result<u64> {
        self.store.delete(&self.name, selector).await
    }

    /// How many records match `filter` (all for `None`).
    pub async fn count(&self, filter: Option<&Filter>) -> Result<u64> {
        self.store.count(&self.name, filter).await
    }
}

fn to_payload<T: Serialize>(item: &T) -> Result<Payload> {
    match serde_json::to_value(item) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::invalid_input(format!(
            "{} serializes to a JSON {}, not an object",
            std::any::type_name::<T>(),
            json_type(&other)
        ))),
        Err(e) => Err(Error::invalid_input(format!(
            "{} does not serialize to JSON: {e}",
            std::any::type_name::<T>()
        ))
        .with_source(e)),
    }
}

fn from_payload<T: DeserializeOwned>(id: RecordId, payload: Payload) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(payload)).map_err(|e| {
        Error::invalid_input(format!(
            "payload of record {id} does not decode as {}: {e}",
            std::any::type_name::<T>()
        ))
        .with_source(e)
    })
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, MemoryStore, Metric};
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Item {
        Doc { title: String },
        Bare(u32),
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct Other {
        required: u64,
    }

    #[tokio::test]
    async fn non_object_items_are_per_record_failures_with_batch_positions() {
        let store: Arc<dyn VectorStore> = Arc::new(MemoryStore::new());
        let spec = CollectionSpec::new("items", 2, Metric::L2);
        let items = Collection::<Item>::create(store.clone(), &spec).await;
        let Ok(items) = items else {
            panic!("create failed: {items:?}");
        };
        let id = |k: &str| RecordId::from_key(k);
        let report = items
            .upsert(vec![
                (id("bare"), vec![0.0, 0.0], Item::Bare(1)),
                (
                    id("nan"),
                    vec![f32::NAN, 0.0],
                    Item::Doc { title: "x".into() },
                ),
                (id("ok"), vec![1.0, 0.0], Item::Doc { title: "ok".into() }),
            ])
            .await;
        let Ok(report) = report else {
            panic!("upsert failed: {report:?}");
        };
        assert_eq!(report.upserted, 1);
        let failed: Vec<(usize, RecordId, ErrorKind)> = report
            .failures
            .iter()
            .map(|f| (f.index, f.id, f.error.kind()))
            .collect();
        assert_eq!(
            failed,
            vec![
                (0, id("bare"), ErrorKind::InvalidInput),
                (1, id("nan"), ErrorKind::InvalidInput)
            ]
        );
        assert!(report.failures[0].error.message().contains("not an object"));

        let hits = items
            .search(&SearchQuery::new(vec![1.0, 0.0], 3).with_payloads(false))
            .await
            .unwrap_or_default();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].item, Item::Doc { title: "ok".into() });

        let wrong: Collection<Other> = Collection::new(store, "items");
        let err = wrong.get(&[id("ok")]).await.err();
        assert!(err.is_some_and(
            |e| e.kind() == ErrorKind::InvalidInput && e.message().contains("does not decode")
        ));
        assert_eq!(wrong.count(None).await.ok(), Some(1));
    }
}
