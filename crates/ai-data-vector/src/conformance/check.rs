//! Assertions and setup shared by the scenarios.

use std::collections::HashSet;
use std::fmt::{Debug, Display};

use crate::{
    Capabilities, CollectionSpec, Error, ErrorKind, IndexKind, IndexSpec, Metric, Payload,
    RecordId, Result, SearchHit, VectorStore,
};

/// Largest accepted difference between a backend's distance and the exact
/// one (relative when the distance's magnitude is above 1).
pub const DISTANCE_TOLERANCE: f32 = 1e-4;

/// Smallest accepted recall@k of an approximate index against exact search.
pub const MIN_RECALL: f64 = 0.95;

pub(super) fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= DISTANCE_TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// The value, or a panic naming `what` and the error.
pub(super) fn must<T>(result: Result<T>, what: impl Display) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("conformance: {what}: unexpected error: {e} ({e:?})"),
    }
}

/// The error, which must be of `kind`.
pub(super) fn must_fail<T: Debug>(result: Result<T>, kind: ErrorKind, what: impl Display) -> Error {
    match result {
        Ok(value) => panic!("conformance: {what}: expected a {kind} error, got Ok({value:?})"),
        Err(e) if e.kind() == kind => e,
        Err(e) => panic!("conformance: {what}: expected a {kind} error, got {e}"),
    }
}

/// Drop `spec`'s collection if a previous run left it, then create it.
pub(super) async fn fresh(store: &dyn VectorStore, spec: &CollectionSpec) {
    must(
        store.drop_collection(&spec.name).await,
        format_args!("drop_collection({})", spec.name),
    );
    let created = must(
        store.ensure_collection(spec).await,
        format_args!("ensure_collection({})", spec.name),
    );
    assert!(
        created,
        "conformance: ensure_collection({}) after a drop must report it created",
        spec.name
    );
}

/// An exact index if the backend has one, else HNSW, else IVFFlat.
pub(super) fn pick_index(caps: &Capabilities) -> IndexSpec {
    if caps.supports_index(IndexKind::Exact) {
        IndexSpec::Exact
    } else if caps.supports_index(IndexKind::Hnsw) {
        IndexSpec::default()
    } else {
        IndexSpec::IvfFlat { lists: 4 }
    }
}

/// `preferred` if supported, else the first supported metric.
pub(super) fn pick_metric(caps: &Capabilities, preferred: Metric) -> Metric {
    if caps.supports_metric(preferred) {
        preferred
    } else {
        caps.metrics.first().copied().unwrap_or(preferred)
    }
}

/// A JSON object literal as a payload.
pub(super) fn payload(value: serde_json::Value) -> Payload {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("conformance: payload literal is not an object: {other}"),
    }
}

pub(super) fn assert_sorted(hits: &[SearchHit], what: impl Display) {
    for pair in hits.windows(2) {
        assert!(
            pair[0].distance <= pair[1].distance,
            "conformance: {what}: hits not sorted by ascending distance: {} then {}",
            pair[0].distance,
            pair[1].distance
        );
    }
}

/// Every hit's distance equals the exact distance of its record.
pub(super) fn assert_true_distances(
    hits: &[SearchHit],
    truth: &impl Fn(RecordId) -> Option<f32>,
    what: impl Display,
) {
    for hit in hits {
        let Some(want) = truth(hit.id) else {
            panic!(
                "conformance: {what}: hit {} is not a record of the collection",
                hit.id
            );
        };
        assert!(
            close(hit.distance, want),
            "conformance: {what}: hit {} has distance {}, exact is {want}",
            hit.id,
            hit.distance
        );
    }
}

/// An exact backend's hits equal the reference's: same length, distances
/// within tolerance position by position, and the same id at each position
/// unless both ids' exact distances tie there.
pub(super) fn assert_same_hits(
    reference: &[SearchHit],
    got: &[SearchHit],
    truth: &impl Fn(RecordId) -> Option<f32>,
    what: impl Display,
) {
    let ids = |hits: &[SearchHit]| hits.iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(
        got.len(),
        reference.len(),
        "conformance: {what}: {} hits, the exact reference has {} (got {:?}, want {:?})",
        got.len(),
        reference.len(),
        ids(got),
        ids(reference)
    );
    assert_true_distances(got, truth, &what);
    for (i, (want, hit)) in reference.iter().zip(got).enumerate() {
        assert!(
            close(hit.distance, want.distance),
            "conformance: {what}: hit #{i} has distance {}, the reference {}",
            hit.distance,
            want.distance
        );
        if hit.id != want.id {
            let tie = truth(hit.id).is_some_and(|d| close(d, want.distance));
            assert!(
                tie,
                "conformance: {what}: hit #{i} is {}, the reference has {} (got {:?}, want {:?})",
                hit.id,
                want.id,
                ids(got),
                ids(reference)
            );
        }
    }
}

/// How many of the reference's ids `got` has.
pub(super) fn overlap(reference: &[SearchHit], got: &[SearchHit]) -> usize {
    let want: HashSet<RecordId> = reference.iter().map(|h| h.id).collect();
    got.iter().filter(|h| want.contains(&h.id)).count()
}
