//! Regions, departments, users, sessions and API clients.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub parent: Option<String>,
    pub kind: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub department_id: Option<String>,
    /// Comma-separated role names.
    pub roles: String,
    pub active: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub id: String,
    pub department_id: String,
    pub name: String,
    pub roles: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn region(r: &AnyRow) -> Result<RegionRow> {
    Ok(RegionRow { code: r.try_get(0)?, name: r.try_get(1)?, level: r.try_get(2)?, parent: r.try_get(3)? })
}

fn department(r: &AnyRow) -> Result<DepartmentRow> {
    Ok(DepartmentRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        credit_code: r.try_get(2)?,
        region: r.try_get(3)?,
        parent: r.try_get(4)?,
        kind: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

fn user(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        display_name: r.try_get(3)?,
        department_id: r.try_get(4)?,
        roles: r.try_get(5)?,
        active: r.try_get::<i64, _>(6)? != 0,
        created_at: r.try_get(7)?,
    })
}

fn client(r: &AnyRow) -> Result<ClientRow> {
    Ok(ClientRow {
        id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        name: r.try_get(2)?,
        roles: r.try_get(3)?,
        created_by: r.try_get(4)?,
        created_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
    })
}

pub async fn insert_region(c: &mut Conn, r: &RegionRow, now: &str) -> Result<()> {
    sqlx::query("INSERT INTO regions (code, name, level, parent, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&r.code)
        .bind(&r.name)
        .bind(&r.level)
        .bind(&r.parent)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn get_region(c: &mut Conn, code: &str) -> Result<Option<RegionRow>> {
    let row = sqlx::query("SELECT code, name, level, parent FROM regions WHERE code = $1")
        .bind(code)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(region).transpose()
}

pub async fn list_regions(c: &mut Conn) -> Result<Vec<RegionRow>> {
    let rows = sqlx::query("SELECT code, name, level, parent FROM regions ORDER BY code").fetch_all(c).await?;
    rows.iter().map(region).collect()
}

const DEPT_COLS: &str = "id, name, credit_code, region, parent, kind, created_at";

pub async fn insert_department(c: &mut Conn, d: &DepartmentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO departments (id, name, credit_code, region, parent, kind, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&d.id)
    .bind(&d.name)
    .bind(&d.credit_code)
    .bind(&d.region)
    .bind(&d.parent)
    .bind(&d.kind)
    .bind(&d.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get_department(c: &mut Conn, id: &str) -> Result<Option<DepartmentRow>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(department).transpose()
}

pub async fn get_department_by_credit_code(c: &mut Conn, code: &str) -> Result<Option<DepartmentRow>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE credit_code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(c).await?;
    row.as_ref().map(department).transpose()
}

/// Departments ordered by id, after `after` (cursor), at most `limit`.
pub async fn list_departments(c: &mut Conn, after: Option<&str>, limit: i64) -> Result<Vec<DepartmentRow>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after.unwrap_or("")).bind(limit).fetch_all(c).await?;
    rows.iter().map(department).collect()
}

pub async fn all_departments(c: &mut Conn) -> Result<Vec<DepartmentRow>> {
    let sql = format!("SELECT {DEPT_COLS} FROM departments ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await?;
    rows.iter().map(department).collect()
}

const USER_COLS: &str = "id, username, password_hash, display_name, department_id, roles, active, created_at";

pub async fn insert_user(c: &mut Conn, u: &UserRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, display_name, department_id, roles, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(&u.password_hash)
    .bind(&u.display_name)
    .bind(&u.department_id)
    .bind(&u.roles)
    .bind(i64::from(u.active))
    .bind(&u.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get_user(c: &mut Conn, id: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(user).transpose()
}

pub async fn get_user_by_name(c: &mut Conn, username: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(c).await?;
    row.as_ref().map(user).transpose()
}

pub async fn count_users(c: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await?)
}

/// Users ordered by username after `after`; only those of `department` when given.
pub async fn list_users(
    c: &mut Conn,
    department: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let rows = match department {
        Some(d) => {
            let sql = format!(
                "SELECT {USER_COLS} FROM users WHERE department_id = $1 AND username > $2 ORDER BY username LIMIT $3"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(d).bind(after.unwrap_or("")).bind(limit).fetch_all(c).await?
        }
        None => {
            let sql = format!("SELECT {USER_COLS} FROM users WHERE username > $1 ORDER BY username LIMIT $2");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after.unwrap_or("")).bind(limit).fetch_all(c).await?
        }
    };
    rows.iter().map(user).collect()
}

pub async fn insert_session(c: &mut Conn, token_hash: &str, user_id: &str, now: &str, expires: &str) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires)
        .execute(c)
        .await?;
    Ok(())
}

/// The user of an unexpired session.
pub async fn session_user(c: &mut Conn, token_hash: &str, now: &str) -> Result<Option<(UserRow, String)>> {
    let sql = format!(
        "SELECT {}, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
        USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).bind(now).fetch_optional(c).await?;
    match row {
        Some(r) => Ok(Some((user(&r)?, r.try_get(8)?))),
        None => Ok(None),
    }
}

pub async fn delete_session(c: &mut Conn, token_hash: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(c).await?.rows_affected())
}

pub async fn delete_expired_sessions(c: &mut Conn, now: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(c).await?.rows_affected())
}

const CLIENT_COLS: &str = "id, department_id, name, roles, created_by, created_at, revoked_at";

pub async fn insert_client(c: &mut Conn, cl: &ClientRow, token_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_clients (id, department_id, name, roles, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&cl.id)
    .bind(&cl.department_id)
    .bind(&cl.name)
    .bind(&cl.roles)
    .bind(token_hash)
    .bind(&cl.created_by)
    .bind(&cl.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn client_by_token(c: &mut Conn, token_hash: &str) -> Result<Option<ClientRow>> {
    let sql = format!("SELECT {CLIENT_COLS} FROM api_clients WHERE token_hash = $1 AND revoked_at IS NULL");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(c).await?;
    row.as_ref().map(client).transpose()
}

pub async fn list_clients(c: &mut Conn, department: &str) -> Result<Vec<ClientRow>> {
    let sql = format!("SELECT {CLIENT_COLS} FROM api_clients WHERE department_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(department).fetch_all(c).await?;
    rows.iter().map(client).collect()
}
