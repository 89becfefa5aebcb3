//! Encoding one 1536-d k-NN request for Weaviate (with a two-condition
//! filter): the GraphQL `Get` as the JSON body of `POST /v1/graphql`
//! against the gRPC `SearchRequest` bytes (goals: JSON <= 70 us, gRPC <= 5
//! us); and a whole search round trip through `WeaviateStore` against the
//! in-process contract fake, over each transport.
//!
//! Run: `cargo bench --features weaviate-grpc --bench encode_weaviate`.

use std::hint::black_box;
use std::time::Duration;

use ai_data::vector::{
    CollectionSpec, FieldKind, Filter, Metric, Record, RecordId, SearchQuery, VectorStore,
};
use ai_data::weaviate::filter::{Leaf, Operator, Where, WhereValue};
use ai_data::weaviate::graphql::{request_body, Additional, GetQuery};
use ai_data::weaviate::grpc::{encode_search_request, SearchParts};
use ai_data::weaviate::{GrpcMode, ServerVersion, WeaviateStore};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DIM: usize = 1536;

fn vector(rng: &mut StdRng) -> Vec<f32> {
    (0..DIM)
        .map(|_| rng.random_range(-1.0_f32..1.0) / (DIM as f32).sqrt())
        .collect()
}

fn encode(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let query = vector(&mut rng);
    let filter = Where::And(vec![
        Where::Leaf(Leaf {
            path: "lang".into(),
            operator: Operator::Equal,
            value: WhereValue::Text("en".into()),
        }),
        Where::Leaf(Leaf {
            path: "publishedAt".into(),
            operator: Operator::GreaterThan,
            value: WhereValue::Date("2023-01-01T00:00:00Z".into()),
        }),
    ]);
    let graphql = || {
        let text = GetQuery {
            class: "Document",
            limit: 10,
            near_vector: Some((&query, Some(0.35))),
            filter: Some(&filter),
            properties: &["_payload"],
            additional: Additional {
                id: true,
                distance: true,
                vector: false,
            },
        }
        .to_query()
        .unwrap_or_default();
        request_body(&text)
    };
    let parts = SearchParts {
        class: "Document",
        vector: &query,
        limit: 10,
        filter: Some(&filter),
        distance: Some(0.35),
        payload: true,
        vector_blob: false,
        metadata_vector: false,
        keyword: None,
    };
    let grpc = || encode_search_request(&parts, ServerVersion::PLATFORM);
    println!(
        "one {DIM}-d k-NN request: {} bytes as GraphQL JSON, {} bytes as gRPC",
        graphql().len(),
        grpc().len()
    );
    let mut group = c.benchmark_group("weaviate_request_1536d");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("graphql_json", |b| b.iter(|| black_box(graphql())));
    group.bench_function("grpc_bytes", |b| b.iter(|| black_box(grpc())));
    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let mut rng = StdRng::seed_from_u64(11);
    let records: Vec<Record> = (0..1000)
        .map(|i| {
            let payload = serde_json::json!({"lang": if i % 2 == 0 { "en" } else { "de" }, "i": i});
            Record::new(
                RecordId::from_key(&format!("bench-{i}")),
                vector(&mut rng),
                payload.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let query = SearchQuery::new(vector(&mut rng), 10).with_filter(Filter::eq("lang", "en"));
    let (fake, stores) = rt.block_on(async {
        let fake = match ai_data_weaviate_fake::FakeWeaviate::new().start().await {
            Ok(fake) => fake,
            Err(e) => panic!("fake: {e}"),
        };
        let mut stores = Vec::new();
        for mode in [GrpcMode::Off, GrpcMode::Auto] {
            match WeaviateStore::connect(&fake.config().with_grpc(mode)).await {
                Ok(store) => stores.push(store),
                Err(e) => panic!("connect: {e}"),
            }
        }
        let spec =
            CollectionSpec::new("bench", DIM, Metric::Cosine).with_field("lang", FieldKind::Text);
        let setup = async {
            stores[0].ensure_collection(&spec).await?;
            stores[0].upsert("bench", &records).await
        };
        if let Err(e) = setup.await {
            panic!("load: {e}");
        }
        (fake, stores)
    });
    let mut group = c.benchmark_group("weaviate_search_round_trip_fake");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(30);
    for (store, label) in stores.iter().zip(["graphql", "grpc"]) {
        group.bench_function(format!("{label}/1000x{DIM}/k10_filtered"), |b| {
            b.iter(|| {
                let hits = rt.block_on(store.search("bench", &query));
                black_box(hits.map(|h| h.len()).unwrap_or_default())
            })
        });
    }
    group.finish();
    println!(
        "searches: GraphQL {:?}, gRPC {:?} (fake saw {} gRPC searches)",
        stores[0].search_counts(),
        stores[1].search_counts(),
        fake.stats().grpc_search
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = encode, round_trip
}
criterion_main!(benches);
