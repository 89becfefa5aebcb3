//! The fake on its own, against the rules of the real server it stands in
//! for (`shared/design/weaviate.md`): status codes and error shapes,
//! 200-with-errors, tokenization, null state, `NotEqual` by version, the
//! batch-delete limit, distances, the OpenAPI check, and gRPC.

use ai_data_weaviate::ServerVersion;
use ai_data_weaviate_fake::{openapi, FakeServer, FakeWeaviate};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY: &str = "fake-rules-key";

async fn start(fake: FakeWeaviate) -> FakeServer {
    fake.with_api_key(KEY).start().await.expect("fake starts")
}

struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn new(fake: &FakeServer) -> Self {
        Http {
            client: reqwest::Client::new(),
            base: format!("{}/v1", fake.url()),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, text) = self.call(method, path, body, Some(KEY)).await;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON reply")
        };
        (status, value)
    }

    async fn graphql(&self, query: &str) -> Value {
        let (status, reply) = self
            .json(Method::POST, "/graphql", Some(json!({ "query": query })))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "GraphQL is always HTTP 200: {reply}"
        );
        reply
    }

    async fn class(&self, class: Value) -> Value {
        let (status, reply) = self.json(Method::POST, "/schema", Some(class)).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply
    }

    async fn batch(&self, objects: Value) -> Vec<Value> {
        let (status, reply) = self
            .json(
                Method::POST,
                "/batch/objects",
                Some(json!({ "objects": objects })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "batch is always HTTP 200: {reply}");
        reply.as_array().cloned().expect("array")
    }

    /// Ids (as `id(i)` indexes) a `Get` with `where` returns.
    async fn ids_where(&self, class: &str, filter: &str) -> Vec<usize> {
        let reply = self
            .graphql(&format!(
                "{{ Get {{ {class}(limit: 100, where: {filter}) {{ _additional {{ id }} }} }} }}"
            ))
            .await;
        assert!(reply.get("errors").is_none(), "{reply}");
        let mut ids: Vec<usize> = reply["data"]["Get"][class]
            .as_array()
            .expect("list")
            .iter()
            .map(|o| {
                let id = o["_additional"]["id"].as_str().expect("id");
                (0..100).find(|i| id_str(*i) == id).expect("known id")
            })
            .collect();
        ids.sort_unstable();
        ids
    }
}

fn id_str(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

#[tokio::test]
async fn ready_live_meta_and_the_401_shape() {
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    assert_eq!(
        http.call(Method::GET, "/.well-known/ready", None, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        http.call(Method::GET, "/.well-known/live", None, None)
            .await
            .0,
        StatusCode::OK
    );
    fake.set_ready(false);
    assert_eq!(
        http.call(Method::GET, "/.well-known/ready", None, None)
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (status, body) = http.call(Method::GET, "/meta", None, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body,
        json!({"code": 401, "message": "invalid api key, please provide a valid api key"})
    );
    let (status, body) = http.call(Method::GET, "/meta", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("anonymous access not enabled"), "{body}");
    let (status, meta) = http.json(Method::GET, "/meta", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["version"], "1.22.13");
    assert_eq!(meta["hostname"], "http://[::]:8080");
    assert_eq!(
        http.call(Method::GET, "/nothing/here", None, Some(KEY))
            .await,
        (StatusCode::NOT_FOUND, String::new())
    );
}

#[tokio::test]
async fn schema_rules_names_defaults_and_422s() {
    let fake = start(FakeWeaviate::new().with_modules(["text2vec-transformers"])).await;
    let http = Http::new(&fake);
    let echo = http
        .class(json!({"class": "docs", "properties": [
            {"name": "Title", "dataType": ["text"]},
            {"name": "lang", "dataType": ["text"], "tokenization": "field"},
            {"name": "year", "dataType": ["int"]}
        ]}))
        .await;
    assert_eq!(echo["class"], "Docs", "class names are capitalised");
    assert_eq!(echo["vectorizer"], "none");
    assert_eq!(echo["vectorIndexType"], "hnsw");
    assert_eq!(echo["vectorIndexConfig"]["distance"], "cosine");
    assert_eq!(echo["vectorIndexConfig"]["efConstruction"], 128);
    assert_eq!(echo["invertedIndexConfig"]["indexNullState"], false);
    assert_eq!(
        echo["properties"][0]["name"], "title",
        "property names start lower-case"
    );
    assert_eq!(echo["properties"][0]["tokenization"], "word");
    assert_eq!(echo["properties"][1]["tokenization"], "field");
    assert_eq!(echo["properties"][2]["indexFilterable"], true);
    let (status, got) = http.json(Method::GET, "/schema/Docs", None).await;
    assert_eq!((status, &got), (StatusCode::OK, &echo));

    let (status, body) = http
        .json(Method::POST, "/schema", Some(json!({"class": "Docs"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": [{"message": "class name \"Docs\" already exists"}]})
    );

    let rejected = [
        (
            json!({"class": "L2", "vectorIndexConfig": {"distance": "l2"}}),
            "l2",
        ),
        (json!({"class": "Flat", "vectorIndexType": "flat"}), "flat"),
        (json!({"class": "9nine"}), "not a valid class name"),
        (
            json!({"class": "R", "properties": [{"name": "id", "dataType": ["text"]}]}),
            "reserved",
        ),
        (
            json!({"class": "T", "properties": [{"name": "n", "dataType": ["int"], "tokenization": "field"}]}),
            "Tokenization",
        ),
        (
            json!({"class": "D", "properties": [{"name": "a", "dataType": ["text"]}, {"name": "A", "dataType": ["text"]}]}),
            "conflict",
        ),
        (
            json!({"class": "M", "vectorizer": "img2vec-neural"}),
            "invalid vectorizer",
        ),
    ];
    for (class, needle) in rejected {
        let (status, body) = http
            .json(Method::POST, "/schema", Some(class.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{class}");
        let message = body["error"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{class}: {message}");
    }
    http.class(json!({"class": "Mod", "vectorizer": "text2vec-transformers"}))
        .await;
    for distance in ["dot", "l2-squared", "hamming", "manhattan"] {
        http.class(json!({"class": format!("D_{}", distance.replace('-', "_")), "vectorIndexConfig": {"distance": distance}}))
            .await;
    }
    let (status, body) = http
        .call(Method::GET, "/schema/Nope", None, Some(KEY))
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, ""),
        "404 without a body"
    );
    assert_eq!(
        http.call(Method::DELETE, "/schema/Docs", None, Some(KEY))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        http.call(Method::GET, "/schema/Docs", None, Some(KEY))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let newer = start(FakeWeaviate::new().with_version(ServerVersion::new(1, 23, 0))).await;
    Http::new(&newer)
        .class(json!({"class": "Flat", "vectorIndexType": "flat"}))
        .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn batch_reports_every_object_with_http_200_and_auto_schema_adds() {
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    http.class(json!({"class": "Doc", "vectorIndexConfig": {"distance": "dot"}, "properties": [{"name": "title", "dataType": ["text"]}]}))
        .await;
    let results = http
        .batch(json!([
            {"class": "Doc", "id": id_str(1), "properties": {"title": "a"}, "vector": [1.0, 2.0]},
            {"class": "Doc", "id": id_str(2), "properties": {"title": "b"}, "vector": [1.0, 2.0, 3.0]},
            {"class": "Doc", "id": id_str(3), "properties": {"title": 7}, "vector": [1.0, 2.0]},
            {"class": "Doc", "id": id_str(4), "properties": {"title": "d", "extra": 1.5}, "vector": [0.5, 0.5]},
            {"class": "Unknown", "id": id_str(5), "properties": {"x": "y"}, "vector": [1.0]}
        ]))
        .await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["result"]["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        ["SUCCESS", "FAILED", "FAILED", "SUCCESS", "SUCCESS"]
    );
    assert_eq!(results[1]["id"], id_str(2));
    let message = |i: usize| {
        results[i]["result"]["errors"]["error"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        message(1).contains(
            "new node has a vector with length 3. Existing nodes have vectors with length 2"
        ),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("invalid text property 'title'"),
        "{}",
        message(2)
    );
    assert_eq!(
        results[0]["vector"],
        json!([1.0, 2.0]),
        "the reply echoes vectors"
    );
    assert_eq!(
        fake.auto_schema_events(),
        vec![
            "property Doc.extra (number)",
            "class Unknown",
            "property Unknown.x (text)"
        ]
    );
    let (status, _) = http
        .json(Method::DELETE, &format!("/objects/Doc/{}", id_str(1)), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = http
        .call(
            Method::DELETE,
            &format!("/objects/Doc/{}", id_str(1)),
            None,
            Some(KEY),
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, ""));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn graphql_errors_come_with_http_200() {
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    http.class(json!({"class": "Doc", "properties": [{"name": "n", "dataType": ["int"]}]}))
        .await;
    http.batch(
        json!([{"class": "Doc", "id": id_str(1), "properties": {"n": 1}, "vector": [1.0, 0.0]}]),
    )
    .await;
    let reply = http
        .graphql("{ Get { Doc(nearVector: {vector: [1, 2, 3]}) { n } } }")
        .await;
    assert_eq!(reply["data"]["Get"]["Doc"], Value::Null);
    let message = reply["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("vector lengths don't match: 3 vs 2"),
        "{message}"
    );
    assert_eq!(reply["errors"][0]["path"], json!(["Get", "Doc"]));
    for (query, needle) in [
        (
            "{ Get { Nope { n } } }",
            "Cannot query field \"Nope\" on type \"GetObjectsObj\".",
        ),
        (
            "{ Get { Doc { missing } } }",
            "Cannot query field \"missing\"",
        ),
        (
            "{ Get { Doc(where: {operator: Not, operands: []}) { n } } }",
            "Expected type \"WhereOperatorEnum\", found Not",
        ),
        (
            "{ Get { Doc(where: {path: [\"n\"], operator: ContainsNone, valueInt: [1]}) { n } } }",
            "found ContainsNone",
        ),
        (
            "{ Get { Doc(where: {path: [\"n\"], operator: IsNull, valueBoolean: true}) { n } } }",
            "Nullstate must be indexed",
        ),
        (
            "{ Get { Doc(where: {path: [\"n\"], operator: Equal, valueText: \"1\"}) { n } } }",
            "cannot use \"valueText\" on type \"int\"",
        ),
        (
            "{ Get { Doc(limit: 10001) { n } } }",
            "query maximum results exceeded",
        ),
        (
            "{ Get { Doc(bogus: 1) { n } } }",
            "Unknown argument \"bogus\"",
        ),
        (
            "{ Get { Doc(nearVector: {vector: [1, 0], distance: 0.1, certainty: 0.9}) { n } } }",
            "both distance and certainty",
        ),
        ("{ Get { Doc( { n } } }", "Syntax Error"),
    ] {
        let reply = http.graphql(query).await;
        let errors = reply["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "{query}: {reply}");
        let message = errors[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let ok = http
        .graphql("{ Aggregate { Doc { meta { count } } } }")
        .await;
    assert_eq!(
        ok,
        json!({"data": {"Aggregate": {"Doc": [{"meta": {"count": 1}}]}}})
    );
}

#[tokio::test]
async fn equal_on_text_matches_tokens_with_word_and_whole_values_with_field() {
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    http.class(json!({"class": "T", "properties": [
        {"name": "w", "dataType": ["text"]},
        {"name": "f", "dataType": ["text"], "tokenization": "field"},
        {"name": "tags", "dataType": ["text[]"], "tokenization": "field"}
    ]}))
    .await;
    let texts = ["alpha beta", "Alpha", " alpha", "alphabet"];
    let objects: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"class": "T", "id": id_str(i), "properties": {"w": t, "f": t, "tags": [t, "x"]}, "vector": [1.0, i as f64]}))
        .collect();
    http.batch(Value::Array(objects)).await;
    let eq = |p: &str, v: &str| format!("{{path: [\"{p}\"], operator: Equal, valueText: \"{v}\"}}");
    assert_eq!(
        http.ids_where("T", &eq("w", "alpha")).await,
        vec![0, 1, 2],
        "word: tokens, lower-cased"
    );
    assert_eq!(
        http.ids_where("T", &eq("w", "beta ALPHA")).await,
        vec![0],
        "word: every token"
    );
    assert_eq!(
        http.ids_where("T", &eq("f", "alpha")).await,
        vec![2],
        "field: whole value, trimmed"
    );
    assert_eq!(
        http.ids_where("T", &eq("f", "Alpha")).await,
        vec![1],
        "field: case kept"
    );
    assert_eq!(
        http.ids_where("T", &eq("tags", "alpha beta")).await,
        vec![0],
        "arrays: any element"
    );
    let any = "{path: [\"tags\"], operator: ContainsAny, valueText: [\"alphabet\", \"Alpha\"]}";
    assert_eq!(http.ids_where("T", any).await, vec![1, 3]);
}

#[tokio::test]
async fn is_null_and_not_equal_follow_the_version() {
    for (version, not_a) in [
        (ServerVersion::new(1, 22, 13), vec![0]),
        (ServerVersion::new(1, 24, 0), vec![2, 3, 4]),
    ] {
        let fake = start(FakeWeaviate::new().with_version(version)).await;
        let http = Http::new(&fake);
        http.class(
            json!({"class": "N", "invertedIndexConfig": {"indexNullState": true}, "properties": [
                {"name": "tags", "dataType": ["text[]"], "tokenization": "field"},
                {"name": "s", "dataType": ["text"], "tokenization": "field"}
            ]}),
        )
        .await;
        let rows = [
            json!({"tags": ["a", "b"], "s": "x"}),
            json!({"tags": ["a"], "s": ""}),
            json!({"tags": []}),
            json!({"tags": null}),
            json!({}),
        ];
        let objects: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"class": "N", "id": id_str(i), "properties": p, "vector": [1.0]}))
            .collect();
        http.batch(Value::Array(objects)).await;
        let not_equal = "{path: [\"tags\"], operator: NotEqual, valueText: \"a\"}";
        assert_eq!(http.ids_where("N", not_equal).await, not_a, "{version}");
        let null = "{path: [\"tags\"], operator: IsNull, valueBoolean: true}";
        assert_eq!(
            http.ids_where("N", null).await,
            vec![2, 3, 4],
            "[] and null are null"
        );
        let empty = "{path: [\"s\"], operator: IsNull, valueBoolean: true}";
        assert_eq!(
            http.ids_where("N", empty).await,
            vec![1, 2, 3, 4],
            "\"\" is null"
        );
    }
}

#[tokio::test]
async fn batch_delete_takes_at_most_limit_per_call() {
    let fake = start(FakeWeaviate::new().with_query_maximum_results(7)).await;
    let http = Http::new(&fake);
    http.class(json!({"class": "Del", "properties": [{"name": "g", "dataType": ["int"]}]}))
        .await;
    let objects: Vec<Value> = (0..20)
        .map(|i| json!({"class": "Del", "id": id_str(i), "properties": {"g": i % 2}, "vector": [1.0]}))
        .collect();
    http.batch(Value::Array(objects)).await;
    let body = |dry: bool, output: &str| json!({"match": {"class": "Del", "where": {"path": ["g"], "operator": "Equal", "valueInt": 0}}, "output": output, "dryRun": dry});
    let (status, reply) = http
        .json(
            Method::DELETE,
            "/batch/objects",
            Some(body(true, "verbose")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["results"]["matches"], 7);
    assert_eq!(reply["results"]["successful"], 0, "dry run deletes nothing");
    assert_eq!(reply["results"]["objects"][0]["status"], "DRYRUN");
    let mut rounds = Vec::new();
    loop {
        let (_, reply) = http
            .json(
                Method::DELETE,
                "/batch/objects",
                Some(body(false, "minimal")),
            )
            .await;
        let results = &reply["results"];
        assert_eq!(results["limit"], 7);
        assert_eq!(results["objects"], json!([]), "minimal lists only failures");
        rounds.push(results["successful"].as_u64().unwrap_or_default());
        if results["matches"] == 0 {
            break;
        }
    }
    assert_eq!(rounds, vec![7, 3, 0]);
    let count = http
        .graphql("{ Aggregate { Del { meta { count } } } }")
        .await;
    assert_eq!(count["data"]["Aggregate"]["Del"][0]["meta"]["count"], 10);
    let (status, body) = http
        .json(Method::DELETE, "/batch/objects", Some(json!({"match": {"class": "Gone", "where": {"path": ["g"], "operator": "Equal", "valueInt": 0}}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Gone"));
}

#[tokio::test]
async fn distances_are_reported_the_way_weaviate_reports_them() {
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    for (class, distance) in [("Cos", "cosine"), ("Dot", "dot"), ("Sq", "l2-squared")] {
        http.class(json!({"class": class, "vectorIndexConfig": {"distance": distance}}))
            .await;
        http.batch(
            json!([{"class": class, "id": id_str(1), "properties": {}, "vector": [3.0, 4.0]}]),
        )
        .await;
    }
    let stored = fake.object_vector("Cos", uuid::Uuid::parse_str(&id_str(1)).expect("uuid"));
    assert_eq!(
        stored,
        Some(vec![0.6, 0.8]),
        "cosine vectors are normalised on import"
    );
    assert_eq!(
        fake.object_vector("Sq", uuid::Uuid::parse_str(&id_str(1)).expect("uuid")),
        Some(vec![3.0, 4.0])
    );
    let distance = |reply: &Value, class: &str| {
        reply["data"]["Get"][class][0]["_additional"]["distance"].as_f64()
    };
    let q = |class: &str| {
        format!("{{ Get {{ {class}(nearVector: {{vector: [1.0, 0.0]}}) {{ _additional {{ distance vector }} }} }} }}")
    };
    let cos = http.graphql(&q("Cos")).await;
    assert!((distance(&cos, "Cos").unwrap_or_default() - 0.4).abs() < 1e-6);
    assert_eq!(
        cos["data"]["Get"]["Cos"][0]["_additional"]["vector"][0]
            .as_f64()
            .map(|x| x as f32),
        Some(0.6)
    );
    assert_eq!(distance(&http.graphql(&q("Dot")).await, "Dot"), Some(-3.0));
    assert_eq!(
        distance(&http.graphql(&q("Sq")).await, "Sq"),
        Some(20.0),
        "squared, not square-rooted"
    );
    let cut = http.graphql("{ Get { Sq(nearVector: {vector: [1.0, 0.0], distance: 19.9}) { _additional { id } } } }").await;
    assert_eq!(cut["data"]["Get"]["Sq"], json!([]));
}

#[tokio::test]
async fn request_bodies_are_checked_against_the_openapi_spec() {
    if let Err(why) = openapi::available() {
        eprintln!("SKIPPED: the OpenAPI check cannot run here: {why}");
        return;
    }
    let fake = start(FakeWeaviate::new()).await;
    let http = Http::new(&fake);
    let (status, body) = http
        .json(
            Method::POST,
            "/schema",
            Some(json!({"class": "Typo", "vectorIndexConfg": {"distance": "dot"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("vectorIndexConfg"),
        "{body}"
    );
    let (status, _) = http
        .json(Method::POST, "/schema", Some(json!({"class": "Tok", "properties": [{"name": "t", "dataType": ["text"], "tokenization": "exact"}]})))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "tokenization is an enum"
    );
    let (status, _) = http
        .json(
            Method::POST,
            "/graphql",
            Some(json!({"query": "{ Get }", "extra": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = http
        .json(
            Method::POST,
            "/batch/objects",
            Some(json!({"objects": [{"class": "X", "id": "not-a-uuid"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "ids are UUIDs");
    assert_eq!(fake.violations().len(), 4, "{:?}", fake.violations());
    // The definitions themselves are read from the spec: a sanity check both ways.
    assert!(openapi::check_definition(
        "Class",
        &json!({"class": "A", "properties": [{"name": "a", "dataType": ["text"]}]})
    )
    .is_ok());
    assert!(openapi::check_definition("Class", &json!({"class": 5})).is_err());
    assert!(
        openapi::check_definition("WhereFilter", &json!({"operator": "Not"})).is_err(),
        "no Not in 1.22.13"
    );
    assert!(
        openapi::check_definition("ErrorResponse", &json!({"error": [{"message": "x"}]})).is_ok()
    );
}

mod grpc {
    use super::*;
    use ai_data_weaviate::proto::{self, filters::TestValue, SearchReply, SearchRequest};
    use tonic::codegen::http::uri::PathAndQuery;

    async fn search(
        fake: &FakeServer,
        request: SearchRequest,
        key: &str,
    ) -> Result<SearchReply, tonic::Status> {
        let channel = tonic::transport::Endpoint::from_shared(fake.grpc_url())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let mut request = tonic::Request::new(request);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {key}").parse().expect("ascii"),
        );
        let codec = tonic_prost::ProstCodec::<SearchRequest, SearchReply>::default();
        grpc.unary(
            request,
            PathAndQuery::from_static(proto::SEARCH_PATH),
            codec,
        )
        .await
        .map(tonic::Response::into_inner)
    }

    async fn loaded(version: ServerVersion) -> FakeServer {
        let fake = start(FakeWeaviate::new().with_version(version)).await;
        let http = Http::new(&fake);
        http.class(
            json!({"class": "G", "vectorIndexConfig": {"distance": "l2-squared"}, "properties": [
                {"name": "t", "dataType": ["text"], "tokenization": "field"},
                {"name": "x", "dataType": ["number"]}
            ]}),
        )
        .await;
        http.batch(json!([
            {"class": "G", "id": id_str(1), "properties": {"t": "one", "x": 1.5}, "vector": [0.0, 1.0]},
            {"class": "G", "id": id_str(2), "properties": {"t": "two", "x": 2.5}, "vector": [0.0, 3.0]}
        ]))
        .await;
        fake
    }

    fn request(props: Option<Vec<&str>>) -> SearchRequest {
        SearchRequest {
            collection: "G".into(),
            properties: props.map(|p| proto::PropertiesRequest {
                non_ref_properties: p.into_iter().map(str::to_owned).collect(),
            }),
            metadata: Some(proto::MetadataRequest {
                uuid: true,
                vector: false,
                distance: true,
                score: false,
            }),
            limit: 5,
            filters: None,
            near_vector: Some(proto::NearVector {
                vector_bytes: ai_data_vector::wire::encode_f32_le(&[0.0, 0.0]),
                ..proto::NearVector::default()
            }),
            uses_123_api: true,
            uses_125_api: true,
            uses_127_api: true,
            ..SearchRequest::default()
        }
    }

    #[tokio::test]
    async fn search_on_1_22_uses_struct_properties_and_float_numbers() {
        let fake = loaded(ServerVersion::PLATFORM).await;
        let reply = search(&fake, request(Some(vec!["t"])), KEY)
            .await
            .expect("search");
        let ids: Vec<&str> = reply
            .results
            .iter()
            .filter_map(|r| r.metadata.as_ref())
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, [id_str(1), id_str(2)]);
        let meta = reply.results[1].metadata.clone().unwrap_or_default();
        assert!(meta.distance_present);
        assert_eq!(meta.distance, 9.0, "l2-squared");
        let props = reply.results[0].properties.clone().unwrap_or_default();
        assert!(props.non_ref_props.is_none(), "1.22: field 1 only");
        assert_eq!(props.text("t"), Some("one"));
        let empty = search(&fake, request(Some(vec![])), KEY)
            .await
            .expect("search");
        let props = empty.results[0].properties.clone().unwrap_or_default();
        assert_eq!(
            props.non_ref_properties.map(|s| s.fields.len()),
            Some(0),
            "empty request: no properties"
        );
        let mut numbers = request(None);
        numbers.filters = Some(proto::Filters {
            operator: proto::Operator::GreaterThan as i32,
            on: vec!["x".into()],
            filters: vec![],
            test_value: Some(TestValue::ValueNumber(2.0)),
        });
        let status = search(&fake, numbers, KEY)
            .await
            .expect_err("double on 1.22");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let status = search(&fake, request(None), "wrong")
            .await
            .expect_err("bad key");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert_eq!(fake.stats().grpc_search, 4);
    }

    #[tokio::test]
    async fn search_on_1_27_uses_typed_properties_and_double_numbers() {
        let fake = loaded(ServerVersion::new(1, 27, 0)).await;
        let mut filtered = request(Some(vec!["t"]));
        filtered.filters = Some(proto::Filters {
            operator: proto::Operator::GreaterThan as i32,
            on: vec!["x".into()],
            filters: vec![],
            test_value: Some(TestValue::ValueNumber(2.0)),
        });
        let reply = search(&fake, filtered, KEY).await.expect("search");
        assert_eq!(reply.results.len(), 1);
        let props = reply.results[0].properties.clone().unwrap_or_default();
        let value = props
            .non_ref_props
            .as_ref()
            .and_then(|p| p.fields.get("t"))
            .and_then(|v| v.kind.clone());
        assert_eq!(value, Some(proto::value::Kind::TextValue("two".into())));
    }

    #[tokio::test]
    async fn vector_bytes_arrive_in_1_22_6_and_unknown_methods_are_unimplemented() {
        let fake = loaded(ServerVersion::new(1, 22, 5)).await;
        let status = search(&fake, request(None), KEY)
            .await
            .expect_err("no vector_bytes before 1.22.6");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let mut old = request(None);
        old.near_vector = Some(proto::NearVector {
            vector: vec![0.0, 0.0],
            ..proto::NearVector::default()
        });
        assert_eq!(
            search(&fake, old, KEY)
                .await
                .expect("packed floats")
                .results
                .len(),
            2
        );

        let channel = tonic::transport::Endpoint::from_shared(fake.grpc_url())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let codec = tonic_prost::ProstCodec::<SearchRequest, SearchReply>::default();
        let status = grpc
            .unary(
                tonic::Request::new(request(None)),
                PathAndQuery::from_static("/weaviate.v1.Weaviate/BatchObjects"),
                codec,
            )
            .await
            .expect_err("unimplemented");
        assert_eq!(status.code(), tonic::Code::Unimplemented);
    }

    /// Ids and scores of a GraphQL `Get` on class `K` with `args`.
    async fn graphql_scores(http: &Http, args: &str) -> Vec<(String, f32)> {
        let reply = http
            .graphql(&format!(
                "{{ Get {{ K(limit: 10, {args}) {{ _additional {{ id score }} }} }} }}"
            ))
            .await;
        let objects = reply["data"]["Get"]["K"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!objects.is_empty(), "{reply}");
        objects
            .iter()
            .map(|o| {
                let a = &o["_additional"];
                let score = a["score"].as_str().and_then(|s| s.parse().ok());
                (
                    a["id"].as_str().unwrap_or("").to_owned(),
                    score.unwrap_or(f32::NAN),
                )
            })
            .collect()
    }

    /// Same ids in the same order, scores equal as `f32`s (GraphQL sends a
    /// decimal string, gRPC a `float`: one rounding apart).
    fn assert_same(a: &[(String, f32)], b: &[(String, f32)], what: &str) {
        let ids = |x: &[(String, f32)]| x.iter().map(|h| h.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(a), ids(b), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x.1 - y.1).abs() <= 1e-6 * x.1.abs().max(1.0),
                "{what}: {a:?} / {b:?}"
            );
        }
    }

    fn scores(reply: &SearchReply) -> Vec<(String, f32)> {
        reply
            .results
            .iter()
            .map(|r| {
                let m = r.metadata.clone().unwrap_or_default();
                assert!(m.score_present, "{m:?}");
                (m.id, m.score)
            })
            .collect()
    }

    #[tokio::test]
    async fn bm25_and_hybrid_over_grpc_score_as_graphql_does() {
        for (version, default_fusion) in [
            (ServerVersion::new(1, 23, 0), "rankedFusion"),
            (ServerVersion::new(1, 25, 0), "relativeScoreFusion"),
        ] {
            let fake = start(FakeWeaviate::new().with_version(version)).await;
            let http = Http::new(&fake);
            http.class(
                json!({"class": "K", "invertedIndexConfig": {"stopwords": {"preset": "none"}},
                "properties": [{"name": "body", "dataType": ["text"], "tokenization": "word"}]}),
            )
            .await;
            http.batch(json!([
                {"class": "K", "id": id_str(1), "properties": {"body": "rust rust database"}, "vector": [1.0, 0.0]},
                {"class": "K", "id": id_str(2), "properties": {"body": "a rust client for the database"}, "vector": [0.0, 1.0]},
                {"class": "K", "id": id_str(3), "properties": {"body": "vector search"}, "vector": [0.7, 0.7]}
            ]))
            .await;
            let base = SearchRequest {
                collection: "K".into(),
                metadata: Some(proto::MetadataRequest {
                    uuid: true,
                    score: true,
                    ..Default::default()
                }),
                limit: 10,
                uses_123_api: true,
                ..SearchRequest::default()
            };
            let bm25 = SearchRequest {
                bm25_search: Some(proto::Bm25 {
                    query: "Rust database".into(),
                    properties: vec!["body".into()],
                }),
                ..base.clone()
            };
            let over_grpc = scores(&search(&fake, bm25, KEY).await.expect("bm25"));
            let over_graphql = graphql_scores(
                &http,
                r#"bm25: {query: "Rust database", properties: ["body"]}"#,
            )
            .await;
            assert_eq!(over_grpc.len(), 2, "{over_grpc:?}");
            assert_same(&over_grpc, &over_graphql, "bm25");
            assert!(
                over_grpc[0].1 > over_grpc[1].1 && over_grpc[0].0 == id_str(1),
                "{over_grpc:?}"
            );

            let vector = ai_data_vector::wire::encode_f32_le(&[0.0, 1.0]);
            for (fusion, name) in [
                (proto::FusionType::Ranked, "rankedFusion"),
                (proto::FusionType::RelativeScore, "relativeScoreFusion"),
                (proto::FusionType::Unspecified, default_fusion),
            ] {
                let hybrid = SearchRequest {
                    hybrid_search: Some(proto::Hybrid {
                        query: "rust".into(),
                        properties: vec!["body".into()],
                        alpha: 0.4,
                        fusion_type: fusion as i32,
                        vector_bytes: vector.clone(),
                        ..proto::Hybrid::default()
                    }),
                    ..base.clone()
                };
                let over_grpc = scores(&search(&fake, hybrid, KEY).await.expect("hybrid"));
                let over_graphql = graphql_scores(
                    &http,
                    &format!(r#"hybrid: {{query: "rust", alpha: 0.4, vector: [0.0, 1.0], properties: ["body"], fusionType: {name}}}"#),
                )
                .await;
                assert_eq!(over_grpc.len(), 3, "{version}: {fusion:?}");
                assert_same(&over_grpc, &over_graphql, &format!("{version}: {fusion:?}"));
            }
            let both = SearchRequest {
                bm25_search: Some(proto::Bm25 {
                    query: "rust".into(),
                    properties: Vec::new(),
                }),
                near_vector: Some(proto::NearVector {
                    vector_bytes: vector.clone(),
                    ..Default::default()
                }),
                ..base.clone()
            };
            let status = search(&fake, both, KEY)
                .await
                .expect_err("two searches at once");
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
        }
    }
}
