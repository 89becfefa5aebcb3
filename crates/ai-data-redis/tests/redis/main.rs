//! Integration tests against a live Redis: the local server of
//! `scripts/stores.sh` (a key prefix per test), and private `redis-server`s
//! that tests pause, kill and restart.

mod client;
mod common;
mod rate_limit;
mod session;
mod typed;
mod vector;
