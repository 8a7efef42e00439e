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
