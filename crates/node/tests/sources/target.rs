//! The consumer side of table sync against real SQLite, PostgreSQL and MariaDB databases: the subscribed table is
//! created from the catalog types, batches are upserted and deleted by key with their checkpoint in one
//! transaction, a batch delivered twice changes nothing, one out of order or one that fails changes nothing, and an
//! incompatible existing table is refused.

use serde_json::{Value, json};
use shuqiao_node::target::{Applied, Batch, ColumnType, Target, TargetColumn};
use sqlx::Row;

fn columns() -> Vec<TargetColumn> {
    let c = |name: &str, letter: &str, len: Option<u32>| TargetColumn {
        name: name.into(),
        column_type: ColumnType::of_catalog(letter, len).unwrap(),
    };
    vec![
        c("sfzh", "C", Some(18)),
        c("xm", "C", Some(50)),
        c("nl", "I", None),
        c("csrq", "D", None),
        c("ye", "N", None),
        c("hy", "L", None),
        c("bz", "M", None),
    ]
}

fn row(i: u32, name: &str) -> Vec<Value> {
    json!([format!("1301021980{i:08}"), name, 20 + i, "1980-01-02", "123.45", i.is_multiple_of(2), "备注"])
        .as_array()
        .unwrap()
        .clone()
}

fn batch(seq: u64, upserts: Vec<Vec<Value>>, deletes: Vec<Vec<Value>>) -> Batch {
    Batch {
        subscription: "sub-1".into(),
        seq,
        table: "residents_copy".into(),
        columns: columns(),
        key_columns: vec!["sfzh".into()],
        upserts,
        deletes,
        range: None,
        drop_columns: vec![],
        fresh: false,
    }
}

/// (sfzh, xm) of every row, in key order, read back through sqlx's `Any` driver.
async fn rows(url: &str) -> Vec<(String, String)> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("SELECT sfzh, xm FROM residents_copy ORDER BY sfzh")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect()
}

/// The whole contract on one target database; `read_url` is how the test reads it back.
async fn contract(t: Target, read_url: &str) {
    assert_eq!(t.checkpoint("sub-1").await.unwrap(), 0);
    // Batch 1 creates the table.
    let b1 = batch(1, (0..500).map(|i| row(i, "张三")).collect(), vec![]);
    assert_eq!(t.apply(&b1).await.unwrap(), Applied::Now(1));
    assert_eq!(rows(read_url).await.len(), 500);
    // Delivered again (after a lost acknowledgement): nothing changes.
    assert_eq!(t.apply(&b1).await.unwrap(), Applied::Before(1));
    assert_eq!(rows(read_url).await.len(), 500);
    // Out of order: refused, nothing changes.
    let b3 = batch(3, vec![row(900, "王五")], vec![]);
    let e = t.apply(&b3).await.unwrap_err();
    assert!(e.message.contains("out of order"), "{}", e.message);
    // Batch 2: updates, inserts and deletes.
    let b2 = batch(
        2,
        vec![row(0, "张三丰"), row(600, "李四")],
        vec![vec![json!("130102198000000001")], vec![json!("130102198000000002")]],
    );
    assert_eq!(t.apply(&b2).await.unwrap(), Applied::Now(2));
    let all = rows(read_url).await;
    assert_eq!(all.len(), 500 - 2 + 1);
    assert_eq!(all[0], ("130102198000000000".to_owned(), "张三丰".to_owned()));
    assert!(all.iter().any(|(k, v)| k == "130102198000000600" && v == "李四"));
    assert!(!all.iter().any(|(k, _)| k == "130102198000000001"));
    assert_eq!(t.checkpoint("sub-1").await.unwrap(), 2);
    // A batch that fails half-way (a key that is NULL) leaves neither rows nor checkpoint behind.
    let mut bad = row(700, "赵六");
    bad[0] = Value::Null;
    let b3 = batch(3, vec![row(701, "钱七"), bad], vec![]);
    assert!(t.apply(&b3).await.is_err());
    assert_eq!(t.checkpoint("sub-1").await.unwrap(), 2);
    assert!(!rows(read_url).await.iter().any(|(k, _)| k == "130102198000000701"), "half a batch was written");
    // A ragged row is refused before anything is written.
    let mut ragged = batch(3, vec![row(1, "x")], vec![]);
    ragged.upserts[0].pop();
    assert!(t.apply(&ragged).await.unwrap_err().message.contains("values for"));
    // An existing table without the subscribed columns: refused with a clear message.
    let mut other = batch(1, vec![row(1, "x")], vec![]);
    other.subscription = "sub-2".into();
    other.columns.push(TargetColumn { name: "xin".into(), column_type: ColumnType::Text(None) });
    for r in &mut other.upserts {
        r.push(json!("新列"));
    }
    let e = t.apply(&other).await.unwrap_err();
    assert!(e.message.contains("without the subscribed columns xin"), "{}", e.message);
    assert_eq!(t.checkpoint("sub-2").await.unwrap(), 0);

    // Pages of a first pass in storage order (`fresh`): copied straight in where they can be; a key the table
    // already has, or one the batch has twice (a row met before and after it moved), makes the batch an upsert —
    // the last row of a key wins — and the target's connections stay usable for the next batches.
    let fresh = |seq: u64, upserts: Vec<Vec<Value>>| Batch { fresh: true, ..batch(seq, upserts, vec![]) };
    let pages = [
        vec![row(800, "甲"), row(0, "重复一"), row(800, "甲二")],
        vec![row(810, "乙")],
        vec![row(811, "丙"), row(811, "丙二")],
        vec![row(812, "丁"), row(810, "乙二")],
    ];
    for (i, upserts) in pages.into_iter().enumerate() {
        let seq = 3 + i as u64;
        let b = fresh(seq, upserts);
        assert_eq!(t.apply(&b).await.unwrap(), Applied::Now(seq), "page {seq}");
        assert_eq!(t.checkpoint("sub-1").await.unwrap(), seq, "after page {seq}");
        assert_eq!(t.apply(&b).await.unwrap(), Applied::Before(seq), "page {seq} again");
    }
    let all = rows(read_url).await;
    let name = |k: u32| all.iter().find(|(key, _)| *key == format!("1301021980{k:08}")).map(|(_, v)| v.as_str());
    assert_eq!(
        [name(0), name(800), name(810), name(811), name(812)],
        [Some("重复一"), Some("甲二"), Some("乙二"), Some("丙二"), Some("丁")]
    );
    assert_eq!(all.len(), 500 - 2 + 1 + 4);
}

#[tokio::test]
async fn sqlite_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.db");
    let t = Target::open(&format!("sqlite://{}", path.display()), dir.path()).unwrap();
    contract(t, &format!("sqlite://{}", path.display())).await;
}

#[tokio::test]
async fn postgres_target() {
    use sqlx::{Connection, Executor};
    let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = crate::postgres::fresh_name("shuqiao_target_test");
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let url = format!("{base}/{name}");
    contract(Target::open(&url, std::path::Path::new(".")).unwrap(), &url).await;
}

#[tokio::test]
async fn mariadb_target() {
    use sqlx::{Connection, Executor};
    let base = std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let name = crate::postgres::fresh_name("shuqiao_target_test");
    let mut admin = sqlx::MySqlConnection::connect(&base).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")))
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    contract(Target::open(&url, std::path::Path::new(".")).unwrap(), &url).await;
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
}

#[test]
fn catalog_types() {
    assert_eq!(ColumnType::of_catalog("C", Some(18)), Some(ColumnType::Text(Some(18))));
    assert_eq!(ColumnType::of_catalog("C", Some(100_000)), Some(ColumnType::Text(None)));
    assert_eq!(ColumnType::of_catalog("I", None), Some(ColumnType::Integer));
    assert_eq!(ColumnType::of_catalog("Q", None), None);
}

/// The node answers the platform's `apply` and `checkpoint` requests from its `[target]` database, and says
/// clearly when it has none.
#[tokio::test]
async fn node_applies_batches_to_its_target() {
    use shuqiao_exchange::{FailCode, NodeKey, Reply, Request, SyncColumn};
    let dir = tempfile::tempdir().unwrap();
    let config = |target: bool| {
        let path = dir.path().join(if target { "with.toml" } else { "without.toml" });
        let mut text = "platform = \"http://127.0.0.1:9\"\nkey_file = \"node.key\"\nnode_id = \"n1\"\n".to_owned();
        if target {
            text.push_str("\n[target]\nurl = \"sqlite://copy.db\"\n");
        }
        std::fs::write(&path, text).unwrap();
        shuqiao_node::NodeConfig::load(&path).unwrap()
    };
    let apply = |seq: u64, rows: Value| Request::Apply {
        subscription: "s-1".into(),
        seq,
        table: "residents_copy".into(),
        columns: vec![
            SyncColumn { name: "sfzh".into(), data_type: "C".into(), length: Some(18) },
            SyncColumn { name: "xm".into(), data_type: "C".into(), length: Some(50) },
        ],
        key_columns: vec!["sfzh".into()],
        upserts: serde_json::from_value(rows).unwrap(),
        deletes: vec![],
        range: None,
        drop_columns: vec![],
        fresh: false,
    };
    let node = shuqiao_node::Node::new(config(true), NodeKey::generate().unwrap()).unwrap();
    let r = node.handle(&apply(1, json!([["130102198001010010", "张三"], ["130102198001010029", "李四"]]))).await;
    assert_eq!(r, Reply::Applied { seq: 1, already: false });
    let r = node.handle(&apply(1, json!([["130102198001010010", "张三"]]))).await;
    assert_eq!(r, Reply::Applied { seq: 1, already: true });
    let r = node.handle(&Request::Checkpoint { subscription: "s-1".into() }).await;
    assert_eq!(r, Reply::Checkpoint { seq: 1 });
    assert_eq!(rows(&format!("sqlite://{}", dir.path().join("copy.db").display())).await.len(), 2);
    // A column typed with no catalog letter.
    let mut bad = apply(2, json!([]));
    if let Request::Apply { columns, .. } = &mut bad {
        columns[1].data_type = "Q".into();
    }
    assert!(matches!(node.handle(&bad).await, Reply::Failed { code: FailCode::BadRequest, .. }));
    // No [target]: a clear refusal.
    let bare = shuqiao_node::Node::new(config(false), NodeKey::generate().unwrap()).unwrap();
    match bare.handle(&Request::Checkpoint { subscription: "s-1".into() }).await {
        Reply::Failed { code: FailCode::BadRequest, message } => assert!(message.contains("[target]"), "{message}"),
        other => panic!("{other:?}"),
    }
}
