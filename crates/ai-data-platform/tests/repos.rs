//! Every repository method against a live, migrated database.

mod common;

use ai_data_core::ErrorKind;
use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_platform::pg::{
    bootstrap_admin, ConnectionInfo, DataSourceRepo, GroupRepo, ModelRepo, NewDataSource, NewModel,
    NewModelVersion, NewTextEmbedding, NewUser, TextEmbeddingRepo, UserRepo, UserUpdate,
    TEXT_EMBEDDING_DIM,
};
use common::{unit_vector, NASTY};

#[tokio::test]
async fn users_create_verify_lookup_update_deactivate_list() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let users = UserRepo::new(db.clone());
    let mut new = NewUser::new(format!("{NASTY}-u"), "nasty@example.com", "pa'ss\"word 😀");
    new.first_name = Some(NASTY.to_owned());
    new.last_name = Some("中文".to_owned());
    new.organization_id = Some(42);
    let alice = users.create(new).await.expect("create");
    assert_eq!(alice.username, format!("{NASTY}-u"));
    assert_eq!(alice.first_name.as_deref(), Some(NASTY));
    assert_eq!(alice.last_name.as_deref(), Some("中文"));
    assert!(alice.is_active && !alice.is_superuser);

    let hash: String = sqlx::query_scalar("SELECT password_hash FROM auth.users WHERE id = $1")
        .bind(alice.id)
        .fetch_one(db.primary())
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    assert!(users
        .verify(&alice.username, "wrong")
        .await
        .expect("verify")
        .is_none());
    let logged_in = users
        .verify(&alice.username, "pa'ss\"word 😀")
        .await
        .expect("verify")
        .expect("match");
    assert!(logged_in.last_login.is_some());
    assert!(users.verify("nobody", "x").await.expect("verify").is_none());

    assert_eq!(
        users.get(alice.id).await.expect("get").email,
        "nasty@example.com"
    );
    assert_eq!(
        users
            .get_by_username(&alice.username)
            .await
            .expect("by name")
            .id,
        alice.id
    );
    assert_eq!(
        users
            .get_by_email("nasty@example.com")
            .await
            .expect("by email")
            .id,
        alice.id
    );
    assert_eq!(
        users.get(999_999).await.expect_err("absent").kind(),
        ErrorKind::NotFound
    );

    let mut update = UserUpdate::default();
    update.email = Some("new@example.com".into());
    update.organization_id = Some(7);
    let updated = users.update(alice.id, update).await.expect("update");
    assert_eq!(
        (updated.email.as_str(), updated.organization_id),
        ("new@example.com", Some(7))
    );
    assert_eq!(
        updated.first_name.as_deref(),
        Some(NASTY),
        "untouched fields kept"
    );
    assert!(updated.updated_at >= alice.updated_at);

    users
        .set_password(alice.id, "another one")
        .await
        .expect("set password");
    assert!(users
        .verify(&alice.username, "another one")
        .await
        .expect("verify")
        .is_some());

    users.deactivate(alice.id).await.expect("deactivate");
    assert!(users
        .verify(&alice.username, "another one")
        .await
        .expect("verify")
        .is_none());
    assert_eq!(
        users.deactivate(999_999).await.expect_err("absent").kind(),
        ErrorKind::NotFound
    );

    for i in 0..5 {
        users
            .create(NewUser::new(
                format!("user{i}"),
                format!("u{i}@example.com"),
                "pw",
            ))
            .await
            .expect("create");
    }
    let first = users.list(None, 4).await.expect("page 1");
    let second = users
        .list(first.last().map(|u| u.id), 4)
        .await
        .expect("page 2");
    assert_eq!((first.len(), second.len()), (4, 2));
    let mut ids: Vec<i32> = first.iter().chain(&second).map(|u| u.id).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s.dedup();
        s
    };
    assert_eq!(ids, sorted, "keyset pages are ordered and disjoint");
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn bad_user_input_is_rejected_before_the_database() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let users = UserRepo::new(db);
    for bad in [
        NewUser::new("", "a@b.c", "pw"),
        NewUser::new("x", "no-at-sign", "pw"),
        NewUser::new("x", "a@b.c", ""),
    ] {
        assert_eq!(
            users.create(bad).await.expect_err("bad").kind(),
            ErrorKind::InvalidInput
        );
    }
    assert!(!format!("{:?}", NewUser::new("x", "a@b.c", "visible?")).contains("visible?"));
}

#[tokio::test]
async fn groups_membership_and_permissions() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let users = UserRepo::new(db.clone());
    let groups = GroupRepo::new(db.clone());
    let u = users
        .create(NewUser::new("member", "m@example.com", "pw"))
        .await
        .expect("user");
    let other = users
        .create(NewUser::new("other", "o@example.com", "pw"))
        .await
        .expect("user");
    let g = groups.create(NASTY, Some(NASTY)).await.expect("group");
    assert_eq!(
        groups.get(g.id).await.expect("get").description.as_deref(),
        Some(NASTY)
    );
    assert_eq!(
        groups.create(NASTY, None).await.expect_err("dup").kind(),
        ErrorKind::Conflict
    );

    groups.add_member(g.id, u.id).await.expect("add");
    groups
        .add_member(g.id, u.id)
        .await
        .expect("add twice is fine");
    assert_eq!(
        groups
            .add_member(g.id, 999_999)
            .await
            .expect_err("fk")
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        groups
            .members(g.id)
            .await
            .expect("members")
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        [u.id]
    );
    assert_eq!(
        groups
            .groups_of(u.id)
            .await
            .expect("groups")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [g.id]
    );

    assert!(!groups
        .user_has_permission(u.id, "models.deploy")
        .await
        .expect("check"));
    groups
        .grant_to_group(g.id, "models.deploy")
        .await
        .expect("grant");
    groups
        .grant_to_group(g.id, "models.deploy")
        .await
        .expect("grant twice is fine");
    assert!(groups
        .user_has_permission(u.id, "models.deploy")
        .await
        .expect("check"));
    assert!(!groups
        .user_has_permission(other.id, "models.deploy")
        .await
        .expect("check"));

    groups
        .grant_to_user(other.id, "data.read")
        .await
        .expect("grant user");
    assert!(groups
        .user_has_permission(other.id, "data.read")
        .await
        .expect("check"));
    assert!(groups
        .revoke_from_user(other.id, "data.read")
        .await
        .expect("revoke"));
    assert!(!groups
        .user_has_permission(other.id, "data.read")
        .await
        .expect("check"));

    assert!(groups.remove_member(g.id, u.id).await.expect("remove"));
    assert!(!groups
        .user_has_permission(u.id, "models.deploy")
        .await
        .expect("check"));
    groups.add_member(g.id, u.id).await.expect("re-add");
    users.deactivate(u.id).await.expect("deactivate");
    assert!(!groups
        .user_has_permission(u.id, "models.deploy")
        .await
        .expect("inactive holds nothing"));
    assert!(groups
        .revoke_from_group(g.id, "models.deploy")
        .await
        .expect("revoke"));
    assert!(!groups
        .revoke_from_group(g.id, "models.deploy")
        .await
        .expect("revoke again"));
}

#[tokio::test]
async fn bootstrap_admin_creates_a_superuser_once() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    assert_eq!(
        bootstrap_admin(&db, "admin", "admin@example.com", "admin123")
            .await
            .expect_err("weak")
            .kind(),
        ErrorKind::InvalidInput
    );
    let admin = bootstrap_admin(&db, "admin", "admin@example.com", "a long enough secret")
        .await
        .expect("admin");
    assert!(admin.is_superuser);
    assert!(GroupRepo::new(db.clone())
        .user_has_permission(admin.id, "anything.at.all")
        .await
        .expect("check"));
    let again = bootstrap_admin(&db, "admin", "admin@example.com", "another long secret").await;
    assert_eq!(again.expect_err("exists").kind(), ErrorKind::Conflict);
    let users = UserRepo::new(db);
    assert!(
        users
            .verify("admin", "a long enough secret")
            .await
            .expect("verify")
            .is_some(),
        "password kept"
    );
}

#[tokio::test]
async fn data_sources_keep_connection_info_out_of_debug() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let sources = DataSourceRepo::new(db.clone()).primary_only();
    let info = serde_json::json!({"host": "db", "password": "pg-secret-77", "note": NASTY});
    let mut new = NewDataSource::new(NASTY, "postgres", info.clone());
    new.description = Some(NASTY.into());
    let created = sources.create(new).await.expect("create");
    assert_eq!(created.connection_info.0.expose(), &info);
    assert_eq!(created.name, NASTY);
    let shown = format!("{created:?}");
    assert!(!shown.contains("pg-secret-77"), "{shown}");

    let got = sources.get(created.id).await.expect("get");
    assert_eq!(got.connection_info.0.expose(), &info);
    let updated = sources
        .update_connection_info(
            created.id,
            ConnectionInfo::new(serde_json::json!({"host": "db2"})),
        )
        .await
        .expect("update");
    assert_eq!(updated.connection_info.0.expose()["host"], "db2");
    let bad = NewDataSource::new("x", "s3", serde_json::json!([1, 2]));
    assert_eq!(
        sources.create(bad).await.expect_err("not an object").kind(),
        ErrorKind::InvalidInput
    );

    let second = sources
        .create(NewDataSource::new("b", "s3", serde_json::json!({})))
        .await
        .expect("second");
    assert_eq!(sources.list(None, 10).await.expect("list").len(), 2);
    assert!(sources.deactivate(created.id).await.expect("deactivate"));
    let listed: Vec<i32> = sources
        .list(None, 10)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [second.id]);
}

#[tokio::test]
async fn models_register_version_and_latest() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let models = ModelRepo::new(db.clone()).primary_only();
    let mut new = NewModel::new(NASTY, "pytorch");
    new.use_case = Some("检索 ranking".into());
    let m = models.register(new).await.expect("register");
    assert_eq!(models.get_by_name(NASTY).await.expect("get").id, m.id);
    assert_eq!(
        models
            .register(NewModel::new(NASTY, "onnx"))
            .await
            .expect_err("dup")
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        models.latest(m.id).await.expect_err("no versions").kind(),
        ErrorKind::NotFound
    );

    let v1 = models
        .add_version(
            m.id,
            NewModelVersion::new("1.0", serde_json::json!({"acc": 0.9})),
        )
        .await
        .expect("v1");
    let v2 = models
        .add_version(
            m.id,
            NewModelVersion::new("1.1", serde_json::json!({"acc": 0.93, "note": NASTY})),
        )
        .await
        .expect("v2");
    assert_eq!(
        models
            .add_version(m.id, NewModelVersion::new("1.0", serde_json::json!({})))
            .await
            .expect_err("dup")
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        models
            .add_version(999_999, NewModelVersion::new("1", serde_json::json!({})))
            .await
            .expect_err("fk")
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(models.latest(m.id).await.expect("latest").id, v2.id);
    let versions: Vec<i32> = models
        .versions(m.id)
        .await
        .expect("versions")
        .iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(versions, [v2.id, v1.id]);
    assert_eq!(
        models.versions(m.id).await.expect("versions")[0].metrics.0["note"],
        NASTY
    );
}

#[tokio::test]
async fn embeddings_insert_search_and_delete() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let repo = TextEmbeddingRepo::new(db.clone()).primary_only();
    let rows: Vec<NewTextEmbedding> = (0..3)
        .map(|i| {
            NewTextEmbedding::new(
                1,
                format!("r{i}"),
                format!("{NASTY} {i}"),
                unit_vector(TEXT_EMBEDDING_DIM, i, 0.0),
            )
        })
        .chain((0..2).map(|i| {
            NewTextEmbedding::new(
                2,
                format!("s{i}"),
                "other",
                unit_vector(TEXT_EMBEDDING_DIM, i, 0.1),
            )
        }))
        .collect();
    let ids = repo.insert_batch(&rows).await.expect("insert");
    assert_eq!(ids.len(), 5);
    assert_eq!(
        repo.insert_batch(&[])
            .await
            .expect("empty batch is a no-op"),
        Vec::<i32>::new()
    );

    let query = unit_vector(TEXT_EMBEDDING_DIM, 1, 0.05);
    let hits = repo.search(&query, 3, None).await.expect("search");
    assert_eq!(hits.len(), 3);
    assert!(
        hits.windows(2).all(|w| w[0].distance <= w[1].distance),
        "nearest first"
    );
    assert!(
        hits[0].row.record_id.as_deref() == Some("r1")
            || hits[0].row.record_id.as_deref() == Some("s1")
    );

    let in_dataset = repo
        .search(&query, 10, Some(1))
        .await
        .expect("filtered search");
    assert_eq!(in_dataset.len(), 3);
    assert!(in_dataset.iter().all(|h| h.row.dataset_id == Some(1)));
    assert_eq!(in_dataset[0].row.record_id.as_deref(), Some("r1"));
    assert_eq!(
        in_dataset[0].row.text_content.as_deref(),
        Some(format!("{NASTY} 1").as_str())
    );

    // Bad vectors are rejected before anything is written.
    let mut nan = unit_vector(TEXT_EMBEDDING_DIM, 0, 0.0);
    nan[5] = f32::NAN;
    let batch = vec![
        NewTextEmbedding::new(3, "ok", "fine", unit_vector(TEXT_EMBEDDING_DIM, 0, 0.0)),
        NewTextEmbedding::new(3, "bad", "nan", nan.clone()),
    ];
    let err = repo.insert_batch(&batch).await.expect_err("NaN");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("row 1"), "{err}");
    let short = vec![NewTextEmbedding::new(3, "short", "x", vec![0.5; 3])];
    let err = repo.insert_batch(&short).await.expect_err("dimension");
    assert!(err.message().contains("1536"), "{err}");
    assert_eq!(
        repo.count_by_dataset(3).await.expect("count"),
        0,
        "nothing written"
    );
    assert_eq!(
        repo.search(&nan, 3, None)
            .await
            .expect_err("NaN query")
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        repo.search(&[1.0; 8], 3, None)
            .await
            .expect_err("short query")
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        repo.search(&query, 0, None)
            .await
            .expect_err("k = 0")
            .kind(),
        ErrorKind::InvalidInput
    );

    assert_eq!(repo.delete_by_dataset(1).await.expect("delete"), 3);
    assert_eq!(repo.count_by_dataset(1).await.expect("count"), 0);
    assert_eq!(repo.count_by_dataset(2).await.expect("count"), 2);
}

#[tokio::test]
async fn bulk_insert_of_two_thousand_rows_in_chunks() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let repo = TextEmbeddingRepo::new(db).primary_only();
    let rows: Vec<NewTextEmbedding> = (0..2_000)
        .map(|i| {
            NewTextEmbedding::new(
                9,
                format!("r{i}"),
                "t",
                unit_vector(TEXT_EMBEDDING_DIM, i, 0.3),
            )
        })
        .collect();
    let ids = repo.insert_batch(&rows).await.expect("insert");
    assert_eq!(ids.len(), 2_000);
    assert_eq!(repo.count_by_dataset(9).await.expect("count"), 2_000);
}

/// Issue 13: `k` above pgvector's default `hnsw.ef_search` (40) must still
/// give `k` hits when the HNSW index serves the search, with and without a
/// dataset filter. The test's database plans with `enable_seqscan = off`,
/// so the index serves a table this small (the plan is checked).
#[tokio::test]
async fn embeddings_search_returns_k_above_forty_through_the_hnsw_index() {
    let Some((t, db)) = common::migrated().await else {
        return;
    };
    let rows: Vec<NewTextEmbedding> = (0..150)
        .map(|i| {
            NewTextEmbedding::new(
                1 + (i % 2) as i32,
                format!("r{i}"),
                "t",
                unit_vector(TEXT_EMBEDDING_DIM, i % 7, 0.1 + i as f32 / 100.0),
            )
        })
        .collect();
    TextEmbeddingRepo::new(db)
        .primary_only()
        .insert_batch(&rows)
        .await
        .expect("insert");
    sqlx::query(&format!(
        "ALTER DATABASE \"{}\" SET enable_seqscan = off",
        t.database
    ))
    .execute(&t.pool)
    .await
    .expect("alter database");
    // New sessions pick the setting up.
    let db = PgDatabase::connect(&PgConfig::from_url(&t.url).expect("url"))
        .await
        .expect("connect");
    let query = unit_vector(TEXT_EMBEDDING_DIM, 3, 0.2);
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM data_platform.text_embeddings \
         ORDER BY embedding <=> $1 LIMIT 120",
    )
    .bind(pgvector::Vector::from(query.clone()))
    .fetch_all(db.primary())
    .await
    .expect("explain");
    assert!(
        plan.iter()
            .any(|l| l.contains("Index Scan using idx_text_embeddings_vector")),
        "the HNSW index serves the search: {plan:#?}"
    );
    let repo = TextEmbeddingRepo::new(db).primary_only();
    let hits = repo.search(&query, 120, None).await.expect("search");
    assert_eq!(hits.len(), 120, "k = 120 of 150 rows");
    assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
    let in_dataset = repo.search(&query, 75, Some(2)).await.expect("filtered");
    assert_eq!(in_dataset.len(), 75, "every row of dataset 2");
    assert!(in_dataset.iter().all(|h| h.row.dataset_id == Some(2)));
}
