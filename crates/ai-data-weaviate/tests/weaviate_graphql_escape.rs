//! Fuzzing the one function that puts strings into GraphQL
//! (`weaviate::graphql::write_string`) for injection: 10,000 proptest cases
//! each, every query parsed by a real GraphQL parser (`graphql-parser`),
//! which must find exactly the structure that was built and every string
//! exactly as given. No input may change the query's structure.

use ai_data_weaviate::filter::{Leaf, Operator, Where, WhereValue};
use ai_data_weaviate::graphql::{write_string, Additional, GetQuery};
use graphql_parser::query::{
    parse_query, Definition, Document, Field, OperationDefinition, Selection, Value,
};
use proptest::prelude::*;

const CASES: u32 = 10_000;

/// Strings heavy in what GraphQL (and JSON around it) treats specially,
/// mixed with arbitrary Unicode.
fn nasty_string() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just("\"\"\"".to_owned()),
        Just("\\u0022".to_owned()),
        Just("}".to_owned()),
        Just("{".to_owned()),
        Just(")".to_owned()),
        Just("]".to_owned()),
        Just("#".to_owned()),
        Just("$var".to_owned()),
        Just("@skip(if: true)".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{e000}".to_owned()),
        Just("🦀".to_owned()),
        Just("\"}) { __schema { types { name } } } #".to_owned()),
        any::<char>().prop_map(String::from),
        "[\\x00-\\x1f]".prop_map(String::from),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(special, 0..8).prop_map(|parts| parts.concat()),
    ]
}

fn parse(query: &str) -> Document<'_, String> {
    match parse_query::<String>(query) {
        Ok(doc) => doc,
        Err(e) => panic!("query does not parse: {e}\n{query}"),
    }
}

/// The only field of a selection set.
fn only_field<'a, 'b>(
    selections: &'b [Selection<'a, String>],
    what: &str,
) -> &'b Field<'a, String> {
    assert_eq!(selections.len(), 1, "{what}: one selection");
    match &selections[0] {
        Selection::Field(field) => field,
        other => panic!("{what}: a field, got {other:?}"),
    }
}

/// The `Doc(...)` field of `{ Get { Doc(...) { .. } } }`.
fn class_field<'a, 'b>(doc: &'b Document<'a, String>) -> &'b Field<'a, String> {
    assert_eq!(doc.definitions.len(), 1, "one definition");
    let set = match &doc.definitions[0] {
        Definition::Operation(OperationDefinition::SelectionSet(set)) => set,
        other => panic!("an anonymous query, got {other:?}"),
    };
    let get = only_field(&set.items, "query");
    assert_eq!(get.name, "Get");
    assert!(get.arguments.is_empty() && get.directives.is_empty());
    let class = only_field(&get.selection_set.items, "Get");
    assert_eq!(class.name, "Doc");
    assert!(class.directives.is_empty());
    class
}

fn object<'a, 'b>(
    value: &'b Value<'a, String>,
) -> &'b std::collections::BTreeMap<String, Value<'a, String>> {
    match value {
        Value::Object(map) => map,
        other => panic!("an object, got {other:?}"),
    }
}

/// Rebuild a `Where` from its parsed GraphQL value.
fn read_where(value: &Value<'_, String>) -> Where {
    let map = object(value);
    let operator = match &map["operator"] {
        Value::Enum(e) => e.as_str(),
        other => panic!("operator is an enum literal, got {other:?}"),
    };
    if operator == "And" || operator == "Or" {
        assert_eq!(
            map.len(),
            2,
            "an And/Or has operator and operands only: {map:?}"
        );
        let operands = match &map["operands"] {
            Value::List(items) => items.iter().map(read_where).collect(),
            other => panic!("operands is a list, got {other:?}"),
        };
        return if operator == "And" {
            Where::And(operands)
        } else {
            Where::Or(operands)
        };
    }
    assert_eq!(
        map.len(),
        3,
        "a leaf has path, operator and one value: {map:?}"
    );
    let path = match &map["path"] {
        Value::List(items) if items.len() == 1 => match &items[0] {
            Value::String(s) => s.clone(),
            other => panic!("path element is a string, got {other:?}"),
        },
        other => panic!("path is a one-element list, got {other:?}"),
    };
    let operator = match operator {
        "Equal" => Operator::Equal,
        "NotEqual" => Operator::NotEqual,
        "ContainsAny" => Operator::ContainsAny,
        other => panic!("unexpected operator {other}"),
    };
    let value = match (map.get("valueText"), map.get("valueDate")) {
        (Some(Value::String(s)), None) => WhereValue::Text(s.clone()),
        (Some(Value::List(items)), None) => WhereValue::TextArray(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => panic!("text array element is a string, got {other:?}"),
                })
                .collect(),
        ),
        (None, Some(Value::String(s))) => WhereValue::Date(s.clone()),
        other => panic!("unexpected value {other:?}"),
    };
    Where::Leaf(Leaf {
        path,
        operator,
        value,
    })
}

fn leaf() -> impl Strategy<Value = Where> {
    (
        nasty_string(),
        prop_oneof![Just(Operator::Equal), Just(Operator::NotEqual)],
        nasty_string(),
        prop::collection::vec(nasty_string(), 0..3),
        0..3_u8,
    )
        .prop_map(|(path, operator, text, texts, kind)| {
            let (operator, value) = match kind {
                0 => (operator, WhereValue::Text(text)),
                1 => (operator, WhereValue::Date(text)),
                _ => (Operator::ContainsAny, WhereValue::TextArray(texts)),
            };
            Where::Leaf(Leaf {
                path,
                operator,
                value,
            })
        })
}

fn tree() -> impl Strategy<Value = Where> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Where::And),
            prop::collection::vec(inner, 1..4).prop_map(Where::Or),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// One literal in a fixed query: the parser sees the same query shape
    /// and reads the literal back as exactly the input.
    #[test]
    fn one_literal_keeps_the_query_shape(text in nasty_string()) {
        let mut query = String::from("{ Get { Doc(where: {path: [\"title\"], operator: Equal, valueText: ");
        write_string(&mut query, &text);
        query.push_str("}) { title } } }");
        let doc = parse(&query);
        let class = class_field(&doc);
        prop_assert_eq!(class.arguments.len(), 1);
        prop_assert_eq!(class.arguments[0].0.as_str(), "where");
        let map = object(&class.arguments[0].1);
        prop_assert_eq!(map.len(), 3);
        prop_assert_eq!(&map["operator"], &Value::Enum("Equal".to_owned()));
        prop_assert_eq!(&map["valueText"], &Value::String(text.clone()));
        let title = only_field(&class.selection_set.items, "Doc");
        prop_assert_eq!(title.name.as_str(), "title");
        prop_assert!(title.selection_set.items.is_empty());
    }

    /// Whole `where` trees of arbitrary text, through the query builder the
    /// store uses: the parsed tree equals the built one.
    #[test]
    fn filter_trees_parse_back_to_themselves(filter in tree(), limit in 1_usize..10_000) {
        let vector = [0.25_f32, -1.5, 3.0e-7];
        let query = GetQuery {
            class: "Doc",
            limit,
            near_vector: Some((&vector, Some(0.5))),
            filter: Some(&filter),
            properties: &["_payload"],
            additional: Additional { id: true, distance: true, vector: false },
        }
        .to_query()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let doc = parse(&query);
        let class = class_field(&doc);
        let names: Vec<&str> = class.arguments.iter().map(|(n, _)| n.as_str()).collect();
        prop_assert_eq!(names, vec!["limit", "nearVector", "where"]);
        prop_assert_eq!(&class.arguments[0].1, &Value::Int((limit as i32).into()));
        let near = object(&class.arguments[1].1);
        prop_assert_eq!(near.len(), 2);
        prop_assert_eq!(read_where(&class.arguments[2].1), filter);
        let fields: Vec<&str> = class
            .selection_set
            .items
            .iter()
            .map(|s| match s {
                Selection::Field(f) => f.name.as_str(),
                _ => "?",
            })
            .collect();
        prop_assert_eq!(fields, vec!["_payload", "_additional"]);
    }
}
