//! The consumer side of table sync (库表交换): the department's target database, where subscribed tables are
//! written. A batch is applied — the subscribed table created if missing, dropped columns dropped, the rows of a
//! full-pass page's key range replaced, rows upserted by key, rows deleted, and the subscription's checkpoint
//! advanced — in **one transaction of the target database**, so that after a crash anywhere the target holds
//! exactly the batches up to its checkpoint: a batch delivered again is skipped (exactly-once effect), a batch
//! out of order is refused, and a batch that fails leaves nothing behind.
//!
//! Key ranges compare text keys byte-wise (UTF-8), the order of the provider's `scan`, whatever the dialects.
//! PostgreSQL targets load rows with `COPY` (see [`postgres`]); SQLite and MySQL/MariaDB with multi-row
//! statements. MySQL ends a transaction at any DDL, so there the table is created and columns dropped just before
//! the transaction (both are idempotent; a batch already applied changes nothing).
//!
//! The platform's delivery loop (sequence numbers, the bus, acknowledgements) builds on [`Target::apply`] and
//! [`Target::checkpoint`].

mod column;
mod postgres;
mod statement;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use shuqiao_exchange::{FailCode, KeyRange};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use column::{ColumnType, TargetColumn};
use statement::{Arg, Conn, Stmt};

use crate::dialect::Dialect;
use crate::plan::{ColumnInfo, Fail};

/// The table that holds each subscription's checkpoint in the target database.
pub const CHECKPOINTS: &str = "shuqiao_sync_checkpoints";

/// Most bound parameters in one statement (below SQLite's 32,766 and PostgreSQL's and MySQL's 65,535).
const MAX_PARAMS: usize = 30_000;

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
    /// A page of a full pass: the target rows with keys in this range are deleted before the upserts (the page's
    /// rows are all that the source has there).
    pub range: Option<KeyRange>,
    /// Columns to drop from the target table if it has them (items no longer granted); never a key column.
    pub drop_columns: Vec<String>,
    /// The upserts are expected to be new to the table (see `Request::Apply`): a PostgreSQL target copies them
    /// straight in, and upserts them if one is not after all.
    pub fresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied now; the checkpoint is `seq`.
    Now(u64),
    /// Applied before (the checkpoint is already at or past it): nothing was changed.
    Before(u64),
}

#[derive(Debug, Clone)]
enum Pool {
    /// SQLite and MySQL/MariaDB.
    Any(AnyPool),
    /// Typed, for `COPY`.
    Postgres(PgPool),
}

/// The target database of a node.
#[derive(Debug)]
pub struct Target {
    pool: Pool,
    dialect: Dialect,
    /// The checkpoints table exists (created once per process, not per batch).
    checkpoints_ready: AtomicBool,
    /// Tables known to have these columns (lower case), so that a batch does not read the catalog again. A table
    /// changed behind the node's back makes a batch fail as a whole, and forgets the entry.
    known_tables: Mutex<BTreeMap<String, KnownTable>>,
    /// MySQL: the server's binary NO PAD collation for text keys (looked up once; `None` inside: it has none).
    mysql_bytes: Mutex<Option<Option<String>>>,
}

/// What a batch needs to know of an existing target table.
#[derive(Debug, Clone, Default)]
struct KnownTable {
    /// Its columns, in lower case.
    columns: BTreeSet<String>,
    /// Its text columns (lower case) whose collation is byte order.
    byte_ordered: BTreeSet<String>,
}

fn fail(code: FailCode, m: impl Into<String>) -> Fail {
    Fail::new(code, m)
}

fn db(e: sqlx::Error) -> Fail {
    fail(FailCode::SourceUnavailable, format!("the target database failed: {e}"))
}

/// A row that cannot be written (a type mismatch, a NULL key…): the batch is refused.
fn unwritable(table: &str) -> impl Fn(sqlx::Error) -> Fail + '_ {
    move |e| fail(FailCode::BadRequest, format!("the batch cannot be written to {table}: {e}"))
}

impl Target {
    /// A lazy pool on `sqlite:///path` (created if missing), `postgres://…` or `mysql://…`; `base` resolves
    /// relative SQLite paths.
    pub fn open(url: &str, base: &Path) -> Result<Target, String> {
        let scrub = |e: &dyn std::fmt::Display| {
            format!("not a usable target URL: {}", crate::config::redact_url(&e.to_string()))
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| scrub(&e))?;
            let pool = PgPoolOptions::new().max_connections(4).connect_lazy_with(opts);
            return Ok(Target::new(Pool::Postgres(pool), Dialect::Postgres));
        }
        sqlx::any::install_default_drivers();
        let (url, dialect) = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err("a sqlite target needs a file path: sqlite:///path/to/file.db".into());
            }
            (format!("sqlite://{}?mode=rwc", base.join(path).display()), Dialect::Sqlite)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            (url.replacen("mariadb://", "mysql://", 1), Dialect::MySql)
        } else {
            return Err("not a database URL (sqlite:///…, postgres://… or mysql://…)".into());
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 1 } else { 4 })
            .connect_lazy(&url)
            .map_err(|e| scrub(&e))?;
        Ok(Target::new(Pool::Any(pool), dialect))
    }

    fn new(pool: Pool, dialect: Dialect) -> Target {
        Target {
            pool,
            dialect,
            checkpoints_ready: AtomicBool::new(false),
            known_tables: Mutex::default(),
            mysql_bytes: Mutex::default(),
        }
    }

    async fn ensure_checkpoints(&self, c: &mut Conn<'_>) -> Result<(), Fail> {
        if !self.checkpoints_ready.load(Ordering::Relaxed) {
            c.execute(self.checkpoints_ddl()).await.map_err(db)?;
            self.checkpoints_ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    fn forget(&self, table: &str) {
        if let Ok(mut known) = self.known_tables.lock() {
            known.remove(table);
        }
    }

    /// Whether `table` is known to have every column of the batch, and no column it drops.
    fn known(&self, b: &Batch) -> bool {
        let Ok(known) = self.known_tables.lock() else { return false };
        known.get(&b.table).is_some_and(|t| {
            b.columns.iter().all(|c| t.columns.contains(&c.name.to_lowercase()))
                && !b.drop_columns.iter().any(|c| t.columns.contains(&c.to_lowercase()))
        })
    }

    /// Key columns of `table` (lower case) whose collation is byte order: compared natively in a range delete.
    fn byte_ordered(&self, table: &str) -> BTreeSet<String> {
        let Ok(known) = self.known_tables.lock() else { return BTreeSet::new() };
        known.get(table).map(|t| t.byte_ordered.clone()).unwrap_or_default()
    }

    /// MySQL: the binary NO PAD collation the server has, if any (MariaDB `utf8mb4_nopad_bin`, MySQL 8
    /// `utf8mb4_0900_bin`).
    async fn mysql_bytes(&self, c: &mut Conn<'_>) -> Result<Option<String>, Fail> {
        if let Ok(cached) = self.mysql_bytes.lock()
            && let Some(found) = cached.as_ref()
        {
            return Ok(found.clone());
        }
        let list: Vec<String> = crate::dialect::BYTE_ORDER_COLLATIONS.iter().map(|c| format!("'{c}'")).collect();
        let sql = format!(
            "SELECT CAST(collation_name AS CHAR) FROM information_schema.collations WHERE collation_name IN ({}) \
             ORDER BY collation_name DESC",
            list.join(", ")
        );
        let rows = c.texts(Stmt::new(sql)).await.map_err(db)?;
        let found = rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_owned)))
            .find(|c| c.starts_with("utf8mb4"));
        if let Ok(mut cached) = self.mysql_bytes.lock() {
            *cached = Some(found.clone());
        }
        Ok(found)
    }

    fn p(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("${n}"),
            _ => "?".into(),
        }
    }

    fn checkpoints_ddl(&self) -> Stmt {
        Stmt::new(format!(
            "CREATE TABLE IF NOT EXISTS {} (subscription VARCHAR(64) PRIMARY KEY, seq BIGINT NOT NULL, \
             applied_at VARCHAR(40) NOT NULL)",
            self.dialect.quote(CHECKPOINTS)
        ))
    }

    /// The last batch applied for `subscription` (0 when none).
    pub async fn checkpoint(&self, subscription: &str) -> Result<u64, Fail> {
        match &self.pool {
            Pool::Any(p) => {
                let mut c = p.acquire().await.map_err(db)?;
                let c = &mut Conn::Any(&mut c);
                self.ensure_checkpoints(c).await?;
                self.read_checkpoint(c, subscription, false).await
            }
            Pool::Postgres(p) => {
                let mut c = p.acquire().await.map_err(db)?;
                let c = &mut Conn::Postgres(&mut c);
                self.ensure_checkpoints(c).await?;
                self.read_checkpoint(c, subscription, false).await
            }
        }
    }

    /// Applies a batch and advances the checkpoint to its `seq`, in one transaction (see the module documentation).
    pub async fn apply(&self, b: &Batch) -> Result<Applied, Fail> {
        check_batch(b)?;
        let applied = self.apply_batch(b).await;
        if applied.is_err() {
            self.forget(&b.table);
        }
        applied
    }

    async fn apply_batch(&self, b: &Batch) -> Result<Applied, Fail> {
        match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await.map_err(db)?;
                self.ensure_checkpoints(&mut Conn::Postgres(&mut conn)).await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db)?;
                let applied = self.apply_in(&mut Conn::Postgres(&mut tx), b, true).await?;
                if matches!(applied, Applied::Now(_)) {
                    tx.commit().await.map_err(db)?;
                }
                Ok(applied)
            }
            Pool::Any(p) => {
                let mut conn = p.acquire().await.map_err(db)?;
                // Outside the transaction: DDL would end MySQL's.
                self.ensure_checkpoints(&mut Conn::Any(&mut conn)).await?;
                let ddl_in_tx = self.dialect != Dialect::MySql;
                if !ddl_in_tx {
                    // DDL would end MySQL's transaction: prepare the table first, unless nothing is to be done.
                    let at = self.read_checkpoint(&mut Conn::Any(&mut conn), &b.subscription, false).await?;
                    if b.seq <= at {
                        return Ok(Applied::Before(at));
                    }
                    in_order(b, at)?;
                    self.prepare_table(&mut Conn::Any(&mut conn), b).await?;
                }
                let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db)?;
                let applied = self.apply_in(&mut Conn::Any(&mut tx), b, ddl_in_tx).await?;
                if matches!(applied, Applied::Now(_)) {
                    tx.commit().await.map_err(db)?;
                }
                Ok(applied)
            }
        }
    }

    async fn apply_in(&self, c: &mut Conn<'_>, b: &Batch, ddl: bool) -> Result<Applied, Fail> {
        // FOR UPDATE on the server databases: two deliveries of one subscription apply one after the other.
        let at = self.read_checkpoint(c, &b.subscription, true).await?;
        if b.seq <= at {
            return Ok(Applied::Before(at));
        }
        in_order(b, at)?;
        let created = if ddl { self.prepare_table(c, b).await? } else { false };
        if let Some(range) = &b.range {
            c.execute(self.range_delete(b, range)?).await.map_err(unwritable(&b.table))?;
        }
        match c {
            Conn::Postgres(pg) => postgres::upsert(pg, b, b.range.is_some() || created || b.fresh).await?,
            Conn::Any(_) => self.upsert(c, b).await?,
        }
        self.delete(c, b).await?;
        let now = time_now();
        let seq = i64::try_from(b.seq).map_err(|_| fail(FailCode::BadRequest, "sequence number too large"))?;
        let mut s = if at == 0 {
            Stmt::new(format!(
                "INSERT INTO {} (subscription, seq, applied_at) VALUES ({}, {}, {})",
                self.dialect.quote(CHECKPOINTS),
                self.p(1),
                self.p(2),
                self.p(3)
            ))
        } else {
            Stmt::new(format!(
                "UPDATE {} SET seq = {}, applied_at = {} WHERE subscription = {}",
                self.dialect.quote(CHECKPOINTS),
                self.p(1),
                self.p(2),
                self.p(3)
            ))
        };
        if at == 0 {
            s.args.push(Arg::Text(b.subscription.clone()));
        }
        s.args.extend([Arg::Int(seq), Arg::Text(now)]);
        if at != 0 {
            s.args.push(Arg::Text(b.subscription.clone()));
        }
        c.execute(s).await.map_err(db)?;
        Ok(Applied::Now(b.seq))
    }

    async fn read_checkpoint(&self, c: &mut Conn<'_>, subscription: &str, lock: bool) -> Result<u64, Fail> {
        let lock = if lock && self.dialect != Dialect::Sqlite { " FOR UPDATE" } else { "" };
        let sql =
            format!("SELECT seq FROM {} WHERE subscription = {}{lock}", self.dialect.quote(CHECKPOINTS), self.p(1));
        let seq = c.optional_i64(Stmt { sql, args: vec![Arg::Text(subscription.to_owned())] }).await.map_err(db)?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    async fn columns(&self, c: &mut Conn<'_>, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        let stmt = self.dialect.columns_statement(table);
        let args = stmt
            .binds
            .into_iter()
            .map(|b| match b {
                crate::dialect::Bind::Text(s) => Arg::Text(s),
                crate::dialect::Bind::Int(i) => Arg::Int(i),
                crate::dialect::Bind::Float(f) => Arg::Float(f),
            })
            .collect();
        let rows = c.texts(Stmt { sql: stmt.sql, args }).await.map_err(db)?;
        Ok(rows.iter().filter_map(|r| self.dialect.column_info(r)).collect())
    }

    /// Creates the table if missing (true: created now) and drops `drop_columns` it has; the table must then have
    /// every subscribed column.
    async fn prepare_table(&self, c: &mut Conn<'_>, b: &Batch) -> Result<bool, Fail> {
        if self.known(b) {
            return Ok(false);
        }
        let (created, table) = self.create_or_check(c, b).await?;
        if let Ok(mut known) = self.known_tables.lock() {
            if known.len() > 1000 {
                known.clear();
            }
            known.insert(b.table.clone(), table);
        }
        Ok(created)
    }

    /// Creates the table or drops columns and checks the rest: (created now, the table's columns in lower case).
    async fn create_or_check(&self, c: &mut Conn<'_>, b: &Batch) -> Result<(bool, KnownTable), Fail> {
        let d = self.dialect;
        let existing = self.columns(c, &b.table).await?;
        if existing.is_empty() {
            let mysql_bytes = if d == Dialect::MySql { self.mysql_bytes(c).await? } else { None };
            let cols: Vec<String> = b
                .columns
                .iter()
                .map(|col| {
                    let key = b.key_columns.contains(&col.name);
                    let null = if key { " NOT NULL" } else { "" };
                    format!("{} {}{null}", d.quote(&col.name), col.column_type.ddl(d, key, mysql_bytes.as_deref()))
                })
                .collect();
            let keys: Vec<String> = b.key_columns.iter().map(|k| d.quote(k)).collect();
            let sql = format!(
                "CREATE TABLE {} ({}, PRIMARY KEY ({}))",
                d.quote_table(&b.table),
                cols.join(", "),
                keys.join(", ")
            );
            c.execute(Stmt::new(sql)).await.map_err(db)?;
            let lower = |c: &TargetColumn| c.name.to_lowercase();
            let byte_ordered = match (d, &mysql_bytes) {
                (Dialect::MySql, Some(_)) => b
                    .columns
                    .iter()
                    .filter(|c| c.column_type.is_text() && b.key_columns.contains(&c.name))
                    .map(lower)
                    .collect(),
                _ => BTreeSet::new(),
            };
            return Ok((true, KnownTable { columns: b.columns.iter().map(lower).collect(), byte_ordered }));
        }
        let has = |name: &str| existing.iter().find(|e| e.name.eq_ignore_ascii_case(name));
        for drop in &b.drop_columns {
            if let Some(col) = has(drop) {
                let sql = format!("ALTER TABLE {} DROP COLUMN {}", d.quote_table(&b.table), d.quote(&col.name));
                c.execute(Stmt::new(sql)).await.map_err(unwritable(&b.table))?;
            }
        }
        let columns = existing
            .iter()
            .map(|e| e.name.to_lowercase())
            .filter(|n| !b.drop_columns.iter().any(|d| d.eq_ignore_ascii_case(n)))
            .collect();
        let byte_ordered = existing.iter().filter(|e| e.byte_ordered).map(|e| e.name.to_lowercase()).collect();
        let missing: Vec<&str> =
            b.columns.iter().filter(|col| has(&col.name).is_none()).map(|col| col.name.as_str()).collect();
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
        Ok((false, KnownTable { columns, byte_ordered }))
    }

    fn key_types(&self, b: &Batch) -> Vec<ColumnType> {
        b.key_columns
            .iter()
            .map(|k| b.columns.iter().find(|c| &c.name == k).map_or(ColumnType::Text(None), |c| c.column_type))
            .collect()
    }

    /// `DELETE … WHERE after < key AND key <= upto`, keys compared as [`ColumnType::key_expr`].
    fn range_delete(&self, b: &Batch, range: &KeyRange) -> Result<Stmt, Fail> {
        let d = self.dialect;
        let types = self.key_types(b);
        // MySQL cannot use an index through CAST: keys already in byte order are compared natively.
        let byte_ordered = if d == Dialect::MySql { self.byte_ordered(&b.table) } else { BTreeSet::new() };
        let native: Vec<bool> = b.key_columns.iter().map(|k| byte_ordered.contains(&k.to_lowercase())).collect();
        let lhs: Vec<String> =
            b.key_columns.iter().zip(&types).zip(&native).map(|((k, t), &n)| t.key_expr(d, &d.quote(k), n)).collect();
        let lhs = format!("({})", lhs.join(", "));
        let mut s = Stmt::new(format!("DELETE FROM {}", d.quote_table(&b.table)));
        let mut conds = Vec::new();
        for (bound, op) in [(&range.after, ">"), (&range.upto, "<=")] {
            let Some(values) = bound else { continue };
            let mut ps = Vec::with_capacity(values.len());
            for ((v, t), &n) in values.iter().zip(&types).zip(&native) {
                s.args.push(t.arg(v, d));
                ps.push(t.key_param(d, s.args.len(), n));
            }
            conds.push(format!("{lhs} {op} ({})", ps.join(", ")));
        }
        if !conds.is_empty() {
            s.sql.push_str(" WHERE ");
            s.sql.push_str(&conds.join(" AND "));
        }
        Ok(s)
    }

    /// Multi-row `INSERT … ON CONFLICT/ON DUPLICATE KEY UPDATE` (SQLite, MySQL).
    async fn upsert(&self, c: &mut Conn<'_>, b: &Batch) -> Result<(), Fail> {
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
            let mut s = Stmt::new(format!(
                "INSERT INTO {} ({}) VALUES {}{conflict}",
                d.quote_table(&b.table),
                names.join(", "),
                rows.join(", ")
            ));
            s.args.reserve(chunk.len() * per_row);
            for row in chunk {
                for (v, col) in row.iter().zip(&b.columns) {
                    s.args.push(col.column_type.arg(v, d));
                }
            }
            c.execute(s).await.map_err(unwritable(&b.table))?;
        }
        Ok(())
    }

    /// `DELETE … WHERE (keys) IN ((…), …)`, many keys per statement.
    async fn delete(&self, c: &mut Conn<'_>, b: &Batch) -> Result<(), Fail> {
        if b.deletes.is_empty() {
            return Ok(());
        }
        let d = self.dialect;
        let types = self.key_types(b);
        let keys: Vec<String> = b.key_columns.iter().map(|k| d.quote(k)).collect();
        for chunk in b.deletes.chunks((MAX_PARAMS / types.len().max(1)).max(1)) {
            let mut s = Stmt::default();
            let mut tuples = Vec::with_capacity(chunk.len());
            for key in chunk {
                let mut ps = Vec::with_capacity(types.len());
                for (v, t) in key.iter().zip(&types) {
                    s.args.push(t.arg(v, d));
                    ps.push(t.param(d, s.args.len()));
                }
                tuples.push(format!("({})", ps.join(", ")));
            }
            s.sql = format!(
                "DELETE FROM {} WHERE ({}) IN ({})",
                d.quote_table(&b.table),
                keys.join(", "),
                tuples.join(", ")
            );
            c.execute(s).await.map_err(unwritable(&b.table))?;
        }
        Ok(())
    }
}

fn in_order(b: &Batch, at: u64) -> Result<(), Fail> {
    if b.seq == at + 1 {
        return Ok(());
    }
    Err(fail(
        FailCode::BadRequest,
        format!("batch {} of subscription {} arrived before batch {} (out of order)", b.seq, b.subscription, at + 1),
    ))
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
    if let Some(r) = &b.range {
        for bound in [&r.after, &r.upto].into_iter().flatten() {
            if bound.len() != b.key_columns.len() {
                return bad(format!(
                    "a range bound has {} values for {} key columns",
                    bound.len(),
                    b.key_columns.len()
                ));
            }
            if bound.iter().any(Value::is_null) {
                return bad("a range bound has a null value: keys are never null".into());
            }
        }
    }
    for drop in &b.drop_columns {
        if b.key_columns.iter().any(|k| k.eq_ignore_ascii_case(drop)) {
            return bad(format!("the key column {drop} cannot be dropped"));
        }
        if b.columns.iter().any(|c| c.name.eq_ignore_ascii_case(drop)) {
            return bad(format!("the column {drop} is both subscribed and dropped"));
        }
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
