//! Database sources, read-only: PostgreSQL and MySQL/MariaDB through typed sqlx pools, SQLite through a few
//! rusqlite connections (see [`LitePool`]).
//!
//! Statements are built only from names that [`Plan::check`] found among the table's real columns (quoted for
//! the dialect); every value the platform sent is bound as a parameter.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use shuqiao_exchange::FailCode;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Row};

use crate::dialect::{Bind, Dialect, Statement};
use crate::plan::{Category, ColumnInfo, Fail, Plan};

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(LitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

#[derive(Debug, Clone)]
pub struct SqlSource {
    pool: Pool,
    timeout: Duration,
}

/// Runs one statement on a typed pool and decodes every row to JSON values.
macro_rules! fetch_json {
    ($pool:expr, $stmt:expr, $decode:path) => {{
        let mut q = sqlx::query(sqlx::AssertSqlSafe($stmt.sql.clone()));
        for b in &$stmt.binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
                Bind::Float(f) => q.bind(*f),
            };
        }
        let rows = q.fetch_all($pool).await?;
        rows.iter().map(|r| (0..r.len()).map(|i| $decode(r, i)).collect::<Vec<Value>>()).collect::<Vec<_>>()
    }};
}

/// Tries each Rust type the driver may decode the value as, in order; NULL is `null`.
macro_rules! decode_value {
    ($row:expr, $i:expr, $($t:ty),*) => {{
        let row = $row;
        match row.try_get_raw($i) {
            Ok(raw) if sqlx::ValueRef::is_null(&raw) => Value::Null,
            _ => {
                $(
                    if let Ok(v) = row.try_get::<$t, _>($i) {
                        return Value::from(v);
                    }
                )*
                match row.try_get::<Vec<u8>, _>($i) {
                    Ok(bytes) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(_) => Value::Null,
                }
            }
        }
    }};
}

/// Decodes a value as the one Rust type its wire type names, without trying others (a failed `try_get` builds
/// an error message: a 10,000-row sync page has over 100,000 values).
macro_rules! decode_as {
    ($row:expr, $i:expr, $t:ty) => {
        match $row.try_get::<$t, _>($i) {
            Ok(v) => Value::from(v),
            Err(_) => Value::Null,
        }
    };
}

fn decode_pg(row: &sqlx::postgres::PgRow, i: usize) -> Value {
    use sqlx::{Column as _, TypeInfo as _, ValueRef as _};
    match row.try_get_raw(i) {
        Ok(raw) if raw.is_null() => return Value::Null,
        Ok(_) => {}
        Err(_) => return Value::Null,
    }
    let Some(column) = row.columns().get(i) else { return Value::Null };
    match column.type_info().name() {
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => decode_as!(row, i, String),
        "INT8" => decode_as!(row, i, i64),
        "INT4" => decode_as!(row, i, i32),
        "INT2" => decode_as!(row, i, i16),
        "FLOAT8" => decode_as!(row, i, f64),
        "FLOAT4" => decode_as!(row, i, f32),
        "BOOL" => decode_as!(row, i, bool),
        _ => decode_value!(row, i, i64, i32, i16, f64, f32, bool, String),
    }
}

fn decode_mysql(row: &sqlx::mysql::MySqlRow, i: usize) -> Value {
    use sqlx::{Column as _, TypeInfo as _, ValueRef as _};
    match row.try_get_raw(i) {
        Ok(raw) if raw.is_null() => return Value::Null,
        Ok(_) => {}
        Err(_) => return Value::Null,
    }
    let Some(column) = row.columns().get(i) else { return Value::Null };
    match column.type_info().name() {
        "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" => decode_as!(row, i, String),
        _ => decode_value!(row, i, i64, u64, f64, f32, bool, String),
    }
}

impl SqlSource {
    /// Prepares a lazy pool (the node starts even when a database is down; health says so). `base` resolves
    /// relative SQLite paths.
    pub fn open(url: &str, base: &Path, max_connections: u32, timeout: Duration) -> Result<SqlSource, String> {
        let pool = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err("a sqlite source needs a file path: sqlite:///path/to/file.db".into());
            }
            Pool::Sqlite(LitePool::new(base.join(path), max_connections, timeout))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| format!("not a usable PostgreSQL URL: {}", scrub(&e.to_string(), url)))?
                .options([("default_transaction_read_only", "on"), ("DateStyle", "ISO, YMD")]);
            Pool::Postgres(
                PgPoolOptions::new().max_connections(max_connections).acquire_timeout(timeout).connect_lazy_with(opts),
            )
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let opts = MySqlConnectOptions::from_str(&url)
                .map_err(|e| format!("not a usable MySQL URL: {}", scrub(&e.to_string(), &url)))?;
            Pool::MySql(
                MySqlPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy_with(opts),
            )
        } else {
            return Err("not a database URL".into());
        };
        Ok(SqlSource { pool, timeout })
    }

    pub fn kind(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
            Pool::MySql(_) => "mysql",
        }
    }

    fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// `SELECT 1` within the timeout.
    pub async fn check(&self) -> Result<(), String> {
        let stmt = Statement { sql: "SELECT 1".into(), binds: Vec::new() };
        self.fetch(&stmt).await.map(|_| ()).map_err(|f| f.message)
    }

    /// The columns of `table` (empty when there is no such table or view).
    pub async fn columns(&self, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        let (stmt, dialect) = (self.dialect().columns_statement(table), self.dialect());
        let rows = self.fetch(&stmt).await?;
        Ok(rows.into_iter().filter_map(|r| dialect.column_info(&r)).collect())
    }

    pub async fn query(&self, plan: &Plan, known: &[ColumnInfo]) -> Result<Vec<Vec<Value>>, Fail> {
        if plan.limit == 0 {
            return Ok(Vec::new());
        }
        let Some(stmt) = self.dialect().select_statement(plan, known) else {
            // A filter value that cannot be a value of its (numeric) column matches nothing.
            return Ok(Vec::new());
        };
        match self.fetch(&stmt).await {
            Ok(rows) => Ok(rows
                .into_iter()
                .map(|row| row.into_iter().zip(&plan.columns).map(|(v, &c)| present(v, known[c].category)).collect())
                .collect()),
            // PostgreSQL refuses a parameter that is not a value of the column's type (class 22, data
            // exception): such a filter value matches nothing. A sync position that is not a value of its column
            // is refused: an empty page would end the pass.
            Err(f) if f.code == FailCode::BadRequest && !plan.bytewise => Ok(Vec::new()),
            Err(f) => Err(f),
        }
    }

    /// The largest value of `col` (`null` for an empty table), presented like the column's values.
    pub async fn watermark(&self, table: &str, col: &ColumnInfo) -> Result<Value, Fail> {
        let stmt = self.dialect().watermark_statement(table, col);
        let rows = self.fetch(&stmt).await?;
        let v = rows.into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Value::Null);
        Ok(present(v, col.category))
    }

    /// A page of a first full pass in storage order (`scan_stored`): the rows as [`SqlSource::query`] presents
    /// them, each followed by its position (text) — PostgreSQL `ctid` `(block,offset)` through TID range scans
    /// (14 and later), SQLite's rowid; MySQL/MariaDB (InnoDB stores rows in primary-key order) and tables without
    /// such an order are [`FailCode::Unsupported`].
    pub async fn scan_stored(
        &self,
        plan: &Plan,
        known: &[ColumnInfo],
        after: Option<&str>,
    ) -> Result<Vec<Vec<Value>>, Fail> {
        if plan.limit == 0 {
            return Ok(Vec::new());
        }
        let d = self.dialect();
        let select = d.select_list(plan, known);
        let table = d.quote_table(&plan.table);
        let mut rows = match &self.pool {
            Pool::Postgres(pg) => {
                let after = after.map(parse_tid).transpose()?;
                let extent = self.pg_extent(&table).await?;
                self.within_timeout(pg_stored_page(pg, &select, &table, extent, after, plan.limit)).await?
            }
            Pool::Sqlite(lite) => {
                let after = match after {
                    None => None,
                    Some(a) => Some(a.parse::<i64>().map_err(|_| {
                        Fail::new(FailCode::BadRequest, format!("\"{a}\" is not a position in a SQLite table"))
                    })?),
                };
                let alias = ["rowid", "_rowid_", "oid"]
                    .into_iter()
                    .find(|a| !known.iter().any(|c| c.name.eq_ignore_ascii_case(a)))
                    .ok_or_else(|| unsupported("the table has columns named rowid, _rowid_ and oid"))?;
                let check = Statement {
                    sql: "SELECT 1 FROM pragma_table_list WHERE schema = 'main' AND name = ?1 AND type = 'table' \
                          AND wr = 0"
                        .into(),
                    binds: vec![Bind::Text(plan.table.clone())],
                };
                if lite.fetch(&check).await?.is_empty() {
                    return Err(unsupported("not a SQLite table with rowids (a view, or a table WITHOUT ROWID)"));
                }
                let mut sql = format!("SELECT {select}, {alias} FROM {table}");
                let mut binds = Vec::new();
                if let Some(a) = after {
                    sql.push_str(&format!(" WHERE {alias} > ?1"));
                    binds.push(Bind::Int(a));
                }
                sql.push_str(&format!(" ORDER BY {alias} LIMIT {}", plan.limit));
                let mut rows = lite.fetch(&Statement { sql, binds }).await?;
                for r in &mut rows {
                    if let Some(last @ Value::Number(_)) = r.last_mut() {
                        *last = Value::String(last.to_string());
                    }
                }
                rows
            }
            Pool::MySql(_) => {
                return Err(unsupported("MySQL/MariaDB tables are read in key order (InnoDB stores rows by key)"));
            }
        };
        for row in &mut rows {
            let n = row.len().saturating_sub(1);
            for (v, &c) in row[..n].iter_mut().zip(&plan.columns) {
                *v = present(std::mem::take(v), known[c].category);
            }
        }
        Ok(rows)
    }

    /// Whether a PostgreSQL table can be read in `ctid` order, and its extent.
    async fn pg_extent(&self, table: &str) -> Result<PgExtent, Fail> {
        let stmt = Statement {
            sql: "SELECT CAST(c.relkind AS text), c.relhassubclass, \
                  CAST(current_setting('server_version_num') AS integer), \
                  CAST(pg_relation_size(c.oid) / CAST(current_setting('block_size') AS integer) AS bigint), \
                  CAST(c.reltuples AS float8), CAST(c.relpages AS bigint) \
                  FROM pg_class c WHERE c.oid = to_regclass($1)"
                .into(),
            binds: vec![Bind::Text(table.to_owned())],
        };
        let rows = self.fetch(&stmt).await?;
        let Some(r) = rows.into_iter().next() else {
            return Err(Fail::new(FailCode::UnknownTable, format!("no table named {table}")));
        };
        let int = |i: usize| r.get(i).and_then(Value::as_i64).unwrap_or(0);
        let kind = r.first().and_then(Value::as_str).unwrap_or_default();
        if !matches!(kind, "r" | "m") || r.get(1).and_then(Value::as_bool).unwrap_or(true) {
            return Err(unsupported("not a plain PostgreSQL table (a view, or a partitioned or inherited table)"));
        }
        if int(2) < 140_000 {
            return Err(unsupported("PostgreSQL before 14 has no TID range scans"));
        }
        let (tuples, pages) = (r.get(4).and_then(Value::as_f64).unwrap_or(0.0), int(5));
        let per_block = if tuples > 0.0 && pages > 0 { tuples / pages as f64 } else { 0.0 };
        Ok(PgExtent { blocks: u64::try_from(int(3)).unwrap_or(0), per_block })
    }

    async fn fetch(&self, stmt: &Statement) -> Result<Vec<Vec<Value>>, Fail> {
        match &self.pool {
            Pool::Sqlite(p) => p.fetch(stmt).await,
            Pool::Postgres(p) => self.within_timeout(async { Ok(fetch_json!(p, stmt, decode_pg)) }).await,
            Pool::MySql(p) => self.within_timeout(async { Ok(fetch_json!(p, stmt, decode_mysql)) }).await,
        }
    }

    async fn within_timeout(
        &self,
        run: impl std::future::Future<Output = Result<Vec<Vec<Value>>, sqlx::Error>>,
    ) -> Result<Vec<Vec<Value>>, Fail> {
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => Err(fail_from(&e)),
            Err(_) => Err(timed_out(self.timeout)),
        }
    }
}

/// A PostgreSQL table's size in blocks and its rows per block as last analysed (0: unknown).
#[derive(Debug, Clone, Copy)]
struct PgExtent {
    blocks: u64,
    per_block: f64,
}

/// A `ctid` as the platform sent it back: `(block,offset)`.
fn parse_tid(text: &str) -> Result<(u32, u16), Fail> {
    let bad = || Fail::new(FailCode::BadRequest, format!("\"{text}\" is not a position in a PostgreSQL table"));
    let inner = text.trim().strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(bad)?;
    let (block, offset) = inner.split_once(',').ok_or_else(bad)?;
    Ok((block.trim().parse().map_err(|_| bad())?, offset.trim().parse().map_err(|_| bad())?))
}

fn unsupported(why: &str) -> Fail {
    Fail::new(FailCode::Unsupported, format!("this table cannot be read in storage order: {why}"))
}

/// Rows after `after` in `ctid` order, at most `limit`, through windows of blocks sized to hold about `limit`
/// rows (a TID range scan each, sorted in memory), widened while they come back sparse: fewer than `limit` only
/// at the table's end. The tuples are the plain TID text `(b,o)` built from numbers, not bound.
async fn pg_stored_page(
    pg: &PgPool,
    select: &str,
    table: &str,
    extent: PgExtent,
    after: Option<(u32, u16)>,
    limit: u32,
) -> Result<Vec<Vec<Value>>, sqlx::Error> {
    let per_block = if extent.per_block > 0.0 { extent.per_block } else { 32.0 };
    let mut window = ((f64::from(limit) / per_block) * 1.25).ceil().max(1.0) as u64 + 1;
    let mut lower = match after {
        Some((b, o)) => format!("ctid > '({b},{o})'::tid"),
        None => "ctid >= '(0,0)'::tid".to_owned(),
    };
    let mut start = u64::from(after.map_or(0, |(b, _)| b));
    let mut out: Vec<Vec<Value>> = Vec::new();
    loop {
        let remaining = limit as usize - out.len();
        let end = start.saturating_add(window);
        // Named, and the order by the table's column: `ORDER BY ctid` would otherwise sort by the select list's
        // `ctid`, the text.
        let mut sql = format!("SELECT {select}, CAST(ctid AS text) AS shuqiao_position FROM {table} WHERE {lower}");
        // The last window is open: rows that went into blocks added since the extent was read come too.
        let last = end >= extent.blocks || end > u64::from(u32::MAX);
        if !last {
            sql.push_str(&format!(" AND ctid < '({end},0)'::tid"));
        }
        sql.push_str(&format!(" ORDER BY {table}.ctid LIMIT {remaining}"));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pg).await?;
        out.extend(rows.iter().map(|r| (0..r.len()).map(|i| decode_pg(r, i)).collect::<Vec<Value>>()));
        if last || out.len() >= limit as usize {
            return Ok(out);
        }
        lower = format!("ctid >= '({end},0)'::tid");
        start = end;
        window = window.saturating_mul(2);
    }
}

/// A SQLite source's connections: opened read-only when first needed, kept for the next statement, at most
/// `max` at a time. A statement runs in place for a moment first ([`lite_rows_briefly`]), and if it needs longer,
/// again on one of tokio's blocking threads, from prepare to the last row, interrupted at the timeout; its values
/// are read in place (through sqlx, every row was a hand-off from the driver's thread and an owned copy).
#[derive(Debug, Clone)]
struct LitePool {
    path: PathBuf,
    idle: Arc<Mutex<Vec<rusqlite::Connection>>>,
    permits: Arc<tokio::sync::Semaphore>,
    timeout: Duration,
}

impl LitePool {
    fn new(path: PathBuf, max: u32, timeout: Duration) -> LitePool {
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        LitePool { path, idle: Arc::default(), permits: Arc::new(tokio::sync::Semaphore::new(max)), timeout }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.timeout)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    async fn fetch(&self, stmt: &Statement) -> Result<Vec<Vec<Value>>, Fail> {
        let permit = match tokio::time::timeout(self.timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(timed_out(self.timeout)),
        };
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open().map_err(|e| lite_fail(&e))?,
        };
        // In place first, for a moment of SQLite's work and without waiting for a lock: a look-up by key is done
        // long before; anything longer is stopped and runs again on a blocking thread.
        match lite_rows_briefly(&conn, &stmt.sql, &stmt.binds, self.timeout) {
            Ok(Some(rows)) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(conn);
                }
                return Ok(rows);
            }
            Ok(None) => {}
            Err(e) => return Err(lite_fail(&e)),
        }
        let interrupt = conn.get_interrupt_handle();
        let (sql, binds) = (stmt.sql.clone(), stmt.binds.clone());
        let task = tokio::task::spawn_blocking(move || {
            let rows = lite_rows(&conn, &sql, &binds);
            drop(permit);
            (conn, rows)
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok((conn, rows))) => {
                // A connection whose statement failed is not kept (its file may be gone or replaced).
                if rows.is_ok()
                    && let Ok(mut idle) = self.idle.lock()
                {
                    idle.push(conn);
                }
                rows.map_err(|e| lite_fail(&e))
            }
            Ok(Err(join)) => Err(Fail::new(FailCode::SourceUnavailable, format!("the source failed: {join}"))),
            Err(_) => {
                interrupt.interrupt();
                Err(timed_out(self.timeout))
            }
        }
    }
}

/// How much of SQLite's work a statement may do on the calling (async) thread; see [`lite_rows_briefly`].
const IN_PLACE_BUDGET: Duration = Duration::from_micros(500);

/// [`lite_rows`] on the calling thread, with neither lock waits (`busy_timeout` 0) nor more than
/// [`IN_PLACE_BUDGET`] of work (a progress handler interrupts it): `None` when it was stopped for either, and the
/// connection is ready to run the statement again as usual.
fn lite_rows_briefly(
    conn: &rusqlite::Connection,
    sql: &str,
    binds: &[Bind],
    busy_timeout: Duration,
) -> rusqlite::Result<Option<Vec<Vec<Value>>>> {
    let started = std::time::Instant::now();
    conn.busy_timeout(Duration::ZERO)?;
    conn.progress_handler(200, Some(move || started.elapsed() > IN_PLACE_BUDGET))?;
    let rows = lite_rows(conn, sql, binds);
    conn.progress_handler(0, None::<fn() -> bool>)?;
    conn.busy_timeout(busy_timeout)?;
    match rows {
        Ok(rows) => Ok(Some(rows)),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::OperationInterrupted
                        | rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                )
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Runs one statement and reads every row's values as JSON (`null`, numbers, text; a blob as lossy UTF-8 text).
fn lite_rows(conn: &rusqlite::Connection, sql: &str, binds: &[Bind]) -> rusqlite::Result<Vec<Vec<Value>>> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, b) in binds.iter().enumerate() {
        match b {
            Bind::Text(s) => stmt.raw_bind_parameter(i + 1, s)?,
            Bind::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Bind::Float(f) => stmt.raw_bind_parameter(i + 1, f)?,
        }
    }
    let width = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::from(v),
                ValueRef::Real(v) => Value::from(v),
                ValueRef::Text(t) | ValueRef::Blob(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            });
        }
        out.push(values);
    }
    Ok(out)
}

fn lite_fail(e: &rusqlite::Error) -> Fail {
    match e {
        rusqlite::Error::SqliteFailure(_, _) if e.sqlite_error_code() != Some(rusqlite::ErrorCode::CannotOpen) => {
            tracing::warn!(error = %e, "the source refused a statement");
            Fail::new(FailCode::SourceUnavailable, format!("the source refused the statement: {e}"))
        }
        other => {
            tracing::warn!(error = %other, "the source is unavailable");
            Fail::new(FailCode::SourceUnavailable, format!("the source is unavailable: {other}"))
        }
    }
}

fn timed_out(timeout: Duration) -> Fail {
    Fail::new(FailCode::SourceUnavailable, format!("the source did not answer within {} s", timeout.as_secs_f64()))
}

fn fail_from(e: &sqlx::Error) -> Fail {
    match e {
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
            Fail::new(FailCode::BadRequest, db.message().to_owned())
        }
        sqlx::Error::Database(db) => {
            tracing::warn!(error = %db.message(), "the source refused a statement");
            Fail::new(FailCode::SourceUnavailable, format!("the source refused the statement: {}", db.message()))
        }
        other => {
            tracing::warn!(error = %other, "the source is unavailable");
            Fail::new(FailCode::SourceUnavailable, format!("the source is unavailable: {other}"))
        }
    }
}

/// Removes the URL (with its credentials) from an error text.
fn scrub(text: &str, url: &str) -> String {
    text.replace(url, &crate::config::redact_url(url))
}

/// A value as the platform gets it: decimals as numbers where that loses nothing, date-times in ISO 8601.
fn present(v: Value, category: Category) -> Value {
    let Value::String(s) = v else { return v };
    match category {
        Category::Decimal => decimal(&s).unwrap_or(Value::String(s)),
        Category::Temporal => Value::String(iso_datetime(s)),
        _ => Value::String(s),
    }
}

fn decimal(s: &str) -> Option<Value> {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if digits > 15 {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    let f = s.parse::<f64>().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// `2025-01-02 03:04:05` → `2025-01-02T03:04:05` (MySQL DATETIME text); other forms unchanged.
fn iso_datetime(mut s: String) -> String {
    if s.len() > 10 && s.as_bytes().get(10) == Some(&b' ') && s.as_bytes().get(4) == Some(&b'-') {
        s.replace_range(10..11, "T");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presents_decimals_and_datetimes() {
        assert_eq!(present(Value::from("12.50"), Category::Decimal), Value::from(12.5));
        assert_eq!(
            present(Value::from("1234567890123456789.1"), Category::Decimal),
            Value::from("1234567890123456789.1")
        );
        assert_eq!(present(Value::from("2025-01-02 03:04:05"), Category::Temporal), Value::from("2025-01-02T03:04:05"));
        assert_eq!(present(Value::from("2025-01-02"), Category::Temporal), Value::from("2025-01-02"));
        assert_eq!(present(Value::from("x y"), Category::Text), Value::from("x y"));
    }
}
