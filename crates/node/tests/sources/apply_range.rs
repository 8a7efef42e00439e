//! Applying full-pass pages and dropped columns on real SQLite, PostgreSQL and MariaDB targets: a key range deletes
//! exactly the target rows in it (text keys byte-wise, whatever the column's collation; integers as numbers; open
//! bounds), upserts that conflict with rows outside the range still end correct, a failing batch changes nothing,
//! and dropped columns go (never a key column).

use serde_json::{Value, json};
use shuqiao_exchange::{FailCode, KeyRange};
use shuqiao_node::target::{Applied, Batch, ColumnType, Target, TargetColumn};
use sqlx::{Connection, Executor, Row};

fn col(name: &str, letter: &str, len: Option<u32>) -> TargetColumn {
    TargetColumn { name: name.into(), column_type: ColumnType::of_catalog(letter, len).unwrap() }
}

fn columns(extra: bool) -> Vec<TargetColumn> {
    let mut c = vec![col("k", "C", Some(20)), col("v", "M", None), col("n", "I", None)];
    if extra {
        c.push(col("extra", "C", Some(10)));
    }
    c
}

fn keys(v: &[&str]) -> Option<Vec<Value>> {
    Some(v.iter().map(|s| json!(s)).collect())
}

fn batch(seq: u64, upserts: Value, range: Option<KeyRange>) -> Batch {
    Batch {
        subscription: "sub-r".into(),
        seq,
        table: "range_copy".into(),
        columns: columns(true),
        key_columns: vec!["k".into()],
        upserts: serde_json::from_value(upserts).unwrap(),
        deletes: vec![],
        range,
        drop_columns: vec![],
        fresh: false,
    }
}

fn range(after: Option<Vec<Value>>, upto: Option<Vec<Value>>) -> Option<KeyRange> {
    Some(KeyRange { after, upto })
}

async fn connect(url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.unwrap()
}

/// (k, v) of every row, in byte order of k.
async fn rows(url: &str, table: &str) -> Vec<(String, Option<String>)> {
    let mut c = connect(url).await;
    let mut all: Vec<(String, Option<String>)> = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT k, v FROM {table}")))
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<Option<String>, _>(1)))
        .collect();
    all.sort();
    all
}

fn expect(v: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    v.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned))).collect()
}

const ODD: &str = "tab\there\nnew\\line \\N\r end";

/// The contract; `range_copy` may already exist with a collation that is not byte-wise.
async fn contract(t: &Target, url: &str) {
    // Byte order: "10" < "9" < "B" < "D" < "a" < "c" < "张" (a locale or case-insensitive order differs).
    let all = json!([
        ["10", "v1", 0, "x"],
        ["9", "v1", 1, "x"],
        ["B", "v1", 2, "x"],
        ["D", "v1", 3, "x"],
        ["a", ODD, 4, "x"],
        ["c", null, 5, "x"],
        ["张", "v1", 6, "x"]
    ]);
    assert_eq!(t.apply(&batch(1, all.clone(), range(None, keys(&["张"])))).await.unwrap(), Applied::Now(1));
    let mut want = vec![
        ("10", Some("v1")),
        ("9", Some("v1")),
        ("B", Some("v1")),
        ("D", Some("v1")),
        ("a", Some(ODD)),
        ("c", None),
        ("张", Some("v1")),
    ];
    assert_eq!(rows(url, "range_copy").await, expect(&want), "tabs, newlines, backslashes and NULL kept");

    // A page (9, D]: B is gone from the source, D changed; a and c lie outside byte-wise.
    let b2 = batch(2, json!([["D", "v2", 3, "x"]]), range(keys(&["9"]), keys(&["D"])));
    assert_eq!(t.apply(&b2).await.unwrap(), Applied::Now(2));
    want.retain(|(k, _)| *k != "B");
    want[2] = ("D", Some("v2"));
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // The last page (c, ∞) is empty: 张 goes.
    assert_eq!(t.apply(&batch(3, json!([]), range(keys(&["c"]), None))).await.unwrap(), Applied::Now(3));
    want.retain(|(k, _)| *k != "张");
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // A page (D, a] whose upserts also touch "10", outside it and existing: still correct.
    let b4 = batch(4, json!([["a", "v4", 4, "x"], ["10", "v4", 0, "x"]]), range(keys(&["D"]), keys(&["a"])));
    assert_eq!(t.apply(&b4).await.unwrap(), Applied::Now(4));
    want[0] = ("10", Some("v4"));
    want[3] = ("a", Some("v4"));
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // Delivered again, old batches change nothing (batch 1 would bring B and 张 back).
    for again in [b4, b2, batch(1, all.clone(), range(None, keys(&["张"])))] {
        assert_eq!(t.apply(&again).await.unwrap(), Applied::Before(4));
    }
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // A batch that fails after its range delete (a NULL key) changes nothing.
    let failing = batch(5, json!([["b", "v5", 1, "x"], [null, "v5", 2, "x"]]), range(None, None));
    assert!(t.apply(&failing).await.is_err());
    // Bad input, refused before anything is written.
    let wrong_bound = batch(5, json!([]), range(Some(vec![json!("a"), json!("b")]), None));
    assert_eq!(t.apply(&wrong_bound).await.unwrap_err().code, FailCode::BadRequest);
    let mut drop_key = batch(5, json!([]), None);
    drop_key.drop_columns = vec!["k".into()];
    let e = t.apply(&drop_key).await.unwrap_err();
    assert!(e.code == FailCode::BadRequest && e.message.contains("key column"), "{e:?}");
    assert_eq!(t.checkpoint("sub-r").await.unwrap(), 4);
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // Dropped columns go; again (already gone) is fine.
    let mut b5 = batch(5, json!([["zz", "v5", 9]]), None);
    b5.columns = columns(false);
    b5.drop_columns = vec!["extra".into()];
    assert_eq!(t.apply(&b5).await.unwrap(), Applied::Now(5));
    assert_eq!(t.apply(&b5).await.unwrap(), Applied::Before(5));
    let mut c = connect(url).await;
    assert!(c.execute("SELECT extra FROM range_copy").await.is_err(), "the column was dropped");
    drop(c);
    let mut b6 = b5.clone();
    b6.seq = 6;
    b6.upserts = vec![];
    b6.deletes = vec![vec![json!("zz")], vec![json!("nope")]];
    assert_eq!(t.apply(&b6).await.unwrap(), Applied::Now(6));
    assert_eq!(rows(url, "range_copy").await, expect(&want));

    // Integer keys compare as numbers (10 after 9), open bounds on both sides.
    let int = |seq: u64, upserts: Value, range: Option<KeyRange>| Batch {
        subscription: "sub-i".into(),
        seq,
        table: "int_copy".into(),
        columns: vec![col("k", "I", None), col("v", "C", Some(10))],
        key_columns: vec!["k".into()],
        upserts: serde_json::from_value(upserts).unwrap(),
        deletes: vec![],
        range,
        drop_columns: vec![],
        fresh: false,
    };
    let ten: Vec<Value> = (1..=10).map(|i| json!([i, format!("v{i}")])).collect();
    assert_eq!(t.apply(&int(1, Value::Array(ten), None)).await.unwrap(), Applied::Now(1));
    t.apply(&int(2, json!([]), range(None, Some(vec![json!(3)])))).await.unwrap();
    t.apply(&int(3, json!([[9, "v9b"]]), range(Some(vec![json!(8)]), None))).await.unwrap();
    let mut c = connect(url).await;
    let left: Vec<(i64, String)> = sqlx::query("SELECT k, v FROM int_copy ORDER BY k")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want: Vec<(i64, String)> =
        (4..=9).map(|i| (i, if i == 9 { "v9b".to_owned() } else { format!("v{i}") })).collect();
    assert_eq!(left, want);
    t.apply(&int(4, json!([[5, "only"]]), range(None, None))).await.unwrap();
    let left: Vec<i64> =
        sqlx::query("SELECT k FROM int_copy").fetch_all(&mut c).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(left, [5]);
}

#[tokio::test]
async fn sqlite_applies_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut c = connect(&format!("{url}?mode=rwc")).await;
    c.execute("CREATE TABLE range_copy (k VARCHAR(20) COLLATE NOCASE NOT NULL PRIMARY KEY, v TEXT, n BIGINT, extra VARCHAR(10))")
        .await
        .unwrap();
    drop(c);
    let t = Target::open(&url, dir.path()).unwrap();
    contract(&t, &url).await;
}

#[tokio::test]
async fn postgres_applies_ranges() {
    let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = crate::postgres::fresh_name("shuqiao_range_test");
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let url = format!("{base}/{name}");
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    c.execute(
        "CREATE TABLE range_copy (k VARCHAR(20) COLLATE \"en-x-icu\" NOT NULL PRIMARY KEY, v TEXT, n BIGINT, extra VARCHAR(10))",
    )
    .await
    .unwrap();
    let t = Target::open(&url, std::path::Path::new(".")).unwrap();
    contract(&t, &url).await;
    // A table the node creates has its text keys in byte order, so that range deletes use the primary key.
    let mut b = batch(1, json!([["a", "v", 1, "x"]]), range(None, None));
    b.subscription = "sub-c".into();
    b.table = "created_copy".into();
    t.apply(&b).await.unwrap();
    let collation: Option<String> = sqlx::query_scalar(
        "SELECT collation_name::text FROM information_schema.columns WHERE table_name = 'created_copy' AND column_name = 'k'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(collation.as_deref(), Some("C"));
    drop(c);
    drop(t);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
}

#[tokio::test]
async fn mariadb_applies_ranges() {
    let base = std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let mut admin = sqlx::MySqlConnection::connect(&base).await.unwrap();
    // A table the node creates (text keys in a binary NO PAD collation: compared natively, with the index), and one
    // that exists with the database's case-insensitive collation (compared as binary strings).
    for existing in [false, true] {
        let name = crate::postgres::fresh_name("shuqiao_range_test");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )))
            .await
            .unwrap();
        let url = format!("{base}/{name}");
        let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
        if existing {
            c.execute(
                "CREATE TABLE range_copy (k VARCHAR(20) NOT NULL PRIMARY KEY, v TEXT, n BIGINT, extra VARCHAR(10))",
            )
            .await
            .unwrap();
        }
        let t = Target::open(&url, std::path::Path::new(".")).unwrap();
        contract(&t, &url).await;
        let collation: String = sqlx::query_scalar(
            "SELECT CAST(collation_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() \
             AND table_name = 'range_copy' AND column_name = 'k'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(collation, if existing { "utf8mb4_general_ci" } else { "utf8mb4_nopad_bin" });
        drop((c, t));
        let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
    }
}
