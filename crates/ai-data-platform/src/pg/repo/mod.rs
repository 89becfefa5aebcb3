//! Typed repositories over the platform schema.

pub mod data_sources;
pub mod embeddings;
pub mod groups;
pub mod models;
pub mod users;
