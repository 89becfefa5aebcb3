//! The seed's classes (`Document`, `Image`, `ModelData`, seed §4.4) as
//! collections, created idempotently.
//!
//! Every seed property is kept with its description. Properties services
//! filter on exactly (source, category, author, tags, dates, names,
//! versions, ...) become declared fields with `tokenization: field`; the
//! free-text ones (title, content, caption, descriptions, metrics, use
//! case) stay word-tokenized properties for BM25 and are written from the
//! payload key of the same name. Classes get `vectorizer: none` (this
//! library supplies the vectors); [`SeedVectorizers::Modules`] gives them
//! the seed's modules instead (`text2vec-transformers`, `img2vec-neural`).

use super::schema::{ClassOptions, PropertyDef};
use super::WeaviateStore;
use ai_data_vector::{CollectionSpec, FieldKind, Metric, Result};

/// Vectorizers of the seed's classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeedVectorizers {
    /// `vectorizer: none`: every write carries its vector.
    #[default]
    None,
    /// The seed's modules: `text2vec-transformers` for `Document` and
    /// `ModelData`, `img2vec-neural` for `Image` (the server must enable them).
    Modules,
}

/// How the seed's classes are created.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SeedOptions {
    /// Dimension of `Document` vectors (default 1024, multilingual-e5-large).
    pub document_dimension: usize,
    /// Dimension of `Image` vectors (default 2048, resnet50).
    pub image_dimension: usize,
    /// Dimension of `ModelData` vectors (default 1024).
    pub model_data_dimension: usize,
    /// The metric of all three (default cosine, Weaviate's default).
    pub metric: Metric,
    /// Vectorizers (default none).
    pub vectorizers: SeedVectorizers,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            document_dimension: 1024,
            image_dimension: 2048,
            model_data_dimension: 1024,
            metric: Metric::Cosine,
            vectorizers: SeedVectorizers::None,
        }
    }
}

impl SeedOptions {
    /// All three classes with vectors of `dimension`.
    #[must_use]
    pub fn with_dimension(mut self, dimension: usize) -> Self {
        self.document_dimension = dimension;
        self.image_dimension = dimension;
        self.model_data_dimension = dimension;
        self
    }

    /// Set the metric.
    #[must_use]
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Set the vectorizers.
    #[must_use]
    pub fn with_vectorizers(mut self, vectorizers: SeedVectorizers) -> Self {
        self.vectorizers = vectorizers;
        self
    }
}

/// One seed class: its collection spec and class options.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SeedClass {
    /// The collection (named like the class).
    pub spec: CollectionSpec,
    /// Vectorizer, description and the free-text properties.
    pub options: ClassOptions,
}

/// A seed property: name, description, and either a declared field kind
/// (exact matching) or `None` for a word-tokenized text property.
type SeedProperty = (&'static str, &'static str, Option<FieldKind>);

const DOCUMENT: [SeedProperty; 7] = [
    ("title", "The title of the document", None),
    ("content", "The content of the document", None),
    ("source", "Source of the document", Some(FieldKind::Text)),
    (
        "category",
        "Category of the document",
        Some(FieldKind::Text),
    ),
    (
        "creationDate",
        "The date this document was created",
        Some(FieldKind::Timestamp),
    ),
    ("author", "Author of the document", Some(FieldKind::Text)),
    (
        "tags",
        "Tags associated with the document",
        Some(FieldKind::TextList),
    ),
];

const IMAGE: [SeedProperty; 7] = [
    (
        "filename",
        "The filename of the image",
        Some(FieldKind::Text),
    ),
    ("caption", "Caption or description of the image", None),
    ("mimeType", "MIME type of the image", Some(FieldKind::Text)),
    ("imageUrl", "URL to the image file", Some(FieldKind::Text)),
    (
        "resolution",
        "Resolution of the image",
        Some(FieldKind::Text),
    ),
    (
        "tags",
        "Tags associated with the image",
        Some(FieldKind::TextList),
    ),
    (
        "uploadDate",
        "Upload date of the image",
        Some(FieldKind::Timestamp),
    ),
];

const MODEL_DATA: [SeedProperty; 7] = [
    ("modelName", "Name of the model", Some(FieldKind::Text)),
    ("modelDescription", "Description of the model", None),
    (
        "framework",
        "Framework used (PyTorch, TensorFlow, etc.)",
        Some(FieldKind::Text),
    ),
    ("metrics", "Model performance metrics as JSON string", None),
    ("useCase", "Use case for this model", None),
    ("version", "Version of the model", Some(FieldKind::Text)),
    ("createdBy", "Creator of the model", Some(FieldKind::Text)),
];

/// The three seed classes for `options`.
///
/// ```
/// use ai_data_weaviate::bootstrap::{seed_classes, SeedOptions, SeedVectorizers};
///
/// let classes = seed_classes(&SeedOptions::default().with_dimension(384));
/// let names: Vec<&str> = classes.iter().map(|c| c.spec.name.as_str()).collect();
/// assert_eq!(names, ["Document", "Image", "ModelData"]);
/// assert_eq!(classes[0].spec.dimension, 384);
/// assert!(classes[0].spec.field("category").is_some());
/// assert!(classes[0].options.extra_properties.iter().any(|p| p.name == "content"));
/// assert_eq!(classes[0].options.vectorizer, None);
/// let modules = seed_classes(&SeedOptions::default().with_vectorizers(SeedVectorizers::Modules));
/// assert_eq!(modules[1].options.vectorizer.as_deref(), Some("img2vec-neural"));
/// ```
pub fn seed_classes(options: &SeedOptions) -> Vec<SeedClass> {
    [
        (
            "Document",
            "A document with vector representation for semantic search",
            options.document_dimension,
            "text2vec-transformers",
            &DOCUMENT,
        ),
        (
            "Image",
            "Images with vector embeddings",
            options.image_dimension,
            "img2vec-neural",
            &IMAGE,
        ),
        (
            "ModelData",
            "Data related to machine learning models",
            options.model_data_dimension,
            "text2vec-transformers",
            &MODEL_DATA,
        ),
    ]
    .into_iter()
    .map(|(name, description, dimension, module, properties)| {
        let mut spec = CollectionSpec::new(name, dimension, options.metric);
        let mut class = ClassOptions {
            description: Some(description.to_owned()),
            ..ClassOptions::default()
        };
        for (prop, about, kind) in properties {
            match kind {
                Some(kind) => {
                    spec = spec.with_field(*prop, *kind);
                    class
                        .field_descriptions
                        .push(((*prop).to_owned(), (*about).to_owned()));
                }
                None => class
                    .extra_properties
                    .push(PropertyDef::new(*prop, "text").with_description(*about)),
            }
        }
        if options.vectorizers == SeedVectorizers::Modules {
            class.vectorizer = Some(module.to_owned());
            spec = spec.with_embedding_model(module);
        }
        SeedClass {
            spec,
            options: class,
        }
    })
    .collect()
}

/// What [`bootstrap`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapReport {
    /// Classes created now.
    pub created: Vec<String>,
    /// Classes that already existed with the same definition.
    pub existing: Vec<String>,
}

/// Create the seed's classes that do not exist; check the others
/// (dimension, metric, fields: `Conflict` when they differ). Idempotent.
///
/// ```no_run
/// use ai_data_weaviate::bootstrap::{bootstrap, SeedOptions};
/// use ai_data_weaviate::{WeaviateConfig, WeaviateStore};
///
/// # async fn demo() -> ai_data_vector::Result<()> {
/// let store = WeaviateStore::connect(&WeaviateConfig::from_env()?).await?;
/// let report = bootstrap(&store, &SeedOptions::default().with_dimension(1536)).await?;
/// println!("created {:?}, already there {:?}", report.created, report.existing);
/// # Ok(()) }
/// ```
pub async fn bootstrap(store: &WeaviateStore, options: &SeedOptions) -> Result<BootstrapReport> {
    let mut report = BootstrapReport::default();
    for class in seed_classes(options) {
        let created = store
            .ensure_collection_with(&class.spec, &class.options)
            .await?;
        let name = class.spec.name;
        if created {
            report.created.push(name);
        } else {
            report.existing.push(name);
        }
    }
    Ok(report)
}
