//! Data exchange tables: nodes, mounts, per-grant daily usage, and the subject index of the audit log.

use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::EventRow;
use crate::sharing::{GRANT_COLS, GrantRow, grant};
use crate::{Conn, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub id: String,
    pub department: String,
    pub name: String,
    pub public_key: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub last_seen: Option<String>,
    /// JSON of the last Health frame.
    pub health: Option<String>,
    pub remote_addr: Option<String>,
}

const NODE_COLS: &str =
    "id, department, name, public_key, status, created_by, created_at, last_seen, health, remote_addr";

fn node(r: &AnyRow) -> Result<NodeRow> {
    Ok(NodeRow {
        id: r.try_get(0)?,
        department: r.try_get(1)?,
        name: r.try_get(2)?,
        public_key: r.try_get(3)?,
        status: r.try_get(4)?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        last_seen: r.try_get(7)?,
        health: r.try_get(8)?,
        remote_addr: r.try_get(9)?,
    })
}

pub async fn insert_node(c: &mut Conn, n: &NodeRow) -> Result<()> {
    let sql = format!("INSERT INTO nodes ({NODE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&n.id)
        .bind(&n.department)
        .bind(&n.name)
        .bind(&n.public_key)
        .bind(&n.status)
        .bind(&n.created_by)
        .bind(&n.created_at)
        .bind(&n.last_seen)
        .bind(&n.health)
        .bind(&n.remote_addr)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn get_node(c: &mut Conn, id: &str) -> Result<Option<NodeRow>> {
    let sql = format!("SELECT {NODE_COLS} FROM nodes WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(node).transpose()
}

pub async fn node_by_key(c: &mut Conn, public_key: &str) -> Result<Option<NodeRow>> {
    let sql = format!("SELECT {NODE_COLS} FROM nodes WHERE public_key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(public_key).fetch_optional(c).await?;
    row.as_ref().map(node).transpose()
}

/// Nodes of one department (or all), oldest first, after the cursor `created_at|id`.
pub async fn list_nodes(
    c: &mut Conn,
    department: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<NodeRow>> {
    let mut conds = Vec::new();
    let mut params: Vec<String> = Vec::new();
    if let Some(d) = department {
        params.push(d.to_owned());
        conds.push(format!("department = ${}", params.len()));
    }
    if let Some((at, id)) = after.and_then(|a| a.split_once('|')) {
        params.push(at.to_owned());
        let n = params.len();
        params.push(id.to_owned());
        conds.push(format!("(created_at > ${n} OR (created_at = ${n} AND id > ${}))", n + 1));
    }
    let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let sql = format!("SELECT {NODE_COLS} FROM nodes {filter} ORDER BY created_at, id LIMIT {}", limit.clamp(1, 1000));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &params {
        q = q.bind(p.clone());
    }
    let rows = q.fetch_all(c).await?;
    rows.iter().map(node).collect()
}

/// Records a node's last contact (and its health report and address when given).
pub async fn touch_node(
    c: &mut Conn,
    id: &str,
    at: &str,
    health: Option<&str>,
    remote_addr: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE nodes SET last_seen = $1, health = COALESCE($2, health), remote_addr = COALESCE($3, remote_addr) \
         WHERE id = $4",
    )
    .bind(at)
    .bind(health)
    .bind(remote_addr)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRow {
    pub resource: String,
    pub department: String,
    pub node_id: String,
    pub kind: String,
    /// The mount as JSON.
    pub data: String,
    /// 1 ok, 0 failed, NULL never checked.
    pub check_ok: Option<i64>,
    /// JSON of the last check.
    pub check_result: Option<String>,
    pub checked_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const MOUNT_COLS: &str = "resource, department, node_id, kind, data, check_ok, check_result, checked_at, created_by, \
                          created_at, updated_at";

fn mount(r: &AnyRow) -> Result<MountRow> {
    Ok(MountRow {
        resource: r.try_get(0)?,
        department: r.try_get(1)?,
        node_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        data: r.try_get(4)?,
        check_ok: r.try_get(5)?,
        check_result: r.try_get(6)?,
        checked_at: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: r.try_get(9)?,
        updated_at: r.try_get(10)?,
    })
}

pub async fn get_mount(c: &mut Conn, resource: &str) -> Result<Option<MountRow>> {
    let sql = format!("SELECT {MOUNT_COLS} FROM mounts WHERE resource = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).fetch_optional(c).await?;
    row.as_ref().map(mount).transpose()
}

/// Creates or replaces the mount of a resource; a replaced mount loses its check (it must be checked again).
pub async fn put_mount(c: &mut Conn, m: &MountRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO mounts ({MOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (resource) DO UPDATE SET department = excluded.department, node_id = excluded.node_id, \
         kind = excluded.kind, data = excluded.data, check_ok = NULL, check_result = NULL, checked_at = NULL, \
         created_by = excluded.created_by, updated_at = excluded.updated_at"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&m.resource)
        .bind(&m.department)
        .bind(&m.node_id)
        .bind(&m.kind)
        .bind(&m.data)
        .bind(m.check_ok)
        .bind(&m.check_result)
        .bind(&m.checked_at)
        .bind(&m.created_by)
        .bind(&m.created_at)
        .bind(&m.updated_at)
        .execute(c)
        .await?;
    Ok(())
}

/// Stores a check result, unless the mount changed since the check started (then false).
pub async fn set_mount_check(
    c: &mut Conn,
    resource: &str,
    expected_updated_at: &str,
    ok: bool,
    result: &str,
    at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mounts SET check_ok = $1, check_result = $2, checked_at = $3 WHERE resource = $4 AND updated_at = $5",
    )
    .bind(i64::from(ok))
    .bind(result)
    .bind(at)
    .bind(resource)
    .bind(expected_updated_at)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The grants of a consumer department on a resource, newest first.
pub async fn grants_of_consumer(c: &mut Conn, consumer: &str, resource: &str) -> Result<Vec<GrantRow>> {
    let sql = format!(
        "SELECT {GRANT_COLS} FROM grants WHERE consumer_department = $1 AND resource = $2 \
         ORDER BY created_at DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consumer).bind(resource).fetch_all(c).await?;
    rows.iter().map(grant).collect()
}

/// Today's usage of a grant: (requests, records).
pub async fn usage(c: &mut Conn, grant_id: &str, day: &str) -> Result<(i64, i64)> {
    let row = sqlx::query("SELECT requests, records FROM grant_usage WHERE grant_id = $1 AND day = $2")
        .bind(grant_id)
        .bind(day)
        .fetch_optional(c)
        .await?;
    match row {
        Some(r) => Ok((r.try_get(0)?, r.try_get(1)?)),
        None => Ok((0, 0)),
    }
}

/// Counts one request against a grant's day unless that would pass `max_requests`; returns the usage after it,
/// or `None` when the quota was already used up.
pub async fn take_request(c: &mut Conn, grant_id: &str, day: &str, max_requests: i64) -> Result<Option<(i64, i64)>> {
    if max_requests < 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "INSERT INTO grant_usage (grant_id, day, requests, records) VALUES ($1, $2, 1, 0) \
         ON CONFLICT (grant_id, day) DO UPDATE SET requests = grant_usage.requests + 1 \
         WHERE grant_usage.requests < $3 RETURNING requests, records",
    )
    .bind(grant_id)
    .bind(day)
    .bind(max_requests)
    .fetch_optional(c)
    .await?;
    match row {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}

/// Adds delivered records to a grant's day and records its last use.
pub async fn add_records(c: &mut Conn, grant_id: &str, day: &str, records: i64, at: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO grant_usage (grant_id, day, requests, records) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (grant_id, day) DO UPDATE SET records = grant_usage.records + $3",
    )
    .bind(grant_id)
    .bind(day)
    .bind(records)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE grants SET last_used_at = $1 WHERE id = $2").bind(at).bind(grant_id).execute(c).await?;
    Ok(())
}

/// Adds counted requests and records to a grant's day.
pub async fn add_usage(c: &mut Conn, grant_id: &str, day: &str, requests: i64, records: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO grant_usage (grant_id, day, requests, records) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (grant_id, day) DO UPDATE SET requests = grant_usage.requests + $3, \
         records = grant_usage.records + $4",
    )
    .bind(grant_id)
    .bind(day)
    .bind(requests)
    .bind(records)
    .execute(c)
    .await?;
    Ok(())
}

/// Records a grant's last use (never moving it back).
pub async fn set_last_used(c: &mut Conn, grant_id: &str, at: &str) -> Result<()> {
    sqlx::query("UPDATE grants SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
        .bind(at)
        .bind(grant_id)
        .execute(c)
        .await?;
    Ok(())
}

/// The look-up key of a subject hash in `audit_subject_keys`: the first 8 bytes of its SHA-256.
pub fn subject_key(hash: &str) -> i64 {
    let d = Sha256::digest(hash.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

/// Subjects of one event from which they go in as one list rather than as rows of multi-row INSERTs (a sync batch
/// touches thousands: one statement with one text parameter instead of dozens of 512-parameter ones).
const LIST_FROM: usize = 64;

/// Indexes the subjects of appended events (same transaction as the events). Each event is indexed once, by the
/// transaction that appends it, its keys deduplicated here: the statements are plain INSERTs (no `ON CONFLICT`
/// probe per key, which cost PostgreSQL a third of the index's time), so indexing an event twice is an error.
pub async fn insert_subjects(c: &mut Conn, pairs: &[(i64, String)]) -> Result<()> {
    let mut keys: Vec<(i64, i64)> = pairs.iter().map(|(seq, hash)| (*seq, subject_key(hash))).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut rows: Vec<(i64, i64)> = Vec::new();
    for event in keys.chunk_by(|a, b| a.0 == b.0) {
        if event.len() < LIST_FROM {
            rows.extend(event.iter().map(|&(seq, k)| (k, seq)));
            continue;
        }
        let keys = event.iter().map(|(_, k)| k.to_string()).collect::<Vec<_>>().join(",");
        let (sql, list) = if crate::placeholder(c, 1) == "?" {
            ("INSERT INTO audit_subject_keys (k, seq) SELECT value, ? FROM json_each(?)", format!("[{keys}]"))
        } else {
            ("INSERT INTO audit_subject_keys (k, seq) SELECT unnest($2::bigint[]), $1", format!("{{{keys}}}"))
        };
        sqlx::query(sql).bind(event[0].0).bind(list).execute(&mut *c).await?;
    }
    // In key order: neighbouring rows land on the same pages of the index.
    rows.sort_unstable();
    // Multi-row statements of a few fixed sizes (see `audit::insert_many`).
    for chunk in crate::row_chunks(&rows) {
        let sql = crate::multi_row_insert(c, "audit_subject_keys (k, seq)", chunk.len(), 2, "");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (k, seq) in chunk {
            q = q.bind(*k).bind(*seq);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Events that touched a subject hash (or, rarely, another hash with the same key: the caller re-checks each
/// event's own subjects), newest first, with `seq < before`.
pub async fn events_of_subject(c: &mut Conn, hash: &str, before: i64, limit: i64) -> Result<Vec<EventRow>> {
    let sql = format!(
        "SELECT {} FROM audit_events e WHERE e.seq IN \
         (SELECT seq FROM audit_subject_keys WHERE k = $1 UNION SELECT seq FROM audit_subjects WHERE hash = $2) \
         AND e.seq < $3 ORDER BY e.seq DESC LIMIT $4",
        crate::audit::COLS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject_key(hash))
        .bind(hash)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(crate::audit::event).collect()
}

/// Data accesses (`data.query`, `data.verify`, `data.api`, `data.file`, whatever their result) at or after `from`
/// (a store timestamp): (UTC day `YYYY-MM-DD`, consumer department, accesses, refused or failed).
pub async fn access_volume(c: &mut Conn, from: &str) -> Result<Vec<(String, Option<String>, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT substr(at, 1, 10), actor_department, COUNT(*), SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END) \
         FROM audit_events WHERE action IN ('data.query', 'data.verify', 'data.api', 'data.file') AND at >= $1 \
         GROUP BY substr(at, 1, 10), actor_department ORDER BY 1",
    )
    .bind(from)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    /// The subject index rows of every event, as (k, seq), in order.
    async fn index_rows(store: &Store) -> Vec<(i64, i64)> {
        let mut c = store.reader().await.unwrap();
        let rows =
            sqlx::query("SELECT k, seq FROM audit_subject_keys ORDER BY k, seq").fetch_all(&mut *c).await.unwrap();
        rows.iter().map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap())).collect()
    }

    /// One event with many subjects (a sync batch: the list statement), events with a few (multi-row INSERTs), a
    /// subject repeated within an event indexed once; indexing an event again is refused and adds nothing.
    async fn subjects_are_indexed(store: Store) {
        let many: Vec<(i64, String)> = (0..300).map(|i| (7, format!("id_card:{i:064x}"))).collect();
        let few: Vec<(i64, String)> = (0..3).map(|i| (8 + i, format!("credit_code:{i:064x}"))).collect();
        let mut tx = store.begin().await.unwrap();
        insert_subjects(&mut tx, &[many.clone(), few.clone(), many[..100].to_vec(), few[..1].to_vec()].concat())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut want: Vec<(i64, i64)> = many.iter().chain(&few).map(|(seq, h)| (subject_key(h), *seq)).collect();
        want.sort_unstable();
        assert_eq!(index_rows(&store).await, want);
        for again in [&many[..100], &few[..1]] {
            let mut tx = store.begin().await.unwrap();
            assert!(insert_subjects(&mut tx, again).await.is_err(), "an event indexed twice");
            drop(tx);
            assert_eq!(index_rows(&store).await, want);
        }
        // The key is stable and spreads: no two of these 303 hashes share one.
        assert_eq!(subject_key("id_card:00"), subject_key("id_card:00"));
        let mut ks: Vec<i64> = want.iter().map(|w| w.0).collect();
        ks.dedup();
        assert_eq!(ks.len(), 303);
    }

    #[tokio::test]
    async fn subjects_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        subjects_are_indexed(Store::open_sqlite(dir.path()).await.unwrap()).await;
    }

    #[tokio::test]
    async fn subjects_on_postgres() {
        use sqlx::{Connection, Executor};
        let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
        sqlx::any::install_default_drivers();
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("shuqiao_subject_test_{}_{}", std::process::id(), t % 1_000_000_000_000);
        let mut admin = sqlx::AnyConnection::connect(&format!("{base}/postgres")).await.unwrap();
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
        subjects_are_indexed(Store::connect(&format!("{base}/{name}")).await.unwrap()).await;
        let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
    }
}
