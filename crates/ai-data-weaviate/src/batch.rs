//! Records as Weaviate objects and back: the properties a record is written
//! with (see [`super::schema`]) and how `_payload`, `_vector` and
//! `_additional` are read.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value as Json};

use super::client::BatchObject;
use super::schema::{Layout, PAYLOAD_PROP, SEARCH_PROP, VECTOR_PROP};
use super::values::{fits, stored};
use ai_data_vector::{wire, Error, ErrorKind, Payload, Record, RecordId, Result};

/// The object `record` is written as.
pub(crate) fn object<'a>(layout: &'a Layout, record: &'a Record) -> BatchObject<'a> {
    let mut properties = Map::with_capacity(layout.fields.len() + layout.mirrors.len() + 2);
    for field in &layout.fields {
        let Some(value) = record
            .payload
            .get(&field.name)
            .and_then(|v| stored(field.kind, v))
        else {
            continue;
        };
        if let Some(length_prop) = &field.length_prop {
            let n = value.as_array().map_or(0, Vec::len);
            properties.insert(length_prop.clone(), Json::from(n));
        }
        properties.insert(field.prop.clone(), value);
    }
    for mirror in &layout.mirrors {
        if let Some(value) = record.payload.get(&mirror.prop) {
            if fits(&mirror.data_type, value) {
                properties.insert(mirror.prop.clone(), value.clone());
            }
        }
    }
    if let Some(search) = &layout.spec.text_search {
        properties.insert(
            SEARCH_PROP.into(),
            Json::String(search.document(&record.payload)),
        );
    }
    // A Payload always serialises.
    let payload = serde_json::to_string(&record.payload).unwrap_or_default();
    properties.insert(PAYLOAD_PROP.into(), Json::String(payload));
    if layout.vector_blob {
        properties.insert(
            VECTOR_PROP.into(),
            Json::String(encode_blob(&record.vector)),
        );
    }
    BatchObject {
        class: &layout.class,
        id: record.id,
        properties,
        vector: Some(&record.vector),
    }
}

/// The vector as base64 of its little-endian `f32` bytes (a `blob`).
pub(crate) fn encode_blob(vector: &[f32]) -> String {
    STANDARD.encode(wire::encode_f32_le(vector))
}

/// A `blob` back to a vector.
pub(crate) fn decode_blob(text: &str) -> Result<Vec<f32>> {
    let bytes = STANDARD.decode(text).map_err(|e| {
        Error::new(
            ErrorKind::Backend,
            format!("stored vector is not base64: {e}"),
        )
    })?;
    wire::decode_f32_le(&bytes).map_err(|e| Error::new(ErrorKind::Backend, e.message().to_owned()))
}

/// The payload of record `id` in `_payload` (an object written by another
/// client, without it, has an empty payload): the exact JSON text written,
/// parsed with `serde_json`'s round-trip-exact float parser, so it comes
/// back unchanged. An error names the record.
pub(crate) fn decode_payload(id: RecordId, text: Option<&str>) -> Result<Payload> {
    match text {
        None => Ok(Payload::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Backend,
                format!("record {id}: the stored payload is not a JSON object: {e}"),
            )
            .with_source(e)
        }),
    }
}

/// One object of a GraphQL `Get` reply.
#[derive(Debug)]
pub(crate) struct ReadObject {
    pub(crate) id: RecordId,
    pub(crate) distance: Option<f32>,
    /// The keyword or hybrid score.
    pub(crate) score: Option<f32>,
    pub(crate) payload: Option<Payload>,
    pub(crate) vector: Option<Vec<f32>>,
}

/// Read one `Get` object (`_payload`, `_vector`, `_additional {id distance vector}`).
pub(crate) fn read_object(
    object: &Json,
    want_payload: bool,
    want_vector: bool,
) -> Result<ReadObject> {
    let additional = &object["_additional"];
    let id = additional["id"]
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::Backend, "GraphQL object without _additional.id"))
        .and_then(|s| {
            RecordId::parse(s).map_err(|e| Error::new(ErrorKind::Backend, e.message().to_owned()))
        })?;
    let distance = additional["distance"].as_f64().map(|d| d as f32);
    // A string in Weaviate's GraphQL; a number accepted too.
    let score = match &additional["score"] {
        Json::String(s) => s.parse::<f32>().ok(),
        other => other.as_f64().map(|x| x as f32),
    };
    let payload = if want_payload {
        Some(decode_payload(id, object[PAYLOAD_PROP].as_str())?)
    } else {
        None
    };
    let vector = if want_vector {
        match object[VECTOR_PROP].as_str() {
            Some(blob) => Some(decode_blob(blob)?),
            None => additional["vector"].as_array().map(|items| {
                items
                    .iter()
                    .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect()
            }),
        }
    } else {
        None
    };
    Ok(ReadObject {
        id,
        distance,
        score,
        payload,
        vector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{class_for, ClassOptions, PropertyDef};
    use ai_data_vector::{CollectionSpec, FieldKind, Metric};
    use serde_json::json;

    fn layout(metric: Metric) -> Layout {
        let spec = CollectionSpec::new("docs", 2, metric)
            .with_field("lang", FieldKind::Text)
            .with_field("tags", FieldKind::TextList)
            .with_field("at", FieldKind::Timestamp);
        let options = ClassOptions {
            extra_properties: vec![PropertyDef::new("content", "text")],
            ..ClassOptions::default()
        };
        let class = class_for(&spec, &options).expect("class");
        Layout::of("docs", &class).expect("layout")
    }

    #[test]
    fn objects_carry_fields_mirrors_payload_and_blob() {
        let layout = layout(Metric::Cosine);
        let payload = json!({"lang": " en", "tags": [], "at": "2024-01-01T01:00:00+01:00",
            "content": "full text", "nested": {"x": [1, null]}, "year": null});
        let record = Record::new(
            RecordId::from_key("a"),
            vec![0.1, -3.5],
            payload.as_object().cloned().unwrap_or_default(),
        );
        let object = object(&layout, &record);
        let props = &object.properties;
        assert_eq!(props["lang"], "\u{E000} en\u{E000}");
        assert_eq!(props["tags"], json!([]));
        assert_eq!(props["_n_tags"], 0);
        assert_eq!(props["at"], "2024-01-01T00:00:00Z");
        assert_eq!(props["content"], "full text");
        assert!(!props.contains_key("nested") && !props.contains_key("year"));
        let back = decode_payload(record.id, props["_payload"].as_str()).expect("payload");
        assert_eq!(back, record.payload);
        let vector = decode_blob(props["_vector"].as_str().unwrap_or_default()).expect("blob");
        assert_eq!(vector, record.vector);
        assert_eq!(object.vector, Some(&record.vector[..]));
        let l2 = super::object(&self::layout(Metric::L2), &record).properties;
        assert!(!l2.contains_key("_vector"));
    }

    #[test]
    fn read_objects_prefer_the_blob() {
        let blob = encode_blob(&[1.0, 2.0]);
        let id = RecordId::from_key("x");
        let object = json!({"_payload": "{\"k\":1}", "_vector": blob,
            "_additional": {"id": id.to_string(), "distance": 0.25, "vector": [0.4, 0.9]}});
        let read = read_object(&object, true, true).expect("read");
        assert_eq!(read.id, id);
        assert_eq!(read.distance, Some(0.25));
        assert_eq!(read.vector, Some(vec![1.0, 2.0]));
        assert_eq!(read.payload.map(|p| p["k"].clone()), Some(json!(1)));
        let bare = json!({"_additional": {"id": id.to_string(), "vector": [0.5, 1.5]}});
        let read = read_object(&bare, true, true).expect("read");
        assert_eq!(read.vector, Some(vec![0.5, 1.5]));
        assert_eq!(read.payload, Some(Payload::new()));
        assert!(read_object(&json!({}), false, false).is_err());
        assert!(decode_blob("!!").is_err());
    }
}
