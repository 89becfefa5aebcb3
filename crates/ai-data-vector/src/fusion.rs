//! Hybrid search's fusion of a vector arm and a keyword arm into one
//! ranking, defined once: [`Fusion`] and [`fuse`]. Every backend returns
//! this order for the same two arm rankings (`MemoryStore` and
//! `PgVectorStore` compute it; Weaviate's server computes the same, see
//! below).
//!
//! Each arm is a ranking: the vector arm by ascending distance, the keyword
//! arm by descending keyword score, equal values by ascending id, at most
//! [`crate::TextQuery::candidates`] long, each filtered by the query's
//! filter. With `alpha` the vector arm's weight and `1 - alpha` the keyword
//! arm's (an arm of weight 0 is not run at all):
//!
//! - **`Ranked { k }`** (reciprocal rank fusion): a record at 0-based
//!   position `i` of an arm gets `weight / (k + i)` from it. Positions count
//!   from 0 as in Weaviate's `rankedFusion` (with its fixed `k = 60`);
//!   Cormack et al. count from 1, so their `k = 60` is this `k = 59`.
//! - **`RelativeScore`** (Weaviate's `relativeScoreFusion`): each arm's
//!   scores are min-max normalised over the arm (the best becomes 1, the
//!   worst 0; every score 1 when all are equal) and weighted; the vector
//!   arm's score is `-distance`.
//!
//! A record's fused score is the sum over the arms it is in; the result is
//! sorted by descending fused score, equal scores by ascending id.
//!
//! ```
//! use ai_data_vector::fusion::{fuse, Fusion};
//! use ai_data_vector::RecordId;
//!
//! let (a, b, c) = (RecordId::from_key("a"), RecordId::from_key("b"), RecordId::from_key("c"));
//! let vector_arm = [(a, 0.1), (b, 0.2)]; // (id, distance)
//! let keyword_arm = [(c, 7.0), (b, 3.0)]; // (id, score)
//! let fused = fuse(&vector_arm, &keyword_arm, 0.5, Fusion::default());
//! assert_eq!(fused[0].0, b); // in both arms
//! assert!((fused[0].1 - (0.5 / 61.0 + 0.5 / 61.0)).abs() < 1e-6);
//! assert_eq!(fused.len(), 3);
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::RecordId;

/// How a hybrid search fuses its arms (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fusion {
    /// Reciprocal rank fusion: `weight / (k + i)`, `i` the 0-based position.
    Ranked {
        /// The rank constant (default 60; Weaviate supports only 60).
        k: u32,
    },
    /// Min-max normalised scores, weighted.
    RelativeScore,
}

impl Fusion {
    /// Reciprocal rank fusion's default constant.
    pub const DEFAULT_RANK_CONSTANT: u32 = 60;
}

impl Default for Fusion {
    /// `Ranked { k: 60 }`.
    fn default() -> Self {
        Fusion::Ranked {
            k: Self::DEFAULT_RANK_CONSTANT,
        }
    }
}

/// The fused ranking of a vector arm (`(id, distance)`, ascending) and a
/// keyword arm (`(id, score)`, descending), `alpha` the vector arm's weight:
/// `(id, fused score)` by descending score, then id. Arms are used as given
/// (the caller sorts and cuts them); an arm whose weight is 0 is ignored.
pub fn fuse(
    vector_arm: &[(RecordId, f32)],
    keyword_arm: &[(RecordId, f32)],
    alpha: f32,
    fusion: Fusion,
) -> Vec<(RecordId, f32)> {
    let alpha = f64::from(alpha);
    let mut fused: HashMap<RecordId, f64> = HashMap::new();
    // Vector distances become scores (higher is better) for normalising.
    let vector: Vec<(RecordId, f64)> = vector_arm
        .iter()
        .map(|(id, d)| (*id, -f64::from(*d)))
        .collect();
    let keyword: Vec<(RecordId, f64)> = keyword_arm
        .iter()
        .map(|(id, s)| (*id, f64::from(*s)))
        .collect();
    for (arm, weight) in [(&vector, alpha), (&keyword, 1.0 - alpha)] {
        if weight <= 0.0 {
            continue;
        }
        match fusion {
            Fusion::Ranked { k } => {
                for (i, (id, _)) in arm.iter().enumerate() {
                    *fused.entry(*id).or_default() += weight / (f64::from(k) + i as f64);
                }
            }
            Fusion::RelativeScore => {
                let max = arm
                    .iter()
                    .map(|(_, s)| *s)
                    .fold(f64::NEG_INFINITY, f64::max);
                let min = arm.iter().map(|(_, s)| *s).fold(f64::INFINITY, f64::min);
                for (id, s) in arm {
                    let norm = if max > min {
                        (s - min) / (max - min)
                    } else {
                        1.0
                    };
                    *fused.entry(*id).or_default() += weight * norm;
                }
            }
        }
    }
    let mut out: Vec<(RecordId, f64)> = fused.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.into_iter().map(|(id, s)| (id, s as f32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: &str) -> RecordId {
        RecordId::from_key(key)
    }

    #[test]
    fn relative_score_normalises_each_arm() {
        let vector_arm = [(id("a"), 0.0), (id("b"), 0.5), (id("c"), 1.0)];
        let keyword_arm = [(id("c"), 10.0), (id("a"), 5.0)];
        let fused = fuse(&vector_arm, &keyword_arm, 0.75, Fusion::RelativeScore);
        let score = |key: &str| fused.iter().find(|(i, _)| *i == id(key)).map(|p| p.1);
        assert_eq!(score("a"), Some(0.75)); // 0.75 * 1 + 0.25 * 0
        assert_eq!(score("b"), Some(0.375));
        assert_eq!(score("c"), Some(0.25)); // 0.75 * 0 + 0.25 * 1
        assert_eq!(fused[0].0, id("a"));
    }

    #[test]
    fn weight_zero_arm_is_not_used_and_ties_go_by_id() {
        let vector_arm = [(id("a"), 0.0)];
        let keyword_arm = [(id("x"), 1.0), (id("y"), 1.0)];
        let fused = fuse(&vector_arm, &keyword_arm, 0.0, Fusion::RelativeScore);
        assert_eq!(fused.len(), 2, "the vector arm has weight 0");
        let mut ids = [id("x"), id("y")];
        ids.sort();
        assert_eq!([fused[0].0, fused[1].0], ids);
    }
}
