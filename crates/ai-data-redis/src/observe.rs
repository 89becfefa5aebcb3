//! The cache's own metric, beside the shared operation metrics of
//! [`ai_data_core::observe`]: how cache reads ended, for hit-rate panels.

/// Counter of cache reads by outcome, labelled `cache` (`typed`, `vector`)
/// and `result` (`hit`, `miss`, `bypass`: Redis failed or was skipped and
/// the loader or inner store answered alone). The name is the one from
/// before the crate was renamed from `ai-data-cache`, so dashboards keep
/// working.
pub const CACHE_LOOKUPS: &str = "ai_data_cache_lookups_total";

/// Which cache read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheKind {
    Typed,
    Vector,
}

/// How a cache read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupResult {
    Hit,
    Miss,
    Bypass,
}

/// Count one cache read. Every label is a literal, so each arm's key is a
/// `static`: no allocation, one recorder call.
pub(crate) fn count_lookup(cache: CacheKind, result: LookupResult) {
    use CacheKind::{Typed, Vector};
    use LookupResult::{Bypass, Hit, Miss};
    let counter = match (cache, result) {
        (Typed, Hit) => metrics::counter!(CACHE_LOOKUPS, "cache" => "typed", "result" => "hit"),
        (Typed, Miss) => metrics::counter!(CACHE_LOOKUPS, "cache" => "typed", "result" => "miss"),
        (Typed, Bypass) => {
            metrics::counter!(CACHE_LOOKUPS, "cache" => "typed", "result" => "bypass")
        }
        (Vector, Hit) => metrics::counter!(CACHE_LOOKUPS, "cache" => "vector", "result" => "hit"),
        (Vector, Miss) => {
            metrics::counter!(CACHE_LOOKUPS, "cache" => "vector", "result" => "miss")
        }
        (Vector, Bypass) => {
            metrics::counter!(CACHE_LOOKUPS, "cache" => "vector", "result" => "bypass")
        }
    };
    counter.increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    #[test]
    fn lookups_are_counted_by_cache_and_result() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            count_lookup(CacheKind::Vector, LookupResult::Hit);
            count_lookup(CacheKind::Vector, LookupResult::Hit);
            count_lookup(CacheKind::Typed, LookupResult::Bypass);
        });
        let counts: Vec<(Vec<String>, DebugValue)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(k, _, _, _)| k.key().name() == CACHE_LOOKUPS)
            .map(|(k, _, _, v)| {
                let labels = k
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                (labels, v)
            })
            .collect();
        assert_eq!(counts.len(), 2, "{counts:?}");
        assert!(counts.contains(&(
            vec!["cache=vector".to_owned(), "result=hit".to_owned()],
            DebugValue::Counter(2)
        )));
        assert!(counts.contains(&(
            vec!["cache=typed".to_owned(), "result=bypass".to_owned()],
            DebugValue::Counter(1)
        )));
    }
}
