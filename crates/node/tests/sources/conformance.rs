//! What every source kind must do with the same table: `residents`, 25 rows.

use std::path::Path;

use serde_json::{Value, json};
use shuqiao_exchange::{Column, FailCode, Filter, Reply, Request};
use shuqiao_node::config::{Limits, SourceConfig};
use shuqiao_node::source::Sources;

pub const ROWS: usize = 25;
pub const MAX_ROWS: u32 = 10;
pub const COLUMNS: [&str; 7] = ["sfzh", "xm", "age", "born", "score", "note", "updated_at"];

/// Row `i` (0-based) of the fixture: (sfzh, xm, age, born, score, note, updated_at).
pub fn row(i: usize) -> (String, String, i64, String, f64, Option<String>, String) {
    (
        format!("13010219900101{:04}", 1000 + i),
        format!("张{}", i),
        20 + (i % 5) as i64,
        format!("1990-01-{:02}", i + 1),
        i as f64 * 1.5,
        if i.is_multiple_of(2) { None } else { Some(format!("备注{i}")) },
        format!("2025-03-01T08:{:02}:00", i),
    )
}

/// A source named `s` for `url`, with at most [`MAX_ROWS`] rows per reply.
pub fn sources(url: &str, base: &Path) -> Sources {
    let limits = Limits { max_rows: MAX_ROWS, ..Limits::default() };
    Sources::open(&[SourceConfig { name: "s".into(), url: url.into() }], base, &limits)
}

pub fn query(
    columns: &[&str],
    keys: &[&str],
    filters: &[(&str, &str)],
    after: Option<Vec<Value>>,
    limit: u32,
) -> Request {
    Request::Query {
        source: "s".into(),
        table: "residents".into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        key_columns: keys.iter().map(|c| c.to_string()).collect(),
        filters: filters.iter().map(|(c, v)| Filter { column: c.to_string(), value: v.to_string() }).collect(),
        after,
        limit,
    }
}

async fn ask(s: &Sources, r: &Request) -> Reply {
    match r {
        Request::Columns { source, table } => s.columns(source, table).await,
        Request::Query { source, table, columns, key_columns, filters, after, limit } => {
            let q = shuqiao_node::plan::QueryRequest {
                table,
                columns,
                key_columns,
                filters,
                after: after.as_deref(),
                limit: *limit,
            };
            s.query(source, &q).await
        }
        _ => unreachable!(),
    }
}

async fn rows(s: &Sources, r: &Request) -> (Vec<String>, Vec<Vec<Value>>) {
    match ask(s, r).await {
        Reply::Rows { columns, rows } => (columns, rows),
        other => panic!("{r:?} → {other:?}"),
    }
}

async fn failed(s: &Sources, r: &Request) -> FailCode {
    match ask(s, r).await {
        Reply::Failed { code, message } => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("{r:?} should fail, got {other:?}"),
    }
}

/// The text of a value (typed sources give numbers, file sources text).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `typed`: a database (numbers as JSON numbers, dates as ISO text); otherwise a file (every value text).
pub async fn run(s: &Sources, typed: bool) {
    // Health.
    let health = s.health().await;
    assert!(health.len() == 1 && health[0].ok, "{health:?}");

    // Columns: the real ones, in order, with types.
    let cols = match ask(s, &Request::Columns { source: "s".into(), table: "residents".into() }).await {
        Reply::Columns { columns } => columns,
        other => panic!("{other:?}"),
    };
    let names: Vec<&str> = cols.iter().map(|c: &Column| c.name.as_str()).collect();
    assert_eq!(names, COLUMNS);
    assert!(cols.iter().all(|c| !c.data_type.is_empty()), "{cols:?}");
    if !typed {
        assert!(cols.iter().all(|c| c.data_type == "TEXT"), "{cols:?}");
    }
    let unknown_table = Request::Columns { source: "s".into(), table: "nope".into() };
    assert_eq!(failed(s, &unknown_table).await, FailCode::UnknownTable);
    let unknown_source = Request::Columns { source: "other".into(), table: "residents".into() };
    assert_eq!(failed(s, &unknown_source).await, FailCode::UnknownSource);

    // By key: one row, the requested columns only, values typed.
    let (id, xm, age, born, score, _, updated) = row(7);
    let (columns, got) =
        rows(s, &query(&["xm", "age", "born", "score", "note", "updated_at"], &["sfzh"], &[("sfzh", &id)], None, 5))
            .await;
    assert_eq!(columns, ["xm", "age", "born", "score", "note", "updated_at"]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0][0], json!(xm));
    assert_eq!(got[0][2], json!(born));
    assert_eq!(got[0][4], json!("备注7"));
    assert_eq!(got[0][5], json!(updated), "date-times in ISO 8601");
    if typed {
        assert_eq!(got[0][1], json!(age), "numbers are numbers");
        assert_eq!(got[0][3].as_f64(), Some(score), "decimals are numbers");
    } else {
        assert_eq!(got[0][1], json!(age.to_string()));
        assert_eq!(got[0][3].as_str().map(|v| v.parse::<f64>().unwrap()), Some(score));
    }
    // A null stays null.
    let (_, got) = rows(s, &query(&["note"], &[], &[("sfzh", &row(8).0)], None, 5)).await;
    assert_eq!(got, vec![vec![Value::Null]]);

    // By filter on a text column and on a numeric column given as text; every column when none is named.
    let (_, got) = rows(s, &query(&["sfzh"], &["sfzh"], &[("xm", "张12")], None, 5)).await;
    assert_eq!(got, vec![vec![json!(row(12).0)]]);
    let (columns, got) = rows(s, &query(&[], &["sfzh"], &[("age", "22")], None, 100)).await;
    assert_eq!(columns, COLUMNS);
    let want: Vec<String> = (0..ROWS).filter(|i| i % 5 == 2).map(|i| row(i).0).collect();
    assert_eq!(got.iter().map(|r| text(&r[0])).collect::<Vec<_>>(), want);
    let (_, got) = rows(s, &query(&["sfzh"], &[], &[("age", "22"), ("xm", "张7")], None, 5)).await;
    assert_eq!(got.len(), 1, "filters combine with AND");

    // Keyset paging on one key: stable pages, no duplicates, everything once; the limit is capped.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (_, page) = rows(s, &query(&["sfzh", "xm"], &["sfzh"], &[], after.clone(), 7)).await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = Some(vec![page[page.len() - 1][0].clone()]);
        seen.extend(page.into_iter().map(|r| text(&r[0])));
    }
    let all: Vec<String> = (0..ROWS).map(|i| row(i).0).collect();
    assert_eq!(seen, all);
    let (_, capped) = rows(s, &query(&["sfzh"], &["sfzh"], &[], None, 10_000)).await;
    assert_eq!(capped.len(), MAX_ROWS as usize, "limit capped by max_rows");

    // Keyset paging on two keys of different types.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (_, page) = rows(s, &query(&["age", "sfzh"], &["age", "sfzh"], &[], after.clone(), 4)).await;
        if page.is_empty() {
            break;
        }
        let last = &page[page.len() - 1];
        after = Some(vec![last[0].clone(), last[1].clone()]);
        seen.extend(page.into_iter().map(|r| (text(&r[0]), text(&r[1]))));
    }
    let mut want: Vec<(String, String)> = (0..ROWS).map(|i| (row(i).2.to_string(), row(i).0)).collect();
    want.sort();
    assert_eq!(seen, want);

    // Values that look like SQL are values: they match nothing, and nothing else happens.
    for (col, v) in [
        ("sfzh", "' OR 1=1 --"),
        ("sfzh", "\" OR \"\"=\""),
        ("xm", "x'; DROP TABLE residents; --"),
        ("age", "1 OR 1=1"),
        ("age", "abc"),
        ("born", "' OR '1'='1"),
    ] {
        let (_, got) = rows(s, &query(&["sfzh"], &[], &[(col, v)], None, 100)).await;
        assert!(got.is_empty(), "{col} = {v} matched {got:?}");
    }
    let (_, still) = rows(s, &query(&["sfzh"], &["sfzh"], &[], None, 100)).await;
    assert_eq!(still.len(), MAX_ROWS as usize, "the table is intact");

    // Names that are not the table's real columns are refused before any statement is built.
    for r in [
        query(&["sfzh", "password"], &[], &[], None, 5),
        query(&["sfzh\" FROM residents; --"], &[], &[], None, 5),
        query(&["sfzh"], &["nope"], &[], None, 5),
        query(&["sfzh"], &[], &[("1=1 OR sfzh", "x")], None, 5),
        query(&["SFZH"], &[], &[], None, 5),
    ] {
        assert_eq!(failed(s, &r).await, FailCode::UnknownColumn, "{r:?}");
    }
    let mut bad_table = query(&["sfzh"], &[], &[], None, 5);
    if let Request::Query { table, .. } = &mut bad_table {
        *table = "residents; DROP TABLE residents".into();
    }
    assert_eq!(failed(s, &bad_table).await, FailCode::UnknownTable);
    let wrong_after = query(&["sfzh"], &["sfzh"], &[], Some(vec![json!("a"), json!("b")]), 5);
    assert_eq!(failed(s, &wrong_after).await, FailCode::BadRequest);
}
