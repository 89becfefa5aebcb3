//! Reading a `metrics_util` debugging recorder's snapshot: counters,
//! histogram samples and gauges by name and labels, and the operation
//! counter every store crate records (`ai_data_core::observe`).

use ai_data_core::observe::{OPERATIONS_TOTAL, POOL_CONNECTIONS};
use metrics_util::debugging::DebugValue;
use metrics_util::{CompositeKey, MetricKind};

/// `Snapshotter::snapshot().into_vec()`.
pub type Snapshot = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// The value of the label `name` of `key`.
pub fn label<'a>(key: &'a CompositeKey, name: &str) -> Option<&'a str> {
    key.key()
        .labels()
        .find(|l| l.key() == name)
        .map(|l| l.value())
}

fn matches(key: &CompositeKey, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> bool {
    key.kind() == kind
        && key.key().name() == name
        && labels
            .iter()
            .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
}

/// The sum of the counters `name` carrying all of `labels`.
pub fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| matches(key, MetricKind::Counter, name, labels))
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

/// How many samples the histograms `name` carrying all of `labels` hold.
pub fn samples(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> usize {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| matches(key, MetricKind::Histogram, name, labels))
        .map(|(_, _, _, value)| match value {
            DebugValue::Histogram(v) => v.len(),
            _ => 0,
        })
        .sum()
}

/// The first gauge `name` carrying all of `labels`.
pub fn gauge(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snapshot
        .iter()
        .find(|(key, _, _, _)| matches(key, MetricKind::Gauge, name, labels))
        .and_then(|(_, _, _, value)| match value {
            DebugValue::Gauge(g) => Some(g.into_inner()),
            _ => None,
        })
}

/// `ai_data_operations_total{store, operation, outcome}`.
pub fn operations(snapshot: &Snapshot, store: &str, operation: &str, outcome: &str) -> u64 {
    counter(
        snapshot,
        OPERATIONS_TOTAL,
        &[
            ("store", store),
            ("operation", operation),
            ("outcome", outcome),
        ],
    )
}

/// `ai_data_pool_connections{store, state}`.
pub fn pool(snapshot: &Snapshot, store: &str, state: &str) -> Option<f64> {
    gauge(
        snapshot,
        POOL_CONNECTIONS,
        &[("store", store), ("state", state)],
    )
}
