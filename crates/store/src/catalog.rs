//! Catalog entries: one row per version (see the migration for the invariants).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub id: String,
    pub code: String,
    pub version: i64,
    pub department_id: String,
    pub status: String,
    pub name: String,
    pub class_code: String,
    /// The entry JSON of API.md.
    pub data: String,
    /// The authority's comment when returned.
    pub comment: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

const COLS: &str = "id, code, version, department_id, status, name, class_code, data, comment, created_by, created_at, updated_at, \
     published_at";

fn entry(r: &AnyRow) -> Result<EntryRow> {
    Ok(EntryRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        version: r.try_get(2)?,
        department_id: r.try_get(3)?,
        status: r.try_get(4)?,
        name: r.try_get(5)?,
        class_code: r.try_get(6)?,
        data: r.try_get(7)?,
        comment: r.try_get(8)?,
        created_by: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
        published_at: r.try_get(12)?,
    })
}

async fn fetch_opt(c: &mut Conn, where_clause: &str, code: &str) -> Result<Option<EntryRow>> {
    let sql = format!("SELECT {COLS} FROM entries WHERE code = $1 AND {where_clause} ORDER BY version DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(c).await?;
    row.as_ref().map(entry).transpose()
}

pub async fn insert(c: &mut Conn, e: &EntryRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO entries (id, code, version, department_id, status, name, class_code, data, comment, created_by, \
         created_at, updated_at, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&e.id)
    .bind(&e.code)
    .bind(e.version)
    .bind(&e.department_id)
    .bind(&e.status)
    .bind(&e.name)
    .bind(&e.class_code)
    .bind(&e.data)
    .bind(&e.comment)
    .bind(&e.created_by)
    .bind(&e.created_at)
    .bind(&e.updated_at)
    .bind(&e.published_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Rewrites the mutable columns of a version. `expected_status` guards against a concurrent change: the update
/// touches nothing (and returns false) if the row is no longer in that state.
pub async fn update(c: &mut Conn, e: &EntryRow, expected_status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE entries SET status = $1, name = $2, data = $3, comment = $4, updated_at = $5, published_at = $6 \
         WHERE id = $7 AND status = $8",
    )
    .bind(&e.status)
    .bind(&e.name)
    .bind(&e.data)
    .bind(&e.comment)
    .bind(&e.updated_at)
    .bind(&e.published_at)
    .bind(&e.id)
    .bind(expected_status)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The version being worked on (draft, submitted or returned), if any.
pub async fn working(c: &mut Conn, code: &str) -> Result<Option<EntryRow>> {
    fetch_opt(c, "status IN ('draft', 'submitted', 'returned')", code).await
}

/// The version served to other departments (published, or retired), if any.
pub async fn served(c: &mut Conn, code: &str) -> Result<Option<EntryRow>> {
    fetch_opt(c, "status IN ('published', 'retired')", code).await
}

pub async fn latest(c: &mut Conn, code: &str) -> Result<Option<EntryRow>> {
    fetch_opt(c, "1 = 1", code).await
}

pub async fn version(c: &mut Conn, code: &str, version: i64) -> Result<Option<EntryRow>> {
    let sql = format!("SELECT {COLS} FROM entries WHERE code = $1 AND version = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code).bind(version).fetch_optional(c).await?;
    row.as_ref().map(entry).transpose()
}

/// Every version that was ever published, oldest first.
pub async fn public_versions(c: &mut Conn, code: &str) -> Result<Vec<EntryRow>> {
    let sql = format!(
        "SELECT {COLS} FROM entries WHERE code = $1 AND status IN ('published', 'retired', 'superseded') \
         ORDER BY version"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code).fetch_all(c).await?;
    rows.iter().map(entry).collect()
}

/// The highest code with this classification part (codes have fixed width, so text order is number order).
pub async fn max_code(c: &mut Conn, class_code: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT MAX(code) FROM entries WHERE class_code = $1").bind(class_code).fetch_one(c).await?)
}

/// Current versions (working and served; not superseded), ordered by id, after `after`, at most `limit` — the
/// input of an index rebuild, read in pages.
pub async fn current_page(c: &mut Conn, after: &str, limit: i64) -> Result<Vec<EntryRow>> {
    let sql = format!("SELECT {COLS} FROM entries WHERE status <> 'superseded' AND id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(c).await?;
    rows.iter().map(entry).collect()
}

/// Every published version (the served, not retired ones), ordered by code: what an export contains.
pub async fn published_all(c: &mut Conn) -> Result<Vec<EntryRow>> {
    let sql = format!("SELECT {COLS} FROM entries WHERE status = 'published' ORDER BY code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await?;
    rows.iter().map(entry).collect()
}

pub async fn count_by_status(c: &mut Conn) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT status, COUNT(*) FROM entries GROUP BY status ORDER BY status").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Current versions (not superseded) of the given codes, in no particular order.
pub async fn current_by_codes(c: &mut Conn, codes: &[String]) -> Result<Vec<EntryRow>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT {COLS} FROM entries WHERE code IN ({}) AND status <> 'superseded'", params.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for code in codes {
        q = q.bind(code);
    }
    let rows = q.fetch_all(c).await?;
    rows.iter().map(entry).collect()
}

/// Versions in one status (e.g. `submitted`, awaiting the authority), oldest change first.
pub async fn by_status(c: &mut Conn, status: &str) -> Result<Vec<EntryRow>> {
    let sql = format!("SELECT {COLS} FROM entries WHERE status = $1 ORDER BY updated_at, code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).fetch_all(c).await?;
    rows.iter().map(entry).collect()
}

/// Which of `codes` exist (any version).
pub async fn existing_codes(c: &mut Conn, codes: &[String]) -> Result<Vec<String>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT DISTINCT code FROM entries WHERE code IN ({})", params.join(", "));
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for code in codes {
        q = q.bind(code);
    }
    Ok(q.fetch_all(c).await?)
}
