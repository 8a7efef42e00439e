//! Subscriptions (table sync) and the provenance of their batches.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: String,
    pub grant_id: String,
    pub consumer: String,
    pub provider: String,
    pub resource: String,
    pub node: String,
    pub target_table: String,
    /// `active`, `paused` or `cancelled`.
    pub state: String,
    /// JSON: columns, keys, progress and counters (`app::exchange::sync`).
    pub data: String,
    pub last_error: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "id, grant_id, consumer, provider, resource, node, target_table, state, data, last_error, \
                    created_by, created_at, updated_at";

fn row(r: &AnyRow) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: r.try_get(0)?,
        grant_id: r.try_get(1)?,
        consumer: r.try_get(2)?,
        provider: r.try_get(3)?,
        resource: r.try_get(4)?,
        node: r.try_get(5)?,
        target_table: r.try_get(6)?,
        state: r.try_get(7)?,
        data: r.try_get(8)?,
        last_error: r.try_get(9)?,
        created_by: r.try_get(10)?,
        created_at: r.try_get(11)?,
        updated_at: r.try_get(12)?,
    })
}

pub async fn insert(c: &mut Conn, s: &SubscriptionRow) -> Result<()> {
    let sql =
        format!("INSERT INTO subscriptions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&s.id)
        .bind(&s.grant_id)
        .bind(&s.consumer)
        .bind(&s.provider)
        .bind(&s.resource)
        .bind(&s.node)
        .bind(&s.target_table)
        .bind(&s.state)
        .bind(&s.data)
        .bind(&s.last_error)
        .bind(&s.created_by)
        .bind(&s.created_at)
        .bind(&s.updated_at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn get(c: &mut Conn, id: &str) -> Result<Option<SubscriptionRow>> {
    let sql = format!("SELECT {COLS} FROM subscriptions WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?.as_ref().map(row).transpose()
}

/// The subscription, its row locked until the transaction ends on PostgreSQL (a read-modify-write of `data` by the
/// two halves of its worker must not lose the other's update; SQLite's single writer serialises them anyway).
pub async fn get_for_update(c: &mut Conn, id: &str) -> Result<Option<SubscriptionRow>> {
    let lock = if c.backend_name().eq_ignore_ascii_case("sqlite") { "" } else { " FOR UPDATE" };
    let sql = format!("SELECT {COLS} FROM subscriptions WHERE id = $1{lock}");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?.as_ref().map(row).transpose()
}

/// Subscriptions of a department as consumer or provider (`None`: all), oldest first, keyset-paged by
/// `created_at|id`.
pub async fn list(
    c: &mut Conn,
    department: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SubscriptionRow>> {
    let mut conds = Vec::new();
    let mut params: Vec<String> = Vec::new();
    if let Some(d) = department {
        params.push(d.to_owned());
        conds.push(format!("(consumer = ${n} OR provider = ${n})", n = params.len()));
    }
    if let Some((at, id)) = after.and_then(|a| a.split_once('|')) {
        params.push(at.to_owned());
        let n = params.len();
        params.push(id.to_owned());
        conds.push(format!("(created_at > ${n} OR (created_at = ${n} AND id > ${}))", n + 1));
    }
    let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let sql =
        format!("SELECT {COLS} FROM subscriptions {filter} ORDER BY created_at, id LIMIT {}", limit.clamp(1, 1000));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &params {
        q = q.bind(p.clone());
    }
    let rows = q.fetch_all(c).await?;
    rows.iter().map(row).collect()
}

/// Ids of the subscriptions in `state`.
pub async fn ids_in_state(c: &mut Conn, state: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM subscriptions WHERE state = $1 ORDER BY id").bind(state).fetch_all(c).await?)
}

/// Subscriptions of a grant that are not cancelled.
pub async fn live_of_grant(c: &mut Conn, grant_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM subscriptions WHERE grant_id = $1 AND state <> 'cancelled' ORDER BY id")
        .bind(grant_id)
        .fetch_all(c)
        .await?)
}

/// Subscriptions of a resource that are not cancelled.
pub async fn live_of_resource(c: &mut Conn, resource: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM subscriptions WHERE resource = $1 AND state <> 'cancelled' ORDER BY id")
        .bind(resource)
        .fetch_all(c)
        .await?)
}

/// A live subscription writing `target_table` on `node`, if any.
pub async fn live_on_target(c: &mut Conn, node: &str, target_table: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM subscriptions WHERE node = $1 AND target_table = $2 AND state <> 'cancelled' LIMIT 1",
    )
    .bind(node)
    .bind(target_table)
    .fetch_optional(c)
    .await?)
}

pub async fn set_state(c: &mut Conn, id: &str, state: &str, at: &str) -> Result<()> {
    sqlx::query("UPDATE subscriptions SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(state)
        .bind(at)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_data(c: &mut Conn, id: &str, data: &str, last_error: Option<&str>, at: &str) -> Result<()> {
    sqlx::query("UPDATE subscriptions SET data = $1, last_error = $2, updated_at = $3 WHERE id = $4")
        .bind(data)
        .bind(last_error)
        .bind(at)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_error(c: &mut Conn, id: &str, last_error: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE subscriptions SET last_error = $1 WHERE id = $2").bind(last_error).bind(id).execute(c).await?;
    Ok(())
}

/// One batch's provenance: read from the provider, published on the bus, applied by the consumer's node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub subscription: String,
    pub seq: i64,
    pub kind: String,
    pub upserts: i64,
    pub deletes: i64,
    /// SHA-256 of the batch as published.
    pub checksum: String,
    pub read_at: String,
    pub published_at: String,
    pub applied_at: Option<String>,
}

const BATCH_COLS: &str = "subscription, seq, kind, upserts, deletes, checksum, read_at, published_at, applied_at";

fn batch(r: &AnyRow) -> Result<BatchRow> {
    Ok(BatchRow {
        subscription: r.try_get(0)?,
        seq: r.try_get(1)?,
        kind: r.try_get(2)?,
        upserts: r.try_get(3)?,
        deletes: r.try_get(4)?,
        checksum: r.try_get(5)?,
        read_at: r.try_get(6)?,
        published_at: r.try_get(7)?,
        applied_at: r.try_get(8)?,
    })
}

/// Records a published batch (a retry of the same batch changes nothing).
pub async fn insert_batch(c: &mut Conn, b: &BatchRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO sync_batches ({BATCH_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (subscription, seq) DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&b.subscription)
        .bind(b.seq)
        .bind(&b.kind)
        .bind(b.upserts)
        .bind(b.deletes)
        .bind(&b.checksum)
        .bind(&b.read_at)
        .bind(&b.published_at)
        .bind(&b.applied_at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn mark_applied(c: &mut Conn, subscription: &str, seq: i64, at: &str) -> Result<()> {
    sqlx::query("UPDATE sync_batches SET applied_at = $1 WHERE subscription = $2 AND seq = $3 AND applied_at IS NULL")
        .bind(at)
        .bind(subscription)
        .bind(seq)
        .execute(c)
        .await?;
    Ok(())
}

/// Batches of a subscription after `after`, oldest first.
pub async fn batches(c: &mut Conn, subscription: &str, after: i64, limit: i64) -> Result<Vec<BatchRow>> {
    let sql =
        format!("SELECT {BATCH_COLS} FROM sync_batches WHERE subscription = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subscription).bind(after).bind(limit).fetch_all(c).await?;
    rows.iter().map(batch).collect()
}

/// `(rows, oldest read_at)` of the batches published and not yet applied.
pub async fn unapplied(c: &mut Conn, subscription: &str) -> Result<(i64, Option<String>)> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(upserts + deletes), 0) AS BIGINT), MIN(read_at) FROM sync_batches \
         WHERE subscription = $1 AND applied_at IS NULL",
    )
    .bind(subscription)
    .fetch_one(c)
    .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}
