//! The gRPC `Search` fast path (feature `weaviate-grpc`): tonic on a lazily
//! connected channel with HTTP/2 keepalive, the request built from the
//! same [`Where`] tree as GraphQL, and the reply read in every version's
//! layout.

use std::fmt;
use std::time::Duration;

use ai_data_core::{ErrorKind, ExposeSecret, Store};
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::batch::{decode_blob, decode_payload, ReadObject};
use super::filter::{Operator, Where, WhereValue};
use super::proto::{self, filters::TestValue};
use super::schema::{PAYLOAD_PROP, VECTOR_PROP};
use super::{ServerVersion, WeaviateConfig};
use crate::{wire, Error, RecordId, Result};

/// What one search asks for.
#[derive(Debug, Clone, Copy)]
pub struct SearchParts<'a> {
    /// The class.
    pub class: &'a str,
    /// The query vector.
    pub vector: &'a [f32],
    /// How many hits.
    pub limit: usize,
    /// The filter.
    pub filter: Option<&'a Where>,
    /// Maximum distance, in the server's units.
    pub distance: Option<f64>,
    /// Return `_payload`.
    pub payload: bool,
    /// Return the vector: `_vector` when the class keeps it, else the metadata vector.
    pub vector_blob: bool,
    /// Return the metadata vector.
    pub metadata_vector: bool,
}

/// The `SearchRequest` for `parts` on a server of `version`: `vector_bytes`
/// (or packed `vector` before 1.22.6), an empty properties request when
/// only ids and distances are wanted, the 1.23/1.25/1.27 API flags.
///
/// ```
/// use ai_data_vector::weaviate::grpc::{search_request, SearchParts};
/// use ai_data_vector::weaviate::ServerVersion;
///
/// let parts = SearchParts {
///     class: "Document", vector: &[1.0, 0.5], limit: 10, filter: None, distance: None,
///     payload: false, vector_blob: false, metadata_vector: false,
/// };
/// let request = search_request(&parts, ServerVersion::PLATFORM);
/// assert_eq!(request.limit, 10);
/// assert_eq!(request.near_vector.map(|n| n.vector_bytes.len()), Some(8));
/// assert_eq!(request.properties.map(|p| p.non_ref_properties.len()), Some(0));
/// ```
pub fn search_request(parts: &SearchParts<'_>, version: ServerVersion) -> proto::SearchRequest {
    let mut props = Vec::new();
    if parts.payload {
        props.push(PAYLOAD_PROP.to_owned());
    }
    if parts.vector_blob {
        props.push(VECTOR_PROP.to_owned());
    }
    let near_vector = if version.has_grpc_vector_bytes() {
        proto::NearVector {
            vector_bytes: wire::encode_f32_le(parts.vector),
            distance: parts.distance,
            ..proto::NearVector::default()
        }
    } else {
        proto::NearVector {
            vector: parts.vector.to_vec(),
            distance: parts.distance,
            ..proto::NearVector::default()
        }
    };
    proto::SearchRequest {
        collection: parts.class.to_owned(),
        properties: Some(proto::PropertiesRequest {
            non_ref_properties: props,
        }),
        metadata: Some(proto::MetadataRequest {
            uuid: true,
            vector: parts.metadata_vector,
            distance: true,
        }),
        limit: u32::try_from(parts.limit).unwrap_or(u32::MAX),
        filters: parts.filter.map(to_filters),
        near_vector: Some(near_vector),
        uses_123_api: true,
        uses_125_api: true,
        uses_127_api: true,
    }
}

/// [`search_request`] as protobuf bytes.
pub fn encode_search_request(parts: &SearchParts<'_>, version: ServerVersion) -> Vec<u8> {
    search_request(parts, version).encode_to_vec()
}

/// A `where` tree as gRPC `Filters`.
pub fn to_filters(filter: &Where) -> proto::Filters {
    match filter {
        Where::And(ops) | Where::Or(ops) => proto::Filters {
            operator: if matches!(filter, Where::And(_)) {
                proto::Operator::And
            } else {
                proto::Operator::Or
            } as i32,
            filters: ops.iter().map(to_filters).collect(),
            ..proto::Filters::default()
        },
        Where::Leaf(leaf) => proto::Filters {
            operator: match leaf.operator {
                Operator::Equal => proto::Operator::Equal,
                Operator::NotEqual => proto::Operator::NotEqual,
                Operator::GreaterThan => proto::Operator::GreaterThan,
                Operator::GreaterThanEqual => proto::Operator::GreaterThanEqual,
                Operator::LessThan => proto::Operator::LessThan,
                Operator::LessThanEqual => proto::Operator::LessThanEqual,
                Operator::IsNull => proto::Operator::IsNull,
                Operator::ContainsAny => proto::Operator::ContainsAny,
            } as i32,
            on: vec![leaf.path.clone()],
            filters: Vec::new(),
            test_value: Some(match &leaf.value {
                WhereValue::Text(s) | WhereValue::Date(s) => TestValue::ValueText(s.clone()),
                WhereValue::Int(i) => TestValue::ValueInt(*i),
                WhereValue::Number(x) => TestValue::ValueNumber(*x),
                WhereValue::Boolean(b) => TestValue::ValueBoolean(*b),
                WhereValue::TextArray(v) => {
                    TestValue::ValueTextArray(proto::TextArray { values: v.clone() })
                }
                WhereValue::IntArray(v) => {
                    TestValue::ValueIntArray(proto::IntArray { values: v.clone() })
                }
            }),
        },
    }
}

/// The hits of a reply.
pub(crate) fn read_reply(
    reply: proto::SearchReply,
    parts: &SearchParts<'_>,
) -> Result<Vec<ReadObject>> {
    reply
        .results
        .into_iter()
        .map(|result| {
            let metadata = result.metadata.unwrap_or_default();
            let id = RecordId::parse(&metadata.id)
                .map_err(|e| Error::new(ErrorKind::Backend, e.message().to_owned()))?;
            let props = result.properties.unwrap_or_default();
            let payload = if parts.payload {
                Some(decode_payload(props.text(PAYLOAD_PROP))?)
            } else {
                None
            };
            let vector = if parts.vector_blob {
                props.text(VECTOR_PROP).map(decode_blob).transpose()?
            } else if parts.metadata_vector {
                if metadata.vector_bytes.is_empty() {
                    Some(metadata.vector)
                } else {
                    Some(wire::decode_f32_le(&metadata.vector_bytes)?)
                }
            } else {
                None
            };
            Ok(ReadObject {
                id,
                distance: metadata.distance_present.then_some(metadata.distance),
                payload,
                vector,
            })
        })
        .collect()
}

/// A gRPC channel to Weaviate's `Search`.
#[derive(Clone)]
pub(crate) struct GrpcSearch {
    channel: Channel,
    auth: Option<MetadataValue<Ascii>>,
    key: Option<String>,
    url: String,
}

impl fmt::Debug for GrpcSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcSearch")
            .field("url", &self.url)
            .field("api_key", &self.auth.as_ref().map(|_| "***"))
            .finish()
    }
}

impl GrpcSearch {
    /// A lazily connected channel (no I/O here; needs a Tokio runtime).
    pub(crate) fn new(config: &WeaviateConfig) -> Result<Self> {
        let url = config.grpc_url()?;
        let config_error = |m: String| Error::config(m).with_store(Store::Weaviate);
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| config_error(format!("gRPC endpoint {url}: {e}")))?
            .connect_timeout(config.connection.connect_timeout)
            .timeout(config.request_timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Some(Duration::from_secs(60)))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        if url.starts_with("https") {
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(ca) = &config.connection.tls.ca_file {
                let pem = std::fs::read(ca).map_err(|e| {
                    config_error(format!("cannot read the CA file {}: {e}", ca.display()))
                })?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| config_error(format!("gRPC TLS: {e}")))?;
        }
        let key = config
            .connection
            .secret
            .as_ref()
            .map(|k| k.expose_secret().to_owned());
        let auth = match &key {
            None => None,
            Some(k) => {
                let mut value: MetadataValue<Ascii> =
                    format!("Bearer {k}").parse().map_err(|_| {
                        config_error("the Weaviate API key cannot be sent as gRPC metadata".into())
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(GrpcSearch {
            channel: endpoint.connect_lazy(),
            auth,
            key,
            url,
        })
    }

    /// One `Search` call.
    pub(crate) async fn search(&self, request: proto::SearchRequest) -> Result<proto::SearchReply> {
        let target = request.collection.clone();
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("gRPC channel to {} not ready: {e}", self.url),
            )
            .with_store(Store::Weaviate)
            .with_operation("grpc_search")
            .with_target(target.clone())
        })?;
        let mut request = tonic::Request::new(request);
        if let Some(auth) = &self.auth {
            request.metadata_mut().insert("authorization", auth.clone());
        }
        let codec = tonic_prost::ProstCodec::<proto::SearchRequest, proto::SearchReply>::default();
        grpc.unary(
            request,
            PathAndQuery::from_static(proto::SEARCH_PATH),
            codec,
        )
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| self.status_error(&status, &target))
    }

    fn status_error(&self, status: &tonic::Status, target: &str) -> Error {
        use tonic::Code;
        let kind = match status.code() {
            Code::Unauthenticated | Code::PermissionDenied => ErrorKind::Auth,
            Code::NotFound => ErrorKind::NotFound,
            Code::DeadlineExceeded => ErrorKind::Timeout,
            Code::Unavailable => ErrorKind::Connect,
            Code::Unimplemented => ErrorKind::Unsupported,
            _ => ErrorKind::Backend,
        };
        let mut message = format!("gRPC {:?}: {}", status.code(), status.message());
        if let Some(key) = self.key.as_deref().filter(|k| !k.is_empty()) {
            message = message.replace(key, "***");
        }
        let error = Error::new(kind, message)
            .with_store(Store::Weaviate)
            .with_operation("grpc_search")
            .with_target(target.to_owned());
        if matches!(status.code(), Code::Unavailable | Code::ResourceExhausted) {
            error.temporary()
        } else {
            error
        }
    }
}

/// Whether an error means gRPC is not there (wrong port, not enabled),
/// so the store should use GraphQL instead.
pub(crate) fn is_unavailable(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Connect | ErrorKind::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weaviate::filter::Leaf;

    fn parts(filter: Option<&Where>) -> SearchParts<'_> {
        SearchParts {
            class: "Doc",
            vector: &[0.5, 1.0, -1.0],
            limit: 3,
            filter,
            distance: Some(0.3),
            payload: true,
            vector_blob: true,
            metadata_vector: false,
        }
    }

    #[test]
    fn request_follows_the_version() {
        let filter = Where::Or(vec![
            Where::Leaf(Leaf {
                path: "year".into(),
                operator: Operator::LessThan,
                value: WhereValue::Int(2020),
            }),
            Where::Leaf(Leaf {
                path: "tags".into(),
                operator: Operator::ContainsAny,
                value: WhereValue::TextArray(vec!["a".into()]),
            }),
        ]);
        let new = search_request(&parts(Some(&filter)), ServerVersion::new(1, 22, 6));
        let nv = new.near_vector.clone().unwrap_or_default();
        assert_eq!(nv.vector_bytes, wire::encode_f32_le(&[0.5, 1.0, -1.0]));
        assert!(nv.vector.is_empty());
        assert_eq!(nv.distance, Some(0.3));
        assert_eq!(
            new.properties.map(|p| p.non_ref_properties),
            Some(vec!["_payload".to_owned(), "_vector".to_owned()])
        );
        let filters = new.filters.unwrap_or_default();
        assert_eq!(filters.operator, proto::Operator::Or as i32);
        assert_eq!(filters.filters[0].on, vec!["year".to_owned()]);
        assert_eq!(
            filters.filters[0].test_value,
            Some(TestValue::ValueInt(2020))
        );
        assert!(new.uses_123_api && new.uses_125_api && new.uses_127_api);
        let old = search_request(&parts(None), ServerVersion::new(1, 22, 5));
        let nv = old.near_vector.unwrap_or_default();
        assert_eq!(nv.vector, vec![0.5, 1.0, -1.0]);
        assert!(nv.vector_bytes.is_empty());
    }

    #[tokio::test]
    async fn statuses_map_to_kinds_and_never_show_the_key() {
        let key = "grpc-secret-key-31";
        let config = WeaviateConfig::from_url("http://127.0.0.1:1")
            .expect("url")
            .with_api_key(key);
        let channel = GrpcSearch::new(&config).expect("lazy channel");
        assert!(!format!("{channel:?}").contains(key));
        for (code, kind, retryable) in [
            (tonic::Code::Unauthenticated, ErrorKind::Auth, false),
            (tonic::Code::Unavailable, ErrorKind::Connect, true),
            (tonic::Code::Unimplemented, ErrorKind::Unsupported, false),
            (tonic::Code::DeadlineExceeded, ErrorKind::Timeout, true),
            (tonic::Code::InvalidArgument, ErrorKind::Backend, false),
        ] {
            let status = tonic::Status::new(code, format!("bad Bearer {key}"));
            let error = channel.status_error(&status, "Doc");
            assert_eq!(
                (error.kind(), error.is_retryable()),
                (kind, retryable),
                "{code:?}"
            );
            assert!(!format!("{error} {error:?}").contains(key));
        }
        assert!(is_unavailable(
            &channel.status_error(&tonic::Status::unavailable("x"), "D")
        ));
        // Nothing listens on port 1: the call fails as a connection error.
        let err = channel
            .search(search_request(&parts(None), ServerVersion::PLATFORM))
            .await
            .expect_err("no server");
        assert_eq!(err.kind(), ErrorKind::Connect);
    }

    #[test]
    fn reply_in_both_layouts() {
        let id = RecordId::from_key("r");
        let reply = proto::SearchReply {
            took: 0.0,
            results: vec![proto::SearchResult {
                properties: None,
                metadata: Some(proto::MetadataResult {
                    id: id.to_string(),
                    vector: vec![1.0, 2.0],
                    distance: 0.5,
                    distance_present: true,
                    vector_bytes: Vec::new(),
                }),
            }],
        };
        let mut p = parts(None);
        p.payload = false;
        p.vector_blob = false;
        p.metadata_vector = true;
        let hits = read_reply(reply.clone(), &p).expect("hits");
        assert_eq!(hits[0].id, id);
        assert_eq!(hits[0].distance, Some(0.5));
        assert_eq!(hits[0].vector, Some(vec![1.0, 2.0]));
        let mut newer = reply;
        if let Some(m) = newer.results[0].metadata.as_mut() {
            m.vector.clear();
            m.vector_bytes = wire::encode_f32_le(&[3.0]);
        }
        assert_eq!(
            read_reply(newer, &p).expect("hits")[0].vector,
            Some(vec![3.0])
        );
    }
}
