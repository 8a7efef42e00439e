//! How fast table sync moves rows through the node on this machine: `scan` of 1,000,000 rows × 12 columns from a
//! PostgreSQL source in 10,000-row pages, and `apply` of those pages (full-pass ranges) into a PostgreSQL target,
//! then 100,000 changed rows applied as upserts. Not run by default (it takes a while and prints numbers):
//!
//! ```sh
//! cargo test -p shuqiao-node --release --test sources throughput -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use serde_json::Value;
use shuqiao_exchange::{KeyRange, Reply};
use shuqiao_node::config::{Limits, SourceConfig};
use shuqiao_node::plan::QueryRequest;
use shuqiao_node::source::Sources;
use shuqiao_node::target::{Batch, ColumnType, Target, TargetColumn};
use sqlx::{Connection, Executor};

const TOTAL: i64 = 1_000_000;
const PAGE: u32 = 10_000;

fn per_second(rows: usize, d: Duration) -> String {
    format!("{rows} rows in {:.2} s = {:.0} rows/s", d.as_secs_f64(), rows as f64 / d.as_secs_f64())
}

#[tokio::test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
async fn pg_sync_throughput() {
    let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let (src, dst) =
        (crate::postgres::fresh_name("shuqiao_bench_src"), crate::postgres::fresh_name("shuqiao_bench_dst"));
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap();
    for name in [&src, &dst] {
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    }
    let src_url = format!("{base}/{src}");
    let mut c = sqlx::PgConnection::connect(&src_url).await.unwrap();
    c.execute(
        "CREATE TABLE big (id BIGINT PRIMARY KEY, sfzh VARCHAR(18), xm TEXT, age INTEGER, born DATE, \
         score NUMERIC(8,2), note TEXT, updated_at TIMESTAMP, married BOOLEAN, city TEXT, phone VARCHAR(11), \
         amount DOUBLE PRECISION)",
    )
    .await
    .unwrap();
    let filled = Instant::now();
    c.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO big SELECT i, lpad(i::text, 18, '1'), '姓名' || i, 18 + i % 60, DATE '1960-01-01' + (i % 20000), \
         (i % 100000) / 100.0, CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END, \
         TIMESTAMP '2025-01-01' + i * INTERVAL '1 second', i % 2 = 0, '城市' || (i % 300), \
         '138' || lpad((i % 100000000)::text, 8, '0'), i * 0.25 FROM generate_series(1, {TOTAL}) AS i"
    )))
    .await
    .unwrap();
    c.execute("ANALYZE big").await.unwrap();
    println!("source filled: {:.1} s", filled.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { max_sync_rows: PAGE, ..Limits::default() };
    let sources = Sources::open(&[SourceConfig { name: "s".into(), url: src_url.clone() }], dir.path(), &limits);
    let target = Target::open(&format!("{base}/{dst}"), dir.path()).unwrap();
    let names: Vec<String> =
        ["id", "sfzh", "xm", "age", "born", "score", "note", "updated_at", "married", "city", "phone", "amount"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let letters = ["I", "C", "C", "I", "D", "N", "M", "T", "L", "C", "C", "B"];
    let columns: Vec<TargetColumn> = names
        .iter()
        .zip(letters)
        .map(|(n, l)| TargetColumn { name: n.clone(), column_type: ColumnType::of_catalog(l, Some(100)).unwrap() })
        .collect();
    let keys = vec!["id".to_owned()];

    let (mut scan_time, mut apply_time, mut moved, mut seq) = (Duration::ZERO, Duration::ZERO, 0usize, 0u64);
    let (mut json_time, mut json_bytes) = (Duration::ZERO, 0usize);
    let mut after: Option<Vec<Value>> = None;
    loop {
        let t = Instant::now();
        let req = QueryRequest {
            table: "big",
            columns: &names,
            key_columns: &keys,
            filters: &[],
            after: after.as_deref(),
            limit: PAGE,
        };
        let reply = sources.sync_read("s", &req, None).await;
        scan_time += t.elapsed();
        // What the nodes also do with each page: the provider encodes its reply, the consumer decodes the apply
        // request (JSON frames).
        let t = Instant::now();
        let text = serde_json::to_string(&reply).unwrap();
        let rows = match serde_json::from_str::<Reply>(&text).unwrap() {
            Reply::Rows { rows, .. } => rows,
            other => panic!("{other:?}"),
        };
        json_time += t.elapsed();
        json_bytes += text.len();
        let last = rows.last().map(|r| vec![r[0].clone()]);
        let full = rows.len() == PAGE as usize;
        // The last page's range is open above.
        let upto = if full { last.clone() } else { None };
        seq += 1;
        moved += rows.len();
        let batch = Batch {
            subscription: "bench".into(),
            seq,
            table: "big_copy".into(),
            columns: columns.clone(),
            key_columns: keys.clone(),
            upserts: rows,
            deletes: vec![],
            range: Some(KeyRange { after: after.clone(), upto }),
            drop_columns: vec![],
            fresh: false,
        };
        let t = Instant::now();
        target.apply(&batch).await.unwrap();
        apply_time += t.elapsed();
        if !full {
            break;
        }
        after = last;
    }
    assert_eq!(moved, TOTAL as usize);
    println!("scan  (PostgreSQL source, {PAGE}-row pages): {}", per_second(moved, scan_time));
    println!("apply (PostgreSQL target, full-pass pages, COPY): {}", per_second(moved, apply_time));
    println!("JSON encode + decode of the pages ({} MB): {}", json_bytes >> 20, per_second(moved, json_time));
    println!("scan + JSON + apply: {}", per_second(moved, scan_time + json_time + apply_time));

    // Incremental: 100,000 existing rows changed, upserted in 10,000-row batches (staged COPY + ON CONFLICT).
    let (mut upsert_time, mut changed) = (Duration::ZERO, 0usize);
    let mut after: Option<Vec<Value>> = None;
    for _ in 0..10 {
        let req = QueryRequest {
            table: "big",
            columns: &names,
            key_columns: &keys,
            filters: &[],
            after: after.as_deref(),
            limit: PAGE,
        };
        let mut rows = match sources.sync_read("s", &req, None).await {
            Reply::Rows { rows, .. } => rows,
            other => panic!("{other:?}"),
        };
        after = rows.last().map(|r| vec![r[0].clone()]);
        for r in &mut rows {
            r[2] = Value::String("改名".into());
        }
        seq += 1;
        changed += rows.len();
        let batch = Batch {
            subscription: "bench".into(),
            seq,
            table: "big_copy".into(),
            columns: columns.clone(),
            key_columns: keys.clone(),
            upserts: rows,
            deletes: vec![],
            range: None,
            drop_columns: vec![],
            fresh: false,
        };
        let t = Instant::now();
        target.apply(&batch).await.unwrap();
        upsert_time += t.elapsed();
    }
    println!("apply (PostgreSQL target, upserts of existing rows): {}", per_second(changed, upsert_time));

    let mut d = sqlx::PgConnection::connect(&format!("{base}/{dst}")).await.unwrap();
    let (count, renamed): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE xm = '改名') FROM big_copy")
            .fetch_one(&mut d)
            .await
            .unwrap();
    assert_eq!((count, renamed), (TOTAL, changed as i64));
    drop((c, d, sources, target));
    for name in [&src, &dst] {
        let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
    }
}
