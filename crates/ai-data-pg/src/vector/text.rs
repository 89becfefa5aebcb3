//! Keyword and hybrid search on PostgreSQL: one SQL statement per search.
//!
//! - **Keyword arm**: the collection's generated `search_text tsvector`
//!   (GIN-indexed) matched with `@@` against an OR of the query's terms,
//!   ranked by `ts_rank_cd` (normalisation 0), then id. The query's terms
//!   are the lexemes of `plainto_tsquery` under the collection's
//!   configuration, joined with `|`: any term matches, as BM25 and
//!   Weaviate do (`plainto_tsquery` alone would require all of them).
//! - **Vector arm**: the HNSW/IVFFlat query shape of a vector search
//!   (`ORDER BY embedding <op> $1 LIMIT candidates`, materialised), with the
//!   same per-transaction scan settings ([`KnnScan`]), then ranked by exact
//!   distance, then id.
//! - **Fusion** in the same statement ([`ai_data_vector::fusion`]): each
//!   arm's 0-based rank (`Ranked`) or min-max normalised score
//!   (`RelativeScore`) weighted by `alpha` / `1 - alpha`, summed per id,
//!   sorted by fused score, then id; the hits' distances are computed for
//!   every fused row.
//!
//! Filters are applied inside both arms (the same bound parameters).

use pgvector::Vector;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::sql_filter::{translate, Bind};
use super::{ddl, generation, rows, Known};
use crate::knn::{KnnQuery, KnnRows, KnnScan};
use ai_data_vector::fusion::Fusion;
use ai_data_vector::{IndexSpec, Result, SearchMode, SearchQuery, TextSearch};

/// A keyword or hybrid search's SQL and parameters.
pub(super) struct TextPlan {
    pub(super) sql: String,
    params: Vec<Param>,
    hybrid: bool,
    pub(super) scan: KnnScan,
}

/// One bound parameter, in placeholder order.
enum Param {
    Vector(Vector),
    Text(String),
    Int(i64),
    Float(f64),
    Filter(Vec<Bind>),
}

/// Parameters in the order their placeholders are handed out (each is
/// bound only if the SQL uses it: an unused one would be an error).
#[derive(Default)]
struct Params(Vec<Param>, usize);

impl Params {
    fn push(&mut self, param: Param) -> String {
        self.1 += 1;
        self.0.push(param);
        format!("${}", self.1)
    }
}

/// The `tsquery` of `$text`: an OR of its lexemes under `search`'s
/// configuration. `plainto_tsquery` ANDs them; its text form is rewritten
/// to OR them. Every function in it is immutable, so with the text bound
/// the planner folds it to a constant and can cost the GIN index scan (a
/// subquery here would leave it an unknown run-time value and the planner
/// a sequential scan).
fn tsquery(search: &TextSearch, text_param: &str, unicode_fold: bool) -> String {
    format!(
        "replace(plainto_tsquery('{}'::regconfig, {})::text, ' & ', ' | ')::tsquery",
        search.analyzer.as_str(),
        ddl::folded(&format!("{text_param}::text"), unicode_fold)
    )
}

impl TextPlan {
    pub(super) fn new(
        schema: &str,
        known: &Known,
        query: &SearchQuery,
        unicode_fold: bool,
    ) -> Result<Self> {
        let spec = &known.spec;
        let search = spec
            .text_search
            .clone()
            .unwrap_or_else(|| TextSearch::new(Vec::<String>::new(), Default::default()));
        let text = query
            .text
            .clone()
            .unwrap_or_else(|| ai_data_vector::TextQuery::new(""));
        let hybrid = query.mode() == SearchMode::Hybrid;
        let alpha = if hybrid { f64::from(text.alpha) } else { 0.0 };
        let depth = query.arm_depth();
        let scan = match (hybrid, spec.index) {
            (true, IndexSpec::Hnsw { .. }) => {
                KnnScan::hnsw(depth, query.accuracy.ef_search, query.filter.is_some())
            }
            (true, IndexSpec::IvfFlat { lists }) => {
                KnnScan::ivfflat(depth, lists, query.accuracy.probes, query.filter.is_some())
            }
            _ => KnnScan::exact(depth),
        };
        let table = ddl::qualified(schema, &spec.name);
        let as_i64 = |n: usize| Param::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let mut p = Params::default();
        let vector_param =
            hybrid.then(|| p.push(Param::Vector(Vector::from(query.vector.clone()))));
        let text_param = p.push(Param::Text(text.text.clone()));
        let guard = generation::guard(schema, &spec.name, p.1 + 1);
        p.push(Param::Int(known.table));
        let filter = match &query.filter {
            Some(f) => {
                let cond = translate(spec, f, p.1 + 1)?;
                p.1 += cond.binds.len();
                p.0.push(Param::Filter(cond.binds));
                format!(" AND {}", cond.sql)
            }
            None => String::new(),
        };
        let depth_p = p.push(as_i64(depth));
        let fusion = text.fusion;
        let rank_p = match fusion {
            Fusion::Ranked { k } => Some(p.push(Param::Float(f64::from(k)))),
            Fusion::RelativeScore => None,
        };
        let weight = |arm: &str, w: &str| match &rank_p {
            Some(k) => format!("{w} / ({k}::float8 + {arm}.r)"),
            None => format!("{w} * {arm}.n"),
        };
        let q = tsquery(&search, &text_param, unicode_fold);
        let mut ctes = vec![
            format!("q AS (SELECT {q} AS q)"),
            format!(
                "kw AS (SELECT t.id, ts_rank_cd(t.search_text, q.q)::float8 AS s FROM {table} t, q \
                 WHERE {guard} AND t.search_text @@ q.q{filter} ORDER BY s DESC, t.id LIMIT {depth_p})"
            ),
            "kw_r AS (SELECT id, s, row_number() OVER (ORDER BY s DESC, id) - 1 AS r, \
             CASE WHEN max(s) OVER () > min(s) OVER () \
             THEN (s - min(s) OVER ()) / (max(s) OVER () - min(s) OVER ()) ELSE 1 END AS n FROM kw)"
                .to_owned(),
        ];
        let (op, _) = ddl::operator(spec.metric, spec.precision);
        let vtype = ddl::vector_type(spec.precision);
        let mut parts = Vec::new();
        if !hybrid {
            // Keyword search: the keyword score itself.
            parts.push("SELECT id, s AS part FROM kw_r".to_owned());
        } else if alpha < 1.0 {
            parts.push(format!(
                "SELECT id, {} AS part FROM kw_r",
                weight("kw_r", &format!("{}::float8", 1.0 - alpha))
            ));
        }
        let distance = vector_param
            .as_ref()
            .map(|v| format!("(t.embedding {op} {v}::{vtype})::float8"));
        if let Some(v) = &vector_param {
            let candidates_p = p.push(as_i64(scan.candidates().max(depth)));
            let ties = if spec.index.is_exact() { ", id" } else { "" };
            ctes.push(format!(
                "v_scan AS MATERIALIZED (SELECT id, (embedding {op} {v}::{vtype})::float8 AS d FROM {table} \
                 WHERE {guard}{filter} ORDER BY embedding {op} {v}::{vtype}{ties} LIMIT {candidates_p})"
            ));
            ctes.push(format!(
                "vec AS (SELECT id, d FROM v_scan ORDER BY d, id LIMIT {depth_p})"
            ));
            ctes.push(
                "vec_r AS (SELECT id, d, row_number() OVER (ORDER BY d, id) - 1 AS r, \
                 CASE WHEN max(d) OVER () > min(d) OVER () \
                 THEN (max(d) OVER () - d) / (max(d) OVER () - min(d) OVER ()) ELSE 1 END AS n FROM vec)"
                    .to_owned(),
            );
            if alpha > 0.0 {
                parts.push(format!(
                    "SELECT id, {} AS part FROM vec_r",
                    weight("vec_r", &format!("{alpha}::float8"))
                ));
            }
        }
        ctes.push(format!(
            "fused AS (SELECT id, sum(part) AS score FROM ({}) p GROUP BY id)",
            parts.join(" UNION ALL ")
        ));
        let mut columns = format!(
            "t.id, {} AS distance, f.score",
            distance.as_deref().unwrap_or("NULL::float8")
        );
        if query.include_payload {
            columns.push_str(", ");
            columns.push_str(rows::PAYLOAD);
        }
        if query.include_vector {
            columns.push_str(", ");
            columns.push_str(ddl::embedding_column(spec.precision));
        }
        let found = if vector_param.is_some() {
            "(SELECT count(*) FROM v_scan)"
        } else {
            "0::bigint"
        };
        let limit_p = p.push(as_i64(query.k));
        let sql = format!(
            "WITH {} SELECT {columns}, {found} AS found FROM fused f JOIN {table} t USING (id) \
             ORDER BY f.score DESC, t.id LIMIT {limit_p}",
            ctes.join(", ")
        );
        Ok(TextPlan {
            sql,
            params: p.0,
            hybrid,
            scan,
        })
    }
}

impl KnnQuery for TextPlan {
    type Row = PgRow;

    fn fetch<'c>(&'c self, conn: &'c mut PgConnection) -> KnnRows<'c, PgRow> {
        Box::pin(async move {
            let mut query = sqlx::query(&self.sql);
            for param in &self.params {
                query = match param {
                    Param::Vector(v) => query.bind(v),
                    Param::Text(t) => query.bind(t),
                    Param::Int(n) => query.bind(n),
                    Param::Float(x) => query.bind(x),
                    Param::Filter(binds) => bind_all!(query, binds),
                };
            }
            query.fetch_all(conn).await
        })
    }

    /// Rows the vector arm's index scan yielded (the exact re-run's trigger).
    fn found(&self, rows: &[PgRow]) -> usize {
        if !self.hybrid {
            return 0;
        }
        rows.first()
            .and_then(|row| row.try_get::<i64, _>("found").ok())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    }
}
