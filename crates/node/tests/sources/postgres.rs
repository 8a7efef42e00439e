use sqlx::{Connection, Executor};

use crate::conformance::{self, ROWS, row};

pub fn base() -> String {
    std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub fn fresh_name(prefix: &str) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), t % 1_000_000_000_000)
}

#[tokio::test]
async fn postgres_source() {
    let name = fresh_name("shuqiao_node_test");
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", base()))
        .await
        .expect("PostgreSQL must be running (scripts/test starts it)");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let url = format!("{}/{name}", base());
    {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        conn.execute(
            "CREATE TABLE residents (sfzh VARCHAR(18) PRIMARY KEY, xm TEXT NOT NULL, age INTEGER, born DATE, \
             score NUMERIC(6,2), note TEXT, updated_at TIMESTAMP)",
        )
        .await
        .unwrap();
        for i in 0..ROWS {
            let (sfzh, xm, age, born, score, note, updated) = row(i);
            sqlx::query(
                "INSERT INTO residents VALUES ($1, $2, $3, CAST($4 AS DATE), CAST($5 AS NUMERIC), $6, \
                 CAST($7 AS TIMESTAMP))",
            )
            .bind(sfzh)
            .bind(xm)
            .bind(age as i32)
            .bind(born)
            .bind(score)
            .bind(note)
            .bind(updated)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        // The node's session is read-only: it could not write even if a statement tried.
        conn.close().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let sources = conformance::sources(&url, dir.path());
    conformance::run(&sources, true).await;
    // `schema.table` names a schema.
    let reply = sources.columns("s", "public.residents").await;
    assert!(matches!(reply, shuqiao_exchange::Reply::Columns { ref columns } if columns.len() == 7), "{reply:?}");
    drop(sources);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
}
