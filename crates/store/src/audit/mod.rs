//! The audit chain's rows. Hashing and verification live in the app layer; this module only stores.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result, StoreError};

mod scan;
pub use scan::scan;
pub(crate) use scan::sqlite_path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_name: String,
    pub actor_department: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub object: String,
    pub resource: Option<String>,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    /// JSON array of keyed subject hashes.
    pub subjects: String,
    pub result: String,
    /// JSON object.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

pub(crate) const COLS: &str = "seq, at, actor, actor_name, actor_department, department, action, object, resource, purpose, \
                    case_ref, subjects, result, detail, prev_hash, hash";

pub(crate) fn event(r: &AnyRow) -> Result<EventRow> {
    Ok(EventRow {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        actor_name: r.try_get(3)?,
        actor_department: r.try_get(4)?,
        department: r.try_get(5)?,
        action: r.try_get(6)?,
        object: r.try_get(7)?,
        resource: r.try_get(8)?,
        purpose: r.try_get(9)?,
        case_ref: r.try_get(10)?,
        subjects: r.try_get(11)?,
        result: r.try_get(12)?,
        detail: r.try_get(13)?,
        prev_hash: r.try_get(14)?,
        hash: r.try_get(15)?,
    })
}

/// Reserves the next sequence number and returns it with the previous head hash. On PostgreSQL the head row
/// stays locked until the transaction ends, which serialises appends.
pub async fn advance_head(c: &mut Conn, by: i64) -> Result<(i64, String)> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(by)
        .fetch_one(c)
        .await?;
    let seq: i64 = row.try_get(0)?;
    Ok((seq - by + 1, row.try_get(1)?))
}

pub async fn set_head_hash(c: &mut Conn, hash: &str) -> Result<()> {
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(hash).execute(c).await?;
    Ok(())
}

pub async fn head(c: &mut Conn) -> Result<(i64, String)> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(c).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

pub async fn insert(c: &mut Conn, e: &EventRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO audit_events ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    bind_event(sqlx::query(sqlx::AssertSqlSafe(sql)), e).execute(c).await?;
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds the 16 columns of an event, in the order of `COLS`.
fn bind_event<'q>(q: AnyQuery<'q>, e: &'q EventRow) -> AnyQuery<'q> {
    q.bind(e.seq)
        .bind(&e.at)
        .bind(&e.actor)
        .bind(&e.actor_name)
        .bind(&e.actor_department)
        .bind(&e.department)
        .bind(&e.action)
        .bind(&e.object)
        .bind(&e.resource)
        .bind(&e.purpose)
        .bind(&e.case_ref)
        .bind(&e.subjects)
        .bind(&e.result)
        .bind(&e.detail)
        .bind(&e.prev_hash)
        .bind(&e.hash)
}

/// Inserts several events (group commit of the audit writer), in multi-row statements of a few fixed sizes.
pub async fn insert_many(c: &mut Conn, events: &[EventRow]) -> Result<()> {
    for chunk in crate::row_chunks(events) {
        if let [e] = chunk {
            insert(c, e).await?;
            continue;
        }
        let sql = crate::multi_row_insert(c, &format!("audit_events ({COLS})"), chunk.len(), 16, "");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = bind_event(q, e);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Events with `after < seq <= upto`, ascending, at most `limit` — the input of verification, read in pages.
pub async fn page(c: &mut Conn, after: i64, upto: i64, limit: i64) -> Result<Vec<EventRow>> {
    let sql = format!("SELECT {COLS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).bind(upto).bind(limit).fetch_all(c).await?;
    rows.iter().map(event).collect()
}

/// Filter of the event list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events whose actor belongs to, or that concern, this department.
    pub department: Option<String>,
    pub resource: Option<String>,
    pub action: Option<String>,
    /// Inclusive bounds on `at` (RFC 3339 text, compared as text).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Newest first: events with `seq < before`.
    pub before: Option<i64>,
}

/// Events matching the filter, newest first.
pub async fn list(c: &mut Conn, f: &EventFilter, limit: i64) -> Result<Vec<EventRow>> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(d) = &f.department {
        binds.push(d.clone());
        let n = binds.len();
        clauses.push(format!("(actor_department = ${n} OR department = ${n})"));
    }
    for (col, v) in [("resource", &f.resource), ("action", &f.action)] {
        if let Some(v) = v {
            binds.push(v.clone());
            clauses.push(format!("{col} = ${}", binds.len()));
        }
    }
    if let Some(v) = &f.from {
        binds.push(v.clone());
        clauses.push(format!("at >= ${}", binds.len()));
    }
    if let Some(v) = &f.to {
        binds.push(v.clone());
        clauses.push(format!("at <= ${}", binds.len()));
    }
    let mut sql = format!("SELECT {COLS} FROM audit_events");
    let before_n = binds.len() + 1;
    clauses.push(format!("seq < ${before_n}"));
    sql.push_str(" WHERE ");
    sql.push_str(&clauses.join(" AND "));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", before_n + 1));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.bind(f.before.unwrap_or(i64::MAX)).bind(limit).fetch_all(c).await?;
    rows.iter().map(event).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub seq: i64,
    pub hash: String,
    pub algorithm: String,
    pub signed_at: String,
    pub public_key: String,
    pub signature: String,
}

pub async fn insert_checkpoint(c: &mut Conn, cp: &CheckpointRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, algorithm, signed_at, public_key, signature) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING",
    )
    .bind(cp.seq)
    .bind(&cp.hash)
    .bind(&cp.algorithm)
    .bind(&cp.signed_at)
    .bind(&cp.public_key)
    .bind(&cp.signature)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn checkpoints(c: &mut Conn) -> Result<Vec<CheckpointRow>> {
    let rows = sqlx::query(
        "SELECT seq, hash, algorithm, signed_at, public_key, signature FROM audit_checkpoints ORDER BY seq",
    )
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CheckpointRow {
                seq: r.try_get(0)?,
                hash: r.try_get(1)?,
                algorithm: r.try_get(2)?,
                signed_at: r.try_get(3)?,
                public_key: r.try_get(4)?,
                signature: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map_err(|e: StoreError| e)
}

pub async fn last_checkpoint_seq(c: &mut Conn) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints").fetch_one(c).await?;
    Ok(v.unwrap_or(0))
}

/// The audit writer's own connection to the SQLite store (see [`crate::Store::append_sync`]): every commit waits
/// until it is on disk.
pub(crate) fn open_appender(path: &str) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
         PRAGMA cache_size=-8000; PRAGMA temp_store=MEMORY;",
    )?;
    conn.execute_batch(crate::checkpoint::NO_AUTO_CHECKPOINT)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The statements of an append on SQLite, run in place on the store's synchronous connection (the synchronous
/// twins of [`advance_head`], [`insert_many`], [`crate::exchange::insert_subjects`], [`set_head_hash`] and
/// [`insert_checkpoint`], writing the same rows).
impl crate::LiteTx<'_> {
    /// Reserves `by` sequence numbers; returns the first with the previous head hash.
    pub fn advance_head(&mut self, by: i64) -> Result<(i64, String)> {
        let mut stmt =
            self.conn.prepare_cached("UPDATE audit_head SET seq = seq + ?1 WHERE id = 1 RETURNING seq, hash")?;
        let (seq, hash): (i64, String) = stmt.query_row([by], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((seq - by + 1, hash))
    }

    pub fn insert_events(&mut self, events: &[EventRow]) -> Result<()> {
        let sql = format!(
            "INSERT INTO audit_events ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for e in events {
            stmt.execute(rusqlite::params![
                e.seq,
                e.at,
                e.actor,
                e.actor_name,
                e.actor_department,
                e.department,
                e.action,
                e.object,
                e.resource,
                e.purpose,
                e.case_ref,
                e.subjects,
                e.result,
                e.detail,
                e.prev_hash,
                e.hash,
            ])?;
        }
        Ok(())
    }

    /// Indexes the subjects of appended events, `(seq, keyed hash)`, once each (see
    /// [`crate::exchange::insert_subjects`]).
    pub fn insert_subjects(&mut self, pairs: &[(i64, String)]) -> Result<()> {
        let mut rows: Vec<(i64, i64)> =
            pairs.iter().map(|(seq, hash)| (crate::exchange::subject_key(hash), *seq)).collect();
        // In key order: neighbouring rows land on the same pages of the index.
        rows.sort_unstable();
        rows.dedup();
        let mut stmt = self.conn.prepare_cached("INSERT INTO audit_subject_keys (k, seq) VALUES (?1, ?2)")?;
        for (k, seq) in rows {
            stmt.execute([k, seq])?;
        }
        Ok(())
    }

    pub fn set_head_hash(&mut self, hash: &str) -> Result<()> {
        self.conn.prepare_cached("UPDATE audit_head SET hash = ?1 WHERE id = 1")?.execute([hash])?;
        Ok(())
    }

    /// The head `(seq, hash)`. Inside the write transaction of the store's single writer nothing moves it
    /// meanwhile, so an append reads it, chains its events and moves it once ([`crate::LiteTx::set_head`]) instead
    /// of advancing it first and setting its hash after.
    pub fn head(&mut self) -> Result<(i64, String)> {
        let mut stmt = self.conn.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?;
        Ok(stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// Moves the head to the event `seq` whose hash is `hash`.
    pub fn set_head(&mut self, seq: i64, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1")?
            .execute(rusqlite::params![seq, hash])?;
        Ok(())
    }

    pub fn insert_checkpoint(&mut self, cp: &CheckpointRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_checkpoints (seq, hash, algorithm, signed_at, public_key, signature) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (seq) DO NOTHING",
            )?
            .execute(rusqlite::params![cp.seq, cp.hash, cp.algorithm, cp.signed_at, cp.public_key, cp.signature])?;
        Ok(())
    }
}

/// One event row, borrowed from the driver's buffer: what verification reads without copying. Each field is the
/// stored bytes (UTF-8 text as written; not validated here — the hash covers the bytes, so a changed byte shows as
/// a changed event).
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'r> {
    pub seq: i64,
    pub at: &'r [u8],
    pub actor: &'r [u8],
    pub actor_name: &'r [u8],
    pub actor_department: Option<&'r [u8]>,
    pub department: Option<&'r [u8]>,
    pub action: &'r [u8],
    pub object: &'r [u8],
    pub resource: Option<&'r [u8]>,
    pub purpose: Option<&'r [u8]>,
    pub case_ref: Option<&'r [u8]>,
    pub subjects: &'r [u8],
    pub result: &'r [u8],
    pub detail: &'r [u8],
    pub prev_hash: &'r [u8],
    pub hash: &'r [u8],
}

impl<'r> EventFields<'r> {
    /// The fields from a reader's columns in [`COLS`] order (column 0, `seq`, already read): `text` for the
    /// NOT NULL columns, `opt` for the others.
    fn from_columns(
        seq: i64,
        text: impl Fn(usize) -> Result<&'r [u8]>,
        opt: impl Fn(usize) -> Result<Option<&'r [u8]>>,
    ) -> Result<EventFields<'r>> {
        Ok(EventFields {
            seq,
            at: text(1)?,
            actor: text(2)?,
            actor_name: text(3)?,
            actor_department: opt(4)?,
            department: opt(5)?,
            action: text(6)?,
            object: text(7)?,
            resource: opt(8)?,
            purpose: opt(9)?,
            case_ref: opt(10)?,
            subjects: text(11)?,
            result: text(12)?,
            detail: text(13)?,
            prev_hash: text(14)?,
            hash: text(15)?,
        })
    }
}

impl EventFields<'_> {
    /// The bytes of the event's fields.
    fn stored_len(&self) -> usize {
        let required = [
            self.at,
            self.actor,
            self.actor_name,
            self.action,
            self.object,
            self.subjects,
            self.result,
            self.detail,
            self.prev_hash,
            self.hash,
        ];
        let optional = [self.actor_department, self.department, self.resource, self.purpose, self.case_ref];
        8 + required.iter().map(|f| f.len()).sum::<usize>() + optional.iter().flatten().map(|f| f.len()).sum::<usize>()
    }
}

impl EventRow {
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            at: self.at.as_bytes(),
            actor: self.actor.as_bytes(),
            actor_name: self.actor_name.as_bytes(),
            actor_department: self.actor_department.as_deref().map(str::as_bytes),
            department: self.department.as_deref().map(str::as_bytes),
            action: self.action.as_bytes(),
            object: self.object.as_bytes(),
            resource: self.resource.as_deref().map(str::as_bytes),
            purpose: self.purpose.as_deref().map(str::as_bytes),
            case_ref: self.case_ref.as_deref().map(str::as_bytes),
            subjects: self.subjects.as_bytes(),
            result: self.result.as_bytes(),
            detail: self.detail.as_bytes(),
            prev_hash: self.prev_hash.as_bytes(),
            hash: self.hash.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn event_row(seq: i64, prev: &str) -> EventRow {
        EventRow {
            seq,
            at: "2026-12-04T09:00:00.000000Z".into(),
            actor: "user:1".into(),
            actor_name: "张三".into(),
            actor_department: Some("dept-a".into()),
            department: None,
            action: "data.query".into(),
            object: "grant:g1".into(),
            resource: Some("370000/000001".into()),
            purpose: Some("registration: 登记".into()),
            case_ref: None,
            subjects: "[]".into(),
            result: "ok".into(),
            detail: "{}".into(),
            prev_hash: prev.into(),
            hash: format!("h{seq}"),
        }
    }

    async fn all_events(store: &crate::Store) -> Vec<EventRow> {
        let mut c = store.reader().await.unwrap();
        page(&mut c, 0, i64::MAX, 1000).await.unwrap()
    }

    async fn subject_rows(store: &crate::Store) -> Vec<(i64, i64)> {
        let mut c = store.reader().await.unwrap();
        let rows =
            sqlx::query("SELECT k, seq FROM audit_subject_keys ORDER BY k, seq").fetch_all(&mut *c).await.unwrap();
        rows.iter().map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1))).collect()
    }

    #[tokio::test]
    async fn sync_append_writes_what_the_pool_reads_and_advances_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let subjects = vec![(1, "id_card:a".to_owned()), (2, "id_card:b".to_owned()), (2, "id_card:a".to_owned())];
        let written = store
            .append_sync(|tx| -> Result<Vec<EventRow>> {
                let (first, prev) = tx.advance_head(2)?;
                let rows = vec![event_row(first, &prev), event_row(first + 1, &format!("h{first}"))];
                tx.insert_events(&rows)?;
                tx.insert_subjects(&subjects)?;
                tx.set_head_hash("h2")?;
                tx.insert_checkpoint(&CheckpointRow {
                    seq: 2,
                    hash: "h2".into(),
                    algorithm: "sha256".into(),
                    signed_at: "2026-12-04T09:00:00.000000Z".into(),
                    public_key: "pk".into(),
                    signature: "sig".into(),
                })?;
                Ok(rows)
            })
            .await
            .expect("SQLite has a synchronous appender")
            .unwrap();
        assert_eq!(written[0].seq, 1);
        assert_eq!(all_events(&store).await, written);
        let mut c = store.reader().await.unwrap();
        assert_eq!(head(&mut c).await.unwrap(), (2, "h2".to_owned()));
        assert_eq!(last_checkpoint_seq(&mut c).await.unwrap(), 2);
        drop(c);
        let mut want: Vec<(i64, i64)> =
            subjects.iter().map(|(seq, h)| (crate::exchange::subject_key(h), *seq)).collect();
        want.sort_unstable();
        assert_eq!(subject_rows(&store).await, want);
        // The pool's own write transactions see the appended head and go on from it.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(advance_head(&mut tx, 1).await.unwrap(), (3, "h2".to_owned()));
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_sync_append_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let failed = store
            .append_sync(|tx| -> Result<()> {
                let (first, prev) = tx.advance_head(1)?;
                tx.insert_events(&[event_row(first, &prev)])?;
                tx.insert_subjects(&[(first, "id_card:a".to_owned())])?;
                // A second event with the same seq: the primary key refuses it.
                tx.insert_events(&[event_row(first, &prev)])?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(failed.is_err());
        assert!(all_events(&store).await.is_empty());
        assert!(subject_rows(&store).await.is_empty());
        let mut c = store.reader().await.unwrap();
        assert_eq!(head(&mut c).await.unwrap().0, 0);
        drop(c);
        // And the next append works.
        let ok = store
            .append_sync(|tx| -> Result<i64> {
                let (first, prev) = tx.advance_head(1)?;
                tx.insert_events(&[event_row(first, &prev)])?;
                Ok(first)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok, 1);
    }
}
