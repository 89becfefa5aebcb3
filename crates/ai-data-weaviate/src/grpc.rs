//! The gRPC `Search` fast path (feature `grpc`): tonic on a lazily
//! connected channel with HTTP/2 keepalive, the request built from the
//! same [`Where`] tree as GraphQL, the reply's size limit from the request
//! ([`reply_limit`]), and the reply read in every version's layout.

use std::fmt;
use std::time::Duration;

use ai_data_core::{ErrorKind, ExposeSecret, Store};
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::batch::{decode_blob, decode_payload, ReadObject};
use super::filter::{Operator, Where, WhereValue};
use super::proto::{self, filters::TestValue, FusionType};
use super::schema::{PAYLOAD_PROP, VECTOR_PROP};
use super::{ServerVersion, WeaviateConfig};
use ai_data_vector::{wire, Error, RecordId, Result};

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
    /// A keyword or hybrid search instead of `near_vector` (`vector` is
    /// then the hybrid's query vector).
    pub keyword: Option<KeywordParts<'a>>,
}

/// The keyword half of a [`SearchParts`].
#[derive(Debug, Clone, Copy)]
pub struct KeywordParts<'a> {
    /// The query text.
    pub text: &'a str,
    /// The searched property.
    pub property: &'a str,
    /// `(alpha, fusion)` for a hybrid search; `None`: BM25 only.
    pub hybrid: Option<(f32, FusionType)>,
}

/// The `SearchRequest` for `parts` on a server of `version`: `vector_bytes`
/// (or packed `vector` before 1.22.6), an empty properties request when
/// only ids and distances are wanted, the 1.23/1.25/1.27 API flags; for a
/// keyword part `bm25_search` or `hybrid_search` (its vector as bytes) and
/// the score.
///
/// ```
/// use ai_data_weaviate::grpc::{search_request, KeywordParts, SearchParts};
/// use ai_data_weaviate::proto::FusionType;
/// use ai_data_weaviate::ServerVersion;
///
/// let parts = SearchParts {
///     class: "Document", vector: &[1.0, 0.5], limit: 10, filter: None, distance: None,
///     payload: false, vector_blob: false, metadata_vector: false, keyword: None,
/// };
/// let request = search_request(&parts, ServerVersion::PLATFORM);
/// assert_eq!(request.limit, 10);
/// assert_eq!(request.near_vector.map(|n| n.vector_bytes.len()), Some(8));
/// assert_eq!(request.properties.map(|p| p.non_ref_properties.len()), Some(0));
///
/// let hybrid = KeywordParts { text: "rust", property: "_search", hybrid: Some((0.25, FusionType::Ranked)) };
/// let request = search_request(&SearchParts { keyword: Some(hybrid), ..parts }, ServerVersion::PLATFORM);
/// let sent = request.hybrid_search.expect("hybrid");
/// assert_eq!((sent.query.as_str(), sent.alpha, sent.vector_bytes.len()), ("rust", 0.25, 8));
/// assert!(request.near_vector.is_none() && request.metadata.is_some_and(|m| m.score));
/// ```
pub fn search_request(parts: &SearchParts<'_>, version: ServerVersion) -> proto::SearchRequest {
    let mut props = Vec::new();
    if parts.payload {
        props.push(PAYLOAD_PROP.to_owned());
    }
    if parts.vector_blob {
        props.push(VECTOR_PROP.to_owned());
    }
    let (mut bm25_search, mut hybrid_search) = (None, None);
    if let Some(keyword) = &parts.keyword {
        let properties = vec![keyword.property.to_owned()];
        match keyword.hybrid {
            None => {
                bm25_search = Some(proto::Bm25 {
                    query: keyword.text.to_owned(),
                    properties,
                });
            }
            Some((alpha, fusion)) => {
                hybrid_search = Some(proto::Hybrid {
                    query: keyword.text.to_owned(),
                    properties,
                    alpha,
                    fusion_type: fusion as i32,
                    vector_bytes: wire::encode_f32_le(parts.vector),
                    ..proto::Hybrid::default()
                });
            }
        }
    }
    let near_vector = if parts.keyword.is_some() {
        None
    } else if version.has_grpc_vector_bytes() {
        Some(proto::NearVector {
            vector_bytes: wire::encode_f32_le(parts.vector),
            distance: parts.distance,
            ..proto::NearVector::default()
        })
    } else {
        Some(proto::NearVector {
            vector: parts.vector.to_vec(),
            distance: parts.distance,
            ..proto::NearVector::default()
        })
    };
    proto::SearchRequest {
        collection: parts.class.to_owned(),
        properties: Some(proto::PropertiesRequest {
            non_ref_properties: props,
        }),
        metadata: Some(proto::MetadataRequest {
            uuid: true,
            vector: parts.metadata_vector,
            distance: parts.keyword.is_none(),
            score: parts.keyword.is_some(),
        }),
        limit: u32::try_from(parts.limit).unwrap_or(u32::MAX),
        filters: parts.filter.map(to_filters),
        hybrid_search,
        bm25_search,
        near_vector,
        uses_123_api: true,
        uses_125_api: true,
        uses_127_api: true,
    }
}

/// [`search_request`] as protobuf bytes.
pub fn encode_search_request(parts: &SearchParts<'_>, version: ServerVersion) -> Vec<u8> {
    search_request(parts, version).encode_to_vec()
}

/// tonic's default reply limit, the least [`reply_limit`] allows.
pub const MIN_REPLY_LIMIT: usize = 4 * 1024 * 1024;
/// What one hit takes besides its vector and properties (id, distance,
/// field tags, headroom), in bytes.
pub const HIT_OVERHEAD: usize = 256;
/// What [`reply_limit`] allows for each requested property of a hit other
/// than the vector blob (the `_payload` JSON), in bytes. A reply larger
/// than the estimate is asked for once more with the ceiling as its limit.
pub const PROPERTIES_ALLOWANCE: usize = 16 * 1024;

/// The largest reply `request` may bring back, in bytes: for each of its
/// `limit` hits the vector (metadata `f32`s, or the base64 `_vector` blob)
/// when asked for, [`PROPERTIES_ALLOWANCE`] for every other property and
/// [`HIT_OVERHEAD`]; at least [`MIN_REPLY_LIMIT`], at most `ceiling`
/// ([`WeaviateConfig::grpc_max_message_size`]). Without a `limit` (the
/// server's default) or a properties request (every property) it is the
/// ceiling.
///
/// ```
/// use ai_data_weaviate::grpc::{reply_limit, search_request, SearchParts, MIN_REPLY_LIMIT};
/// use ai_data_weaviate::ServerVersion;
///
/// let vector = vec![0.5; 768];
/// let mut parts = SearchParts {
///     class: "Document", vector: &vector, limit: 2_000, filter: None, distance: None,
///     payload: false, vector_blob: false, metadata_vector: true, keyword: None,
/// };
/// let ceiling = 100 * 1024 * 1024;
/// let limit = reply_limit(&search_request(&parts, ServerVersion::PLATFORM), ceiling);
/// assert!(limit > 2_000 * 768 * 4 && limit < ceiling);
/// parts.limit = 10;
/// assert_eq!(reply_limit(&search_request(&parts, ServerVersion::PLATFORM), ceiling), MIN_REPLY_LIMIT);
/// assert_eq!(reply_limit(&search_request(&parts, ServerVersion::PLATFORM), 1024), 1024);
/// ```
pub fn reply_limit(request: &proto::SearchRequest, ceiling: usize) -> usize {
    let (Some(properties), hits @ 1..) = (&request.properties, request.limit as usize) else {
        return ceiling;
    };
    let dimension = match (&request.near_vector, &request.hybrid_search) {
        (Some(n), _) => (n.vector_bytes.len() / 4).max(n.vector.len()),
        (None, Some(h)) => (h.vector_bytes.len() / 4).max(h.vector.len()),
        (None, None) => 0,
    };
    let vector = dimension * 4 + 16;
    let blob = (dimension * 4).div_ceil(3) * 4 + 16;
    let mut per_hit = HIT_OVERHEAD;
    if request.metadata.as_ref().is_some_and(|m| m.vector) {
        per_hit += vector;
    }
    for name in &properties.non_ref_properties {
        per_hit += if name == VECTOR_PROP {
            blob
        } else {
            PROPERTIES_ALLOWANCE
        };
    }
    hits.saturating_mul(per_hit)
        .saturating_add(64 * 1024)
        .max(MIN_REPLY_LIMIT)
        .min(ceiling)
}

/// Whether `status` is tonic's "decoded message length too large".
fn is_too_large(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::OutOfRange && status.message().contains("length too large")
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
                Some(decode_payload(id, props.text(PAYLOAD_PROP))?)
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
                score: metadata.score_present.then_some(metadata.score),
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
    ceiling: usize,
    connect_timeout: Duration,
}

impl fmt::Debug for GrpcSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcSearch")
            .field("url", &self.url)
            .field("api_key", &self.auth.as_ref().map(|_| "***"))
            .field("max_message_size", &self.ceiling)
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
            ceiling: config.grpc_max_message_size.max(1),
            connect_timeout: config.connection.connect_timeout,
        })
    }

    /// One `Search`, its reply limited to [`reply_limit`]; a reply over
    /// that estimate is asked for once more with the ceiling as the limit,
    /// one over the ceiling is an error naming it.
    pub(crate) async fn search(&self, request: proto::SearchRequest) -> Result<proto::SearchReply> {
        let target = request.collection.clone();
        let limit = reply_limit(&request, self.ceiling);
        let retry = (limit < self.ceiling).then(|| request.clone());
        let status = match self.call(request, limit).await? {
            Ok(reply) => return Ok(reply),
            Err(status) => status,
        };
        let status = match retry {
            Some(request) if is_too_large(&status) => {
                tracing::debug!(
                    limit,
                    ceiling = self.ceiling,
                    "Weaviate gRPC reply over its estimate; asking again with the ceiling"
                );
                match self.call(request, self.ceiling).await? {
                    Ok(reply) => return Ok(reply),
                    Err(status) => status,
                }
            }
            _ => status,
        };
        if is_too_large(&status) {
            return Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "the gRPC Search reply is larger than the limit of {} bytes ({}); raise {} (WeaviateConfig::grpc_max_message_size) or ask for less (a smaller k, without vectors or payloads)",
                    self.ceiling,
                    status.message(),
                    Store::Weaviate.var("GRPC_MAX_MESSAGE_SIZE"),
                ),
            )
            .with_store(Store::Weaviate)
            .with_operation("grpc_search")
            .with_target(target));
        }
        Err(self.status_error(&status, &target))
    }

    /// One `Search` call with a reply limit of `limit` bytes: the reply, or
    /// the status it failed with; `Err` when the channel is not ready.
    async fn call(
        &self,
        request: proto::SearchRequest,
        limit: usize,
    ) -> Result<std::result::Result<proto::SearchReply, tonic::Status>> {
        let target = request.collection.clone();
        let mut grpc =
            tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(limit);
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
        Ok(grpc
            .unary(
                request,
                PathAndQuery::from_static(proto::SEARCH_PATH),
                codec,
            )
            .await
            .map(tonic::Response::into_inner))
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
        let transport = std::error::Error::source(status);
        let mut message = match transport {
            // tonic's connector gives up with tokio's `Elapsed` (inside an
            // `io::Error` of kind `TimedOut`).
            Some(cause) if status.code() == Code::Unavailable => {
                let mut root = cause;
                let mut elapsed = false;
                loop {
                    elapsed |= root.is::<tokio::time::error::Elapsed>()
                        || root
                            .downcast_ref::<std::io::Error>()
                            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut);
                    match root.source() {
                        Some(next) => root = next,
                        None => break,
                    }
                }
                let why = if elapsed {
                    format!(
                        "no connection within the connect timeout of {:?}",
                        self.connect_timeout
                    )
                } else {
                    root.to_string()
                };
                format!("cannot reach Weaviate's gRPC endpoint {}: {why}", self.url)
            }
            _ => format!(
                "gRPC {:?} from {}: {}",
                status.code(),
                self.url,
                status.message()
            ),
        };
        if let Some(key) = self.key.as_deref().filter(|k| !k.is_empty()) {
            message = message.replace(key, "***");
        }
        let mut error = Error::new(kind, message)
            .with_store(Store::Weaviate)
            .with_operation("grpc_search")
            .with_target(target.to_owned());
        if transport.is_some() {
            // A local (transport) failure: keep its cause chain.
            error = error.with_source(TransportCause(status.clone()));
        }
        if matches!(status.code(), Code::Unavailable | Code::ResourceExhausted) {
            error.temporary()
        } else {
            error
        }
    }
}

/// The cause chain under a gRPC status that tonic made from a transport
/// failure (connection refused, connect timeout), shown without the
/// status's message and metadata.
struct TransportCause(tonic::Status);

impl fmt::Display for TransportCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gRPC transport failure ({:?})", self.0.code())
    }
}

impl fmt::Debug for TransportCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)?;
        if let Some(cause) = std::error::Error::source(&self.0) {
            write!(f, ": {cause:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
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
    use crate::filter::Leaf;

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
            keyword: None,
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

    /// Every message in the error's `source()` chain, lowercased.
    fn chain(err: &Error) -> String {
        let mut out = Vec::new();
        let mut next = std::error::Error::source(err);
        while let Some(cause) = next {
            out.push(cause.to_string().to_lowercase());
            next = cause.source();
        }
        out.join(" | ")
    }

    #[tokio::test]
    async fn unreachable_endpoints_fail_within_the_connect_timeout_with_the_cause() {
        use ai_data_testkit::unreachable::{closed_port, Blackhole};
        let key = "grpc-connect-secret-77";
        let timeout = Duration::from_millis(1200);
        let hole = Blackhole::new().expect("blackhole");
        let closed = closed_port().expect("closed port");
        for (addr, cause, waits) in [(closed, "refused", false), (hole.addr(), "elapsed", true)] {
            let config = WeaviateConfig::from_url(&format!("http://{addr}"))
                .expect("url")
                .with_grpc_url(format!("http://{addr}"))
                .with_connect_timeout(timeout)
                .with_api_key(key);
            assert!(config.request_timeout > timeout * 4);
            let channel = GrpcSearch::new(&config).expect("lazy channel");
            let started = std::time::Instant::now();
            let err = tokio::time::timeout(
                timeout * 10,
                channel.search(search_request(&parts(None), ServerVersion::PLATFORM)),
            )
            .await
            .expect("bounded by the connect timeout")
            .expect_err("unreachable");
            let elapsed = started.elapsed();
            let causes = chain(&err);
            assert_eq!(err.kind(), ErrorKind::Connect, "{addr}: {err}");
            assert!(err.is_retryable() && is_unavailable(&err), "{err}");
            assert!(
                elapsed < timeout + Duration::from_millis(750),
                "{addr}: {elapsed:?}: {err}"
            );
            assert_eq!(
                elapsed >= timeout.mul_f64(0.8),
                waits,
                "{addr}: {elapsed:?}"
            );
            assert!(causes.contains(cause), "{addr}: {err} / {causes}");
            let said = if waits {
                "within the connect timeout of 1.2s"
            } else {
                "refused"
            };
            assert!(err.message().contains(said), "{addr}: {err}");
            let shown = format!("{err} {err:?} {causes}");
            assert!(!shown.contains(key), "{shown}");
            assert!(shown.contains(&addr.to_string()), "{shown}");
        }
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
                    ..proto::MetadataResult::default()
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
