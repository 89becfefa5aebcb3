//! Keyword search's model: which fields a collection searches
//! ([`TextSearch`]), how their text becomes terms ([`TextAnalyzer`],
//! [`analyze`]), and BM25, the score [`crate::MemoryStore`] ranks by
//! ([`Bm25`]).
//!
//! # One definition of a document's text and its terms
//!
//! A record's *document* is the text of the collection's searchable fields,
//! in declared order, joined by a space (a missing or `null` field adds
//! nothing). Its terms:
//!
//! - **`Simple`**: maximal runs of Unicode letters and digits
//!   ([`char::is_alphanumeric`]), lowercased. This is Weaviate's `word`
//!   tokenization, and what PostgreSQL's `simple` configuration does with
//!   plain words. A run of CJK ideographs with no space in it is **one**
//!   term (`向量数据库` stays whole; the query `数据` does not match it),
//!   on all three backends: none of them segments CJK words without a
//!   dictionary. Write CJK text with spaces between words (or pre-segment
//!   it) to make its words searchable.
//! - **`English`**: the `Simple` terms without English stop words
//!   (Snowball's list, the one PostgreSQL's `english` configuration uses),
//!   each reduced to its stem by the Snowball English (Porter 2) stemmer
//!   (`rust-stemmers`; PostgreSQL's `english_stem` is the same algorithm),
//!   so `searching` and `searched` both match `search`.
//!
//! PostgreSQL's parser differs at the edges (it also keeps `foo-bar` as a
//! term beside `foo` and `bar`, and reads e-mail addresses, URLs and
//! decimal numbers as single terms); that is one reason pgvector's keyword
//! ranking is compared by overlap, not position (see the conformance
//! suite).
//!
//! ```
//! use ai_data_vector::text::analyze;
//! use ai_data_vector::TextAnalyzer;
//!
//! assert_eq!(analyze(TextAnalyzer::Simple, "Vector-DBs, fast!"), ["vector", "dbs", "fast"]);
//! assert_eq!(analyze(TextAnalyzer::English, "The searching of vectors"), ["search", "vector"]);
//! assert_eq!(analyze(TextAnalyzer::Simple, "向量数据库 检索"), ["向量数据库", "检索"]);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

use crate::Payload;

/// How searchable text becomes terms (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextAnalyzer {
    /// Lowercased runs of letters and digits (PostgreSQL `simple`,
    /// Weaviate `word` tokenization without stop words). The default.
    #[default]
    Simple,
    /// `Simple`, then English stop words removed and Snowball English
    /// stems (PostgreSQL `english`).
    English,
}

impl TextAnalyzer {
    /// Every analyzer.
    pub const ALL: [TextAnalyzer; 2] = [TextAnalyzer::Simple, TextAnalyzer::English];

    /// Stable lowercase name, also PostgreSQL's text search configuration:
    /// `simple`, `english`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TextAnalyzer::Simple => "simple",
            TextAnalyzer::English => "english",
        }
    }
}

impl fmt::Display for TextAnalyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A collection's keyword search: the declared `Text` fields whose text is
/// searched (together, as one document), and the analyzer.
///
/// ```
/// use ai_data_vector::{CollectionSpec, FieldKind, Metric, TextAnalyzer};
///
/// let spec = CollectionSpec::new("docs", 3, Metric::Cosine)
///     .with_field("title", FieldKind::Text)
///     .with_field("body", FieldKind::Text)
///     .with_text_search(["title", "body"], TextAnalyzer::English);
/// let search = spec.text_search.as_ref().map(|t| t.fields.clone());
/// assert_eq!(search, Some(vec!["title".to_owned(), "body".to_owned()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextSearch {
    /// Declared `Text` fields, in the order their text is joined.
    pub fields: Vec<String>,
    /// How the text becomes terms.
    pub analyzer: TextAnalyzer,
}

impl TextSearch {
    /// Search `fields` with `analyzer`.
    pub fn new<I, S>(fields: I, analyzer: TextAnalyzer) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TextSearch {
            fields: fields.into_iter().map(Into::into).collect(),
            analyzer,
        }
    }

    /// The record's document: the searchable fields' strings joined by a
    /// space (missing, `null` or non-string values add nothing).
    pub fn document(&self, payload: &Payload) -> String {
        let parts: Vec<&str> = self
            .fields
            .iter()
            .filter_map(|f| payload.get(f).and_then(|v| v.as_str()))
            .collect();
        parts.join(" ")
    }
}

/// The terms of `text` under `analyzer`, in order, repeats kept.
pub fn analyze(analyzer: TextAnalyzer, text: &str) -> Vec<String> {
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase);
    match analyzer {
        TextAnalyzer::Simple => words.collect(),
        TextAnalyzer::English => {
            let stemmer = english_stemmer();
            words
                .filter(|w| !ENGLISH_STOP_WORDS.contains(&w.as_str()))
                .map(|w| stemmer.stem(&w).into_owned())
                .collect()
        }
    }
}

fn english_stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Snowball's English stop words, as PostgreSQL ships them
/// (`tsearch_data/english.stop`).
pub const ENGLISH_STOP_WORDS: [&str; 127] = [
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// Okapi BM25 over one collection's documents, exact: the keyword score of
/// [`crate::MemoryStore`] and of Weaviate (`k1 = 1.2`, `b = 0.75`, its
/// defaults). For a query's distinct terms `t` that occur in document `d`:
///
/// `score(d) = Σ idf(t) · tf(t,d) · (k1 + 1) / (tf(t,d) + k1 · (1 - b + b · |d| / avgdl))`
///
/// with `idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))`, `N` the number
/// of records in the collection (filters do not change the statistics),
/// `n(t)` those whose document has `t`, `|d|` the document's term count and
/// `avgdl` the mean over all records. A document with none of the terms has
/// no score (it is not a keyword hit); terms repeated in the query count
/// once (any term matches: an OR).
///
/// ```
/// use ai_data_vector::text::Bm25;
///
/// let docs = [vec!["red".to_owned(), "apple".into()], vec!["green".into(), "apple".into(), "pie".into()]];
/// let bm25 = Bm25::new(docs.iter().map(Vec::as_slice));
/// let query = ["red".to_owned()];
/// assert!(bm25.score(&query, &docs[0]).is_some_and(|s| s > 0.0));
/// assert_eq!(bm25.score(&query, &docs[1]), None);
/// ```
#[derive(Debug, Clone)]
pub struct Bm25 {
    documents: usize,
    mean_length: f64,
    frequency: HashMap<String, usize>,
}

impl Bm25 {
    /// Term saturation.
    pub const K1: f64 = 1.2;
    /// Length normalisation.
    pub const B: f64 = 0.75;

    /// Statistics over every document of a collection (terms as [`analyze`] gives them).
    pub fn new<'a>(documents: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut count = 0;
        let mut total = 0;
        let mut frequency: HashMap<String, usize> = HashMap::new();
        for terms in documents {
            count += 1;
            total += terms.len();
            let mut distinct: Vec<&String> = terms.iter().collect();
            distinct.sort_unstable();
            distinct.dedup();
            for term in distinct {
                *frequency.entry(term.clone()).or_default() += 1;
            }
        }
        Bm25 {
            documents: count,
            mean_length: if count == 0 {
                0.0
            } else {
                total as f64 / count as f64
            },
            frequency,
        }
    }

    /// The document's score for the query's terms, `None` when it has none of them.
    pub fn score(&self, query: &[String], document: &[String]) -> Option<f64> {
        let mut distinct: Vec<&String> = query.iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let length_norm = if self.mean_length > 0.0 {
            1.0 - Self::B + Self::B * document.len() as f64 / self.mean_length
        } else {
            1.0
        };
        let mut score = None;
        for term in distinct {
            let tf = document.iter().filter(|t| *t == term).count();
            if tf == 0 {
                continue;
            }
            let n = self.frequency.get(term).copied().unwrap_or(0) as f64;
            let idf = (1.0 + (self.documents as f64 - n + 0.5) / (n + 0.5)).ln();
            let tf = tf as f64;
            let part = idf * tf * (Self::K1 + 1.0) / (tf + Self::K1 * length_norm);
            *score.get_or_insert(0.0) += part;
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        analyze(TextAnalyzer::Simple, text)
    }

    #[test]
    fn rarer_terms_and_shorter_documents_score_higher() {
        let docs = [
            terms("apple banana"),
            terms("apple cherry"),
            terms("apple banana cherry date elderberry fig"),
        ];
        let bm25 = Bm25::new(docs.iter().map(Vec::as_slice));
        let cherry = |d: &[String]| bm25.score(&terms("cherry"), d).unwrap_or(0.0);
        let apple = |d: &[String]| bm25.score(&terms("apple"), d).unwrap_or(0.0);
        assert!(cherry(&docs[1]) > cherry(&docs[2]), "shorter document wins");
        assert!(cherry(&docs[1]) > apple(&docs[1]), "rarer term weighs more");
        // idf of a term in every document: ln(1 + 0.5 / 3.5).
        let expected = (1.0_f64 + 0.5 / 3.5).ln();
        let norm = 1.0 - Bm25::B + Bm25::B * 2.0 / (10.0 / 3.0);
        let one = expected * 2.2 / (1.0 + 1.2 * norm);
        assert!((apple(&docs[0]) - one).abs() < 1e-12);
    }

    #[test]
    fn repeated_query_terms_count_once() {
        let docs = [terms("red fox"), terms("blue fox")];
        let bm25 = Bm25::new(docs.iter().map(Vec::as_slice));
        assert_eq!(
            bm25.score(&terms("red red"), &docs[0]),
            bm25.score(&terms("red"), &docs[0])
        );
    }

    #[test]
    fn english_drops_stop_words_and_stems() {
        assert_eq!(
            analyze(TextAnalyzer::English, "Running runners ran, and RUNS"),
            ["run", "runner", "ran", "run"]
        );
        assert_eq!(
            analyze(TextAnalyzer::Simple, "Ünïcode ÉTÉ"),
            ["ünïcode", "été"]
        );
    }
}
