//! Which table a cached spec describes, so that a store notices when
//! another process dropped and recreated a collection (with other fields,
//! another dimension or metric) after this store read its spec.
//!
//! A collection's spec never changes while its table exists (an
//! incompatible `ensure_collection` is a `Conflict`), so the table's oid
//! identifies the spec: the store caches both. Every search, count and
//! delete carries a guard, `_ai_data_same_table('"schema"."name"', <cached
//! oid>)`, a pseudo-constant condition PostgreSQL evaluates once per
//! statement (a catalog lookup, no extra round trip) and which raises
//! SQLSTATE [`SQLSTATE`] when the table is another one or gone. For a
//! search (the metric's operator, the filter's columns) and a filtered
//! count or delete (the columns) the guard is what keeps the cached spec
//! from being applied to another table; a delete by ids and an unfiltered
//! count carry it too, so that a replaced collection is noticed the same
//! way there. The store then re-reads the registry and runs the call once
//! more with the new spec, on the primary (a lagging replica may still
//! hold the old table).
//!
//! Statements that mean the same on any table of the collection (`get`,
//! the writes) carry no guard; an error there (an undefined table, a value
//! the new columns refuse) or a request the cached spec refused (a record
//! or query of the new dimension) also re-reads the registry once before
//! it is reported.

use ai_data_core::Error;

/// The SQLSTATE the guard raises.
pub(super) const SQLSTATE: &str = "AIV01";

/// The guard function of `schema` (idempotent).
pub(super) fn init(schema: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION \"{schema}\"._ai_data_same_table(tbl text, expected bigint) \
         RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ \
         BEGIN \
           IF to_regclass(tbl)::oid::bigint IS DISTINCT FROM expected THEN \
             RAISE EXCEPTION USING ERRCODE = '{SQLSTATE}', \
               MESSAGE = format('collection table %s was dropped or replaced since its spec was read', tbl); \
           END IF; \
           RETURN true; \
         END $$"
    )
}

/// The guard condition for `collection`, with the cached oid as `$param`.
pub(super) fn guard(schema: &str, collection: &str, param: usize) -> String {
    // Both names are validated identifiers: no quote can occur in them.
    format!("\"{schema}\"._ai_data_same_table('\"{schema}\".\"{collection}\"', ${param})")
}

/// The SQL expression giving the oid of `name`'s table in `schema`
/// (`$schema` and the registry row's `name` column), as `bigint`.
pub(super) fn oid_of(schema_param: usize) -> String {
    format!("to_regclass(format('%I.%I', ${schema_param}::text, name))::oid::bigint")
}

/// Whether `err` says the table is not the one the spec was read for: the
/// guard's SQLSTATE, or an undefined table (42P01).
pub(super) fn is_replaced(err: &Error) -> bool {
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<sqlx::Error>())
        .and_then(|e| e.as_database_error())
        .and_then(|db| db.code())
        .is_some_and(|code| code == SQLSTATE || code == "42P01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_text_quotes_the_names() {
        assert_eq!(
            guard("s", "Docs", 3),
            "\"s\"._ai_data_same_table('\"s\".\"Docs\"', $3)"
        );
        assert!(init("s").contains("ERRCODE = 'AIV01'"));
        assert!(!is_replaced(&Error::invalid_input("x")));
    }
}
