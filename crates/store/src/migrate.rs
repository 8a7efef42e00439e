//! Embedded migrations, applied at start. Each migration has a text per backend; most are portable and share one
//! file. Applied versions are recorded in `schema_migrations`; a version is applied in one transaction.

use sqlx::Executor;

use crate::{Backend, Result, Store, ts};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const INIT: &str = include_str!("../migrations/0001_init.sql");
const SHARING_AUDIT: &str = include_str!("../migrations/0002_sharing_audit.sql");
const EXCHANGE: &str = include_str!("../migrations/0003_exchange.sql");
const INDEXES: &str = include_str!("../migrations/0004_indexes.sql");
const FILES: &str = include_str!("../migrations/0005_files.sql");
const BUS_SQLITE: &str = include_str!("../migrations/0006_bus_sqlite.sql");
const BUS_POSTGRES: &str = include_str!("../migrations/0006_bus_postgres.sql");
const ACCESS_INDEX: &str = include_str!("../migrations/0007_access_index.sql");
const SYNC: &str = include_str!("../migrations/0008_sync.sql");
const SUBJECT_KEYS_SQLITE: &str = include_str!("../migrations/0009_subject_keys_sqlite.sql");
const SUBJECT_KEYS_POSTGRES: &str = include_str!("../migrations/0009_subject_keys_postgres.sql");
const STORAGE_SQLITE: &str = include_str!("../migrations/0010_storage_sqlite.sql");
const STORAGE_POSTGRES: &str = include_str!("../migrations/0010_storage_postgres.sql");
const AUDIT_ROWID_SQLITE: &str = include_str!("../migrations/0011_audit_rowid_sqlite.sql");
const AUDIT_ROWID_POSTGRES: &str = include_str!("../migrations/0011_audit_rowid_postgres.sql");

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sqlite: INIT, postgres: INIT },
    Migration { version: 2, sqlite: SHARING_AUDIT, postgres: SHARING_AUDIT },
    Migration { version: 3, sqlite: EXCHANGE, postgres: EXCHANGE },
    Migration { version: 4, sqlite: INDEXES, postgres: INDEXES },
    Migration { version: 5, sqlite: FILES, postgres: FILES },
    Migration { version: 6, sqlite: BUS_SQLITE, postgres: BUS_POSTGRES },
    Migration { version: 7, sqlite: ACCESS_INDEX, postgres: ACCESS_INDEX },
    Migration { version: 8, sqlite: SYNC, postgres: SYNC },
    Migration { version: 9, sqlite: SUBJECT_KEYS_SQLITE, postgres: SUBJECT_KEYS_POSTGRES },
    Migration { version: 10, sqlite: STORAGE_SQLITE, postgres: STORAGE_POSTGRES },
    Migration { version: 11, sqlite: AUDIT_ROWID_SQLITE, postgres: AUDIT_ROWID_POSTGRES },
];

pub(crate) async fn run(store: &Store) -> Result<()> {
    let mut tx = store.begin().await?;
    if store.backend == Backend::Postgres {
        // Several platform processes may start together: one migrates, the others wait.
        sqlx::query("SELECT pg_advisory_xact_lock(7246913)").execute(&mut *tx).await?;
    }
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *tx).await?;
    for m in MIGRATIONS {
        if applied.contains(&m.version) {
            continue;
        }
        let sql = match store.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(m.version)
            .bind(ts(time::OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await?;
        tracing::info!(version = m.version, "applied migration");
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite store of schema v10 with events in it is upgraded in place: the events are the same, in the same
    /// order, and the table is now ordered by seq itself (seq is the rowid), its secondary indexes still there.
    #[tokio::test]
    async fn the_audit_log_moves_to_its_rowid_with_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shuqiao.db");
        let cols = "seq, at, actor, actor_name, actor_department, department, action, object, resource, purpose, \
                    case_ref, subjects, result, detail, prev_hash, hash";
        let dump = |conn: &rusqlite::Connection| -> Vec<Vec<String>> {
            let mut stmt = conn.prepare(&format!("SELECT {cols} FROM audit_events ORDER BY seq")).unwrap();
            stmt.query_map([], |r| (0..16).map(|i| r.get::<_, rusqlite::types::Value>(i)).collect())
                .unwrap()
                .map(|row: rusqlite::Result<Vec<rusqlite::types::Value>>| {
                    row.unwrap().into_iter().map(|v| format!("{v:?}")).collect()
                })
                .collect()
        };
        let before = {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
                .unwrap();
            for m in MIGRATIONS.iter().filter(|m| m.version <= 10) {
                conn.execute_batch(m.sqlite).unwrap();
                conn.execute("INSERT INTO schema_migrations VALUES (?1, 'then')", [m.version]).unwrap();
            }
            // Inserted out of order, one with NULLs and non-ASCII text.
            for seq in [3i64, 1, 2] {
                conn.execute(
                    &format!(
                        "INSERT INTO audit_events ({cols}) VALUES (?1, 'at', '用户', 'n', NULL, ?2, 'data.query', \
                              'o', NULL, '行政', NULL, '[]', 'ok', '{{}}', ?3, ?4)"
                    ),
                    rusqlite::params![seq, (seq == 2).then_some("dept"), format!("p{seq}"), format!("h{seq}")],
                )
                .unwrap();
            }
            dump(&conn)
        };
        assert_eq!(before.len(), 3);
        drop(Store::open_sqlite(dir.path()).await.unwrap());

        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(dump(&conn), before, "the same events in the same order");
        let misplaced: i64 =
            conn.query_row("SELECT count(*) FROM audit_events WHERE rowid <> seq", [], |r| r.get(0)).unwrap();
        assert_eq!(misplaced, 0, "seq is the rowid");
        let mut indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|n| n.unwrap())
            .collect();
        indexes.sort();
        assert_eq!(
            indexes,
            [
                "audit_events_action_at",
                "audit_events_actor_department",
                "audit_events_department",
                "audit_events_resource"
            ]
        );
        let version: i64 = conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 11);
    }
}
