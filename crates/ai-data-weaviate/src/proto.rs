//! The few `weaviate.v1` protobuf messages the gRPC `Search` fast path
//! uses, written by hand (no `.proto` files, no `protoc`). Field numbers
//! follow Weaviate's `search_get.proto`, `base.proto` and
//! `properties.proto`; fields not listed are skipped when decoding.
//! Shared with `ai-data-weaviate-fake`, which serves them.
//!
//! Version notes: `NearVector.vector_bytes` (4) exists from 1.22.6, before
//! that the same little-endian `f32` bytes went in packed `vector` (1);
//! `Filters.value_number` (7) is `float` in 1.22 and `double` from 1.23 (this
//! crate only sends numbers to 1.23+); properties come back as a
//! `google.protobuf.Struct` in field 1 (up to 1.32) or as `Properties` in
//! field 11 (from 1.23, with `uses_123_api`). Keyword (`bm25_search`) and
//! hybrid (`hybrid_search`) searches are sent over gRPC from 1.23 only (the
//! 1.22 messages are not all documented; GraphQL serves them there).

use std::collections::HashMap;

/// `weaviate.v1.Weaviate/Search`.
pub const SEARCH_PATH: &str = "/weaviate.v1.Weaviate/Search";

/// `weaviate.v1.SearchRequest` (the fields used here).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchRequest {
    /// The class (`class_name` in 1.22, same field number).
    #[prost(string, tag = "1")]
    pub collection: String,
    /// Properties to return; an empty message returns none.
    #[prost(message, optional, tag = "20")]
    pub properties: Option<PropertiesRequest>,
    /// Metadata to return.
    #[prost(message, optional, tag = "21")]
    pub metadata: Option<MetadataRequest>,
    /// At most this many results.
    #[prost(uint32, tag = "30")]
    pub limit: u32,
    /// The `where` filter.
    #[prost(message, optional, tag = "40")]
    pub filters: Option<Filters>,
    /// A hybrid (keyword + vector) search.
    #[prost(message, optional, tag = "41")]
    pub hybrid_search: Option<Hybrid>,
    /// A keyword (BM25) search.
    #[prost(message, optional, tag = "42")]
    pub bm25_search: Option<Bm25>,
    /// The query vector.
    #[prost(message, optional, tag = "43")]
    pub near_vector: Option<NearVector>,
    /// The 1.23 reply format (properties in field 11).
    #[prost(bool, tag = "100")]
    pub uses_123_api: bool,
    /// The 1.25 request format.
    #[prost(bool, tag = "101")]
    pub uses_125_api: bool,
    /// The 1.27 reply format (typed values).
    #[prost(bool, tag = "102")]
    pub uses_127_api: bool,
}

/// `weaviate.v1.PropertiesRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PropertiesRequest {
    /// Scalar properties to return.
    #[prost(string, repeated, tag = "1")]
    pub non_ref_properties: Vec<String>,
}

/// `weaviate.v1.MetadataRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataRequest {
    /// Return the id.
    #[prost(bool, tag = "1")]
    pub uuid: bool,
    /// Return the stored vector.
    #[prost(bool, tag = "2")]
    pub vector: bool,
    /// Return the distance.
    #[prost(bool, tag = "5")]
    pub distance: bool,
    /// Return the keyword or hybrid score.
    #[prost(bool, tag = "7")]
    pub score: bool,
}

/// `weaviate.v1.BM25`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bm25 {
    /// The query text.
    #[prost(string, tag = "1")]
    pub query: String,
    /// The searched properties (none: every text property).
    #[prost(string, repeated, tag = "2")]
    pub properties: Vec<String>,
}

/// `weaviate.v1.Hybrid` (the fields used here).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hybrid {
    /// The query text.
    #[prost(string, tag = "1")]
    pub query: String,
    /// The properties the keyword arm searches.
    #[prost(string, repeated, tag = "2")]
    pub properties: Vec<String>,
    /// The query vector as packed floats (deprecated from 1.23, still read).
    #[prost(float, repeated, tag = "3")]
    pub vector: Vec<f32>,
    /// The vector arm's weight.
    #[prost(float, tag = "4")]
    pub alpha: f32,
    /// How the arms are fused.
    #[prost(enumeration = "FusionType", tag = "5")]
    pub fusion_type: i32,
    /// The query vector as little-endian `f32` bytes (1.23+).
    #[prost(bytes = "vec", tag = "6")]
    pub vector_bytes: Vec<u8>,
}

/// `weaviate.v1.Hybrid.FusionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FusionType {
    /// The server's default (ranked before 1.24, relative score from 1.24).
    Unspecified = 0,
    /// `rankedFusion`.
    Ranked = 1,
    /// `relativeScoreFusion`.
    RelativeScore = 2,
}

/// `weaviate.v1.NearVector`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NearVector {
    /// The vector (before 1.22.6; packed, so byte-identical to `vector_bytes`).
    #[prost(float, repeated, tag = "1")]
    pub vector: Vec<f32>,
    /// Minimum certainty (cosine only; never with `distance`).
    #[prost(double, optional, tag = "2")]
    pub certainty: Option<f64>,
    /// Maximum distance.
    #[prost(double, optional, tag = "3")]
    pub distance: Option<f64>,
    /// The vector as little-endian `f32` bytes (1.22.6+).
    #[prost(bytes = "vec", tag = "4")]
    pub vector_bytes: Vec<u8>,
}

/// `weaviate.v1.Filters`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Filters {
    /// [`Operator`] as `i32`.
    #[prost(enumeration = "Operator", tag = "1")]
    pub operator: i32,
    /// The property path (`on`; `target` in later versions).
    #[prost(string, repeated, tag = "2")]
    pub on: Vec<String>,
    /// Operands of `And` / `Or`.
    #[prost(message, repeated, tag = "3")]
    pub filters: Vec<Filters>,
    /// The operand of a comparison.
    #[prost(oneof = "filters::TestValue", tags = "4, 5, 6, 7, 9, 10, 11, 12")]
    pub test_value: Option<filters::TestValue>,
}

/// Nested types of [`Filters`].
pub mod filters {
    /// `Filters.test_value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum TestValue {
        /// Text (also dates, as RFC 3339).
        #[prost(string, tag = "4")]
        ValueText(String),
        /// Integer.
        #[prost(int64, tag = "5")]
        ValueInt(i64),
        /// Boolean.
        #[prost(bool, tag = "6")]
        ValueBoolean(bool),
        /// Number (`double` from 1.23).
        #[prost(double, tag = "7")]
        ValueNumber(f64),
        /// Texts.
        #[prost(message, tag = "9")]
        ValueTextArray(super::TextArray),
        /// Integers.
        #[prost(message, tag = "10")]
        ValueIntArray(super::IntArray),
        /// Booleans.
        #[prost(message, tag = "11")]
        ValueBooleanArray(super::BooleanArray),
        /// Numbers.
        #[prost(message, tag = "12")]
        ValueNumberArray(super::NumberArray),
    }
}

/// `Filters.Operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Operator {
    /// Not set.
    Unspecified = 0,
    /// `Equal`.
    Equal = 1,
    /// `NotEqual`.
    NotEqual = 2,
    /// `GreaterThan`.
    GreaterThan = 3,
    /// `GreaterThanEqual`.
    GreaterThanEqual = 4,
    /// `LessThan`.
    LessThan = 5,
    /// `LessThanEqual`.
    LessThanEqual = 6,
    /// `And`.
    And = 7,
    /// `Or`.
    Or = 8,
    /// `WithinGeoRange`.
    WithinGeoRange = 9,
    /// `Like`.
    Like = 10,
    /// `IsNull`.
    IsNull = 11,
    /// `ContainsAny`.
    ContainsAny = 12,
    /// `ContainsAll`.
    ContainsAll = 13,
}

/// `weaviate.v1.TextArray`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextArray {
    /// The values.
    #[prost(string, repeated, tag = "1")]
    pub values: Vec<String>,
}

/// `weaviate.v1.IntArray`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IntArray {
    /// The values.
    #[prost(int64, repeated, tag = "1")]
    pub values: Vec<i64>,
}

/// `weaviate.v1.BooleanArray`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BooleanArray {
    /// The values.
    #[prost(bool, repeated, tag = "1")]
    pub values: Vec<bool>,
}

/// `weaviate.v1.NumberArray`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NumberArray {
    /// The values.
    #[prost(double, repeated, tag = "1")]
    pub values: Vec<f64>,
}

/// `weaviate.v1.SearchReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchReply {
    /// Server time in seconds.
    #[prost(float, tag = "1")]
    pub took: f32,
    /// The hits, nearest first.
    #[prost(message, repeated, tag = "2")]
    pub results: Vec<SearchResult>,
}

/// `weaviate.v1.SearchResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchResult {
    /// The requested properties.
    #[prost(message, optional, tag = "1")]
    pub properties: Option<PropertiesResult>,
    /// The requested metadata.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<MetadataResult>,
}

/// `weaviate.v1.MetadataResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataResult {
    /// The object id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// The stored vector (older servers).
    #[prost(float, repeated, tag = "2")]
    pub vector: Vec<f32>,
    /// The distance.
    #[prost(float, tag = "7")]
    pub distance: f32,
    /// Whether `distance` is set.
    #[prost(bool, tag = "8")]
    pub distance_present: bool,
    /// The keyword or hybrid score.
    #[prost(float, tag = "11")]
    pub score: f32,
    /// Whether `score` is set.
    #[prost(bool, tag = "12")]
    pub score_present: bool,
    /// The stored vector as little-endian `f32` bytes (newer servers).
    #[prost(bytes = "vec", tag = "19")]
    pub vector_bytes: Vec<u8>,
}

/// `weaviate.v1.PropertiesResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PropertiesResult {
    /// Scalar properties as a `google.protobuf.Struct` (up to 1.32).
    #[prost(message, optional, tag = "1")]
    pub non_ref_properties: Option<Struct>,
    /// Scalar properties (1.23+, with `uses_123_api`).
    #[prost(message, optional, tag = "11")]
    pub non_ref_props: Option<Properties>,
}

/// `google.protobuf.Struct` (scalar values only; nested ones are skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Struct {
    /// The fields.
    #[prost(map = "string, message", tag = "1")]
    pub fields: HashMap<String, StructValue>,
}

/// `google.protobuf.Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StructValue {
    /// The value.
    #[prost(oneof = "struct_value::Kind", tags = "1, 2, 3, 4")]
    pub kind: Option<struct_value::Kind>,
}

/// Nested types of [`StructValue`].
pub mod struct_value {
    /// `google.protobuf.Value.kind`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `null`.
        #[prost(int32, tag = "1")]
        NullValue(i32),
        /// A number.
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
    }
}

/// `weaviate.v1.Properties`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Properties {
    /// The fields.
    #[prost(map = "string, message", tag = "1")]
    pub fields: HashMap<String, Value>,
}

/// `weaviate.v1.Value` (scalar kinds only; others are skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The value.
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 6, 7, 8, 10, 13")]
    pub kind: Option<value::Kind>,
}

/// Nested types of [`Value`].
pub mod value {
    /// `weaviate.v1.Value.kind`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// A number.
        #[prost(double, tag = "1")]
        NumberValue(f64),
        /// Text (before 1.27).
        #[prost(string, tag = "2")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "3")]
        BoolValue(bool),
        /// A date (RFC 3339).
        #[prost(string, tag = "6")]
        DateValue(String),
        /// A UUID.
        #[prost(string, tag = "7")]
        UuidValue(String),
        /// An integer.
        #[prost(int64, tag = "8")]
        IntValue(i64),
        /// A blob (base64).
        #[prost(string, tag = "10")]
        BlobValue(String),
        /// Text (1.27+).
        #[prost(string, tag = "13")]
        TextValue(String),
    }
}

impl PropertiesResult {
    /// The text (or blob) property `name`, from whichever field the server filled.
    pub fn text(&self, name: &str) -> Option<&str> {
        if let Some(props) = &self.non_ref_props {
            if let Some(value) = props.fields.get(name) {
                return match &value.kind {
                    Some(
                        value::Kind::TextValue(s)
                        | value::Kind::StringValue(s)
                        | value::Kind::BlobValue(s)
                        | value::Kind::DateValue(s)
                        | value::Kind::UuidValue(s),
                    ) => Some(s),
                    _ => None,
                };
            }
        }
        let fields = &self.non_ref_properties.as_ref()?.fields;
        match &fields.get(name)?.kind {
            Some(struct_value::Kind::StringValue(s)) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn packed_floats_and_vector_bytes_are_the_same_bytes() {
        let v = vec![1.0_f32, -2.5, 0.1];
        let old = NearVector {
            vector: v.clone(),
            ..NearVector::default()
        }
        .encode_to_vec();
        let new = NearVector {
            vector_bytes: ai_data_vector::wire::encode_f32_le(&v),
            ..NearVector::default()
        }
        .encode_to_vec();
        // Tag byte differs (field 1 vs 4, both length-delimited); the rest is equal.
        assert_eq!(old[0], (1 << 3) | 2);
        assert_eq!(new[0], (4 << 3) | 2);
        assert_eq!(old[1..], new[1..]);
    }

    #[test]
    fn empty_properties_request_is_on_the_wire() {
        let request = SearchRequest {
            properties: Some(PropertiesRequest::default()),
            ..SearchRequest::default()
        };
        let bytes = request.encode_to_vec();
        assert_eq!(bytes, vec![(20 << 3) | 2, 1, 0]);
        let back = SearchRequest::decode(bytes.as_slice()).ok();
        assert_eq!(
            back.and_then(|r| r.properties),
            Some(PropertiesRequest::default())
        );
    }

    #[test]
    fn text_from_either_properties_field() {
        let old = PropertiesResult {
            non_ref_properties: Some(Struct {
                fields: HashMap::from([(
                    "_payload".to_owned(),
                    StructValue {
                        kind: Some(struct_value::Kind::StringValue("{}".into())),
                    },
                )]),
            }),
            non_ref_props: None,
        };
        assert_eq!(old.text("_payload"), Some("{}"));
        let new = PropertiesResult {
            non_ref_properties: None,
            non_ref_props: Some(Properties {
                fields: HashMap::from([(
                    "_vector".to_owned(),
                    Value {
                        kind: Some(value::Kind::BlobValue("AAA=".into())),
                    },
                )]),
            }),
        };
        assert_eq!(new.text("_vector"), Some("AAA="));
        assert_eq!(new.text("_payload"), None);
    }
}
