//! Weaviate backend (being moved here from `ai-data-vector`).
