//! Keyword and hybrid search scenarios (backends whose capabilities offer
//! text search; the others must refuse it as `Unsupported`).
//!
//! What "the same" means here:
//!
//! - **Keyword ranking**: a backend that scores by BM25
//!   ([`KeywordScoring::Bm25`]) returns the oracle's ranking (same ids in
//!   order, scores within [`SCORE_TOLERANCE`], a different id only where the
//!   scores tie). PostgreSQL's `ts_rank_cd` ([`KeywordScoring::TsRankCd`]) is
//!   another score (cover density: proximity of the matched terms, no idf,
//!   no document-length normalisation by default), so there the suite checks
//!   that the set of matching records equals the oracle's, and that the
//!   first half of its ranking shares at least [`MIN_KEYWORD_OVERLAP`] of
//!   its records with the first half of BM25's (the top few alone can
//!   differ completely: for a query matching most records, `ts_rank_cd`
//!   favours long documents with many matches, BM25 short ones with rare
//!   terms).
//! - **Fusion**: given the backend's own two arm rankings (its vector search
//!   and its keyword search with the same filter and depth), its hybrid
//!   search returns exactly [`fuse`] of them: the identical fused order on
//!   every backend. With BM25 scoring the arms equal the oracle's, so the
//!   hybrid result equals the oracle's too.
//! - Filters apply to both arms; empty text is a pure vector search;
//!   unicode and CJK terms follow [`crate::text`] on every backend.

use std::collections::HashSet;
use std::fmt::Display;

use super::check::{close, fresh, must, must_fail, payload};
use crate::fusion::{fuse, Fusion};
use crate::{
    CollectionSpec, ErrorKind, FieldKind, Filter, IndexSpec, KeywordScoring, MemoryStore, Metric,
    Record, RecordId, SearchHit, SearchQuery, TextAnalyzer, TextQuery, VectorStore,
};

/// Largest accepted relative difference between a backend's BM25 score and the oracle's.
pub const SCORE_TOLERANCE: f32 = 1e-3;
/// Smallest accepted overlap of a `ts_rank_cd` ranking's better half (the
/// first half of the matching records) with BM25's.
pub const MIN_KEYWORD_OVERLAP: f64 = 0.5;

const DIM: usize = 8;

const WORDS: [&str; 16] = [
    "vector",
    "search",
    "database",
    "index",
    "query",
    "model",
    "embedding",
    "neural",
    "graph",
    "cache",
    "stream",
    "kafka",
    "redis",
    "postgres",
    "rust",
    "python",
];

/// Forty records with titles and bodies drawn from a small vocabulary (so
/// terms repeat with different frequencies and document lengths), a
/// `lang` and a `year`, and a few unicode/CJK ones.
fn corpus() -> Vec<Record> {
    let mut records: Vec<Record> = (0..40_u64)
        .map(|i| {
            let word = |j: u64| WORDS[((i * 7 + j * 3 + i * j) % WORDS.len() as u64) as usize];
            let title = format!("{} {}", word(0), word(1));
            let body_len = 2 + (i % 9);
            let body: Vec<&str> = (2..2 + body_len).map(word).collect();
            let lang = if i % 3 == 0 { "de" } else { "en" };
            let vector = super::uniform_vector(i + 101, DIM);
            let fields = serde_json::json!({
                "title": title, "body": body.join(" "), "lang": lang, "year": 2000 + (i % 7) as i64
            });
            Record::new(
                RecordId::from_key(&format!("t{i}")),
                vector,
                payload(fields),
            )
        })
        .collect();
    let extra = [
        ("cjk_spaced", "向量 数据库", "检索 向量"),
        ("cjk_run", "向量数据库", "检索"),
        ("unicode", "Ünïcode Café", "naïve façade"),
        ("english", "Searching vectors", "the indexes were searched"),
    ];
    for (i, (key, title, body)) in extra.into_iter().enumerate() {
        let fields = serde_json::json!({"title": title, "body": body, "lang": "en", "year": 2010});
        let vector = super::uniform_vector(900 + i as u64, DIM);
        records.push(Record::new(
            RecordId::from_key(key),
            vector,
            payload(fields),
        ));
    }
    records
}

fn spec(name: String, analyzer: TextAnalyzer, index: IndexSpec) -> CollectionSpec {
    CollectionSpec::new(name, DIM, Metric::Cosine)
        .with_index(index)
        .with_field("title", FieldKind::Text)
        .with_field("body", FieldKind::Text)
        .with_field("lang", FieldKind::Text)
        .with_field("year", FieldKind::Int)
        .with_text_search(["title", "body"], analyzer)
}

/// The backend and the oracle with the same corpus.
async fn load(store: &dyn VectorStore, spec: &CollectionSpec) -> MemoryStore {
    fresh(store, spec).await;
    let records = corpus();
    let report = must(store.upsert(&spec.name, &records).await, "upsert corpus");
    assert!(
        report.is_complete(),
        "conformance: corpus upsert: {:?}",
        report.failures
    );
    let oracle = MemoryStore::new();
    must(oracle.ensure_collection(spec).await, "oracle ensure");
    must(oracle.upsert(&spec.name, &records).await, "oracle upsert");
    oracle
}

fn ids(hits: &[SearchHit]) -> Vec<RecordId> {
    hits.iter().map(|h| h.id).collect()
}

fn score(hit: &SearchHit) -> f32 {
    hit.score.unwrap_or(f32::NAN)
}

fn close_score(a: f32, b: f32) -> bool {
    (a - b).abs() <= SCORE_TOLERANCE * a.abs().max(b.abs()).max(1e-3)
}

/// Same ids in order, scores within tolerance, a different id only where
/// the scores tie (ties need not be cut by id on every server).
fn assert_same_ranking(want: &[SearchHit], got: &[SearchHit], what: impl Display) {
    assert_eq!(
        got.len(),
        want.len(),
        "conformance: {what}: {} hits, the oracle has {} (got {:?}, want {:?})",
        got.len(),
        want.len(),
        ids(got),
        ids(want)
    );
    let scored: std::collections::HashMap<RecordId, f32> =
        want.iter().map(|h| (h.id, score(h))).collect();
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        assert!(
            close_score(score(g), score(w)),
            "conformance: {what}: hit #{i} has score {}, the oracle {} (got {:?}, want {:?})",
            score(g),
            score(w),
            ids(got),
            ids(want)
        );
        if g.id != w.id {
            let tie = scored.get(&g.id).is_some_and(|s| close_score(*s, score(w)));
            assert!(
                tie,
                "conformance: {what}: hit #{i} is {}, the oracle has {} (got {:?}, want {:?})",
                g.id,
                w.id,
                ids(got),
                ids(want)
            );
        }
    }
}

/// Keyword hits: sorted by descending score, no distance, payload kept.
fn assert_keyword_shape(hits: &[SearchHit], what: impl Display) {
    for pair in hits.windows(2) {
        assert!(
            score(&pair[0]) >= score(&pair[1]),
            "conformance: {what}: keyword hits not sorted by descending score: {:?}",
            hits.iter().map(score).collect::<Vec<_>>()
        );
    }
    for hit in hits {
        assert!(
            hit.score.is_some(),
            "conformance: {what}: keyword hit without a score"
        );
        assert!(
            hit.distance.is_nan(),
            "conformance: {what}: keyword hit with a distance"
        );
        assert!(
            hit.payload.is_some(),
            "conformance: {what}: keyword hit without its payload"
        );
    }
}

/// A backend without text search refuses it; one with it ranks keyword
/// queries as the oracle does (BM25) or matches the same records
/// (`ts_rank_cd`), with and without filters, for the `simple` analyzer and
/// (where supported) `english`.
pub async fn keyword_search_matches_oracle(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = super::collection_name(name_prefix, "keyword");
    let index = super::check::pick_index(&caps);
    if !caps.hybrid {
        let spec = spec(name.clone(), TextAnalyzer::Simple, index);
        must_fail(
            store.ensure_collection(&spec).await,
            ErrorKind::Unsupported,
            "text search without support",
        );
        return;
    }
    for analyzer in TextAnalyzer::ALL {
        let spec = spec(name.clone(), analyzer, index);
        if !caps.supports_analyzer(analyzer) {
            must_fail(
                store.ensure_collection(&spec).await,
                ErrorKind::Unsupported,
                format_args!("the {analyzer} analyzer"),
            );
            continue;
        }
        let oracle = load(store, &spec).await;
        let queries = [
            ("vector search", None),
            ("kafka redis postgres", None),
            (
                "neural graph embedding model",
                Some(Filter::eq("lang", "en")),
            ),
            ("rust python cache", Some(Filter::ge("year", 2003))),
            (
                "stream",
                Some(Filter::and(
                    Filter::eq("lang", "de"),
                    Filter::lt("year", 2004),
                )),
            ),
        ];
        for (text, filter) in queries {
            let what = format!("{analyzer} keyword {text:?} filter {filter:?}");
            let mut query = SearchQuery::keyword(text, 44);
            if let Some(f) = filter.clone() {
                query = query.with_filter(f);
            }
            let want = must(oracle.search(&spec.name, &query).await, "oracle keyword");
            let got = must(store.search(&spec.name, &query).await, &what);
            assert!(
                !want.is_empty(),
                "conformance: {what}: the oracle found nothing"
            );
            assert_keyword_shape(&got, &what);
            if let Some(f) = &filter {
                for hit in &got {
                    let p = hit.payload.clone().unwrap_or_default();
                    assert!(
                        crate::filter::matches(f, &p),
                        "conformance: {what}: hit {} does not match the filter",
                        hit.id
                    );
                }
            }
            match caps.keyword_scoring {
                Some(KeywordScoring::Bm25) => assert_same_ranking(&want, &got, &what),
                _ => {
                    let want_set: HashSet<RecordId> = ids(&want).into_iter().collect();
                    let got_set: HashSet<RecordId> = ids(&got).into_iter().collect();
                    assert_eq!(
                        got_set, want_set,
                        "conformance: {what}: matching records differ from the oracle's"
                    );
                    // The better half of the matches by BM25 and by this
                    // backend's score mostly agree.
                    let half = want.len().div_ceil(2);
                    let top =
                        |h: &[SearchHit]| h.iter().take(half).map(|h| h.id).collect::<HashSet<_>>();
                    let overlap = top(&want).intersection(&top(&got)).count() as f64 / half as f64;
                    // (A handful of matches is covered by the set equality.)
                    assert!(
                        want.len() < 6 || overlap >= MIN_KEYWORD_OVERLAP,
                        "conformance: {what}: overlap@{half} (half the matches) with BM25 is {overlap:.2}, below {MIN_KEYWORD_OVERLAP}"
                    );
                }
            }
            // k cuts the same ranking.
            let cut = must(
                store
                    .search(
                        &spec.name,
                        &SearchQuery {
                            k: 3,
                            ..query.clone()
                        },
                    )
                    .await,
                &what,
            );
            assert_eq!(
                ids(&cut),
                ids(&got)[..got.len().min(3)],
                "conformance: {what}: k = 3 is not the first 3"
            );
        }
        terms_follow_the_analyzer(store, &spec, analyzer).await;
    }
}

/// Unicode, CJK and (English) stemming and stop words, as `crate::text` defines them.
async fn terms_follow_the_analyzer(
    store: &dyn VectorStore,
    spec: &CollectionSpec,
    analyzer: TextAnalyzer,
) {
    let hits_for = |text: &'static str| async move {
        let what = format!("{analyzer} terms of {text:?}");
        let hits = must(
            store
                .search(&spec.name, &SearchQuery::keyword(text, 10))
                .await,
            &what,
        );
        let mut keys: Vec<RecordId> = ids(&hits);
        keys.sort();
        keys
    };
    let key = RecordId::from_key;
    // A CJK run without spaces is one term: "数据库" finds only the spaced record.
    assert_eq!(
        hits_for("数据库").await,
        vec![key("cjk_spaced")],
        "conformance: {analyzer}: CJK term 数据库"
    );
    let mut both = vec![key("cjk_spaced"), key("cjk_run")];
    both.sort();
    assert_eq!(
        hits_for("检索").await,
        both,
        "conformance: {analyzer}: CJK term 检索"
    );
    assert_eq!(
        hits_for("向量数据库").await,
        vec![key("cjk_run")],
        "conformance: {analyzer}: CJK run"
    );
    // Non-ASCII letters are folded to lower case.
    assert_eq!(
        hits_for("ÜNÏCODE").await,
        vec![key("unicode")],
        "conformance: {analyzer}: unicode case"
    );
    assert_eq!(
        hits_for("FAÇADE naïve").await,
        vec![key("unicode")],
        "conformance: {analyzer}: unicode terms"
    );
    match analyzer {
        TextAnalyzer::Simple => {
            assert_eq!(
                hits_for("searched").await,
                vec![key("english")],
                "conformance: simple: no stemming"
            );
            assert_eq!(
                hits_for("were").await,
                vec![key("english")],
                "conformance: simple: no stop words"
            );
        }
        TextAnalyzer::English => {
            let mut stemmed = hits_for("search").await;
            stemmed.retain(|id| *id == key("english"));
            assert_eq!(
                stemmed,
                vec![key("english")],
                "conformance: english: `search` finds `searching`/`searched`"
            );
            assert!(
                hits_for("the were of").await.is_empty(),
                "conformance: english: stop words only find nothing"
            );
        }
    }
}

/// Hybrid search on the backend equals [`fuse`] of its own arms (vector
/// search and keyword search, both filtered, as deep as the query's
/// candidates) for both fusions and several alphas; with BM25 scoring also
/// the oracle's. Empty text is a pure vector search; alpha 0 and 1 run one
/// arm; hits carry their exact distances and the fused score.
pub async fn hybrid_fuses_both_arms(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    if !caps.hybrid {
        return;
    }
    let name = super::collection_name(name_prefix, "hybrid");
    let spec = spec(name, TextAnalyzer::Simple, super::check::pick_index(&caps));
    let oracle = load(store, &spec).await;
    let records = corpus();
    let truth = |id: RecordId, q: &[f32]| {
        records
            .iter()
            .find(|r| r.id == id)
            .map(|r| crate::distance::distance(Metric::Cosine, q, &r.vector))
    };
    let fusions = [Fusion::default(), Fusion::RelativeScore];
    let cases = [
        ("vector search database", 0.5, None, 10, Some(20)),
        (
            "kafka stream redis",
            0.3,
            Some(Filter::eq("lang", "en")),
            5,
            None,
        ),
        (
            "neural model",
            0.7,
            Some(Filter::ge("year", 2002)),
            8,
            Some(15),
        ),
        ("graph", 0.0, None, 6, None),
        ("python rust", 1.0, Some(Filter::ne("lang", "de")), 6, None),
    ];
    for (n, (text, alpha, filter, k, candidates)) in cases.into_iter().enumerate() {
        for fusion in fusions {
            let what = format!("hybrid {text:?} alpha {alpha} {fusion:?} filter {filter:?}");
            let vector = super::uniform_vector(500 + n as u64, DIM);
            let mut text_query = TextQuery::new(text).with_alpha(alpha).with_fusion(fusion);
            if let Some(c) = candidates {
                text_query = text_query.with_candidates(c);
            }
            let mut query = SearchQuery::new(vector.clone(), k).with_text(text_query);
            let mut vector_query = SearchQuery::new(vector.clone(), query.arm_depth());
            let mut keyword_query = SearchQuery::keyword(text, query.arm_depth());
            if let Some(f) = filter.clone() {
                query = query.with_filter(f.clone());
                vector_query = vector_query.with_filter(f.clone());
                keyword_query = keyword_query.with_filter(f);
            }
            let got = must(store.search(&spec.name, &query).await, &what);
            let vector_arm = must(store.search(&spec.name, &vector_query).await, "vector arm");
            let keyword_arm = must(
                store.search(&spec.name, &keyword_query).await,
                "keyword arm",
            );
            let pairs = |hits: &[SearchHit], by_score: bool| -> Vec<(RecordId, f32)> {
                hits.iter()
                    .map(|h| (h.id, if by_score { score(h) } else { h.distance }))
                    .collect()
            };
            let mut want = fuse(
                &pairs(&vector_arm, false),
                &pairs(&keyword_arm, true),
                alpha,
                fusion,
            );
            want.truncate(k);
            let got_pairs: Vec<(RecordId, f32)> = got.iter().map(|h| (h.id, score(h))).collect();
            assert_eq!(
                got_pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
                want.iter().map(|p| p.0).collect::<Vec<_>>(),
                "conformance: {what}: the fused order differs from fusing the backend's own arms \
                 (got {got_pairs:?}, want {want:?})"
            );
            for ((_, g), (_, w)) in got_pairs.iter().zip(&want) {
                assert!(
                    close_score(*g, *w),
                    "conformance: {what}: fused score {g}, want {w}"
                );
            }
            for hit in &got {
                let exact = truth(hit.id, &vector);
                assert!(
                    exact.is_some_and(|d| close(hit.distance, d)),
                    "conformance: {what}: hit {} has distance {}, exact {exact:?}",
                    hit.id,
                    hit.distance
                );
                if let Some(f) = &filter {
                    let p = hit.payload.clone().unwrap_or_default();
                    assert!(
                        crate::filter::matches(f, &p),
                        "conformance: {what}: hit {} does not match the filter",
                        hit.id
                    );
                }
            }
            if alpha == 0.0 {
                let keyword: HashSet<RecordId> = ids(&keyword_arm).into_iter().collect();
                assert!(
                    got.iter().all(|h| keyword.contains(&h.id)),
                    "conformance: {what}: alpha 0 returned a record the keyword arm lacks"
                );
            }
            if alpha == 1.0 {
                assert_eq!(
                    ids(&got),
                    ids(&vector_arm)[..got.len()],
                    "conformance: {what}: alpha 1 is the vector order"
                );
            }
            if caps.keyword_scoring == Some(KeywordScoring::Bm25) {
                let reference = must(oracle.search(&spec.name, &query).await, "oracle hybrid");
                assert_eq!(
                    ids(&got),
                    ids(&reference),
                    "conformance: {what}: differs from the oracle"
                );
            }
        }
    }
    // Empty or blank text: exactly the vector search.
    let vector = super::uniform_vector(77, DIM);
    let plain = must(
        store
            .search(&spec.name, &SearchQuery::new(vector.clone(), 7))
            .await,
        "vector search",
    );
    for blank in ["", "   "] {
        let query = SearchQuery::new(vector.clone(), 7).with_text(TextQuery::new(blank));
        let got = must(store.search(&spec.name, &query).await, "blank text");
        assert_eq!(
            ids(&got),
            ids(&plain),
            "conformance: text {blank:?} must be a pure vector search"
        );
        assert!(
            got.iter().all(|h| h.score.is_none()),
            "conformance: text {blank:?}: vector hits carry no score"
        );
    }
    // Bad hybrid input is refused before any I/O.
    let bad = [
        SearchQuery::new(vector.clone(), 5).with_text(TextQuery::new("x").with_alpha(1.5)),
        SearchQuery::new(vector.clone(), 5).with_text(TextQuery::new("x\0y")),
        SearchQuery::keyword("x", 5).with_max_distance(0.5),
        SearchQuery::new(vector.clone(), 5)
            .with_text(TextQuery::new("x").with_fusion(Fusion::Ranked { k: 0 })),
    ];
    for query in bad {
        must_fail(
            store.search(&spec.name, &query).await,
            ErrorKind::InvalidInput,
            format_args!("{query:?}"),
        );
    }
    let custom_k = SearchQuery::new(vector, 5)
        .with_text(TextQuery::new("x").with_fusion(Fusion::Ranked { k: 10 }));
    let result = store.search(&spec.name, &custom_k).await;
    if caps.any_rank_constant {
        must(result, "rank constant 10");
    } else {
        must_fail(
            result,
            ErrorKind::Unsupported,
            "rank constant 10 where only 60 is offered",
        );
    }
    // A collection without text search refuses text queries.
    let plain_spec = CollectionSpec::new(
        super::collection_name(name_prefix, "hybrid_none"),
        DIM,
        Metric::Cosine,
    );
    fresh(store, &plain_spec).await;
    must_fail(
        store
            .search(&plain_spec.name, &SearchQuery::keyword("vector", 3))
            .await,
        ErrorKind::InvalidInput,
        "keyword search on a collection without text search",
    );
}
