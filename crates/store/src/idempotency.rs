//! Stored responses of state-changing calls made with an `Idempotency-Key`.

use sqlx::Row;

use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub async fn get(c: &mut Conn, principal: &str, key: &str) -> Result<Option<StoredResponse>> {
    let row = sqlx::query(
        "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE principal = $1 AND key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(c)
    .await?;
    match row {
        Some(r) => Ok(Some(StoredResponse {
            request_hash: r.try_get(0)?,
            status: u16::try_from(r.try_get::<i64, _>(1)?).unwrap_or(500),
            content_type: r.try_get(2)?,
            body: r.try_get(3)?,
        })),
        None => Ok(None),
    }
}

/// Records a response; a concurrent retry that stored first wins (the insert is ignored).
pub async fn put(c: &mut Conn, principal: &str, key: &str, resp: &StoredResponse, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, content_type, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (principal, key) DO NOTHING",
    )
    .bind(principal)
    .bind(key)
    .bind(&resp.request_hash)
    .bind(i64::from(resp.status))
    .bind(&resp.content_type)
    .bind(&resp.body)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn delete_older_than(c: &mut Conn, cutoff: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(cutoff).execute(c).await?.rows_affected())
}

pub async fn get_setting(c: &mut Conn, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(c).await?)
}

pub async fn put_setting(c: &mut Conn, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
        .bind(key)
        .bind(value)
        .execute(c)
        .await?;
    Ok(())
}
