//! One smoke test per store, through the testkit: proves that the local (or
//! containerised) server answers the way the store crates rely on.

#[cfg(feature = "pg")]
#[tokio::test]
async fn postgres_has_pgvector_0_8_or_newer() {
    let Some(db) = ai_data_testkit::pg().await else {
        return;
    };
    let version: String =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            .fetch_one(&db.pool)
            .await
            .expect("vector extension installed");
    let mut parts = version
        .split('.')
        .map(|p| p.parse::<u32>().expect("numeric version"));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    assert!(
        (major, minor) >= (0, 8),
        "pgvector {version} is older than 0.8"
    );

    // The database really is the test's own and usable for vectors.
    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&db.pool)
        .await
        .expect("query");
    assert_eq!(current, db.database);
    let distance: f64 = sqlx::query_scalar("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector")
        .fetch_one(&db.pool)
        .await
        .expect("cosine distance");
    assert!((distance - 1.0).abs() < 1e-9, "{distance}");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_authenticates_and_answers_ping() {
    use fred::prelude::*;
    let Some(redis) = ai_data_testkit::redis().await else {
        return;
    };
    let pong: String = redis.client.ping(None).await.expect("PING");
    assert_eq!(pong, "PONG");

    // AUTH really is enforced: the same server without the password refuses commands.
    let mut anonymous = Config::from_url(&redis.url).expect("url");
    anonymous.password = None;
    anonymous.username = None;
    let client = Builder::from_config(anonymous).build().expect("client");
    let refused = client.init().await;
    assert!(
        refused.is_err(),
        "server accepted a client without a password"
    );

    let key = redis.key("smoke");
    let _: () = redis
        .client
        .set(&key, "v", None, None, false)
        .await
        .expect("SET");
    let back: Option<String> = redis.client.get(&key).await.expect("GET");
    assert_eq!(back.as_deref(), Some("v"));
}

#[cfg(feature = "mongo")]
#[tokio::test]
async fn mongo_pings_and_round_trips_a_document() {
    use mongodb::bson::{doc, Document};
    let Some(mongo) = ai_data_testkit::mongo().await else {
        return;
    };
    let pong = mongo
        .client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await
        .expect("ping");
    assert_eq!(
        pong.get_f64("ok")
            .ok()
            .or_else(|| pong.get_i32("ok").ok().map(f64::from)),
        Some(1.0)
    );

    let logs = mongo.db().collection::<Document>("system_logs");
    let inserted = logs
        .insert_one(doc! { "level": "INFO", "service": "smoke", "message": "héllo \"quoted\"" })
        .await
        .expect("insert");
    let found = logs
        .find_one(doc! { "_id": inserted.inserted_id.clone() })
        .await
        .expect("find")
        .expect("document is there");
    assert_eq!(
        found.get_str("message").expect("message"),
        "héllo \"quoted\""
    );
    assert_eq!(logs.count_documents(doc! {}).await.expect("count"), 1);
}

#[cfg(feature = "kafka")]
#[tokio::test]
async fn kafka_lists_the_broker_and_round_trips_one_message() {
    use std::time::Duration;

    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = kafka.topic("smoke");

    let admin: AdminClient<DefaultClientContext> = kafka.client_config().create().expect("admin");
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let producer: FutureProducer = kafka
        .client_config()
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    let metadata = producer
        .client()
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    assert!(!metadata.brokers().is_empty(), "metadata lists no broker");
    let brokers: Vec<String> = metadata
        .brokers()
        .iter()
        .map(|b| format!("{}:{}", b.host(), b.port()))
        .collect();
    assert!(
        brokers.iter().any(|b| kafka.brokers.contains(b.as_str())),
        "{brokers:?}"
    );

    let headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
        key: "content-type",
        value: Some("application/json"),
    });
    let delivery = producer
        .send(
            FutureRecord::to(&topic)
                .key("k1")
                .payload("{\"n\":1}")
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("delivered");
    assert_eq!(delivery.partition, 0);
    let offset = delivery.offset;

    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", kafka.topic("group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("a message within 30 s")
        .expect("no consumer error");
    assert_eq!(message.offset(), offset);
    assert_eq!(message.key(), Some(&b"k1"[..]));
    assert_eq!(message.payload(), Some(&b"{\"n\":1}"[..]));
    let header = message.headers().expect("headers").get(0);
    assert_eq!(header.key, "content-type");
    assert_eq!(header.value, Some(&b"application/json"[..]));
}
