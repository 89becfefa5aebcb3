//! The seed's `Image` collection (seed §4.4: `img2vec-neural`, resnet50,
//! 2048 dimensions) as a [`CollectionSpec`] for any vector store.
//!
//! 2048 is above pgvector's 2,000-dimension limit for indexing `vector`, so
//! the collection stores half-precision vectors ([`Precision::F16`]:
//! `halfvec`, indexable up to 4,000 dimensions, half the storage), with an
//! HNSW index and keyword search over the caption ([`TextAnalyzer::Simple`],
//! the analyzer every backend offers). On Weaviate the same class comes
//! from `ai_data_weaviate::bootstrap`.

use ai_data_vector::{CollectionSpec, FieldKind, IndexSpec, Metric, Precision, TextAnalyzer};

/// Dimension of the seed's image vectors (resnet50).
pub const IMAGE_DIMENSION: usize = 2048;

/// The `Image` collection: its seed properties as fields (`caption`
/// searchable by keyword), cosine HNSW over 2048-d `f16` vectors.
///
/// ```
/// use ai_data_platform::vector::{image_collection, IMAGE_DIMENSION};
/// use ai_data_vector::{MemoryStore, Precision, VectorStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// let spec = image_collection();
/// assert_eq!((spec.name.as_str(), spec.dimension), ("Image", IMAGE_DIMENSION));
/// assert_eq!(spec.precision, Precision::F16);
/// MemoryStore::new().ensure_collection(&spec).await?;
/// # Ok(())
/// # }
/// ```
pub fn image_collection() -> CollectionSpec {
    CollectionSpec::new("Image", IMAGE_DIMENSION, Metric::Cosine)
        .with_precision(Precision::F16)
        .with_index(IndexSpec::default())
        .with_field("filename", FieldKind::Text)
        .with_field("caption", FieldKind::Text)
        .with_field("mimeType", FieldKind::Text)
        .with_field("imageUrl", FieldKind::Text)
        .with_field("resolution", FieldKind::Text)
        .with_field("tags", FieldKind::TextList)
        .with_field("uploadDate", FieldKind::Timestamp)
        .with_text_search(["caption"], TextAnalyzer::Simple)
}
