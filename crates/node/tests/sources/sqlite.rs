use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::conformance::{self, ROWS, row};

/// A new SQLite database at `path`, with one connection to fill it.
async fn create(path: &std::path::Path) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path).create_if_missing(true))
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlite_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hukou.db");
    let pool = create(&path).await;
    sqlx::query(
        "CREATE TABLE residents (sfzh TEXT PRIMARY KEY, xm TEXT NOT NULL, age INTEGER, born DATE, score NUMERIC, \
         note TEXT, updated_at DATETIME)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for i in 0..ROWS {
        let (sfzh, xm, age, born, score, note, updated) = row(i);
        sqlx::query("INSERT INTO residents VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(sfzh)
            .bind(xm)
            .bind(age)
            .bind(born)
            .bind(score)
            .bind(note)
            .bind(updated)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    // A relative path is relative to the configuration's directory.
    let sources = conformance::sources("sqlite://hukou.db", dir.path());
    conformance::run(&sources, true).await;
}

#[tokio::test]
async fn missing_sqlite_file_is_unhealthy_and_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let sources = conformance::sources("sqlite:///nonexistent/dir/x.db", dir.path());
    let health = sources.health().await;
    assert!(!health[0].ok && health[0].message.is_some(), "{health:?}");
    assert_eq!(health[0].kind, "sqlite");
    let reply = sources.columns("s", "residents").await;
    assert!(
        matches!(reply, shuqiao_exchange::Reply::Failed { code: shuqiao_exchange::FailCode::SourceUnavailable, .. }),
        "{reply:?}"
    );
}

/// A statement longer than the in-place budget still answers in full; one still running at the query timeout is
/// answered "unavailable" and interrupted: with one connection allowed, the next statement runs at once (it would
/// wait behind the endless one if that went on).
#[tokio::test]
async fn a_sqlite_statement_past_the_timeout_is_interrupted() {
    use shuqiao_exchange::{FailCode, Reply};
    use shuqiao_node::config::{Limits, SourceConfig};
    use shuqiao_node::plan::QueryRequest;
    use shuqiao_node::source::Sources;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.db");
    let pool = create(&path).await;
    for sql in [
        "CREATE TABLE residents (id INTEGER PRIMARY KEY, xm TEXT NOT NULL)",
        "INSERT INTO residents VALUES (1, '张三')",
        // Takes far longer than the in-place budget (about 0.5 ms), far less than the timeout.
        "CREATE VIEW counted AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) \
         SELECT MAX(x) AS id FROM c",
        // Counts up for ever and never yields a row.
        "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
         SELECT x AS id FROM c WHERE x < 0",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let limits = Limits { query_timeout: Duration::from_millis(500), max_connections: 1, ..Limits::default() };
    let sources =
        Sources::open(&[SourceConfig { name: "s".into(), url: "sqlite://slow.db".into() }], dir.path(), &limits);
    let (columns, keys) = (vec!["id".to_owned()], vec!["id".to_owned()]);
    let ask =
        |table| QueryRequest { table, columns: &columns, key_columns: &keys, filters: &[], after: None, limit: 5 };

    // Stopped in place, then run to the end on a blocking thread.
    match sources.query("s", &ask("counted")).await {
        Reply::Rows { rows, .. } => assert_eq!(rows, vec![vec![serde_json::json!(300000)]]),
        other => panic!("a long statement got {other:?}"),
    }

    let started = Instant::now();
    match sources.query("s", &ask("endless")).await {
        Reply::Failed { code, message } => {
            assert_eq!(code, FailCode::SourceUnavailable);
            assert!(message.contains("did not answer within 0.5 s"), "{message}");
        }
        other => panic!("an endless statement answered {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout took {:?}", started.elapsed());

    let started = Instant::now();
    match sources.query("s", &ask("residents")).await {
        Reply::Rows { rows, .. } => assert_eq!(rows, vec![vec![serde_json::json!(1)]]),
        other => panic!("the next statement got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(400), "the next statement waited {:?}", started.elapsed());
}
