//! Server restarts and read replicas, on private clusters (a shared test
//! server cannot be restarted or replicated under other tests' feet).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_core::{ConnectionUrl, ErrorKind, HealthCheck, RetryPolicy};
use ai_data_pg::{map_sqlx, GroupRepo, NewUser, PgConfig, PgDatabase, ReadFrom, UserRepo};
use ai_data_testkit::PgCluster;

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
    db.migrate().await.expect("migrate");
    let groups = GroupRepo::new(db.clone());

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, groups, acknowledged, stop) = (
            db.clone(),
            groups.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0_u32;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("g{i}");
                let result = db.write(|| groups.create(&name, None)).await;
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
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.groups WHERE name = ANY($1)")
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
    db.migrate().await.expect("migrate");

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
    let users = UserRepo::new(db.clone());
    let created = users
        .create(NewUser::new("replicated", "r@example.com", "pw"))
        .await
        .expect("write on primary");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = users.list(None, 10).await.expect("list from replica");
        if seen.iter().any(|u| u.id == created.id) {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never saw the write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Read-your-writes through the primary is immediate.
    let primary_users = UserRepo::new(db.clone()).primary_only();
    assert!(primary_users
        .list(None, 10)
        .await
        .expect("list")
        .iter()
        .any(|u| u.id == created.id));

    // The replica refuses writes.
    let err = sqlx::query("INSERT INTO auth.groups (name) VALUES ('on-replica')")
        .execute(&db.replicas()[0])
        .await
        .map_err(|e| map_sqlx(e, "insert", "auth.groups"))
        .expect_err("a replica is read-only");
    assert!(err.message().contains("read-only"), "{err}");

    // A replica that goes down: reads fall back to the primary.
    tokio::task::block_in_place(|| replica.stop());
    let started = Instant::now();
    let listed = users
        .list(None, 10)
        .await
        .expect("read falls back to the primary");
    assert!(listed.iter().any(|u| u.id == created.id));
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
