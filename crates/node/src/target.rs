//! The consumer side of table sync (库表交换): the department's target database, where subscribed tables are
//! written. A batch is applied — the subscribed table created if missing, rows upserted by key, rows deleted,
//! and the subscription's checkpoint advanced — in **one transaction of the target database**, so that after a
//! crash anywhere the target holds exactly the batches up to its checkpoint: a batch delivered again is skipped
//! (exactly-once effect), a batch out of order is refused, and a batch that fails leaves nothing behind.
//!
//! The platform's delivery loop (sequence numbers, the bus, acknowledgements) builds on [`Target::apply`] and
//! [`Target::checkpoint`].

use std::path::Path;

use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::dialect::Dialect;
use crate::plan::{ColumnInfo, Fail};
use shuqiao_exchange::FailCode;

/// The table that holds each subscription's checkpoint in the target database.
pub const CHECKPOINTS: &str = "shuqiao_sync_checkpoints";

/// Most bound parameters in one statement (below SQLite's 32,766 and PostgreSQL's and MySQL's 65,535).
const MAX_PARAMS: usize = 30_000;

/// How a subscribed column is typed in the target: from the catalog item's data type (C 字符型, N 数值型, Y 货币型,
/// D 日期型, T 日期时间型, L 逻辑型, M 备注型, G 通用型, B 双精度型, I 整型, F 浮点型) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text(Option<u32>),
    Decimal,
    Integer,
    Double,
    Date,
    DateTime,
    Bool,
}

impl ColumnType {
    /// The type of a catalog data type letter (`None` for an unknown letter).
    pub fn of_catalog(letter: &str, length: Option<u32>) -> Option<ColumnType> {
        Some(match letter {
            "C" => ColumnType::Text(length.filter(|l| (1..=4000).contains(l))),
            "M" | "G" => ColumnType::Text(None),
            "N" | "Y" => ColumnType::Decimal,
            "I" => ColumnType::Integer,
            "B" | "F" => ColumnType::Double,
            "D" => ColumnType::Date,
            "T" => ColumnType::DateTime,
            "L" => ColumnType::Bool,
            _ => return None,
        })
    }

    fn ddl(self, d: Dialect, key: bool) -> String {
        match (self, d) {
            (ColumnType::Text(Some(n)), _) => format!("VARCHAR({n})"),
            // MySQL cannot index TEXT without a prefix: keys get a bounded VARCHAR.
            (ColumnType::Text(None), Dialect::MySql) if key => "VARCHAR(255)".into(),
            (ColumnType::Text(None), _) => "TEXT".into(),
            (ColumnType::Decimal, Dialect::MySql) => "DECIMAL(38,10)".into(),
            (ColumnType::Decimal, _) => "NUMERIC".into(),
            (ColumnType::Integer, _) => "BIGINT".into(),
            (ColumnType::Double, Dialect::MySql) => "DOUBLE".into(),
            (ColumnType::Double, _) => "DOUBLE PRECISION".into(),
            (ColumnType::Date, Dialect::Sqlite) => "TEXT".into(),
            (ColumnType::Date, _) => "DATE".into(),
            (ColumnType::DateTime, Dialect::Sqlite) => "TEXT".into(),
            (ColumnType::DateTime, Dialect::Postgres) => "TIMESTAMP".into(),
            (ColumnType::DateTime, Dialect::MySql) => "DATETIME(6)".into(),
            (ColumnType::Bool, Dialect::Sqlite) => "INTEGER".into(),
            (ColumnType::Bool, _) => "BOOLEAN".into(),
        }
    }

    /// The placeholder with the cast PostgreSQL needs for a value bound as text.
    fn param(self, d: Dialect, n: usize) -> String {
        match d {
            Dialect::Postgres => {
                let cast = match self {
                    ColumnType::Text(_) => "text",
                    ColumnType::Decimal => "numeric",
                    ColumnType::Integer => "bigint",
                    ColumnType::Double => "double precision",
                    ColumnType::Date => "date",
                    ColumnType::DateTime => "timestamp",
                    ColumnType::Bool => "boolean",
                };
                format!("CAST(${n} AS {cast})")
            }
            Dialect::Sqlite | Dialect::MySql => "?".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    pub column_type: ColumnType,
}

/// One batch of a subscription.
#[derive(Debug, Clone)]
pub struct Batch {
    pub subscription: String,
    /// 1, 2, 3, … per subscription.
    pub seq: u64,
    pub table: String,
    pub columns: Vec<TargetColumn>,
    /// Names among `columns`.
    pub key_columns: Vec<String>,
    /// Rows in the order of `columns`, upserted by key.
    pub upserts: Vec<Vec<Value>>,
    /// Key values (in the order of `key_columns`) of rows to delete.
    pub deletes: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied now; the checkpoint is `seq`.
    Now(u64),
    /// Applied before (the checkpoint is already at or past it): nothing was changed.
    Before(u64),
}

/// The target database of a node.
#[derive(Debug, Clone)]
pub struct Target {
    pool: AnyPool,
    dialect: Dialect,
}

fn fail(code: FailCode, m: impl Into<String>) -> Fail {
    Fail::new(code, m)
}

fn db(e: sqlx::Error) -> Fail {
    fail(FailCode::SourceUnavailable, format!("the target database failed: {e}"))
}

impl Target {
    /// A lazy pool on `sqlite:///path` (created if missing), `postgres://…` or `mysql://…`; `base` resolves
    /// relative SQLite paths.
    pub fn open(url: &str, base: &Path) -> Result<Target, String> {
        sqlx::any::install_default_drivers();
        let (url, dialect) = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err("a sqlite target needs a file path: sqlite:///path/to/file.db".into());
            }
            (format!("sqlite://{}?mode=rwc", base.join(path).display()), Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_owned(), Dialect::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            (url.replacen("mariadb://", "mysql://", 1), Dialect::MySql)
        } else {
            return Err("not a database URL (sqlite:///…, postgres://… or mysql://…)".into());
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 1 } else { 4 })
            .connect_lazy(&url)
            .map_err(|e| format!("not a usable target URL: {}", crate::config::redact_url(&e.to_string())))?;
        Ok(Target { pool, dialect })
    }

    async fn ensure_checkpoints(&self, c: &mut sqlx::AnyConnection) -> Result<(), Fail> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (subscription VARCHAR(64) PRIMARY KEY, seq BIGINT NOT NULL, \
             applied_at VARCHAR(40) NOT NULL)",
            self.dialect.quote(CHECKPOINTS)
        );
        c.execute(sqlx::AssertSqlSafe(sql)).await.map_err(db)?;
        Ok(())
    }

    fn p(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("${n}"),
            _ => "?".into(),
        }
    }

    /// The last batch applied for `subscription` (0 when none).
    pub async fn checkpoint(&self, subscription: &str) -> Result<u64, Fail> {
        let mut c = self.pool.acquire().await.map_err(db)?;
        self.ensure_checkpoints(&mut c).await?;
        read_checkpoint(&mut c, self.dialect, subscription, false, &self.p(1)).await
    }

    /// Applies a batch and advances the checkpoint to its `seq`, in one transaction (see the module documentation).
    pub async fn apply(&self, b: &Batch) -> Result<Applied, Fail> {
        check_batch(b)?;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        self.ensure_checkpoints(&mut conn).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db)?;
        // FOR UPDATE on the server databases: two deliveries of one subscription apply one after the other.
        let at = read_checkpoint(&mut tx, self.dialect, &b.subscription, true, &self.p(1)).await?;
        if b.seq <= at {
            return Ok(Applied::Before(at));
        }
        if b.seq != at + 1 {
            return Err(fail(
                FailCode::BadRequest,
                format!(
                    "batch {} of subscription {} arrived before batch {} (out of order)",
                    b.seq,
                    b.subscription,
                    at + 1
                ),
            ));
        }
        self.ensure_table(&mut tx, b).await?;
        self.upsert(&mut tx, b).await?;
        self.delete(&mut tx, b).await?;
        let now = time_now();
        let q = if at == 0 {
            format!(
                "INSERT INTO {} (subscription, seq, applied_at) VALUES ({}, {}, {})",
                self.dialect.quote(CHECKPOINTS),
                self.p(1),
                self.p(2),
                self.p(3)
            )
        } else {
            format!(
                "UPDATE {} SET subscription = {}, seq = {}, applied_at = {} WHERE subscription = {}",
                self.dialect.quote(CHECKPOINTS),
                self.p(1),
                self.p(2),
                self.p(3),
                self.p(4)
            )
        };
        let seq = i64::try_from(b.seq).map_err(|_| fail(FailCode::BadRequest, "sequence number too large"))?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(q)).bind(b.subscription.clone()).bind(seq).bind(now);
        if at != 0 {
            q = q.bind(b.subscription.clone());
        }
        q.execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Applied::Now(b.seq))
    }

    async fn columns(&self, c: &mut sqlx::AnyConnection, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        let stmt = self.dialect.columns_statement(table);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(stmt.sql.clone()));
        for bind in &stmt.binds {
            q = match bind {
                crate::dialect::Bind::Text(s) => q.bind(s.clone()),
                crate::dialect::Bind::Int(i) => q.bind(*i),
                crate::dialect::Bind::Float(f) => q.bind(*f),
            };
        }
        let rows: Vec<AnyRow> = q.fetch_all(&mut *c).await.map_err(db)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let cells: Vec<Value> =
                    (0..r.len()).map(|i| r.try_get::<String, _>(i).map(Value::String).unwrap_or(Value::Null)).collect();
                self.dialect.column_info(&cells)
            })
            .collect())
    }

    /// Creates the table if missing; an existing table must have every subscribed column.
    async fn ensure_table(&self, c: &mut sqlx::AnyConnection, b: &Batch) -> Result<(), Fail> {
        let existing = self.columns(c, &b.table).await?;
        if existing.is_empty() {
            let d = self.dialect;
            let cols: Vec<String> = b
                .columns
                .iter()
                .map(|col| {
                    let key = b.key_columns.contains(&col.name);
                    let null = if key { " NOT NULL" } else { "" };
                    format!("{} {}{null}", d.quote(&col.name), col.column_type.ddl(d, key))
                })
                .collect();
            let keys: Vec<String> = b.key_columns.iter().map(|k| d.quote(k)).collect();
            let sql = format!(
                "CREATE TABLE {} ({}, PRIMARY KEY ({}))",
                d.quote_table(&b.table),
                cols.join(", "),
                keys.join(", ")
            );
            c.execute(sqlx::AssertSqlSafe(sql)).await.map_err(db)?;
            return Ok(());
        }
        let missing: Vec<&str> = b
            .columns
            .iter()
            .filter(|col| !existing.iter().any(|e| e.name.eq_ignore_ascii_case(&col.name)))
            .map(|col| col.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(fail(
                FailCode::BadRequest,
                format!(
                    "the target table {} exists without the subscribed columns {}: rename it, or add the columns",
                    b.table,
                    missing.join(", ")
                ),
            ));
        }
        Ok(())
    }

    async fn upsert(&self, c: &mut sqlx::AnyConnection, b: &Batch) -> Result<(), Fail> {
        if b.upserts.is_empty() {
            return Ok(());
        }
        let d = self.dialect;
        let names: Vec<String> = b.columns.iter().map(|col| d.quote(&col.name)).collect();
        let keys: Vec<String> = b.key_columns.iter().map(|k| d.quote(k)).collect();
        let others: Vec<&String> = names.iter().filter(|n| !keys.contains(n)).collect();
        let conflict = match d {
            Dialect::MySql if others.is_empty() => {
                format!(" ON DUPLICATE KEY UPDATE {k} = {k}", k = keys.first().cloned().unwrap_or_default())
            }
            Dialect::MySql => format!(
                " ON DUPLICATE KEY UPDATE {}",
                others.iter().map(|n| format!("{n} = VALUES({n})")).collect::<Vec<_>>().join(", ")
            ),
            _ if others.is_empty() => format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")),
            _ => format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(", "),
                others.iter().map(|n| format!("{n} = excluded.{n}")).collect::<Vec<_>>().join(", ")
            ),
        };
        let per_row = b.columns.len().max(1);
        for chunk in b.upserts.chunks((MAX_PARAMS / per_row).max(1)) {
            let mut n = 0;
            let rows: Vec<String> = chunk
                .iter()
                .map(|_| {
                    let ps: Vec<String> = b
                        .columns
                        .iter()
                        .map(|col| {
                            n += 1;
                            col.column_type.param(d, n)
                        })
                        .collect();
                    format!("({})", ps.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}{conflict}",
                d.quote_table(&b.table),
                names.join(", "),
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for (v, col) in row.iter().zip(&b.columns) {
                    q = bind(q, v, col.column_type, d);
                }
            }
            q.execute(&mut *c)
                .await
                .map_err(|e| fail(FailCode::BadRequest, format!("the batch cannot be written to {}: {e}", b.table)))?;
        }
        Ok(())
    }

    async fn delete(&self, c: &mut sqlx::AnyConnection, b: &Batch) -> Result<(), Fail> {
        let d = self.dialect;
        let key_types: Vec<ColumnType> = b
            .key_columns
            .iter()
            .map(|k| b.columns.iter().find(|c| &c.name == k).map_or(ColumnType::Text(None), |c| c.column_type))
            .collect();
        for key in &b.deletes {
            let conds: Vec<String> = b
                .key_columns
                .iter()
                .zip(&key_types)
                .enumerate()
                .map(|(i, (k, t))| format!("{} = {}", d.quote(k), t.param(d, i + 1)))
                .collect();
            let sql = format!("DELETE FROM {} WHERE {}", d.quote_table(&b.table), conds.join(" AND "));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (v, t) in key.iter().zip(&key_types) {
                q = bind(q, v, *t, d);
            }
            q.execute(&mut *c).await.map_err(db)?;
        }
        Ok(())
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a JSON value for a column: numbers and booleans as themselves where the database takes them, the rest as
/// text (PostgreSQL casts it, see [`ColumnType::param`]).
fn bind<'q>(q: Query<'q>, v: &Value, t: ColumnType, d: Dialect) -> Query<'q> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) if d != Dialect::Postgres => q.bind(i64::from(*b)),
        Value::Number(n) if d != Dialect::Postgres => match (t, n.as_i64(), n.as_f64()) {
            (ColumnType::Integer | ColumnType::Bool, Some(i), _) => q.bind(i),
            (_, Some(i), _) if matches!(t, ColumnType::Decimal) => q.bind(i),
            (_, _, Some(f)) if matches!(t, ColumnType::Double | ColumnType::Decimal) => q.bind(f),
            _ => q.bind(n.to_string()),
        },
        Value::String(s) => q.bind(s.clone()),
        other => q.bind(other.to_string()),
    }
}

async fn read_checkpoint(
    c: &mut sqlx::AnyConnection,
    d: Dialect,
    subscription: &str,
    lock: bool,
    p1: &str,
) -> Result<u64, Fail> {
    let lock = if lock && d != Dialect::Sqlite { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT seq FROM {} WHERE subscription = {p1}{lock}", d.quote(CHECKPOINTS));
    let seq: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(subscription.to_owned())
        .fetch_optional(c)
        .await
        .map_err(db)?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

fn check_batch(b: &Batch) -> Result<(), Fail> {
    let bad = |m: String| Err(fail(FailCode::BadRequest, m));
    if b.subscription.is_empty() || b.subscription.len() > 64 {
        return bad("a batch needs its subscription id (1 to 64 characters)".into());
    }
    if b.seq == 0 {
        return bad("batch sequence numbers start at 1".into());
    }
    if b.key_columns.is_empty() || b.key_columns.iter().any(|k| !b.columns.iter().any(|c| &c.name == k)) {
        return bad("the key columns must be among the batch's columns".into());
    }
    if let Some(r) = b.upserts.iter().find(|r| r.len() != b.columns.len()) {
        return bad(format!("a row has {} values for {} columns", r.len(), b.columns.len()));
    }
    if let Some(k) = b.deletes.iter().find(|k| k.len() != b.key_columns.len()) {
        return bad(format!("a deleted key has {} values for {} key columns", k.len(), b.key_columns.len()));
    }
    if b.table.trim().is_empty() {
        return bad("a batch needs its target table".into());
    }
    Ok(())
}

fn time_now() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", t.as_secs(), t.subsec_micros())
}
