//! How cached values become bytes: MessagePack (default) or JSON.
//!
//! Measured on the hot path's value, ten search hits of a 768-dimension
//! collection with small JSON payloads (`benches/cache_hit.rs`, group
//! `codec`, and the unit test below): MessagePack is about a third smaller
//! than JSON without vectors and about half the size with them, and
//! decodes faster. `postcard` would be smaller still but is not
//! self-describing, so it cannot decode `serde_json::Value` payloads or
//! internally tagged enums: it cannot serve a generic `TypedCache<T>`.
//! Structs are written as maps (field names kept), so a field skipped with
//! `skip_serializing_if` or added with `#[serde(default)]` decodes safely;
//! bump the cache's version for incompatible changes.

use ai_data_core::{Error, ErrorKind, Result, Store};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The byte encoding of cached values.
///
/// ```
/// use ai_data_redis::Codec;
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Model { name: String, dims: u32 }
///
/// let m = Model { name: "bge-m3".into(), dims: 1024 };
/// let packed = Codec::MessagePack.encode(&m).unwrap();
/// let json = Codec::Json.encode(&m).unwrap();
/// assert!(packed.len() < json.len());
/// assert_eq!(Codec::MessagePack.decode::<Model>(&packed).unwrap(), m);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Codec {
    /// MessagePack with named struct fields (`rmp-serde`). The default.
    #[default]
    MessagePack,
    /// JSON (`serde_json`): readable with `redis-cli`, larger and slower.
    Json,
}

impl Codec {
    /// Encode a value. A value serde cannot encode is `InvalidInput`.
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>> {
        let out = match self {
            Codec::MessagePack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
        };
        out.map_err(|e| {
            Error::invalid_input(format!("value cannot be encoded as {self:?}: {e}"))
                .with_store(Store::Redis)
        })
    }

    /// Decode a value. Bytes that do not decode as `T` are `Backend`
    /// (cache readers treat them as a miss).
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T> {
        let out = match self {
            Codec::MessagePack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        };
        out.map_err(|e| {
            Error::new(
                ErrorKind::Backend,
                format!("cached bytes do not decode as {self:?}: {e}"),
            )
            .with_store(Store::Redis)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::{RecordId, SearchHit};
    use serde::Deserialize;

    fn hits(with_vectors: bool) -> Vec<SearchHit> {
        (0..10)
            .map(|i| SearchHit {
                id: RecordId::from_key(&format!("doc-{i}")),
                distance: 0.1 * i as f32,
                score: None,
                payload: serde_json::json!({"lang": "en", "year": 2020 + i, "title": format!("Document {i}")})
                    .as_object()
                    .cloned(),
                vector: with_vectors.then(|| (0..768).map(|d| (d as f32 * 0.37).sin()).collect()),
            })
            .collect()
    }

    #[test]
    fn message_pack_is_smaller_than_json_for_search_hits_and_round_trips() {
        for with_vectors in [false, true] {
            let hits = hits(with_vectors);
            let packed = Codec::MessagePack.encode(&hits).expect("msgpack");
            let json = Codec::Json.encode(&hits).expect("json");
            assert!(
                packed.len() * 10 < json.len() * 8,
                "vectors {with_vectors}: msgpack {} vs json {}",
                packed.len(),
                json.len()
            );
            let back: Vec<SearchHit> = Codec::MessagePack.decode(&packed).expect("decode");
            assert_eq!(back, hits);
            let back: Vec<SearchHit> = Codec::Json.decode(&json).expect("decode");
            assert_eq!(back, hits);
        }
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Event {
        Started {
            job: String,
        },
        Done {
            job: String,
            #[serde(skip_serializing_if = "Option::is_none", default)]
            note: Option<String>,
        },
    }

    #[test]
    fn tagged_enums_and_skipped_fields_round_trip() {
        let events = vec![
            Event::Started { job: "j".into() },
            Event::Done {
                job: "j".into(),
                note: None,
            },
            Event::Done {
                job: "j".into(),
                note: Some("ok".into()),
            },
        ];
        for codec in [Codec::MessagePack, Codec::Json] {
            let bytes = codec.encode(&events).expect("encode");
            assert_eq!(codec.decode::<Vec<Event>>(&bytes).expect("decode"), events);
        }
    }

    #[test]
    fn garbage_is_a_backend_error() {
        let err = Codec::MessagePack
            .decode::<Vec<SearchHit>>(b"\xc1not msgpack")
            .expect_err("garbage");
        assert_eq!(err.kind(), ErrorKind::Backend);
    }
}
