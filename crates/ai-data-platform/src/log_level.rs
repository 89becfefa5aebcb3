//! The one severity of the platform's system logs (placeholder: the Mongo and Kafka
//! `LogLevel`s are being merged here).
