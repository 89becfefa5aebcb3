//! Fixed-seed synthetic data: clustered vectors, the shape real embeddings
//! have, so approximate indexes are tested where they are hard (many close
//! neighbours) and exact ties are rare.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::{Record, RecordId};

/// An approximately normal sample (sum of three uniforms), mean 0, sd `sd`.
fn normalish(rng: &mut StdRng, sd: f32) -> f32 {
    let s: f32 = (0..3).map(|_| rng.random_range(-1.0_f32..1.0)).sum();
    s * sd
}

fn centres(seed: u64, clusters: usize, dim: usize) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..clusters.max(1))
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0_f32..1.0)).collect())
        .collect()
}

/// A vector of dimension `dim` with components in `[-1, 1)` from a
/// xorshift generator seeded by `seed`: cheap, and the same on every
/// machine (for tests that need many distinct vectors, not clusters).
///
/// ```
/// use ai_data_vector::conformance::uniform_vector;
/// let v = uniform_vector(3, 8);
/// assert_eq!(v.len(), 8);
/// assert_eq!(v, uniform_vector(3, 8));
/// assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
/// ```
pub fn uniform_vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// `n` records with [`uniform_vector`]s of dimension `dim`, ids
/// `RecordId::from_key("{i}")`, payload `{"lang": "en"}` for even `i`,
/// `{"lang": "de"}` for odd.
///
/// ```
/// use ai_data_vector::conformance::uniform_records;
/// let records = uniform_records(4, 3);
/// assert_eq!(records[1].payload["lang"], "de");
/// assert_eq!(records, uniform_records(4, 3));
/// ```
pub fn uniform_records(n: u64, dim: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let lang = if i % 2 == 0 { "en" } else { "de" };
            let payload = json!({ "lang": lang });
            let payload = payload.as_object().cloned().unwrap_or_default();
            Record::new(
                RecordId::from_key(&i.to_string()),
                uniform_vector(i, dim),
                payload,
            )
        })
        .collect()
}

/// `n` records of dimension `dim` around `clusters` random centres, ids
/// `RecordId::from_key("{seed}-{i}")`, payload `{"cluster": c, "i": i}`.
/// The same seed gives the same records on every machine.
///
/// ```
/// use ai_data_vector::conformance::clustered;
///
/// let a = clustered(7, 100, 8, 4);
/// assert_eq!(a.len(), 100);
/// assert_eq!(a, clustered(7, 100, 8, 4));
/// assert_eq!(a[3].payload["i"], 3);
/// ```
pub fn clustered(seed: u64, n: usize, dim: usize, clusters: usize) -> Vec<Record> {
    let centres = centres(seed, clusters, dim);
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1));
    (0..n)
        .map(|i| {
            let c = rng.random_range(0..centres.len());
            let vector = centres[c]
                .iter()
                .map(|x| x + normalish(&mut rng, 0.15))
                .collect();
            let payload = json!({ "cluster": c, "i": i });
            let payload = payload.as_object().cloned().unwrap_or_default();
            Record::new(RecordId::from_key(&format!("{seed}-{i}")), vector, payload)
        })
        .collect()
}

/// `count` query vectors near the centres [`clustered`] uses for `seed`
/// (every other one further out, between clusters).
pub fn queries_near(seed: u64, count: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres = centres(seed, clusters, dim);
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(2));
    (0..count)
        .map(|q| {
            let c = &centres[q % centres.len()];
            let spread = if q % 2 == 0 { 0.1 } else { 0.5 };
            c.iter().map(|x| x + normalish(&mut rng, spread)).collect()
        })
        .collect()
}
