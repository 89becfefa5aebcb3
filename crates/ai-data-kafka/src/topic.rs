//! [`Topic<T>`]: a topic name bound to a serde payload type, a key function
//! and a content type; and [`Headers`], Kafka record headers.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use ai_data_core::{Error, Result, Store};
use rdkafka::message::{BorrowedHeaders, Header, Headers as _, OwnedHeaders};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Names of the headers this crate writes.
pub mod header {
    /// The payload's media type, written on every typed send.
    pub const CONTENT_TYPE: &str = "content-type";
    /// Dead letters: the error's `Display` (kind, message, context).
    pub const DLQ_ERROR: &str = "ai-data-dlq-error";
    /// Dead letters: the error kind (`invalid input`, `backend`, ...).
    pub const DLQ_ERROR_KIND: &str = "ai-data-dlq-error-kind";
    /// Dead letters: `decode` for an undecodable payload, `handler` for a failed handler.
    pub const DLQ_STAGE: &str = "ai-data-dlq-stage";
    /// Dead letters: how many times the handler ran (0 for a poison payload).
    pub const DLQ_ATTEMPTS: &str = "ai-data-dlq-attempts";
    /// Dead letters: the original topic.
    pub const DLQ_TOPIC: &str = "ai-data-dlq-topic";
    /// Dead letters: the original partition.
    pub const DLQ_PARTITION: &str = "ai-data-dlq-partition";
    /// Dead letters: the original offset.
    pub const DLQ_OFFSET: &str = "ai-data-dlq-offset";
    /// Dead letters: the consumer group that gave up.
    pub const DLQ_GROUP: &str = "ai-data-dlq-group";
}

/// The content type of JSON payloads.
pub const JSON: &str = "application/json";

/// Kafka record headers: ordered, repeatable, values optional.
///
/// ```
/// use ai_data_kafka::Headers;
/// let headers = Headers::new().with("trace-id", "abc").with_null("tombstone-reason");
/// assert_eq!(headers.get_str("trace-id"), Some("abc"));
/// assert_eq!(headers.get("tombstone-reason"), Some(None));
/// assert_eq!(headers.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Option<Vec<u8>>)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a header (builder style).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.push(key, value);
        self
    }

    /// Add a header with a null value (builder style).
    #[must_use]
    pub fn with_null(mut self, key: impl Into<String>) -> Self {
        self.entries.push((key.into(), None));
        self
    }

    /// Add a header.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.entries.push((key.into(), Some(value.into())));
    }

    /// The last value of `key`: `None` when absent, `Some(None)` when null.
    pub fn get(&self, key: &str) -> Option<Option<&[u8]>> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// The last value of `key` as UTF-8 text, if present, non-null and UTF-8.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .flatten()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn to_rdkafka(&self) -> OwnedHeaders {
        self.entries
            .iter()
            .fold(OwnedHeaders::new_with_capacity(self.len()), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: v.as_deref(),
                })
            })
    }

    pub(crate) fn from_rdkafka(headers: Option<&BorrowedHeaders>) -> Self {
        let entries = headers
            .map(|h| {
                h.iter()
                    .map(|hd| (hd.key.to_owned(), hd.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Headers { entries }
    }
}

type KeyFn<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// A topic bound to its payload type `T` (JSON through serde), a key
/// function (records with the same key go to the same partition, in order)
/// and a content-type header.
///
/// The AI platform's seed topics come ready-made with their event types in
/// `ai_data_platform::kafka::topics`.
///
/// ```
/// use ai_data_kafka::Topic;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Embedded { document_id: String, dimension: usize }
///
/// let topic = Topic::<Embedded>::new("embeddings")
///     .with_key(|e| e.document_id.clone())
///     .with_prefix("staging.");
/// let event = Embedded { document_id: "doc-1".into(), dimension: 768 };
/// assert_eq!(topic.name(), "staging.embeddings");
/// assert_eq!(topic.key_of(&event).as_deref(), Some("doc-1"));
/// let bytes = topic.encode(&event).unwrap();
/// assert_eq!(topic.decode(&bytes).unwrap(), event);
/// assert!(topic.decode(b"{not json").is_err());
/// ```
pub struct Topic<T> {
    name: String,
    content_type: Cow<'static, str>,
    key: Option<KeyFn<T>>,
    _payload: PhantomData<fn() -> T>,
}

impl<T> Clone for Topic<T> {
    fn clone(&self) -> Self {
        Topic {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            key: self.key.clone(),
            _payload: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("payload", &std::any::type_name::<T>())
            .field("content_type", &self.content_type)
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl<T> Topic<T>
where
    T: Serialize + DeserializeOwned,
{
    /// A topic named `name` with JSON payloads and no key (records spread
    /// over the partitions).
    pub fn new(name: impl Into<String>) -> Self {
        Topic {
            name: name.into(),
            content_type: Cow::Borrowed(JSON),
            key: None,
            _payload: PhantomData,
        }
    }

    /// Key every record with `key(&event)`.
    #[must_use]
    pub fn with_key<F>(mut self, key: F) -> Self
    where
        F: Fn(&T) -> String + Send + Sync + 'static,
    {
        self.key = Some(Arc::new(key));
        self
    }

    /// Set the content-type header value (the payload is JSON either way,
    /// e.g. `application/vnd.acme.ingest.v2+json`).
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Put `prefix` in front of the name (an environment, a test).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.name = format!("{prefix}{}", self.name);
        self
    }

    /// Rename the topic.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The content-type header value.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The key of `event`, if the topic is keyed.
    pub fn key_of(&self, event: &T) -> Option<String> {
        self.key.as_ref().map(|key| key(event))
    }

    /// Serialize `event` to JSON.
    pub fn encode(&self, event: &T) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(event, &mut out)?;
        Ok(out)
    }

    /// Serialize `event` to JSON into `out`, replacing its contents: lets a
    /// batch reuse one buffer (librdkafka copies the payload on send).
    pub fn encode_into(&self, event: &T, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        serde_json::to_writer(&mut *out, event).map_err(|e| {
            Error::invalid_input(format!("cannot encode a {} event: {e}", self.name))
                .with_store(Store::Kafka)
                .with_operation("encode")
                .with_target(self.name.clone())
                .with_source(e)
        })
    }

    /// Deserialize a payload.
    pub fn decode(&self, payload: &[u8]) -> Result<T> {
        serde_json::from_slice(payload).map_err(|e| {
            Error::invalid_input(format!("undecodable {} payload: {e}", self.name))
                .with_store(Store::Kafka)
                .with_operation("decode")
                .with_target(self.name.clone())
                .with_source(e)
        })
    }

    /// Decode a received record: a content-type header other than this
    /// topic's, a missing payload, or bad JSON are errors.
    pub(crate) fn decode_record(&self, payload: Option<&[u8]>, headers: &Headers) -> Result<T> {
        if let Some(found) = headers.get(header::CONTENT_TYPE) {
            let found = found.map(String::from_utf8_lossy);
            if found.as_deref() != Some(self.content_type()) {
                return Err(Error::invalid_input(format!(
                    "content type {:?} is not {}",
                    found.as_deref().unwrap_or("null"),
                    self.content_type()
                ))
                .with_store(Store::Kafka)
                .with_operation("decode")
                .with_target(self.name.clone()));
            }
        }
        let Some(payload) = payload else {
            return Err(
                Error::invalid_input("the record has no payload (tombstone)")
                    .with_store(Store::Kafka)
                    .with_operation("decode")
                    .with_target(self.name.clone()),
            );
        };
        self.decode(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_through_rdkafka() {
        let headers = Headers::new().with("a", "1").with_null("n").with("a", "2");
        let owned = headers.to_rdkafka();
        assert_eq!(owned.count(), 3);
        assert_eq!(headers.get_str("a"), Some("2"));
        assert_eq!(headers.len(), 3);
        let keys: Vec<_> = headers.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "n", "a"]);
    }

    #[test]
    fn decode_record_checks_content_type_and_payload() {
        let topic = Topic::<serde_json::Value>::new("t");
        let ok = Headers::new().with(header::CONTENT_TYPE, JSON);
        assert_eq!(
            topic
                .decode_record(Some(b"{\"a\":1}"), &ok)
                .expect("decodes")["a"],
            1
        );
        assert!(topic
            .decode_record(Some(b"{\"a\":1}"), &Headers::new())
            .is_ok());
        let avro = Headers::new().with(header::CONTENT_TYPE, "application/avro");
        let err = topic
            .decode_record(Some(b"{}"), &avro)
            .expect_err("wrong type");
        assert!(err.message().contains("application/avro"), "{err}");
        let err = topic.decode_record(None, &ok).expect_err("tombstone");
        assert_eq!(err.kind(), ai_data_core::ErrorKind::InvalidInput);
        let err = topic
            .decode_record(Some(b"\xff{"), &ok)
            .expect_err("bad json");
        assert_eq!(err.operation(), Some("decode"));
    }

    #[test]
    fn encode_into_replaces_the_buffer_and_reports_unencodable_events() {
        let topic = Topic::<std::collections::HashMap<(u8, u8), u8>>::new("t");
        let mut buf = b"left over from the previous record".to_vec();
        topic
            .encode_into(&std::collections::HashMap::new(), &mut buf)
            .expect("encodes");
        assert_eq!(buf, b"{}");
        // JSON object keys must be strings: a tuple key cannot be encoded.
        let err = topic
            .encode_into(&[((1, 2), 3)].into_iter().collect(), &mut buf)
            .expect_err("tuple keys");
        assert_eq!(err.kind(), ai_data_core::ErrorKind::InvalidInput);
        assert_eq!(err.operation(), Some("encode"));
    }
}
