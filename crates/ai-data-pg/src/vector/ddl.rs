//! SQL text for the registry, a collection's table and its indexes. Every
//! name placed into SQL is a validated identifier, and quoted.

use ai_data_vector::{CollectionSpec, FieldKind, IndexSpec, Metric, Precision, TextSearch};

/// The registry table, in the store's schema.
pub(crate) const REGISTRY: &str = "_vector_collections";

/// `"schema"."name"`.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!("\"{schema}\".\"{name}\"")
}

/// The distance operator and the index operator class of a metric on a
/// column of `precision` (`vector` or `halfvec`). They must match, or the
/// planner cannot use the index.
pub(crate) fn operator(metric: Metric, precision: Precision) -> (&'static str, &'static str) {
    match (metric, precision) {
        (Metric::Cosine, Precision::F32) => ("<=>", "vector_cosine_ops"),
        // pgvector's <#> is the negative inner product: our `Dot` distance.
        (Metric::Dot, Precision::F32) => ("<#>", "vector_ip_ops"),
        (Metric::L2, Precision::F32) => ("<->", "vector_l2_ops"),
        (Metric::Cosine, Precision::F16) => ("<=>", "halfvec_cosine_ops"),
        (Metric::Dot, Precision::F16) => ("<#>", "halfvec_ip_ops"),
        (Metric::L2, Precision::F16) => ("<->", "halfvec_l2_ops"),
    }
}

/// The SQL type of the vector column (and of query vectors compared with it).
pub(crate) fn vector_type(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "vector",
        Precision::F16 => "halfvec",
    }
}

/// The select-list item that reads the vector as `vector` (column `embedding`).
pub(crate) fn embedding_column(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "embedding",
        Precision::F16 => "embedding::vector AS embedding",
    }
}

/// `expr` folded to lower case by Unicode rules when the server has the
/// builtin `pg_c_utf8` collation (PostgreSQL 17+); else `expr` as is, and
/// the parser lower-cases only what the database's locale does (in a `C`
/// locale database: ASCII letters only).
pub(crate) fn folded(expr: &str, unicode_fold: bool) -> String {
    if unicode_fold {
        format!("lower(({expr}) COLLATE pg_c_utf8)")
    } else {
        expr.to_owned()
    }
}

/// The `tsvector` of a record's document: the searchable fields joined by a
/// space (as `ai_data_vector::text::TextSearch::document`), analysed with
/// the collection's configuration. Only immutable functions, so it can be a
/// generated column (`concat_ws` is not).
pub(crate) fn document_vector(search: &TextSearch, unicode_fold: bool) -> String {
    let parts: Vec<String> = search
        .fields
        .iter()
        .map(|f| format!("coalesce(payload->>'{f}', '')"))
        .collect();
    format!(
        "to_tsvector('{}'::regconfig, {})",
        search.analyzer.as_str(),
        folded(&parts.join(" || ' ' || "), unicode_fold)
    )
}

/// Statements that create the schema, the registry and the helper
/// functions the typed columns use (idempotent).
pub(crate) fn init(schema: &str) -> Vec<String> {
    let registry = qualified(schema, REGISTRY);
    vec![
        format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
        format!(
            "CREATE TABLE IF NOT EXISTS {registry} (\
               name text PRIMARY KEY, \
               dimension integer NOT NULL, \
               metric text NOT NULL, \
               embedding_model text, \
               spec jsonb NOT NULL, \
               created_at timestamptz NOT NULL DEFAULT now())"
        ),
        // Collection tables created before `payload_text` existed get it
        // (empty: their rows are read from the jsonb, see `rows`). Adding
        // a nullable column without a default only changes the catalog.
        format!(
            "DO $$ DECLARE t regclass; BEGIN \
               FOR t IN SELECT to_regclass(format('%I.%I', '{schema}', name)) FROM {registry} LOOP \
                 IF t IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute \
                      WHERE attrelid = t AND attname = 'payload_text' AND NOT attisdropped) THEN \
                   EXECUTE format('ALTER TABLE %s ADD COLUMN payload_text text', t); \
                 END IF; \
               END LOOP; \
             END $$"
        ),
        // Declared IMMUTABLE so generated columns may call them: the inputs
        // are RFC 3339 timestamps with an explicit offset (validated on
        // write), whose value does not depend on the session's time zone.
        // Timestamps keep whole microseconds, the digits below dropped
        // (`::timestamptz` alone would round them): what filter values are
        // truncated to, on every backend (see `ai_data_vector::filter`). Columns
        // written before this version hold the rounded values until their
        // rows are written again.
        format!(
            "CREATE OR REPLACE FUNCTION \"{schema}\"._ai_data_ts(text) RETURNS timestamptz \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS \
             $$ SELECT regexp_replace($1, '(\\.[0-9]{{6}})[0-9]+', '\\1')::timestamptz $$"
        ),
        format!(
            "CREATE OR REPLACE FUNCTION \"{schema}\"._ai_data_text_list(jsonb) RETURNS text[] \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS \
             $$ SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text($1)) END $$"
        ),
        format!(
            "CREATE OR REPLACE FUNCTION \"{schema}\"._ai_data_int_list(jsonb) RETURNS bigint[] \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS \
             $$ SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN ARRAY(SELECT x::bigint FROM jsonb_array_elements_text($1) x) END $$"
        ),
    ]
}

/// Vectors up to this many dimensions (6 KB as `float4`, 3 KB as `halfvec`) are stored PLAIN:
/// with the row header, id and a TOAST pointer for a large payload the row
/// still fits an 8 KB page.
const PLAIN_STORAGE_MAX_DIMENSION: usize = 1536;

/// `CREATE TABLE` for a collection: id, vector, the payload twice, and one
/// generated, typed column `f<i>` per declared field, so filters compare
/// typed values (and can use indexes) without parsing JSON per row.
///
/// The payload is kept as the exact JSON text written (`payload_text`,
/// what `get` and `search` return) and as `jsonb` (`payload`, what the
/// generated columns read, and what SQL users query). Only the text is
/// returned, because `jsonb` normalises numbers: `1e18` comes back as the
/// integer `1000000000000000000`, `-0.0` as `0`, `f64::MAX` as 309 digits
/// (numerically equal, but another JSON value), and the trait promises the
/// payload unchanged, as every other backend returns it.
///
/// The vector column keeps its value in the row: `vector`'s default
/// storage (EXTENDED) tries to compress every vector over ~2 KB, which
/// random floats never allow, and then moves it to the TOAST table, an
/// extra heap row and index entry per vector on every write and a detour
/// on every read. PLAIN (never compressed or moved) while a vector fits a
/// page comfortably; MAIN (moved only as a last resort) above that.
pub(crate) fn create_table(schema: &str, spec: &CollectionSpec, unicode_fold: bool) -> String {
    let bytes_per_component = match spec.precision {
        Precision::F32 => 1,
        Precision::F16 => 2,
    };
    let storage = if spec.dimension <= PLAIN_STORAGE_MAX_DIMENSION * bytes_per_component {
        "PLAIN"
    } else {
        "MAIN"
    };
    let mut columns = vec![
        "id uuid PRIMARY KEY".to_owned(),
        format!(
            "embedding {}({}) STORAGE {storage} NOT NULL",
            vector_type(spec.precision),
            spec.dimension
        ),
        "payload jsonb NOT NULL".to_owned(),
        "payload_text text NOT NULL".to_owned(),
    ];
    for (i, field) in spec.fields.iter().enumerate() {
        let name = &field.name;
        let (sql_type, expr) = match field.kind {
            FieldKind::Text => ("text", format!("payload->>'{name}'")),
            FieldKind::Int => ("bigint", format!("(payload->>'{name}')::bigint")),
            FieldKind::Float => (
                "double precision",
                format!("(payload->>'{name}')::double precision"),
            ),
            FieldKind::Bool => ("boolean", format!("(payload->>'{name}')::boolean")),
            FieldKind::Timestamp => (
                "timestamptz",
                format!("\"{schema}\"._ai_data_ts(payload->>'{name}')"),
            ),
            FieldKind::TextList => (
                "text[]",
                format!("\"{schema}\"._ai_data_text_list(payload->'{name}')"),
            ),
            FieldKind::IntList => (
                "bigint[]",
                format!("\"{schema}\"._ai_data_int_list(payload->'{name}')"),
            ),
        };
        columns.push(format!(
            "f{i} {sql_type} GENERATED ALWAYS AS ({expr}) STORED"
        ));
    }
    if let Some(search) = &spec.text_search {
        columns.push(format!(
            "search_text tsvector GENERATED ALWAYS AS ({}) STORED",
            document_vector(search, unicode_fold)
        ));
    }
    format!(
        "CREATE TABLE {} ({})",
        qualified(schema, &spec.name),
        columns.join(", ")
    )
}

/// The vector index (none for `Exact`), one index per declared field
/// (b-tree for scalars, GIN for lists), and a GIN index on the document's
/// `tsvector` when the collection declares text search.
pub(crate) fn create_indexes(schema: &str, spec: &CollectionSpec) -> Vec<String> {
    let table = qualified(schema, &spec.name);
    let (_, opclass) = operator(spec.metric, spec.precision);
    let mut out = Vec::new();
    match spec.index {
        IndexSpec::Hnsw { m, ef_construction } => out.push(format!(
            "CREATE INDEX ON {table} USING hnsw (embedding {opclass}) WITH (m = {m}, ef_construction = {ef_construction})"
        )),
        IndexSpec::IvfFlat { lists } => out.push(format!(
            "CREATE INDEX ON {table} USING ivfflat (embedding {opclass}) WITH (lists = {lists})"
        )),
        IndexSpec::Exact => {}
    }
    for (i, field) in spec.fields.iter().enumerate() {
        let method = if field.kind.is_list() { "gin" } else { "btree" };
        out.push(format!("CREATE INDEX ON {table} USING {method} (f{i})"));
    }
    if spec.text_search.is_some() {
        out.push(format!("CREATE INDEX ON {table} USING gin (search_text)"));
    }
    out
}
