//! `Get` with `bm25` or `hybrid`, as Weaviate 1.22+ documents them and its
//! `usecases/traverser/hybrid` code computes them:
//!
//! - **BM25** over one `text` property with `word` tokenization (split on
//!   every non-letter, non-digit; lower-cased), the class's
//!   `invertedIndexConfig.bm25` `k1` / `b` (defaults 1.2 / 0.75),
//!   `idf = ln(1 + (N - n + 0.5) / (n + 0.5))` with `N` the class's objects,
//!   document length in tokens over the class's mean. A query term counts
//!   once; objects with no query term are not results. Stop words: the fake
//!   implements the preset `none` only (others are an error, not ignored).
//! - **hybrid**: the keyword arm (weight `1 - alpha`) and the `nearVector`
//!   arm (weight `alpha`; default alpha 0.75), each filtered and ranked to
//!   the query's `limit`, an arm of weight 0 not run; no `fusionType`:
//!   `rankedFusion` before 1.24, `relativeScoreFusion` from 1.24 (the
//!   default changed then); `rankedFusion` adds
//!   `weight / (rank + 60)` (rank from 0), `relativeScoreFusion` adds the
//!   weight times the arm's min-max normalised score (vector: `1 - distance`;
//!   all equal: 1). Sorted by score; equal scores by id (the server's own
//!   tie order is not specified; the fake picks one).
//!
//! Scores are returned as `_additional { score }`, a string.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::cond::Cond;
use crate::state::{Class, Obj, State};
use ai_data_weaviate::ServerVersion;

/// A parsed `bm25` / `hybrid` argument.
#[derive(Debug, Clone)]
pub(crate) struct KeywordPlan {
    pub(crate) query: String,
    pub(crate) properties: Vec<String>,
    /// `(vector, alpha, fusionType)` for `hybrid`.
    pub(crate) hybrid: Option<(Option<Vec<f32>>, f64, String)>,
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn config(class: &Class, key: &str, default: f64) -> f64 {
    class.def["invertedIndexConfig"]["bm25"][key]
        .as_f64()
        .unwrap_or(default)
}

/// The property searched (exactly one searchable `text` property).
fn property<'a>(class: &'a Class, plan: &'a KeywordPlan) -> Result<&'a str, String> {
    let preset = class.def["invertedIndexConfig"]["stopwords"]["preset"]
        .as_str()
        .unwrap_or("en");
    if preset != "none" {
        return Err(format!(
            "the fake implements bm25 with the stopwords preset \"none\" only, not {preset:?}"
        ));
    }
    let names: Vec<&str> = if plan.properties.is_empty() {
        class
            .props
            .iter()
            .filter(|p| p.data_type == "text")
            .map(|p| p.name.as_str())
            .collect()
    } else {
        plan.properties.iter().map(String::as_str).collect()
    };
    let [name] = names.as_slice() else {
        return Err("the fake searches exactly one property with bm25".into());
    };
    let prop = class.prop(name).ok_or_else(|| {
        format!(
            "no such prop with name '{name}' found in class '{}'",
            class.name
        )
    })?;
    if prop.data_type != "text" || prop.tokenization.as_deref().unwrap_or("word") != "word" {
        return Err(format!(
            "the fake implements bm25 on text properties with word tokenization, not {name:?}"
        ));
    }
    Ok(name)
}

/// The keyword arm: `(object, score)` by descending score, then id.
fn bm25<'a>(
    state: &'a State,
    class: &'a Class,
    plan: &KeywordPlan,
    filter: Option<&Cond>,
    limit: usize,
    version: ServerVersion,
) -> Result<Vec<(&'a Obj, f64)>, String> {
    let name = property(class, plan)?;
    let (k1, b) = (config(class, "k1", 1.2), config(class, "b", 0.75));
    let docs: HashMap<uuid::Uuid, Vec<String>> = class
        .objects
        .values()
        .map(|o| {
            (
                o.id,
                tokens(o.props.get(name).and_then(Json::as_str).unwrap_or("")),
            )
        })
        .collect();
    let n_docs = docs.len() as f64;
    let mean = docs.values().map(Vec::len).sum::<usize>() as f64 / n_docs.max(1.0);
    let mut query = tokens(&plan.query);
    query.sort();
    query.dedup();
    let containing: Vec<f64> = query
        .iter()
        .map(|t| docs.values().filter(|d| d.contains(t)).count() as f64)
        .collect();
    let mut hits: Vec<(&Obj, f64)> = state
        .filtered(class, filter, version)
        .filter_map(|obj| {
            let doc = docs.get(&obj.id)?;
            let norm = 1.0 - b + b * doc.len() as f64 / mean.max(f64::MIN_POSITIVE);
            let mut score = 0.0;
            let mut matched = false;
            for (term, n) in query.iter().zip(&containing) {
                let tf = doc.iter().filter(|t| *t == term).count() as f64;
                if tf > 0.0 {
                    matched = true;
                    let idf = (1.0 + (n_docs - n + 0.5) / (n + 0.5)).ln();
                    score += idf * tf * (k1 + 1.0) / (tf + k1 * norm);
                }
            }
            matched.then_some((obj, score))
        })
        .collect();
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    hits.truncate(limit);
    Ok(hits)
}

/// `bm25` or `hybrid` results: `(object, score)`.
pub(crate) fn run<'a>(
    state: &'a State,
    class: &'a Class,
    plan: &KeywordPlan,
    filter: Option<&Cond>,
    limit: usize,
    version: ServerVersion,
) -> Result<Vec<(&'a Obj, f64)>, String> {
    let Some((vector, alpha, fusion)) = &plan.hybrid else {
        return bm25(state, class, plan, filter, limit, version);
    };
    if !(0.0..=1.0).contains(alpha) {
        return Err(format!("alpha must be between 0 and 1, got {alpha}"));
    }
    let mut arms: Vec<(Vec<(&Obj, f64)>, f64)> = Vec::new();
    if *alpha < 1.0 {
        arms.push((
            bm25(state, class, plan, filter, limit, version)?,
            1.0 - alpha,
        ));
    }
    if *alpha > 0.0 {
        let Some(vector) = vector else {
            return Err("hybrid: the fake needs a vector (no vectorizer module)".into());
        };
        let near = state.search(class, Some(vector), None, filter, limit, version)?;
        let arm = near
            .into_iter()
            .map(|h| (h.obj, 1.0 - f64::from(h.distance.unwrap_or_default())))
            .collect();
        arms.push((arm, *alpha));
    }
    // No fusion type: rankedFusion before 1.24, relativeScoreFusion from it.
    let fusion = match fusion.as_str() {
        "" if version >= ServerVersion::new(1, 24, 0) => "relativeScoreFusion",
        "" => "rankedFusion",
        named => named,
    };
    let mut fused: HashMap<uuid::Uuid, (&Obj, f64)> = HashMap::new();
    for (arm, weight) in &arms {
        let max = arm.iter().map(|a| a.1).fold(f64::NEG_INFINITY, f64::max);
        let min = arm.iter().map(|a| a.1).fold(f64::INFINITY, f64::min);
        for (rank, (obj, score)) in arm.iter().enumerate() {
            let part = match fusion {
                "rankedFusion" => weight / (rank as f64 + 60.0),
                "relativeScoreFusion" if max > min => weight * (score - min) / (max - min),
                "relativeScoreFusion" => *weight,
                other => {
                    return Err(format!(
                        "unknown ranking algorithm {other} for hybrid search"
                    ))
                }
            };
            fused.entry(obj.id).or_insert((obj, 0.0)).1 += part;
        }
    }
    let mut out: Vec<(&Obj, f64)> = fused.into_values().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    out.truncate(limit);
    Ok(out)
}

/// The GraphQL `score` of a result.
pub(crate) fn score_json(score: f64) -> Json {
    json!(score.to_string())
}
