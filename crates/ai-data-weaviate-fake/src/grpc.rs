//! `weaviate.v1.Weaviate/Search` over tonic, on the same messages the client
//! uses (`ai_data_weaviate::proto`), with the version-dependent
//! layouts: `vector_bytes` from 1.22.6, `value_number` a `float` in 1.22
//! (a `double` sent to the 1.22 fake is an error, as the wire types clash),
//! properties as a `Struct` (field 1) or, from 1.23 with `uses_123_api`, as
//! `Properties` (field 11, `text_value` from 1.27 with `uses_127_api`).
//! `bm25_search` and `hybrid_search` are served by [`crate::keyword`], the
//! score returned in the metadata.

use std::collections::HashMap;
use std::sync::Arc;

use ai_data_weaviate::proto::{
    self, filters::TestValue, struct_value, value, SearchReply, SearchRequest,
};
use serde_json::{json, Value as Json};
use tonic::codegen::{http, Body, BoxFuture, Context, Poll, Service, StdError};
use tonic::{Code, Request, Response, Status};

use crate::cond::{self, Cond, Kind, Op};
use crate::keyword::{self, KeywordPlan};
use crate::schema::class_name;
use crate::Shared;

/// The tonic service.
#[derive(Clone, Debug)]
pub(crate) struct WeaviateGrpc {
    shared: Arc<Shared>,
}

impl WeaviateGrpc {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        WeaviateGrpc { shared }
    }
}

impl tonic::server::NamedService for WeaviateGrpc {
    const NAME: &'static str = "weaviate.v1.Weaviate";
}

impl<B> Service<http::Request<B>> for WeaviateGrpc
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() == proto::SEARCH_PATH {
            let method = SearchMethod(self.shared.clone());
            Box::pin(async move {
                let codec = tonic_prost::ProstCodec::<SearchReply, SearchRequest>::default();
                let mut grpc = tonic::server::Grpc::new(codec);
                Ok(grpc.unary(method, request).await)
            })
        } else {
            Box::pin(async move {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(Status::GRPC_STATUS, (Code::Unimplemented as i32).into());
                headers.insert(
                    http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                Ok(response)
            })
        }
    }
}

struct SearchMethod(Arc<Shared>);

impl tonic::server::UnaryService<SearchRequest> for SearchMethod {
    type Response = SearchReply;
    type Future = BoxFuture<Response<SearchReply>, Status>;

    fn call(&mut self, request: Request<SearchRequest>) -> Self::Future {
        let shared = self.0.clone();
        Box::pin(async move { search(&shared, request).map(Response::new) })
    }
}

fn search(shared: &Shared, request: Request<SearchRequest>) -> Result<SearchReply, Status> {
    shared.count(|s| s.grpc_search += 1);
    if let Some(key) = &shared.settings.api_key {
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(given) if given == key => {}
            Some(_) => {
                return Err(Status::unauthenticated(
                    "invalid api key, please provide a valid api key",
                ))
            }
            None => {
                return Err(Status::unauthenticated(
                    "anonymous access not enabled, please provide an auth scheme such as OIDC",
                ))
            }
        }
    }
    let request = request.into_inner();
    let settings = &shared.settings;
    let version = settings.version;
    let near = request.near_vector.clone().unwrap_or_default();
    let vector: Option<Vec<f32>> =
        if version.has_grpc_vector_bytes() && !near.vector_bytes.is_empty() {
            Some(
                ai_data_vector::wire::decode_f32_le(&near.vector_bytes)
                    .map_err(|e| Status::invalid_argument(e.message().to_owned()))?,
            )
        } else if !near.vector.is_empty() {
            Some(near.vector.clone())
        } else {
            None
        };
    if request.near_vector.is_some() && vector.is_none() {
        return Err(Status::invalid_argument("near vector: the vector is empty"));
    }
    let keyword_plan = keyword_plan(&request)?;
    let filter = request
        .filters
        .as_ref()
        .map(|f| to_cond(f, version.has_grpc_123_api()))
        .transpose()?;
    let limit = match request.limit {
        0 => settings.query_defaults_limit,
        n => n as usize,
    };
    if limit > settings.query_maximum_results {
        return Err(Status::invalid_argument("query maximum results exceeded"));
    }
    let metadata = request.metadata.clone().unwrap_or_default();
    let props_request = request.properties.clone();
    let new_layout = version.has_grpc_123_api() && request.uses_123_api;
    let typed_text = version.at_least_1_27() && request.uses_127_api;
    shared.with_state(|state| {
        let class = state
            .classes
            .get(&class_name(&request.collection))
            .ok_or_else(|| {
                Status::not_found(format!(
                    "class {:?} not found in schema",
                    request.collection
                ))
            })?;
        if let Some(filter) = &filter {
            cond::check(filter, class, true).map_err(|e| Status::invalid_argument(e.message))?;
        }
        // `(object, distance, score)`.
        let hits: Vec<(&crate::state::Obj, Option<f32>, Option<f64>)> = match &keyword_plan {
            Some(plan) => keyword::run(state, class, plan, filter.as_ref(), limit, version)
                .map_err(Status::invalid_argument)?
                .into_iter()
                .map(|(obj, score)| (obj, None, Some(score)))
                .collect(),
            None => state
                .search(
                    class,
                    vector.as_deref(),
                    near.distance,
                    filter.as_ref(),
                    limit,
                    version,
                )
                .map_err(Status::unknown)?
                .into_iter()
                .map(|hit| (hit.obj, hit.distance, None))
                .collect(),
        };
        let wanted: Vec<String> = match &props_request {
            // No properties request: every scalar property (Weaviate's default).
            None => class.props.iter().map(|p| p.name.clone()).collect(),
            Some(p) => p.non_ref_properties.clone(),
        };
        let results = hits
            .into_iter()
            .map(|(obj, distance, score)| {
                let mut meta = proto::MetadataResult::default();
                if metadata.uuid {
                    meta.id = obj.id.to_string();
                }
                if metadata.distance {
                    if let Some(d) = distance {
                        meta.distance = d;
                        meta.distance_present = true;
                    }
                }
                if metadata.score {
                    if let Some(score) = score {
                        meta.score = score as f32;
                        meta.score_present = true;
                    }
                }
                if metadata.vector {
                    if let Some(v) = &obj.vector {
                        if version.has_complement_not_equal() {
                            meta.vector_bytes = ai_data_vector::wire::encode_f32_le(v);
                        } else {
                            meta.vector = v.clone();
                        }
                    }
                }
                let mut result = proto::PropertiesResult::default();
                let values = wanted.iter().filter_map(|name| {
                    let prop = class.prop(name)?;
                    let value = obj.props.get(name)?;
                    Some((name.clone(), prop.data_type.clone(), value.clone()))
                });
                if new_layout {
                    let fields = values
                        .filter_map(|(name, data_type, v)| {
                            Some((name, typed(&data_type, &v, typed_text)?))
                        })
                        .collect();
                    result.non_ref_props = Some(proto::Properties { fields });
                } else {
                    let fields = values
                        .filter_map(|(name, _, v)| Some((name, structured(&v)?)))
                        .collect::<HashMap<_, _>>();
                    result.non_ref_properties = Some(proto::Struct { fields });
                }
                proto::SearchResult {
                    properties: Some(result),
                    metadata: Some(meta),
                }
            })
            .collect();
        Ok(SearchReply {
            took: 0.001,
            results,
        })
    })
}

/// The request's `bm25_search` or `hybrid_search` (at most one, and not
/// with `near_vector`), as the plan GraphQL's `bm25` / `hybrid` make.
fn keyword_plan(request: &SearchRequest) -> Result<Option<KeywordPlan>, Status> {
    let searches = [
        request.near_vector.is_some(),
        request.bm25_search.is_some(),
        request.hybrid_search.is_some(),
    ];
    if searches.iter().filter(|s| **s).count() > 1 {
        return Err(Status::invalid_argument(
            "near_vector, bm25_search and hybrid_search exclude each other",
        ));
    }
    if let Some(bm25) = &request.bm25_search {
        return Ok(Some(KeywordPlan {
            query: bm25.query.clone(),
            properties: bm25.properties.clone(),
            hybrid: None,
        }));
    }
    let Some(hybrid) = &request.hybrid_search else {
        return Ok(None);
    };
    let vector = if !hybrid.vector_bytes.is_empty() {
        Some(
            ai_data_vector::wire::decode_f32_le(&hybrid.vector_bytes)
                .map_err(|e| Status::invalid_argument(e.message().to_owned()))?,
        )
    } else if !hybrid.vector.is_empty() {
        Some(hybrid.vector.clone())
    } else {
        None
    };
    let fusion = match proto::FusionType::try_from(hybrid.fusion_type) {
        Ok(proto::FusionType::Ranked) => "rankedFusion",
        Ok(proto::FusionType::RelativeScore) => "relativeScoreFusion",
        Ok(proto::FusionType::Unspecified) => "",
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown fusion type {}",
                hybrid.fusion_type
            )))
        }
    };
    Ok(Some(KeywordPlan {
        query: hybrid.query.clone(),
        properties: hybrid.properties.clone(),
        hybrid: Some((vector, f64::from(hybrid.alpha), fusion.to_owned())),
    }))
}

/// A scalar as a `google.protobuf.Value` (lists are left out).
fn structured(v: &Json) -> Option<proto::StructValue> {
    let kind = match v {
        Json::String(s) => struct_value::Kind::StringValue(s.clone()),
        Json::Number(n) => struct_value::Kind::NumberValue(n.as_f64()?),
        Json::Bool(b) => struct_value::Kind::BoolValue(*b),
        _ => return None,
    };
    Some(proto::StructValue { kind: Some(kind) })
}

/// A scalar as a `weaviate.v1.Value` (lists are left out).
fn typed(data_type: &str, v: &Json, typed_text: bool) -> Option<proto::Value> {
    let kind = match (data_type, v) {
        ("blob", Json::String(s)) => value::Kind::BlobValue(s.clone()),
        ("date", Json::String(s)) => value::Kind::DateValue(s.clone()),
        ("uuid", Json::String(s)) => value::Kind::UuidValue(s.clone()),
        (_, Json::String(s)) if typed_text => value::Kind::TextValue(s.clone()),
        (_, Json::String(s)) => value::Kind::StringValue(s.clone()),
        ("int", Json::Number(n)) => value::Kind::IntValue(n.as_i64()?),
        (_, Json::Number(n)) => value::Kind::NumberValue(n.as_f64()?),
        (_, Json::Bool(b)) => value::Kind::BoolValue(*b),
        _ => return None,
    };
    Some(proto::Value { kind: Some(kind) })
}

/// gRPC `Filters` as a [`Cond`]. `doubles`: whether `value_number` is a
/// `double` on this version (1.23+).
fn to_cond(f: &proto::Filters, doubles: bool) -> Result<Cond, Status> {
    let operator = proto::Operator::try_from(f.operator)
        .map_err(|_| Status::invalid_argument(format!("unknown filter operator {}", f.operator)))?;
    match operator {
        proto::Operator::And | proto::Operator::Or => {
            let operands = f
                .filters
                .iter()
                .map(|x| to_cond(x, doubles))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if operator == proto::Operator::And {
                Cond::And(operands)
            } else {
                Cond::Or(operands)
            });
        }
        proto::Operator::Unspecified => {
            return Err(Status::invalid_argument("filter operator is unspecified"))
        }
        _ => {}
    }
    let op = match operator {
        proto::Operator::Equal => Op::Equal,
        proto::Operator::NotEqual => Op::NotEqual,
        proto::Operator::GreaterThan => Op::GreaterThan,
        proto::Operator::GreaterThanEqual => Op::GreaterThanEqual,
        proto::Operator::LessThan => Op::LessThan,
        proto::Operator::LessThanEqual => Op::LessThanEqual,
        proto::Operator::IsNull => Op::IsNull,
        proto::Operator::ContainsAny => Op::ContainsAny,
        proto::Operator::ContainsAll => Op::ContainsAll,
        proto::Operator::Like => Op::Like,
        _ => Op::WithinGeoRange,
    };
    let path = match f.on.as_slice() {
        [p] => p.clone(),
        _ => {
            return Err(Status::invalid_argument(
                "filter path (`on`) must have one element",
            ))
        }
    };
    let (kind, values, array) = match &f.test_value {
        Some(TestValue::ValueText(s)) => (Kind::Text, vec![json!(s)], false),
        Some(TestValue::ValueInt(i)) => (Kind::Int, vec![json!(i)], false),
        Some(TestValue::ValueBoolean(b)) => (Kind::Boolean, vec![json!(b)], false),
        Some(TestValue::ValueNumber(_)) if !doubles => {
            return Err(Status::invalid_argument(
                "value_number is a float (fixed32) in Weaviate 1.22; this request sent a double (fixed64)",
            ))
        }
        Some(TestValue::ValueNumber(x)) => (Kind::Number, vec![json!(x)], false),
        Some(TestValue::ValueTextArray(a)) => (Kind::Text, a.values.iter().map(|s| json!(s)).collect(), true),
        Some(TestValue::ValueIntArray(a)) => (Kind::Int, a.values.iter().map(|i| json!(i)).collect(), true),
        Some(TestValue::ValueBooleanArray(a)) => {
            (Kind::Boolean, a.values.iter().map(|b| json!(b)).collect(), true)
        }
        Some(TestValue::ValueNumberArray(a)) => {
            (Kind::Number, a.values.iter().map(|x| json!(x)).collect(), true)
        }
        None => return Err(Status::invalid_argument("filter without a value")),
    };
    Ok(Cond::Leaf {
        path,
        op,
        kind,
        values,
        array,
    })
}

/// Extra version gates the fake needs.
trait VersionExt {
    fn at_least_1_27(self) -> bool;
}

impl VersionExt for ai_data_weaviate::ServerVersion {
    fn at_least_1_27(self) -> bool {
        self >= ai_data_weaviate::ServerVersion::new(1, 27, 0)
    }
}
