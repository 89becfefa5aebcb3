//! The keyword arm of `MemoryStore`: exact BM25 over every row's analysed
//! document, best scores first, equal scores by id.

use super::scan::Rows;
use super::table::Table;
use crate::text::Bm25;

/// The `depth` best rows for `terms` among `rows`, with their scores.
/// Statistics are over the whole collection (filters only choose rows).
pub(super) fn keyword_arm(
    table: &Table,
    terms: &[String],
    depth: usize,
    rows: Rows<'_>,
) -> Vec<(usize, f32)> {
    if terms.is_empty() {
        return Vec::new();
    }
    let bm25 = Bm25::new(table.terms.iter().map(Vec::as_slice));
    let score = |row: usize| bm25.score(terms, &table.terms[row]).map(|s| (row, s));
    let mut scored: Vec<(usize, f64)> = match rows {
        Rows::All => (0..table.len()).filter_map(score).collect(),
        Rows::Only(only) => only.iter().copied().filter_map(score).collect(),
    };
    scored.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(table.ids[a.0].cmp(&table.ids[b.0]))
    });
    scored.truncate(depth);
    scored.into_iter().map(|(row, s)| (row, s as f32)).collect()
}
