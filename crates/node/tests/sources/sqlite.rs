use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::conformance::{self, ROWS, row};

#[tokio::test]
async fn sqlite_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hukou.db");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path).create_if_missing(true))
        .await
        .unwrap();
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
