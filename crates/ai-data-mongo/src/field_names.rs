//! Field names in user-supplied data: one policy for every map that
//! reaches MongoDB.
//!
//! # Policy: reject, never escape
//!
//! Every user-supplied map the repositories write (the platform's log
//! details, configuration content, task results) is checked,
//! recursively through nested documents and arrays, before any I/O. A
//! field name is refused with [`ErrorKind::InvalidInput`] when it
//!
//! * is empty,
//! * starts with `$` (MongoDB operator syntax: `$where`, `$gt`, `$set`),
//! * contains `.` (MongoDB path syntax: `a.b` addresses `b` inside `a`), or
//! * contains a NUL character (BSON field names are NUL-terminated).
//!
//! The whole call is refused and nothing is written. The error message
//! names the offending field by its path (`details.request["$where"]`,
//! `result.items[2]["a.b"]`) and never shows a value.
//!
//! Rejecting is preferred to escaping: an escaped name (`\uFF04where`,
//! `a%2Eb`) would be stored under a different name than the caller wrote,
//! other readers of the collections (the Python services of the seed) would
//! see the escaped form, and queries on it would silently miss. A clear
//! error at the edge is easier to act on.
//!
//! # Values are always literals
//!
//! Values are never checked, because they are never interpreted: a string
//! such as `"$gt"`, `"a.b"` or `"{\"$ne\": null}"` is stored and matched as
//! that exact string. That holds because the repositories (a repository on
//! this crate should keep these rules too)
//!
//! * build every filter as `{ <fixed field>: <string or number> }` (an
//!   equality on a scalar; the query APIs take no documents, so a value can
//!   never be an operator document such as `{"$ne": null}`),
//! * only write user maps as the value of a fixed field: `$set` always
//!   names its fields (`status`, `progress`, `message`, `result`) and never
//!   spreads a user map into an update operator, and
//! * never place user values in aggregation expressions (where a string
//!   starting with `$` would be read as a field path); `$match` compares
//!   literally. Code that adds such an expression must wrap the value in
//!   `$literal`.

use std::fmt::Write as _;

use mongodb::bson::{Bson, Document};

use ai_data_core::{Error, ErrorKind, Result, Store};

/// Longest field name quoted in full in an error message (in characters).
const MAX_QUOTED_NAME: usize = 64;
/// Deepest path shown in full in an error message (the innermost levels are kept).
const MAX_PATH_SEGMENTS: usize = 32;

/// Check every field name in `document`, recursively through nested
/// documents and arrays, against the policy for user-supplied
/// maps: names must be non-empty and must not start with `$` (operator
/// syntax), contain `.` (path syntax) or contain a NUL character.
///
/// The first refused name, in document order, is reported as
/// [`ErrorKind::InvalidInput`] with its path (`details.req["$where"]`,
/// `result.items[2]["a.b"]`); values never appear in the message. `root`
/// names the document in that path (`"details"`).
///
/// The repositories call this before any I/O on log details, configuration
/// content and task results, and refuse the whole call; call it yourself to
/// refuse bad input at the edge of a service with the same rule.
///
/// Such names are refused rather than escaped: an escaped name would be
/// stored under a name the caller did not write, other readers of the
/// collections would see the escaped form, and queries on the original name
/// would silently miss. Values are not checked: they are always stored and
/// matched literally (`"$gt"` is a string, never an operator).
///
/// ```
/// use ai_data_core::ErrorKind;
/// use ai_data_mongo::bson::doc;
/// use ai_data_mongo::validate_field_names;
///
/// assert!(validate_field_names("details", &doc! { "user": "$gt", "ip": "a.b" }).is_ok());
///
/// let err = validate_field_names("details", &doc! { "req": { "$where": "1 == 1" } })
///     .expect_err("operator key");
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(err.message().contains(r#"details.req["$where"]"#));
/// assert!(!err.message().contains("1 == 1"), "values are never shown");
///
/// let err = validate_field_names("result", &doc! { "items": [{ "a.b": 1 }] })
///     .expect_err("dotted key");
/// assert!(err.message().contains(r#"result.items[0]["a.b"]"#));
/// ```
pub fn validate_field_names(root: &str, document: &Document) -> Result<()> {
    let mut stack: Vec<Frame<'_>> = vec![Frame {
        label: Segment::Root,
        children: Children::Document(document.iter()),
    }];
    while let Some(frame) = stack.last_mut() {
        let (segment, value) = match &mut frame.children {
            Children::Document(iter) => match iter.next() {
                Some((key, value)) => {
                    if let Some(reason) = refusal(key) {
                        return Err(refused(root, &stack, Segment::Key(key), reason));
                    }
                    (Segment::Key(key), value)
                }
                None => {
                    stack.pop();
                    continue;
                }
            },
            Children::Array(iter) => match iter.next() {
                Some((index, value)) => (Segment::Index(index), value),
                None => {
                    stack.pop();
                    continue;
                }
            },
        };
        match value {
            Bson::Document(inner) => stack.push(Frame {
                label: segment,
                children: Children::Document(inner.iter()),
            }),
            Bson::Array(items) => stack.push(Frame {
                label: segment,
                children: Children::Array(items.iter().enumerate()),
            }),
            _ => {}
        }
    }
    Ok(())
}

/// One level of the walk (iterative, so deep nesting cannot overflow the stack).
struct Frame<'a> {
    /// How this level is reached from its parent.
    label: Segment<'a>,
    children: Children<'a>,
}

enum Children<'a> {
    Document(mongodb::bson::document::Iter<'a>),
    Array(std::iter::Enumerate<std::slice::Iter<'a, Bson>>),
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// Why `key` is refused, if it is.
fn refusal(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("the field name is empty")
    } else if key.contains('\0') {
        Some("the field name contains a NUL character")
    } else if key.starts_with('$') {
        Some("the field name starts with '$' (MongoDB operator syntax)")
    } else if key.contains('.') {
        Some("the field name contains '.' (MongoDB path syntax)")
    } else {
        None
    }
}

fn refused(root: &str, stack: &[Frame<'_>], last: Segment<'_>, reason: &str) -> Error {
    let segments: Vec<Segment<'_>> = stack.iter().map(|f| f.label).chain([last]).collect();
    let mut path = root.to_owned();
    let skip = segments.len().saturating_sub(MAX_PATH_SEGMENTS);
    if skip > 0 {
        path.push('…');
    }
    for segment in &segments[skip..] {
        push_segment(&mut path, *segment);
    }
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "invalid field name at {path}: {reason}; field names in user data must be \
             non-empty and must not start with '$' or contain '.' or NUL"
        ),
    )
    .with_store(Store::Mongo)
}

/// Append `.name` for a plain name, `["name"]` (escaped, shortened) for
/// any other, `[index]` for an array element.
fn push_segment(path: &mut String, segment: Segment<'_>) {
    match segment {
        Segment::Root => {}
        Segment::Index(i) => {
            let _ = write!(path, "[{i}]");
        }
        Segment::Key(key) if is_plain(key) => {
            path.push('.');
            path.push_str(key);
        }
        Segment::Key(key) => {
            path.push_str("[\"");
            for c in key.chars().take(MAX_QUOTED_NAME) {
                let _ = write!(path, "{}", c.escape_debug());
            }
            if key.chars().count() > MAX_QUOTED_NAME {
                path.push('…');
            }
            path.push_str("\"]");
        }
    }
}

fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key.chars().count() <= MAX_QUOTED_NAME
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    fn message(document: &Document) -> String {
        let err = validate_field_names("data", document).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.store(), Some(Store::Mongo));
        err.message().to_owned()
    }

    #[test]
    fn plain_names_and_operator_looking_values_pass() {
        let ok = doc! {
            "user_id": "$where",
            "path": "a.b.c",
            "filter": "{\"$ne\": null}",
            "nested": { "deeper": { "list": ["$gt", { "x-y": 1, "名前": "a.b" }, [[]]] } },
            "has$inside": 1,
            "ends_with_dollar$": true,
        };
        assert!(validate_field_names("data", &ok).is_ok());
        assert!(validate_field_names("data", &Document::new()).is_ok());
    }

    #[test]
    fn each_rule_is_enforced_at_every_depth_with_the_path() {
        let m = message(&doc! { "$where": "sleep(1000)" });
        assert!(
            m.starts_with(r#"invalid field name at data["$where"]: "#),
            "{m}"
        );
        assert!(m.contains("starts with '$'"), "{m}");
        assert!(!m.contains("sleep"), "no values in messages: {m}");

        let m = message(&doc! { "ok": 1, "a": { "b": { "c.d": 1 } } });
        assert!(m.contains(r#"data.a.b["c.d"]"#), "{m}");
        assert!(m.contains("contains '.'"), "{m}");

        let m = message(&doc! { "items": [1, { "fine": [{ "$gt": 5 }] }] });
        assert!(m.contains(r#"data.items[1].fine[0]["$gt"]"#), "{m}");

        let m = message(&doc! { "x": { "": 1 } });
        assert!(m.contains(r#"data.x[""]"#) && m.contains("empty"), "{m}");

        let mut nul = Document::new();
        nul.insert("a\0b", 1);
        let m = message(&doc! { "x": nul });
        assert!(m.contains(r#"data.x["a\0b"]"#) && m.contains("NUL"), "{m}");
    }

    #[test]
    fn the_first_offending_name_in_document_order_is_reported() {
        let m = message(&doc! { "a": [{ "b.c": 1 }], "$d": 2 });
        assert!(m.contains(r#"data.a[0]["b.c"]"#), "{m}");
    }

    #[test]
    fn long_names_are_shortened_in_the_message() {
        let long = format!("${}", "x".repeat(500));
        let mut d = Document::new();
        d.insert(long, 1);
        let m = message(&d);
        assert!(m.contains('…') && m.len() < 400, "{m}");
    }

    #[test]
    fn very_deep_nesting_does_not_overflow() {
        let mut d = doc! { "$bottom": 1 };
        for _ in 0..50_000 {
            d = doc! { "n": d };
        }
        let m = message(&d);
        assert!(m.ends_with("NUL") && m.contains(r#"["$bottom"]"#), "{m}");
        assert!(m.starts_with("invalid field name at data….n.n"), "{m}");
        assert!(m.len() < 400, "deep paths are shortened: {m}");
        // Dropping a 50 000-deep document recurses; forget it instead.
        std::mem::forget(d);
    }
}
