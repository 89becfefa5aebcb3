//! One collection's rows in contiguous storage: all vectors in one
//! `Vec<f32>` of `rows * dimension`, with ids, payloads and inverse norms in
//! parallel vectors, and an id → row map. Deletes swap the last row in.

use std::collections::{HashMap, HashSet};

use crate::distance::norm;
use crate::filter::{matches, Filter};
use crate::text::analyze;
use crate::{CollectionSpec, Payload, Precision, Record, RecordId, TextSearch};

#[derive(Debug)]
pub(super) struct Table {
    pub(super) dim: usize,
    pub(super) ids: Vec<RecordId>,
    rows: HashMap<RecordId, usize>,
    pub(super) vectors: Vec<f32>,
    /// `1 / ‖x‖` per row (cosine scoring without a division per row).
    pub(super) inv_norms: Vec<f32>,
    pub(super) payloads: Vec<Payload>,
    /// Each row's analysed document, when the collection declares text search.
    pub(super) terms: Vec<Vec<String>>,
    text_search: Option<TextSearch>,
    precision: Precision,
}

impl Table {
    pub(super) fn new(spec: &CollectionSpec) -> Self {
        Table {
            dim: spec.dimension,
            ids: Vec::new(),
            rows: HashMap::new(),
            vectors: Vec::new(),
            inv_norms: Vec::new(),
            payloads: Vec::new(),
            terms: Vec::new(),
            text_search: spec.text_search.clone(),
            precision: spec.precision,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn vector(&self, row: usize) -> &[f32] {
        &self.vectors[row * self.dim..(row + 1) * self.dim]
    }

    pub(super) fn row(&self, id: &RecordId) -> Option<usize> {
        self.rows.get(id).copied()
    }

    pub(super) fn record(&self, row: usize) -> Record {
        Record::new(
            self.ids[row],
            self.vector(row).to_vec(),
            self.payloads[row].clone(),
        )
    }

    /// Insert or overwrite a validated record. An `F16` collection keeps
    /// each component rounded to half precision (the values a `halfvec`
    /// holds); the rows stay `f32` for the scan's kernels.
    pub(super) fn upsert(&mut self, record: &Record) {
        let vector: Vec<f32> = match self.precision {
            Precision::F32 => record.vector.clone(),
            precision => record.vector.iter().map(|x| precision.round(*x)).collect(),
        };
        let inv_norm = (1.0 / norm(&vector)) as f32;
        let terms = self
            .text_search
            .as_ref()
            .map(|t| analyze(t.analyzer, &t.document(&record.payload)))
            .unwrap_or_default();
        match self.rows.get(&record.id) {
            Some(&row) => {
                let dim = self.dim;
                self.vectors[row * dim..(row + 1) * dim].copy_from_slice(&vector);
                self.inv_norms[row] = inv_norm;
                self.payloads[row] = record.payload.clone();
                self.terms[row] = terms;
            }
            None => {
                self.rows.insert(record.id, self.ids.len());
                self.ids.push(record.id);
                self.vectors.extend_from_slice(&vector);
                self.inv_norms.push(inv_norm);
                self.payloads.push(record.payload.clone());
                self.terms.push(terms);
            }
        }
    }

    /// Rows whose payload matches `filter`, ascending.
    pub(super) fn matching_rows(&self, filter: &Filter) -> Vec<usize> {
        (0..self.len())
            .filter(|&row| matches(filter, &self.payloads[row]))
            .collect()
    }

    /// Rows of these ids that exist, each once.
    pub(super) fn rows_of(&self, ids: &[RecordId]) -> Vec<usize> {
        let mut seen = HashSet::with_capacity(ids.len());
        ids.iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| self.row(id))
            .collect()
    }

    /// Delete rows (each at most once); returns how many.
    pub(super) fn delete_rows(&mut self, mut rows: Vec<usize>) -> u64 {
        rows.sort_unstable_by(|a, b| b.cmp(a));
        rows.dedup();
        let dim = self.dim;
        // Descending order: the last row moved into a hole is never one
        // still waiting to be deleted.
        for &row in &rows {
            let last = self.ids.len() - 1;
            self.rows.remove(&self.ids[row]);
            if row != last {
                self.vectors
                    .copy_within(last * dim..(last + 1) * dim, row * dim);
                self.ids[row] = self.ids[last];
                self.rows.insert(self.ids[row], row);
                self.inv_norms[row] = self.inv_norms[last];
                self.payloads.swap(row, last);
                self.terms.swap(row, last);
            }
            self.ids.pop();
            self.inv_norms.pop();
            self.payloads.pop();
            self.terms.pop();
            self.vectors.truncate(last * dim);
        }
        rows.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    fn rec(key: &str, x: f32) -> Record {
        Record::new(RecordId::from_key(key), vec![x, x + 0.5], Payload::new())
    }

    #[test]
    fn swap_delete_keeps_rows_consistent() {
        let mut t = Table::new(&CollectionSpec::new("t", 2, Metric::L2));
        for i in 0..6 {
            t.upsert(&rec(&i.to_string(), i as f32));
        }
        t.upsert(&rec("2", 20.0)); // overwrite in place
        assert_eq!(t.len(), 6);
        assert_eq!(t.delete_rows(vec![0, 5, 3, 0]), 3);
        assert_eq!(t.len(), 3);
        assert_eq!(t.vectors.len(), 6);
        for (row, id) in t.ids.iter().enumerate() {
            assert_eq!(t.row(id), Some(row));
            let key = ["1", "2", "4"]
                .into_iter()
                .find(|k| RecordId::from_key(k) == *id);
            let x = match key {
                Some("2") => 20.0,
                Some(k) => k.parse::<f32>().unwrap_or(-1.0),
                None => -1.0,
            };
            assert_eq!(t.vector(row), &[x, x + 0.5], "row {row}");
            assert!((t.inv_norms[row] - (1.0 / norm(&[x, x + 0.5])) as f32).abs() < 1e-6);
        }
        assert_eq!(
            t.rows_of(&[RecordId::from_key("0"), RecordId::from_key("4")])
                .len(),
            1
        );
    }
}
