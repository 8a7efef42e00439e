use sqlx::{Connection, Executor};

use crate::conformance::{self, ROWS, row};
use crate::postgres::fresh_name;

fn base() -> String {
    std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
}

#[tokio::test]
async fn mariadb_source() {
    let name = fresh_name("shuqiao_node_test");
    let mut admin =
        sqlx::MySqlConnection::connect(&base()).await.expect("MariaDB must be running (scripts/test starts it)");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")))
        .await
        .unwrap();
    let url = format!("{}/{name}", base());
    {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        conn.execute(
            "CREATE TABLE residents (sfzh VARCHAR(18) PRIMARY KEY, xm VARCHAR(50) NOT NULL, age INT, born DATE, \
             score DECIMAL(6,2), note TEXT, updated_at DATETIME)",
        )
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
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let sources = conformance::sources(&url, dir.path());
    conformance::run(&sources, true).await;
    drop(sources);
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
}
