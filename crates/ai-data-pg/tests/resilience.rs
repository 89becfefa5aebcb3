//! Server restarts and read replicas, on private clusters (a shared test
//! server cannot be restarted or replicated under other tests' feet); the
//! workload is plain SQL on tables of the tests' own.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_core::{ConnectionUrl, ErrorKind, HealthCheck, RetryPolicy};
use ai_data_pg::{map_sqlx, PgConfig, PgDatabase, ReadFrom, SqlxResultExt};
use ai_data_testkit::PgCluster;

/// Names are unique, as the platform's group names: a write whose commit
/// landed but whose answer was lost is a `Conflict` when retried.
const GROUPS: &str =
    "CREATE TABLE groups (id SERIAL PRIMARY KEY, name VARCHAR(150) UNIQUE NOT NULL)";
const USERS: &str =
    "CREATE TABLE users (id SERIAL PRIMARY KEY, username VARCHAR(150) UNIQUE NOT NULL)";

async fn create_group(db: &PgDatabase, name: &str) -> ai_data_core::Result<i32> {
    sqlx::query_scalar("INSERT INTO groups (name) VALUES ($1) RETURNING id")
        .bind(name)
        .fetch_one(db.primary())
        .await
        .op("groups.create", "groups")
}

/// The first ten user ids, from where `from` says (a lag-tolerant list).
async fn list_users(db: &PgDatabase, from: ReadFrom) -> ai_data_core::Result<Vec<i32>> {
    db.read(from, |pool| async move {
        sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 10")
            .fetch_all(&pool)
            .await
            .op("users.list", "users")
    })
    .await
}

/// Poll `check` until it holds or `within` passes.
async fn wait_for(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_survives_a_server_restart_and_loses_no_acknowledged_write() {
    let Some(cluster) = PgCluster::start(true) else {
        return;
    };
    let mut config = PgConfig::from_url(&cluster.url()).expect("url");
    config.connection.pool.max_size = 4;
    config.connection.pool.acquire_timeout = Duration::from_secs(2);
    let db = PgDatabase::connect(&config)
        .await
        .expect("connect")
        .with_retry(
            RetryPolicy::default()
                .with_min_delay(Duration::from_millis(20))
                .with_deadline(Duration::from_secs(30)),
        );
    common::execute(&db, &[GROUPS]).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, acknowledged, stop) = (db.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0_u32;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("g{i}");
                let result = db.write(|| create_group(&db, &name)).await;
                match result {
                    Ok(_) => acknowledged.lock().expect("lock").push(name),
                    // The commit landed but its answer was lost; the retry found it there.
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        acknowledged.lock().expect("lock").push(name)
                    }
                    Err(e) => panic!("write {i} failed after retries: {e:?}"),
                }
                i += 1;
            }
        })
    };
    let count = |a: &Arc<Mutex<Vec<String>>>| a.lock().expect("lock").len();
    assert!(
        wait_for(Duration::from_secs(20), || count(&acknowledged) >= 20).await,
        "writes before restart"
    );

    let before = count(&acknowledged);
    let restarted_at = Instant::now();
    let c = &cluster;
    tokio::task::block_in_place(|| c.restart());
    assert!(
        wait_for(Duration::from_secs(15), || count(&acknowledged)
            >= before + 20)
        .await,
        "writes did not resume within 15 s of the restart; server log:\n{}",
        cluster.log()
    );
    let recovered_in = restarted_at.elapsed();
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer task");

    let names = acknowledged.lock().expect("lock").clone();
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM groups WHERE name = ANY($1)")
        .bind(&names)
        .fetch_one(db.primary())
        .await
        .expect("count");
    assert_eq!(
        present as usize,
        names.len(),
        "every acknowledged write survived the restart"
    );
    eprintln!(
        "{} writes acknowledged; writes resumed {recovered_in:?} after the restart began",
        names.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_writes_to_the_primary_and_a_dead_replica_falls_back() {
    let Some(primary) = PgCluster::start(false) else {
        return;
    };
    let replica = tokio::task::block_in_place(|| primary.start_replica());
    let config = PgConfig::from_url(&primary.url())
        .expect("url")
        .with_replica(ConnectionUrl::parse(&replica.url()).expect("replica url"));
    let db = PgDatabase::connect(&config).await.expect("connect");
    common::execute(&db, &[GROUPS, USERS]).await;

    let in_recovery = |from| {
        db.read(from, |pool| async move {
            sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
                .fetch_one(&pool)
                .await
                .map_err(|e| map_sqlx(e, "recovery", "-"))
        })
    };
    assert!(
        in_recovery(ReadFrom::Replica).await.expect("replica read"),
        "lag-tolerant reads hit the replica"
    );
    assert!(
        !in_recovery(ReadFrom::Primary).await.expect("primary read"),
        "forced reads hit the primary"
    );

    // Writes go to the primary and reach the replica by streaming replication.
    let created: i32 =
        sqlx::query_scalar("INSERT INTO users (username) VALUES ('replicated') RETURNING id")
            .fetch_one(db.primary())
            .await
            .op("users.create", "users")
            .expect("write on primary");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = list_users(&db, ReadFrom::Replica)
            .await
            .expect("list from replica");
        if seen.contains(&created) {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never saw the write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Read-your-writes through the primary is immediate.
    assert!(list_users(&db, ReadFrom::Primary)
        .await
        .expect("list")
        .contains(&created));

    // The replica refuses writes.
    let err = sqlx::query("INSERT INTO groups (name) VALUES ('on-replica')")
        .execute(&db.replicas()[0])
        .await
        .map_err(|e| map_sqlx(e, "insert", "groups"))
        .expect_err("a replica is read-only");
    assert!(err.message().contains("read-only"), "{err}");

    // A replica that goes down: reads fall back to the primary.
    tokio::task::block_in_place(|| replica.stop());
    let started = Instant::now();
    let listed = list_users(&db, ReadFrom::Replica)
        .await
        .expect("read falls back to the primary");
    assert!(listed.contains(&created));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "fallback took {:?}",
        started.elapsed()
    );
    assert!(
        !in_recovery(ReadFrom::Replica).await.expect("fallback read"),
        "served by the primary now"
    );
    let report = db.check().await.expect("health");
    assert!(
        report.details["replica[0]"].starts_with("down"),
        "{report:?}"
    );
}
