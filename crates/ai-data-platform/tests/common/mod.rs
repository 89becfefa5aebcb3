//! Shared set-up: a fresh, migrated database per test.

#![allow(dead_code, unreachable_pub)]

use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_testkit::PgTestDb;

/// Text with SQL metacharacters, quotes, backslashes, emoji and CJK.
pub const NASTY: &str = "o'brien \"q\" \\ ; DROP TABLE auth.users; -- 😀 中文 %_ $1";

pub async fn migrated() -> Option<(PgTestDb, PgDatabase)> {
    let test_db = ai_data_testkit::pg().await?;
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    db.migrate(&ai_data_platform::pg::MIGRATOR)
        .await
        .expect("migrate");
    Some((test_db, db))
}

/// A deterministic unit vector of `dim` components pointing mostly along `axis`.
pub fn unit_vector(dim: usize, axis: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0_f32; dim];
    v[axis % dim] = 1.0;
    v[(axis + 1) % dim] = tilt;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}
