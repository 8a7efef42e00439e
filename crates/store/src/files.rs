//! Uploaded file versions of catalog entries (file exchange). The bytes are kept by the app layer in the data
//! directory; the rows say what they are.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub id: String,
    pub resource: String,
    pub department: String,
    pub name: String,
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const COLS: &str = "id, resource, department, name, version, size, sha256, content_type, uploaded_by, uploaded_at";

fn file(r: &AnyRow) -> Result<FileRow> {
    Ok(FileRow {
        id: r.try_get(0)?,
        resource: r.try_get(1)?,
        department: r.try_get(2)?,
        name: r.try_get(3)?,
        version: r.try_get(4)?,
        size: r.try_get(5)?,
        sha256: r.try_get(6)?,
        content_type: r.try_get(7)?,
        uploaded_by: r.try_get(8)?,
        uploaded_at: r.try_get(9)?,
    })
}

pub async fn insert_file(c: &mut Conn, f: &FileRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO files (id, resource, department, name, version, size, sha256, content_type, uploaded_by, \
         uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&f.id)
    .bind(&f.resource)
    .bind(&f.department)
    .bind(&f.name)
    .bind(f.version)
    .bind(f.size)
    .bind(&f.sha256)
    .bind(&f.content_type)
    .bind(&f.uploaded_by)
    .bind(&f.uploaded_at)
    .execute(c)
    .await?;
    Ok(())
}

/// The next version number of `name` in `resource` (1 for a new name).
pub async fn next_version(c: &mut Conn, resource: &str, name: &str) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM files WHERE resource = $1 AND name = $2")
        .bind(resource)
        .bind(name)
        .fetch_one(c)
        .await?;
    Ok(v.unwrap_or(0) + 1)
}

pub async fn get_file(c: &mut Conn, resource: &str, id: &str) -> Result<Option<FileRow>> {
    let sql = format!("SELECT {COLS} FROM files WHERE resource = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).bind(id).fetch_optional(c).await?;
    row.as_ref().map(file).transpose()
}

/// The files of a resource, newest first, after the cursor `(uploaded_at, id)`.
pub async fn list_files(c: &mut Conn, resource: &str, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<FileRow>> {
    let (at, id) = after.unwrap_or(("~", "~"));
    let sql = format!(
        "SELECT {COLS} FROM files WHERE resource = $1 AND (uploaded_at < $2 OR (uploaded_at = $2 AND id < $3)) \
         ORDER BY uploaded_at DESC, id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).bind(at).bind(id).bind(limit).fetch_all(c).await?;
    rows.iter().map(file).collect()
}

/// How many versions a resource has.
pub async fn count_files(c: &mut Conn, resource: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE resource = $1").bind(resource).fetch_one(c).await?)
}
