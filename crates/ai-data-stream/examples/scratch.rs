#![allow(clippy::unwrap_used, missing_docs)]
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let parts: i32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let total: u32 = std::env::args().nth(2).unwrap().parse().unwrap();
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("t", parts, 2).unwrap();
    let bs = cluster.bootstrap_servers();
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .create()
        .unwrap();
    let payload = vec![b'x'; 1000];
    let mut futs = Vec::new();
    for i in 0..total {
        let k = format!("dataset-{}", i % 64);
        loop {
            match p.send_result(FutureRecord::to("t").key(&k).payload(&payload)) {
                Ok(f) => {
                    futs.push(f);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    for f in futs {
        f.await.unwrap().unwrap();
    }
    let b: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .create()
        .unwrap();
    let mut low = 0;
    let mut high = 0;
    let mut empty = 0;
    for part in 0..parts {
        let (l, h) = b
            .fetch_watermarks("t", part, Duration::from_secs(5))
            .unwrap();
        low += l;
        high += h;
        if h == 0 {
            empty += 1;
        }
    }
    println!("low sum {low} high sum {high} empty partitions {empty}");
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("group.id", "g")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&["t"]).unwrap();
    let mut n = 0;
    let start = Instant::now();
    while n < (high - low) {
        match tokio::time::timeout(Duration::from_secs(5), c.recv()).await {
            Ok(_) => n += 1,
            Err(_) => {
                println!("stalled at {n}");
                return;
            }
        }
    }
    println!("read {n} in {:?}", start.elapsed());
}
