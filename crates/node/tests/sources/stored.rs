//! `scan_stored`, the first full pass of a table sync in the table's storage order, against real sources: every
//! row exactly once across pages of exactly the limit (fewer only at the end), positions increasing, through
//! PostgreSQL tables of hundreds of blocks (block numbers past 9, 99 and a stretch of emptied blocks) and SQLite
//! rowid tables whose keys are in another order; tables with no such order and bad positions are refused with a
//! clear code.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use shuqiao_exchange::{FailCode, POSITION_COLUMN, Reply};
use shuqiao_node::config::{Limits, SourceConfig};
use shuqiao_node::plan::QueryRequest;
use shuqiao_node::source::Sources;
use sqlx::{Connection, Executor};

use crate::postgres::{base, fresh_name};

const PAGE: u32 = 700;

fn sources(url: &str, dir: &Path) -> Sources {
    let limits = Limits { max_sync_rows: PAGE, ..Limits::default() };
    Sources::open(&[SourceConfig { name: "s".into(), url: url.into() }], dir, &limits)
}

async fn page(s: &Sources, table: &str, after: Option<&str>, limit: u32) -> Reply {
    let columns = vec!["id".to_owned(), "code".to_owned()];
    let req = QueryRequest { table, columns: &columns, key_columns: &[], filters: &[], after: None, limit };
    s.scan_stored("s", &req, after).await
}

fn failed(r: &Reply) -> FailCode {
    match r {
        Reply::Failed { code, .. } => *code,
        other => panic!("should fail: {other:?}"),
    }
}

/// Reads the whole table page by page; returns the ids in the order read and the positions.
async fn read_all(s: &Sources, table: &str, position: impl Fn(&str) -> (u64, u64)) -> (Vec<i64>, Vec<String>) {
    let (mut ids, mut positions) = (Vec::new(), Vec::<String>::new());
    let mut after: Option<String> = None;
    loop {
        let (columns, rows) = match page(s, table, after.as_deref(), PAGE * 2).await {
            Reply::Rows { columns, rows } => (columns, rows),
            other => panic!("{other:?}"),
        };
        assert_eq!(columns, vec!["id", "code", POSITION_COLUMN]);
        assert!(rows.len() <= PAGE as usize, "capped by max_sync_rows: {}", rows.len());
        for r in &rows {
            assert_eq!(r.len(), 3);
            ids.push(r[0].as_i64().unwrap());
            assert_eq!(r[1].as_str().unwrap(), format!("c{}", r[0]), "values of the row");
            let at = r[2].as_str().unwrap().to_owned();
            if let Some(prev) = positions.last() {
                assert!(position(prev) < position(&at), "positions increase: {prev} then {at}");
            }
            positions.push(at);
        }
        if rows.len() < PAGE as usize {
            return (ids, positions);
        }
        after = positions.last().cloned();
    }
}

fn tid(text: &str) -> (u64, u64) {
    let (b, o) = text.trim_matches(|c| c == '(' || c == ')').split_once(',').unwrap();
    (b.parse().unwrap(), o.parse().unwrap())
}

/// 20,000 rows whose ids are a permutation (key order is not storage order).
fn permuted(n: i64) -> Vec<i64> {
    (0..n).map(|i| (i * 7919) % n).collect()
}

#[tokio::test]
async fn postgres_reads_in_ctid_order() {
    let name = fresh_name("shuqiao_stored_test");
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", base())).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let url = format!("{}/{name}", base());
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    c.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT NOT NULL, pad TEXT NOT NULL); \
         CREATE VIEW items_view AS SELECT id, code FROM items; \
         CREATE TABLE parts (id INTEGER, code TEXT) PARTITION BY RANGE (id); \
         CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (100); \
         CREATE TABLE never_analysed (id INTEGER PRIMARY KEY, code TEXT NOT NULL)",
    )
    .await
    .unwrap();
    let ids = permuted(20_000);
    sqlx::query("INSERT INTO items SELECT i, 'c' || i, repeat('x', 150) FROM unnest($1::int[]) AS t(i)")
        .bind(ids.iter().map(|&i| i as i32).collect::<Vec<i32>>())
        .execute(&mut c)
        .await
        .unwrap();
    // A stretch of empty blocks: a window comes back short and the next ones widen.
    c.execute("DELETE FROM items WHERE ctid >= '(40,0)'::tid AND ctid < '(160,0)'::tid").await.unwrap();
    c.execute("ANALYZE items").await.unwrap();
    sqlx::query("INSERT INTO never_analysed SELECT i, 'c' || i FROM generate_series(1, 3000) AS i")
        .execute(&mut c)
        .await
        .unwrap();
    let blocks: i64 = sqlx::query_scalar("SELECT pg_relation_size('items') / 8192").fetch_one(&mut c).await.unwrap();
    assert!(blocks > 150, "the table must span block numbers past 99: {blocks}");
    let want: BTreeSet<i64> = sqlx::query_scalar::<_, i32>("SELECT id FROM items")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(i64::from)
        .collect();
    assert!(want.len() < 20_000 && want.len() > 10_000, "{}", want.len());

    let dir = tempfile::tempdir().unwrap();
    let s = sources(&url, dir.path());
    let (got, positions) = read_all(&s, "items", tid).await;
    assert_eq!(got.len(), want.len(), "each row once");
    assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), want);
    assert!(tid(positions.last().unwrap()).0 > 100, "read past block 100");
    let key_ordered: Vec<i64> = want.iter().copied().collect();
    assert_ne!(got, key_ordered, "storage order, not key order");

    // Pages in the middle start right after the position given.
    let from = &positions[1234];
    let Reply::Rows { rows, .. } = page(&s, "items", Some(from), 10).await else { panic!() };
    assert_eq!(rows.iter().map(|r| r[0].as_i64().unwrap()).collect::<Vec<_>>(), got[1235..1245].to_vec());

    // A table never analysed (no row estimate) is read whole all the same.
    let columns = vec!["id".to_owned(), "code".to_owned()];
    let (got, _) = read_all(&s, "never_analysed", tid).await;
    assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), (1..=3000).collect::<BTreeSet<_>>());
    assert_eq!(got.len(), 3000);

    // No storage order to page by, or a position that is none: refused, saying which.
    assert_eq!(failed(&page(&s, "items_view", None, 10).await), FailCode::Unsupported);
    assert_eq!(failed(&page(&s, "parts", None, 10).await), FailCode::Unsupported);
    assert_eq!(failed(&page(&s, "nosuch", None, 10).await), FailCode::UnknownTable);
    for bad in ["12", "(1,x)", "(1,2", "1,2)", "(-1,2)", "'); DROP TABLE items; --"] {
        assert_eq!(failed(&page(&s, "items", Some(bad), 10).await), FailCode::BadRequest, "{bad}");
    }
    let unknown = vec!["id".to_owned(), "nosuch".to_owned()];
    let req = QueryRequest { table: "items", columns: &unknown, key_columns: &[], filters: &[], after: None, limit: 5 };
    assert_eq!(failed(&s.scan_stored("s", &req, None).await), FailCode::UnknownColumn);
    let req = QueryRequest { table: "items", columns: &columns, key_columns: &[], filters: &[], after: None, limit: 5 };
    assert_eq!(failed(&s.scan_stored("nosuch", &req, None).await), FailCode::UnknownSource);
    drop(s);
    c.close().await.unwrap();
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
}

#[tokio::test]
async fn sqlite_reads_in_rowid_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.db");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    c.execute(
        "CREATE TABLE items (id INTEGER NOT NULL, code TEXT PRIMARY KEY); \
         CREATE TABLE keyed (id INTEGER, code TEXT PRIMARY KEY) WITHOUT ROWID; \
         CREATE VIEW items_view AS SELECT id, code FROM items; \
         CREATE TABLE shadow (id INTEGER, code TEXT, rowid TEXT); INSERT INTO shadow VALUES (1, 'c1', 'x')",
    )
    .await
    .unwrap();
    let ids = permuted(5_000);
    let mut tx = c.begin().await.unwrap();
    for &i in &ids {
        sqlx::query("INSERT INTO items VALUES (?1, 'c' || ?1)").bind(i).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    c.execute("DELETE FROM items WHERE rowid BETWEEN 1000 AND 1999").await.unwrap();
    c.close().await.unwrap();
    let s = sources(&format!("sqlite://{}", path.display()), dir.path());
    let (got, _) = read_all(&s, "items", |p| (p.parse().unwrap(), 0)).await;
    let want: Vec<i64> = ids.iter().enumerate().filter(|(n, _)| !(999..1999).contains(n)).map(|(_, &i)| i).collect();
    assert_eq!(got, want, "every row once, in the order inserted (rowid), not by key");
    // A column named rowid shadows it: another alias is used.
    let Reply::Rows { rows, .. } = page(&s, "shadow", None, 10).await else { panic!() };
    assert_eq!(rows, vec![vec![Value::from(1), Value::from("c1"), Value::from("1")]]);

    assert_eq!(failed(&page(&s, "keyed", None, 10).await), FailCode::Unsupported);
    assert_eq!(failed(&page(&s, "items_view", None, 10).await), FailCode::Unsupported);
    assert_eq!(failed(&page(&s, "items", Some("(1,2)"), 10).await), FailCode::BadRequest);
}

#[tokio::test]
async fn mariadb_is_read_in_key_order() {
    let base = std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let name = fresh_name("shuqiao_stored_test");
    let mut admin = sqlx::MySqlConnection::connect(&base).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let url = format!("{base}/{name}");
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    c.execute("CREATE TABLE items (id INT PRIMARY KEY, code VARCHAR(20))").await.unwrap();
    c.close().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = sources(&url, dir.path());
    assert_eq!(failed(&page(&s, "items", None, 10).await), FailCode::Unsupported);
    drop(s);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
}
