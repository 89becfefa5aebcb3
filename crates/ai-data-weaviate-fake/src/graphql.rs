//! `POST /v1/graphql`: the `Get` (with `limit`, `nearVector`, `bm25`,
//! `hybrid` (see [`crate::keyword`]), `where`, properties and
//! `_additional { id distance vector certainty score }`) and
//! `Aggregate` (`meta { count }`) subset, answered like Weaviate: always
//! HTTP 200, failures as `errors` (validation errors without `data`,
//! resolver errors with the class set to `null`).

use graphql_parser::query::{
    parse_query, Definition, Field, OperationDefinition, Selection, Value,
};
use graphql_parser::Pos;
use serde_json::{json, Map, Value as Json};

use crate::cond::{self, Cond, Kind, Op};
use crate::keyword::{self, KeywordPlan};
use crate::state::{Class, State};
use crate::Settings;

type Gql<'a> = Value<'a, String>;

/// A GraphQL error: message and where.
struct GqlError {
    message: String,
    pos: Pos,
    path: Option<Vec<String>>,
}

impl GqlError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        GqlError {
            message: message.into(),
            pos,
            path: None,
        }
    }

    fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert(
            "locations".into(),
            json!([{"column": self.pos.column, "line": self.pos.line}]),
        );
        map.insert("message".into(), json!(self.message));
        if let Some(path) = &self.path {
            map.insert("path".into(), json!(path));
        }
        Json::Object(map)
    }
}

/// The reply to `query`.
pub(crate) fn execute(state: &State, settings: &Settings, query: &str) -> Json {
    let doc = match parse_query::<String>(query) {
        Ok(doc) => doc,
        Err(e) => {
            return json!({"errors": [{"message": format!("Syntax Error GraphQL request: {e}")}]})
        }
    };
    let items = match doc.definitions.as_slice() {
        [Definition::Operation(OperationDefinition::SelectionSet(set))] => &set.items,
        [Definition::Operation(OperationDefinition::Query(q))] => &q.selection_set.items,
        _ => return json!({"errors": [{"message": "the fake answers one query operation only"}]}),
    };
    let mut data = Map::new();
    let mut errors = Vec::new();
    for selection in items {
        let Selection::Field(top) = selection else {
            return validation(vec![GqlError::at(
                Pos { line: 1, column: 1 },
                "fragments are not implemented by the fake",
            )]);
        };
        let kind = top.name.as_str();
        if kind != "Get" && kind != "Aggregate" {
            return validation(vec![GqlError::at(
                top.position,
                format!("Cannot query field \"{kind}\" on type \"WeaviateObj\"."),
            )]);
        }
        let mut classes = Map::new();
        for selection in &top.selection_set.items {
            let Selection::Field(field) = selection else {
                return validation(vec![GqlError::at(
                    top.position,
                    "fragments are not implemented by the fake",
                )]);
            };
            let plan = match plan(state, kind, field) {
                Ok(plan) => plan,
                Err(e) => return validation(vec![e]),
            };
            match run(state, settings, kind, &plan) {
                Ok(value) => {
                    classes.insert(field.name.clone(), value);
                }
                Err(message) => {
                    classes.insert(field.name.clone(), Json::Null);
                    errors.push(GqlError {
                        message,
                        pos: field.position,
                        path: Some(vec![kind.to_owned(), field.name.clone()]),
                    });
                }
            }
        }
        data.insert(kind.to_owned(), Json::Object(classes));
    }
    let mut reply = Map::new();
    reply.insert("data".into(), Json::Object(data));
    if !errors.is_empty() {
        reply.insert(
            "errors".into(),
            Json::Array(errors.iter().map(GqlError::to_json).collect()),
        );
    }
    Json::Object(reply)
}

fn validation(errors: Vec<GqlError>) -> Json {
    json!({"errors": errors.iter().map(GqlError::to_json).collect::<Vec<_>>()})
}

/// A validated class query.
struct Plan<'a> {
    class: &'a Class,
    limit: Option<i64>,
    vector: Option<Vec<f32>>,
    distance: Option<f64>,
    certainty: Option<f64>,
    filter: Option<Cond>,
    properties: Vec<String>,
    additional: Vec<String>,
    count: bool,
    keyword: Option<KeywordPlan>,
}

fn plan<'a>(state: &'a State, kind: &str, field: &Field<'_, String>) -> Result<Plan<'a>, GqlError> {
    let obj_type = if kind == "Get" {
        "GetObjectsObj"
    } else {
        "AggregateObjectsObj"
    };
    let class = state.classes.get(&field.name).ok_or_else(|| {
        GqlError::at(
            field.position,
            format!(
                "Cannot query field \"{}\" on type \"{obj_type}\".",
                field.name
            ),
        )
    })?;
    let mut plan = Plan {
        class,
        limit: None,
        vector: None,
        distance: None,
        certainty: None,
        filter: None,
        properties: Vec::new(),
        additional: Vec::new(),
        count: false,
        keyword: None,
    };
    for (name, value) in &field.arguments {
        let unknown = || {
            GqlError::at(
                field.position,
                format!(
                    "Unknown argument \"{name}\" on field \"{}\" of type \"{obj_type}\".",
                    field.name
                ),
            )
        };
        match (kind, name.as_str()) {
            ("Get", "limit") => {
                plan.limit = Some(int(value).ok_or_else(|| {
                    GqlError::at(field.position, format!("Argument \"limit\" has invalid value {value}.\nExpected type \"Int\", found {value}."))
                })?);
            }
            ("Get", "nearVector") => near_vector(&mut plan, value, field.position)?,
            ("Get", kind @ ("bm25" | "hybrid")) => {
                plan.keyword = Some(keyword_arg(kind, value, field.position)?);
            }
            (_, "where") => {
                plan.filter = Some(where_cond(value, field.position)?);
            }
            _ => return Err(unknown()),
        }
    }
    for selection in &field.selection_set.items {
        let Selection::Field(sub) = selection else {
            return Err(GqlError::at(
                field.position,
                "fragments are not implemented by the fake",
            ));
        };
        match (kind, sub.name.as_str()) {
            ("Get", "_additional") => {
                for extra in &sub.selection_set.items {
                    let Selection::Field(extra) = extra else {
                        continue;
                    };
                    let known = [
                        "id",
                        "distance",
                        "vector",
                        "certainty",
                        "creationTimeUnix",
                        "lastUpdateTimeUnix",
                        "score",
                        "explainScore",
                    ];
                    if !known.contains(&extra.name.as_str()) {
                        return Err(GqlError::at(
                            extra.position,
                            format!(
                                "Cannot query field \"{}\" on type \"{}AdditionalProperties\".",
                                extra.name, class.name
                            ),
                        ));
                    }
                    plan.additional.push(extra.name.clone());
                }
            }
            ("Get", prop) => {
                if class.prop(prop).is_none() {
                    return Err(GqlError::at(
                        sub.position,
                        format!("Cannot query field \"{prop}\" on type \"{}\".", class.name),
                    ));
                }
                plan.properties.push(prop.to_owned());
            }
            ("Aggregate", "meta") => {
                let counts = sub
                    .selection_set
                    .items
                    .iter()
                    .all(|s| matches!(s, Selection::Field(f) if f.name == "count"));
                if !counts {
                    return Err(GqlError::at(
                        sub.position,
                        "the fake aggregates meta { count } only",
                    ));
                }
                plan.count = true;
            }
            (_, other) => {
                return Err(GqlError::at(
                    sub.position,
                    format!("the fake does not aggregate \"{other}\""),
                ))
            }
        }
    }
    Ok(plan)
}

fn int(value: &Gql<'_>) -> Option<i64> {
    match value {
        Value::Int(n) => n.as_i64(),
        _ => None,
    }
}

fn float(value: &Gql<'_>) -> Option<f64> {
    match value {
        Value::Float(x) => Some(*x),
        Value::Int(n) => n.as_i64().map(|i| i as f64),
        _ => None,
    }
}

fn near_vector(plan: &mut Plan<'_>, value: &Gql<'_>, pos: Pos) -> Result<(), GqlError> {
    let Value::Object(map) = value else {
        return Err(GqlError::at(
            pos,
            "Argument \"nearVector\" has invalid value: expected an object",
        ));
    };
    for (key, item) in map {
        match key.as_str() {
            "vector" => {
                let Value::List(items) = item else {
                    return Err(GqlError::at(
                        pos,
                        "nearVector.vector must be a list of floats",
                    ));
                };
                let vector = items
                    .iter()
                    .map(|x| float(x).map(|x| x as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or_else(|| {
                        GqlError::at(pos, "nearVector.vector must be a list of floats")
                    })?;
                plan.vector = Some(vector);
            }
            "distance" => {
                plan.distance = Some(
                    float(item)
                        .ok_or_else(|| GqlError::at(pos, "nearVector.distance must be a Float"))?,
                );
            }
            "certainty" => {
                plan.certainty =
                    Some(float(item).ok_or_else(|| {
                        GqlError::at(pos, "nearVector.certainty must be a Float")
                    })?);
            }
            other => {
                return Err(GqlError::at(
                    pos,
                    format!("In field \"{other}\": Unknown field."),
                ))
            }
        }
    }
    if plan.vector.is_none() {
        return Err(GqlError::at(
            pos,
            "In field \"vector\": Expected \"[Float]!\", found null.",
        ));
    }
    Ok(())
}

/// A `bm25` or `hybrid` argument.
fn keyword_arg(kind: &str, value: &Gql<'_>, pos: Pos) -> Result<KeywordPlan, GqlError> {
    let Value::Object(map) = value else {
        return Err(GqlError::at(
            pos,
            format!("Argument \"{kind}\" has invalid value: expected an object"),
        ));
    };
    let mut plan = KeywordPlan {
        query: String::new(),
        properties: Vec::new(),
        hybrid: (kind == "hybrid").then(|| (None, 0.75, String::new())),
    };
    for (key, item) in map {
        match (key.as_str(), item, plan.hybrid.as_mut()) {
            ("query", Value::String(q), _) => plan.query = q.clone(),
            ("properties", Value::List(items), _) => {
                for p in items {
                    let Value::String(p) = p else {
                        return Err(GqlError::at(
                            pos,
                            format!("{kind}.properties must be a list of strings"),
                        ));
                    };
                    plan.properties.push(p.clone());
                }
            }
            ("alpha", v, Some(h)) => {
                h.1 = float(v).ok_or_else(|| GqlError::at(pos, "hybrid.alpha must be a Float"))?;
            }
            ("vector", Value::List(items), Some(h)) => {
                let vector = items
                    .iter()
                    .map(|x| float(x).map(|x| x as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or_else(|| GqlError::at(pos, "hybrid.vector must be a list of floats"))?;
                h.0 = Some(vector);
            }
            ("fusionType", Value::Enum(f), Some(h)) => h.2 = f.clone(),
            (other, _, _) => {
                return Err(GqlError::at(
                    pos,
                    format!("In field \"{other}\": Unknown field."),
                ))
            }
        }
    }
    Ok(plan)
}

/// A GraphQL `where` argument as a [`Cond`].
fn where_cond(value: &Gql<'_>, pos: Pos) -> Result<Cond, GqlError> {
    let Value::Object(map) = value else {
        return Err(GqlError::at(
            pos,
            format!("Argument \"where\" has invalid value {value}."),
        ));
    };
    let operator = match map.get("operator") {
        Some(Value::Enum(e)) => e.as_str(),
        Some(other) => {
            return Err(GqlError::at(
                pos,
                format!("Argument \"where\" has invalid value {value}.\nIn field \"operator\": Expected type \"WhereOperatorEnum\", found {other}."),
            ))
        }
        None => return Err(GqlError::at(pos, "where filter without an operator")),
    };
    if operator == "And" || operator == "Or" {
        let Some(Value::List(items)) = map.get("operands") else {
            return Err(GqlError::at(
                pos,
                format!("operator {operator} needs operands"),
            ));
        };
        let operands = items
            .iter()
            .map(|v| where_cond(v, pos))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "And" {
            Cond::And(operands)
        } else {
            Cond::Or(operands)
        });
    }
    let op = Op::parse(operator).ok_or_else(|| {
        GqlError::at(
            pos,
            format!("Argument \"where\" has invalid value {value}.\nIn field \"operator\": Expected type \"WhereOperatorEnum\", found {operator}."),
        )
    })?;
    let path = match map.get("path") {
        Some(Value::List(items)) => match items.as_slice() {
            [Value::String(p)] => p.clone(),
            _ => {
                return Err(GqlError::at(
                    pos,
                    "the fake filters on one-element paths only",
                ))
            }
        },
        _ => return Err(GqlError::at(pos, "where filter without a path")),
    };
    let keys = [
        ("valueText", Kind::Text),
        ("valueString", Kind::Text),
        ("valueInt", Kind::Int),
        ("valueNumber", Kind::Number),
        ("valueBoolean", Kind::Boolean),
        ("valueDate", Kind::Date),
    ];
    let mut found = keys
        .iter()
        .filter_map(|(key, kind)| map.get(*key).map(|v| (*key, v, *kind)));
    let (key, raw, kind) = found
        .next()
        .ok_or_else(|| GqlError::at(pos, "invalid where filter: no value given"))?;
    let (items, array) = match raw {
        Value::List(items) => (items.iter().collect::<Vec<_>>(), true),
        single => (vec![single], false),
    };
    let values = items
        .into_iter()
        .map(|v| literal(v, kind))
        .collect::<Option<Vec<Json>>>()
        .ok_or_else(|| {
            GqlError::at(pos, format!("Argument \"where\" has invalid value {value}.\nIn field \"{key}\": Expected type \"{kind:?}\", found {raw}."))
        })?;
    Ok(Cond::Leaf {
        path,
        op,
        kind,
        values,
        array,
    })
}

fn literal(value: &Gql<'_>, kind: Kind) -> Option<Json> {
    Some(match (kind, value) {
        (Kind::Text | Kind::Date, Value::String(s)) => json!(s),
        (Kind::Int, Value::Int(n)) => json!(n.as_i64()?),
        (Kind::Number, v) => json!(float(v)?),
        (Kind::Boolean, Value::Boolean(b)) => json!(b),
        _ => return None,
    })
}

fn run(state: &State, settings: &Settings, kind: &str, plan: &Plan<'_>) -> Result<Json, String> {
    if let Some(filter) = &plan.filter {
        cond::check(filter, plan.class, false).map_err(|e| e.message)?;
    }
    if kind == "Aggregate" {
        let count = state
            .filtered(plan.class, plan.filter.as_ref(), settings.version)
            .count();
        return Ok(json!([{"meta": {"count": count}}]));
    }
    let limit = plan.limit.unwrap_or(settings.query_defaults_limit as i64);
    if limit < 0 || limit as usize > settings.query_maximum_results {
        return Err(format!(
            "query maximum results exceeded: limit {limit} is above QUERY_MAXIMUM_RESULTS {}",
            settings.query_maximum_results
        ));
    }
    if let Some(keyword_plan) = &plan.keyword {
        if plan.vector.is_some() {
            return Err("nearVector cannot be combined with bm25 or hybrid".into());
        }
        let hits = keyword::run(
            state,
            plan.class,
            keyword_plan,
            plan.filter.as_ref(),
            limit as usize,
            settings.version,
        )?;
        return Ok(Json::Array(
            hits.into_iter()
                .map(|(obj, score)| {
                    let mut out = Map::new();
                    for prop in &plan.properties {
                        out.insert(
                            prop.clone(),
                            obj.props.get(prop).cloned().unwrap_or(Json::Null),
                        );
                    }
                    let mut extra = Map::new();
                    for name in &plan.additional {
                        let value = match name.as_str() {
                            "id" => json!(obj.id.to_string()),
                            "score" => keyword::score_json(score),
                            "vector" => obj.vector.as_ref().map_or(Json::Null, |v| json!(v)),
                            _ => Json::Null,
                        };
                        extra.insert(name.clone(), value);
                    }
                    out.insert("_additional".into(), Json::Object(extra));
                    Json::Object(out)
                })
                .collect(),
        ));
    }
    let cosine = plan.class.distance == crate::state::Distance::Cosine;
    if plan.certainty.is_some() && plan.distance.is_some() {
        return Err("nearVector cannot provide both distance and certainty".into());
    }
    if plan.certainty.is_some() && !cosine {
        return Err("can't compute and return certainty when vector index is not configured with cosine distance".into());
    }
    let max = match (plan.distance, plan.certainty) {
        (Some(d), _) => Some(d),
        (_, Some(c)) => Some(2.0 * (1.0 - c)),
        _ => None,
    };
    let hits = state.search(
        plan.class,
        plan.vector.as_deref(),
        max,
        plan.filter.as_ref(),
        limit as usize,
        settings.version,
    )?;
    Ok(Json::Array(
        hits.into_iter()
            .map(|hit| {
                let mut out = Map::new();
                for prop in &plan.properties {
                    out.insert(
                        prop.clone(),
                        hit.obj.props.get(prop).cloned().unwrap_or(Json::Null),
                    );
                }
                if !plan.additional.is_empty() {
                    let mut extra = Map::new();
                    for name in &plan.additional {
                        let value = match name.as_str() {
                            "id" => json!(hit.obj.id.to_string()),
                            "distance" => hit.distance.map_or(Json::Null, |d| json!(d)),
                            "certainty" if cosine => {
                                hit.distance.map_or(Json::Null, |d| json!(1.0 - d / 2.0))
                            }
                            "vector" => hit.obj.vector.as_ref().map_or(Json::Null, |v| json!(v)),
                            _ => Json::Null,
                        };
                        extra.insert(name.clone(), value);
                    }
                    out.insert("_additional".into(), Json::Object(extra));
                }
                Json::Object(out)
            })
            .collect(),
    ))
}
