//! Collections as Weaviate classes: the class definition ([`ClassDef`],
//! [`PropertyDef`]), how names map, where the registry record lives, and
//! the per-collection layout every read and write uses.
//!
//! A collection `docs` is the class `Docs` (Weaviate capitalises class
//! names). Its class holds:
//!
//! - one property per declared field, named like the field with its first
//!   letter lowercased (Weaviate's convention), typed (`text` / `int` /
//!   `number` / `boolean` / `date` / `text[]` / `int[]`), text with
//!   `tokenization: field` so `Equal` compares whole values;
//! - `_payload`: the whole payload as JSON text, not indexed: it round-trips
//!   any keys and nesting;
//! - `_vector` (cosine collections only): the vector as base64 `f32` bytes,
//!   because Weaviate normalises cosine vectors on import;
//! - `_search` (collections with text search only): the document keyword
//!   and hybrid search read (`tokenization: word`, the `simple` analyzer),
//!   with the class's BM25 at `k1 = 1.2`, `b = 0.75` and no stop words;
//! - `_n_<field>` for list fields: the list's length, so an empty list is
//!   not null (Weaviate's null index treats empty arrays and strings as null);
//! - the [`CollectionSpec`] as JSON at the end of the class description
//!   (after [`SPEC_MARKER`]): the registry record (dimension, metric,
//!   fields, embedding model) checked on every `ensure_collection`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use ai_data_vector::{CollectionSpec, Error, ErrorKind, FieldKind, IndexSpec, Metric, Result};

/// Marks the registry record in a class description.
pub const SPEC_MARKER: &str = "ai-data-vector-spec:";
/// The property holding the payload as JSON text.
pub const PAYLOAD_PROP: &str = "_payload";
/// The property holding a text-search collection's document (its
/// searchable fields joined by a space), `word`-tokenized for `bm25`.
pub const SEARCH_PROP: &str = "_search";
/// The property holding the original vector of a cosine collection.
pub const VECTOR_PROP: &str = "_vector";
/// Prefix of the list-length properties.
pub const LENGTH_PREFIX: &str = "_n_";

/// A Weaviate class, as `POST /v1/schema` takes it and `GET` returns it
/// (the OpenAPI `Class` definition; fields this crate does not use are
/// dropped when read).
///
/// ```
/// use ai_data_weaviate::{ClassDef, PropertyDef};
///
/// let class = ClassDef::new("Document")
///     .with_description("A document")
///     .with_property(PropertyDef::new("lang", "text").with_tokenization("field"));
/// let json = serde_json::to_value(&class)?;
/// assert_eq!(json["properties"][0]["dataType"][0], "text");
/// assert_eq!(json["properties"][0]["tokenization"], "field");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClassDef {
    /// Class name, `^[A-Z][_0-9A-Za-z]*$`.
    pub class: String,
    /// Free text; ends with the registry record for collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `none` or a vectorizer module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectorizer: Option<String>,
    /// `hnsw` (or `flat` from 1.23).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_index_type: Option<String>,
    /// Index settings, `distance` among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_index_config: Option<Value>,
    /// Inverted index settings (`indexNullState`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverted_index_config: Option<Value>,
    /// Per-module settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_config: Option<Value>,
    /// The properties.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub properties: Vec<PropertyDef>,
}

/// One property of a [`ClassDef`] (the OpenAPI `Property` definition).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PropertyDef {
    /// Property name, `^[_A-Za-z][_0-9A-Za-z]*$`.
    pub name: String,
    /// One data type, e.g. `["text"]`, `["int[]"]`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub data_type: Vec<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `word` (default), `lowercase`, `whitespace` or `field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenization: Option<String>,
    /// Whether `where` filters may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_filterable: Option<bool>,
    /// Whether BM25 may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_searchable: Option<bool>,
    /// Per-module settings (`{"text2vec-transformers": {"skip": true}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_config: Option<Value>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl ClassDef {
    /// A class with no properties and server defaults for everything else.
    pub fn new(class: impl Into<String>) -> Self {
        ClassDef {
            class: class.into(),
            ..ClassDef::default()
        }
    }

    /// Set the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Add a property.
    #[must_use]
    pub fn with_property(mut self, property: PropertyDef) -> Self {
        self.properties.push(property);
        self
    }

    /// The property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// `vectorIndexConfig.distance`, if set.
    pub fn distance(&self) -> Option<&str> {
        self.vector_index_config.as_ref()?.get("distance")?.as_str()
    }
}

impl PropertyDef {
    /// A property of one data type.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        PropertyDef {
            name: name.into(),
            data_type: vec![data_type.into()],
            ..PropertyDef::default()
        }
    }

    /// Set the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Set the tokenization.
    #[must_use]
    pub fn with_tokenization(mut self, tokenization: impl Into<String>) -> Self {
        self.tokenization = Some(tokenization.into());
        self
    }

    /// The single data type (`""` if none).
    pub fn data_type(&self) -> &str {
        self.data_type
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// Weaviate's distance name for `metric`: `cosine`, `dot`, `l2-squared`.
pub const fn distance_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "cosine",
        Metric::Dot => "dot",
        Metric::L2 => "l2-squared",
    }
}

/// The class of collection `name`: the first letter upper-cased, as Weaviate
/// stores it. Names that do not start with an ASCII letter are
/// `InvalidInput` (Weaviate class names match `^[A-Z][_0-9A-Za-z]*$`).
///
/// ```
/// use ai_data_weaviate::schema::class_name;
///
/// assert_eq!(class_name("docs")?, "Docs");
/// assert_eq!(class_name("ModelData")?, "ModelData");
/// assert!(class_name("_private").is_err());
/// # Ok::<(), ai_data_vector::Error>(())
/// ```
pub fn class_name(collection: &str) -> Result<String> {
    ai_data_vector::validate::collection_name(collection)?;
    let mut chars = collection.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            Ok(first.to_ascii_uppercase().to_string() + chars.as_str())
        }
        _ => Err(Error::invalid_input(format!(
            "collection name {collection:?} cannot be a Weaviate class: it must start with a letter"
        ))),
    }
}

/// The property of field `name`: the first letter lower-cased (Weaviate's
/// convention for property names).
pub fn property_name(field: &str) -> String {
    let mut chars = field.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The length property of list property `prop`.
pub fn length_property(prop: &str) -> String {
    format!("{LENGTH_PREFIX}{prop}")
}

/// The Weaviate data type of a field kind.
pub const fn data_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Int => "int",
        FieldKind::Float => "number",
        FieldKind::Bool => "boolean",
        FieldKind::Timestamp => "date",
        FieldKind::TextList => "text[]",
        FieldKind::IntList => "int[]",
    }
}

/// Weaviate-specific checks of a spec, before any I/O: a class name can be
/// made, no field uses a reserved name (`id`, or a leading `_`, which this
/// backend keeps for its own properties), and no two fields map to one
/// property.
pub fn check_spec(spec: &CollectionSpec) -> Result<()> {
    class_name(&spec.name)?;
    let mut props: Vec<String> = Vec::with_capacity(spec.fields.len());
    for field in &spec.fields {
        let prop = property_name(&field.name);
        if prop.starts_with('_') || prop == "id" {
            return Err(Error::invalid_input(format!(
                "field name {:?} is reserved on Weaviate (`id`, `_id`, `_additional`, and names starting with `_`, which this backend uses for its own properties)",
                field.name
            )));
        }
        if props.contains(&prop) {
            return Err(Error::invalid_input(format!(
                "fields of collection `{}` collide on Weaviate: {:?} is property `{prop}` like another field (property names start lower-case)",
                spec.name, field.name
            )));
        }
        props.push(prop);
    }
    Ok(())
}

/// How a collection's class is created: vectorizer, module settings,
/// description, and properties kept beside the declared fields.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ClassOptions {
    /// `None` is `vectorizer: none`; else a module (`text2vec-transformers`).
    pub vectorizer: Option<String>,
    /// Class `moduleConfig`.
    pub module_config: Option<Value>,
    /// Human description (the registry record is appended).
    pub description: Option<String>,
    /// Properties besides the declared fields, written from payload keys of
    /// the same name when the value fits; never filtered on.
    pub extra_properties: Vec<PropertyDef>,
    /// Descriptions of declared fields' properties, by field name.
    pub field_descriptions: Vec<(String, String)>,
}

/// The class for `spec` (already validated and [`check_spec`]ed).
pub fn class_for(spec: &CollectionSpec, options: &ClassOptions) -> Result<ClassDef> {
    let record = serde_json::to_string(spec).map_err(|e| {
        Error::invalid_input(format!("collection spec cannot be serialised: {e}")).with_source(e)
    })?;
    let human = options
        .description
        .clone()
        .unwrap_or_else(|| format!("ai-data-vector collection `{}`", spec.name));
    let distance = distance_name(spec.metric);
    let (index_type, index_config) = match spec.index {
        IndexSpec::Hnsw { m, ef_construction } => (
            "hnsw",
            json!({"distance": distance, "maxConnections": m, "efConstruction": ef_construction}),
        ),
        IndexSpec::Exact => ("flat", json!({ "distance": distance })),
        IndexSpec::IvfFlat { .. } => {
            return Err(Error::unsupported("Weaviate has no IVFFlat index"));
        }
    };
    let skip = options
        .vectorizer
        .as_ref()
        .map(|module| json!({ module.as_str(): {"skip": true, "vectorizePropertyName": false} }));
    let mut properties = Vec::with_capacity(spec.fields.len() * 2 + 2);
    for field in &spec.fields {
        let prop = property_name(&field.name);
        let description = options
            .field_descriptions
            .iter()
            .find(|(name, _)| *name == field.name)
            .map_or_else(
                || format!("field `{}` ({})", field.name, field.kind),
                |(_, d)| d.clone(),
            );
        let mut def = PropertyDef::new(&prop, data_type(field.kind)).with_description(description);
        if matches!(field.kind, FieldKind::Text | FieldKind::TextList) {
            def.tokenization = Some("field".into());
        }
        properties.push(def);
        if field.kind.is_list() {
            let mut len = PropertyDef::new(length_property(&prop), "int")
                .with_description(format!("length of `{}` (absent when null)", field.name));
            len.module_config = skip.clone();
            properties.push(len);
        }
    }
    let mut payload = PropertyDef::new(PAYLOAD_PROP, "text")
        .with_description("the record's payload as JSON text");
    payload.index_filterable = Some(false);
    payload.index_searchable = Some(false);
    payload.module_config = skip.clone();
    properties.push(payload);
    if spec.text_search.is_some() {
        let mut search = PropertyDef::new(SEARCH_PROP, "text")
            .with_description("the text keyword search reads")
            .with_tokenization("word");
        search.index_filterable = Some(false);
        search.index_searchable = Some(true);
        search.module_config = skip.clone();
        properties.push(search);
    }
    if spec.metric == Metric::Cosine {
        let mut vector = PropertyDef::new(VECTOR_PROP, "blob")
            .with_description("the vector as written (Weaviate normalises cosine vectors)");
        vector.module_config = skip;
        properties.push(vector);
    }
    properties.extend(options.extra_properties.iter().cloned());
    Ok(ClassDef {
        class: class_name(&spec.name)?,
        description: Some(format!("{human} {SPEC_MARKER}{record}")),
        vectorizer: Some(options.vectorizer.clone().unwrap_or_else(|| "none".into())),
        vector_index_type: Some(index_type.into()),
        vector_index_config: Some(index_config),
        // BM25 as `ai_data_vector::text::Bm25` defines it: Weaviate's
        // default parameters, and no stop words (the `simple` analyzer).
        inverted_index_config: Some(json!({
            "indexNullState": true,
            "bm25": {"k1": 1.2, "b": 0.75},
            "stopwords": {"preset": "none"},
        })),
        module_config: options.module_config.clone(),
        properties,
    })
}

/// The registry record in a class description, if the class is a collection.
pub fn spec_of(class: &ClassDef) -> Result<Option<CollectionSpec>> {
    let Some(description) = &class.description else {
        return Ok(None);
    };
    let Some(at) = description.rfind(SPEC_MARKER) else {
        return Ok(None);
    };
    let record = &description[at + SPEC_MARKER.len()..];
    serde_json::from_str(record).map(Some).map_err(|e| {
        Error::new(
            ErrorKind::Backend,
            format!(
                "class `{}` has a damaged collection record in its description: {e}",
                class.class
            ),
        )
        .with_source(e)
    })
}

/// A declared field as stored in the class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldLayout {
    pub(crate) name: String,
    pub(crate) prop: String,
    pub(crate) kind: FieldKind,
    /// The length property, for list fields.
    pub(crate) length_prop: Option<String>,
}

impl FieldLayout {
    /// The property `IsNull` tests.
    pub(crate) fn null_prop(&self) -> &str {
        self.length_prop.as_deref().unwrap_or(&self.prop)
    }
}

/// A class property written from a payload key when the value fits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mirror {
    pub(crate) prop: String,
    pub(crate) data_type: String,
}

/// How one collection lives in its class; built from the class as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) spec: CollectionSpec,
    pub(crate) class: String,
    pub(crate) fields: Vec<FieldLayout>,
    pub(crate) mirrors: Vec<Mirror>,
    pub(crate) vector_blob: bool,
}

impl Layout {
    /// The layout of collection `collection` in `class`. `Conflict` when the
    /// class is not a collection of this name, or its properties do not
    /// match the record.
    pub(crate) fn of(collection: &str, class: &ClassDef) -> Result<Layout> {
        let conflict =
            |what: String| Error::new(ErrorKind::Conflict, what).with_target(collection.to_owned());
        let Some(spec) = spec_of(class)? else {
            return Err(conflict(format!(
                "Weaviate class `{}` exists but was not created by ai-data-vector (no collection record in its description); drop it or use another collection name",
                class.class
            )));
        };
        if spec.name != collection {
            return Err(conflict(format!(
                "collection `{collection}` and collection `{}` are both Weaviate class `{}`: names differing only in the case of their first letter collide",
                spec.name, class.class
            )));
        }
        let want = distance_name(spec.metric);
        if class.distance() != Some(want) {
            return Err(conflict(format!(
                "class `{}` has distance {:?} but its record says {want}",
                class.class,
                class.distance()
            )));
        }
        let mut fields = Vec::with_capacity(spec.fields.len());
        for field in &spec.fields {
            let prop = property_name(&field.name);
            let ok = class.property(&prop).is_some_and(|p| {
                p.data_type() == data_type(field.kind)
                    && (!matches!(field.kind, FieldKind::Text | FieldKind::TextList)
                        || p.tokenization.as_deref() == Some("field"))
            });
            if !ok {
                return Err(conflict(format!(
                    "class `{}` lacks property `{prop}` of type {} (with field tokenization for text) for field `{}`",
                    class.class,
                    data_type(field.kind),
                    field.name
                )));
            }
            let length_prop = field.kind.is_list().then(|| length_property(&prop));
            fields.push(FieldLayout {
                name: field.name.clone(),
                prop,
                kind: field.kind,
                length_prop,
            });
        }
        let vector_blob = class
            .property(VECTOR_PROP)
            .is_some_and(|p| p.data_type() == "blob");
        let mirrors = class
            .properties
            .iter()
            .filter(|p| !p.name.starts_with('_') && !fields.iter().any(|f| f.prop == p.name))
            .filter(|p| {
                matches!(
                    p.data_type(),
                    "text" | "text[]" | "int" | "int[]" | "number" | "boolean" | "date"
                )
            })
            .map(|p| Mirror {
                prop: p.name.clone(),
                data_type: p.data_type().to_owned(),
            })
            .collect();
        Ok(Layout {
            spec,
            class: class.class.clone(),
            fields,
            mirrors,
            vector_blob,
        })
    }

    /// The layout of declared field `name`.
    pub(crate) fn field(&self, name: &str) -> Result<&FieldLayout> {
        self.fields.iter().find(|f| f.name == name).ok_or_else(|| {
            Error::invalid_input(format!(
                "filter on field `{name}`, which collection `{}` does not declare",
                self.spec.name
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CollectionSpec {
        CollectionSpec::new("docs", 3, Metric::Cosine)
            .with_field("Title", FieldKind::Text)
            .with_field("tags", FieldKind::TextList)
            .with_field("year", FieldKind::Int)
    }

    #[test]
    fn names_map_like_weaviate() {
        assert_eq!(class_name("x").ok().as_deref(), Some("X"));
        assert!(class_name("9x").is_err());
        assert!(class_name("bad-name").is_err());
        assert_eq!(property_name("Title"), "title");
        assert_eq!(property_name("_x"), "_x");
        assert_eq!(length_property("tags"), "_n_tags");
    }

    #[test]
    fn reserved_and_colliding_fields_are_invalid_input() {
        for spec in [
            CollectionSpec::new("c", 2, Metric::L2).with_field("_payload", FieldKind::Text),
            CollectionSpec::new("c", 2, Metric::L2).with_field("id", FieldKind::Text),
            CollectionSpec::new("c", 2, Metric::L2).with_field("Id", FieldKind::Text),
            CollectionSpec::new("c", 2, Metric::L2)
                .with_field("Year", FieldKind::Int)
                .with_field("year", FieldKind::Int),
        ] {
            let err = check_spec(&spec).expect_err("rejected");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        }
        assert!(check_spec(&spec()).is_ok());
    }

    #[test]
    fn class_round_trips_its_record_and_layout() {
        let spec = spec();
        let class = class_for(&spec, &ClassOptions::default()).expect("class");
        assert_eq!(class.class, "Docs");
        assert_eq!(class.distance(), Some("cosine"));
        assert_eq!(class.vectorizer.as_deref(), Some("none"));
        let names: Vec<&str> = class.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["title", "tags", "_n_tags", "year", "_payload", "_vector"]
        );
        assert_eq!(
            class
                .property("title")
                .and_then(|p| p.tokenization.as_deref()),
            Some("field")
        );
        assert_eq!(spec_of(&class).ok().flatten(), Some(spec.clone()));
        let layout = Layout::of("docs", &class).expect("layout");
        assert!(layout.vector_blob);
        assert!(layout.mirrors.is_empty());
        assert_eq!(
            layout.field("tags").map(|f| f.null_prop()).ok(),
            Some("_n_tags")
        );
        assert_eq!(
            layout.field("Title").map(|f| f.prop.as_str()).ok(),
            Some("title")
        );
        // The same class seen under another collection name is a collision.
        let err = Layout::of("Docs", &class).expect_err("collision");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.message().contains("collide"), "{err}");
    }

    #[test]
    fn foreign_or_tampered_classes_conflict() {
        let foreign = ClassDef::new("Docs").with_description("made by hand");
        let err = Layout::of("docs", &foreign).expect_err("foreign");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let mut class = class_for(&spec(), &ClassOptions::default()).expect("class");
        class.properties[0].tokenization = Some("word".into());
        assert_eq!(
            Layout::of("docs", &class).map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::Conflict)
        );
        let l2 = class_for(
            &CollectionSpec::new("v", 2, Metric::L2).with_index(IndexSpec::Exact),
            &ClassOptions::default(),
        )
        .expect("class");
        assert_eq!(l2.distance(), Some("l2-squared"));
        assert_eq!(l2.vector_index_type.as_deref(), Some("flat"));
        assert!(l2.property(VECTOR_PROP).is_none());
    }
}
