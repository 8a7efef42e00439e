//! The provider side of table sync against real SQLite, PostgreSQL and MariaDB sources: `scan` pages through a
//! table in byte-wise key order (the same on every dialect, whatever the columns' collation), `changes` pages by
//! (change column, keys) without losing rows that share a change value across a page boundary, and `watermark`
//! answers the largest change value.

use std::path::Path;

use serde_json::{Value, json};
use shuqiao_exchange::{FailCode, Reply, Request};
use shuqiao_node::config::{Limits, SourceConfig};
use shuqiao_node::plan::QueryRequest;
use shuqiao_node::source::Sources;
use sqlx::{Connection, Executor};

use crate::postgres::fresh_name;

/// Most rows in one sync page of these sources.
const MAX_SYNC_ROWS: u32 = 7;
const ROWS: usize = 48;
/// Keys whose byte order differs from a locale's or a case-insensitive collation's ('B' < 'a' byte-wise), all
/// distinct even case-insensitively.
const STEMS: [&str; 16] =
    ["B", "a", "c", "D", "张三", "李四", "10", "9", "Zoe", "apple", "Banana", "b2", "_x", "é", "ab", "a b"];

/// Row `i`: (code, grp, version, updated_at with microseconds). Versions and times repeat.
fn item(i: usize) -> (String, i64, i64, String) {
    (
        format!("{}{}", STEMS[i % 16], i / 16),
        (i % 3) as i64,
        (i % 4) as i64,
        format!("2025-03-01 08:00:0{}.12345{}", i % 3, i % 3 + 1),
    )
}

fn sources(url: &str, base: &Path) -> Sources {
    let limits = Limits { max_sync_rows: MAX_SYNC_ROWS, ..Limits::default() };
    Sources::open(&[SourceConfig { name: "s".into(), url: url.into() }], base, &limits)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn read(s: &Sources, keys: &[&str], change: Option<&str>, after: Option<Vec<Value>>, limit: u32) -> Reply {
    let (columns, keys) = (strings(&["code", "grp", "name"]), strings(keys));
    let req = QueryRequest {
        table: "items",
        columns: &columns,
        key_columns: &keys,
        filters: &[],
        after: after.as_deref(),
        limit,
    };
    s.sync_read("s", &req, change).await
}

fn rows(r: Reply) -> (Vec<String>, Vec<Vec<Value>>) {
    match r {
        Reply::Rows { columns, rows } => (columns, rows),
        other => panic!("{other:?}"),
    }
}

fn code(r: &Reply) -> FailCode {
    match r {
        Reply::Failed { code, .. } => *code,
        other => panic!("should fail: {other:?}"),
    }
}

/// `iso`: the source presents date-times as ISO text (PostgreSQL, MySQL); SQLite returns the stored text.
async fn run(s: &Sources, iso: bool) {
    let mut by_bytes: Vec<String> = (0..ROWS).map(|i| item(i).0).collect();
    by_bytes.sort();
    let mut by_case = by_bytes.clone();
    by_case.sort_by_key(|c| c.to_lowercase());
    assert_ne!(by_bytes, by_case, "the fixture must tell byte order from a case-insensitive order");

    // Scan by the text key: every row once, byte-wise order, pages capped by max_sync_rows.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (columns, page) = rows(read(s, &["code"], None, after.clone(), 1000).await);
        assert_eq!(columns, ["code", "grp", "name"]);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= MAX_SYNC_ROWS as usize, "capped by max_sync_rows");
        after = Some(vec![page[page.len() - 1][0].clone()]);
        seen.extend(page.into_iter().map(|r| r[0].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen, by_bytes);

    // Scan by (integer, text).
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (_, page) = rows(read(s, &["grp", "code"], None, after.clone(), 5).await);
        if page.is_empty() {
            break;
        }
        let last = &page[page.len() - 1];
        after = Some(vec![last[1].clone(), last[0].clone()]);
        seen.extend(page.into_iter().map(|r| (r[1].as_i64().unwrap(), r[0].as_str().unwrap().to_owned())));
    }
    let mut want: Vec<(i64, String)> = (0..ROWS).map(|i| (item(i).1, item(i).0)).collect();
    want.sort();
    assert_eq!(seen, want);

    // Changes by an integer and by a timestamp column: pages of 5 split runs of equal values; nothing is lost.
    for (change, index) in [("version", 2usize), ("updated_at", 3)] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (columns, page) = rows(read(s, &["code"], Some(change), after.clone(), 5).await);
            assert_eq!(columns, ["code", "grp", "name", change], "the change column comes last");
            if page.is_empty() {
                break;
            }
            let last = &page[page.len() - 1];
            after = Some(vec![last[3].clone(), last[0].clone()]);
            seen.extend(page.into_iter().map(|r| (r[3].clone(), r[0].as_str().unwrap().to_owned())));
        }
        let mut want: Vec<(usize, String)> =
            (0..ROWS).map(|i| (if index == 2 { item(i).2 as usize } else { i % 3 }, item(i).0)).collect();
        want.sort();
        let got: Vec<&str> = seen.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(got, want.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(), "changes by {change}");
        if change == "updated_at" {
            let t = |k: usize| {
                let text = format!("2025-03-01 08:00:0{k}.12345{}", k + 1);
                if iso { text.replace(' ', "T") } else { text }
            };
            assert_eq!(seen[0].0, json!(t(0)), "microseconds kept");
            assert_eq!(seen[seen.len() - 1].0, json!(t(2)));
            // The last position, given back, is after every row (the round trip is exact).
            let (_, rest) = rows(read(s, &["code"], Some(change), after.clone(), 5).await);
            assert!(rest.is_empty(), "{rest:?}");
            // After every row at the middle value: the next rows are at the last value.
            let after_middle = Some(vec![json!(t(1)), json!("\u{10FFFF}")]);
            let (_, next) = rows(read(s, &["code"], Some(change), after_middle, 100).await);
            assert_eq!(next.len(), MAX_SYNC_ROWS as usize);
            assert!(next.iter().all(|r| r[3] == json!(t(2))), "{next:?}");
        }
    }

    // Watermark: the largest change value; null on an empty table.
    let mark = |table: &str, col: &str| {
        let (table, col) = (table.to_owned(), col.to_owned());
        async move { s.watermark("s", &table, &col).await }
    };
    assert_eq!(
        mark("items", "version").await,
        Reply::Rows { columns: strings(&["version"]), rows: vec![vec![json!(3)]] }
    );
    let last = if iso { "2025-03-01T08:00:02.123453" } else { "2025-03-01 08:00:02.123453" };
    assert_eq!(
        mark("items", "updated_at").await,
        Reply::Rows { columns: strings(&["updated_at"]), rows: vec![vec![json!(last)]] }
    );
    assert_eq!(
        mark("empty_items", "version").await,
        Reply::Rows { columns: strings(&["version"]), rows: vec![vec![Value::Null]] }
    );
    assert_eq!(code(&mark("items", "nope").await), FailCode::UnknownColumn);
    assert_eq!(code(&mark("nope", "version").await), FailCode::UnknownTable);

    // Bad input.
    assert_eq!(code(&read(s, &["code"], Some("nope"), None, 5).await), FailCode::UnknownColumn);
    assert_eq!(code(&read(s, &["code"], None, Some(vec![json!("a"), json!("b")]), 5).await), FailCode::BadRequest);
    // `[change value]` alone: every row from that value on, inclusive, in (change, key) order, paged on by the
    // full position of the last row.
    let mut got = Vec::new();
    let mut after = Some(vec![json!(2)]);
    loop {
        let (_, page) = rows(read(s, &["code"], Some("version"), after.clone(), 100).await);
        let Some(last) = page.last() else { break };
        after = Some(vec![last[3].clone(), last[0].clone()]);
        got.extend(page.iter().map(|r| (r[3].as_i64().unwrap(), r[0].as_str().unwrap().to_owned())));
    }
    let mut want: Vec<(i64, String)> =
        (0..ROWS).map(item).filter(|(_, _, v, _)| *v >= 2).map(|(c, _, v, _)| (v, c)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.as_bytes().cmp(b.1.as_bytes())));
    assert_eq!(got, want, "changes from version 2 inclusive");
    assert_eq!(code(&read(s, &["version"], None, None, 5).await), FailCode::BadRequest, "key not among the columns");
    if s.get("s").unwrap().kind() == "postgres" {
        // A position that is no value of its column is refused, not an empty page (which would end the pass).
        let bad = read(s, &["code"], Some("updated_at"), Some(vec![json!("yesterday-ish"), json!("a")]), 5).await;
        assert_eq!(code(&bad), FailCode::BadRequest);
    }
    assert_eq!(code(&read(s, &[], None, None, 5).await), FailCode::BadRequest, "no key");
}

#[tokio::test]
async fn sqlite_sync_reads() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("items.db").display());
    let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc")).await.unwrap();
    // NOCASE: the sync order must still be byte-wise.
    c.execute(
        "CREATE TABLE items (code TEXT COLLATE NOCASE PRIMARY KEY, grp INTEGER, name TEXT, version INTEGER, \
         updated_at TEXT); CREATE TABLE empty_items (code TEXT PRIMARY KEY, version INTEGER)",
    )
    .await
    .unwrap();
    for i in 0..ROWS {
        let (code, grp, version, at) = item(i);
        sqlx::query("INSERT INTO items VALUES (?, ?, ?, ?, ?)")
            .bind(&code)
            .bind(grp)
            .bind(format!("名{i}"))
            .bind(version)
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
    let s = sources(&url, dir.path());
    run(&s, false).await;
}

#[tokio::test]
async fn postgres_sync_reads() {
    let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = fresh_name("shuqiao_sync_test");
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    // Date-times still come back as ISO text when the database's own DateStyle is another.
    admin.execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} SET DateStyle = 'SQL, DMY'"))).await.unwrap();
    let url = format!("{base}/{name}");
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    // A locale collation on the key: the sync order must still be byte-wise.
    c.execute(
        "CREATE TABLE items (code VARCHAR(40) COLLATE \"en-x-icu\" PRIMARY KEY, grp INTEGER, name TEXT, \
         version BIGINT, updated_at TIMESTAMP); CREATE TABLE empty_items (code TEXT PRIMARY KEY, version INTEGER)",
    )
    .await
    .unwrap();
    for i in 0..ROWS {
        let (code, grp, version, at) = item(i);
        sqlx::query("INSERT INTO items VALUES ($1, $2, $3, $4, CAST($5 AS TIMESTAMP))")
            .bind(&code)
            .bind(grp as i32)
            .bind(format!("名{i}"))
            .bind(version)
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = sources(&url, dir.path());
    run(&s, true).await;
    drop(s);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
}

#[tokio::test]
async fn mariadb_sync_reads() {
    let base = std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let name = fresh_name("shuqiao_sync_test");
    let mut admin = sqlx::MySqlConnection::connect(&base).await.unwrap();
    // A case-insensitive collation: the sync order must still be byte-wise.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )))
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    c.execute(
        "CREATE TABLE items (code VARCHAR(40) PRIMARY KEY, grp INT, name TEXT, version BIGINT, \
         updated_at DATETIME(6))",
    )
    .await
    .unwrap();
    c.execute("CREATE TABLE empty_items (code VARCHAR(40) PRIMARY KEY, version INT)").await.unwrap();
    for i in 0..ROWS {
        let (code, grp, version, at) = item(i);
        sqlx::query("INSERT INTO items VALUES (?, ?, ?, ?, ?)")
            .bind(&code)
            .bind(grp)
            .bind(format!("名{i}"))
            .bind(version)
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = sources(&url, dir.path());
    run(&s, true).await;
    drop(s);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
}

/// The node answers `scan`, `changes` and `watermark` requests from its sources.
#[tokio::test]
async fn node_answers_sync_reads() {
    use shuqiao_exchange::NodeKey;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("items.db");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    c.execute(
        "CREATE TABLE items (code TEXT PRIMARY KEY, version INTEGER); \
         INSERT INTO items VALUES ('a', 2), ('B', 1), ('c', 2)",
    )
    .await
    .unwrap();
    c.close().await.unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(
        &path,
        "platform = \"http://127.0.0.1:9\"\nkey_file = \"node.key\"\nnode_id = \"n1\"\nmax_sync_rows = 2\n\
         [[source]]\nname = \"s\"\nurl = \"sqlite://items.db\"\n",
    )
    .unwrap();
    let node =
        shuqiao_node::Node::new(shuqiao_node::NodeConfig::load(&path).unwrap(), NodeKey::generate().unwrap()).unwrap();
    let scan = Request::Scan {
        source: "s".into(),
        table: "items".into(),
        columns: strings(&["code"]),
        key_columns: strings(&["code"]),
        after: None,
        limit: 100,
    };
    assert_eq!(
        node.handle(&scan).await,
        Reply::Rows { columns: strings(&["code"]), rows: vec![vec![json!("B")], vec![json!("a")]] }
    );
    let changes = Request::Changes {
        source: "s".into(),
        table: "items".into(),
        columns: strings(&["code"]),
        key_columns: strings(&["code"]),
        change_column: "version".into(),
        after: Some(vec![json!(1), json!("B")]),
        limit: 100,
    };
    assert_eq!(
        node.handle(&changes).await,
        Reply::Rows {
            columns: strings(&["code", "version"]),
            rows: vec![vec![json!("a"), json!(2)], vec![json!("c"), json!(2)]]
        }
    );
    let mark = Request::Watermark { source: "s".into(), table: "items".into(), change_column: "version".into() };
    assert_eq!(node.handle(&mark).await, Reply::Rows { columns: strings(&["version"]), rows: vec![vec![json!(2)]] });
}
