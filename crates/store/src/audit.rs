//! The audit chain's rows. Hashing and verification live in the app layer; this module only stores.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result, StoreError};

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
    conn.set_prepared_statement_cache_capacity(32);
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

/// Streams the events with `after < seq <= upto`, in order, through `visit` (which returns false to stop), on a
/// connection of the backend's native driver: column values are borrowed, nothing is allocated per row. On SQLite
/// that is a `query_only` rusqlite connection mapping the file, reopened every few MB read (sqlx's driver copies
/// every row into an owned `SqliteRow` on its worker thread and hands it over a channel, which caps verification at
/// a few hundred thousand events a second); a column that is not text (NULL where allowed) is an error, as the
/// store's other readers would fail on it too. The scan blocks its thread, so run it on a blocking one. On PostgreSQL it is `COPY … TO STDOUT (FORMAT binary)`.
pub async fn scan(
    store: &crate::Store,
    after: i64,
    upto: i64,
    visit: &mut (dyn FnMut(&EventFields<'_>) -> bool + Send),
) -> Result<()> {
    match store.backend() {
        crate::Backend::Sqlite => scan_sqlite(&store.url, after, upto, visit),
        crate::Backend::Postgres => scan_postgres(&store.url, after, upto, visit).await,
    }
}

/// The file path of a `sqlite://PATH?opts` / `sqlite:PATH` URL.
pub(crate) fn sqlite_path(url: &str) -> &str {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    rest.split_once('?').map_or(rest, |(path, _)| path)
}

/// Bytes of events read through one connection's mapping of the file before the scan reconnects: a mapped page
/// counts in the process's resident memory until it is unmapped, and a scan of a whole log on one connection would
/// show the log as resident (in the platform during `GET /audit/verify`).
const MAPPED_BYTES_PER_CONNECTION: usize = 8 << 20;

fn scan_sqlite(
    url: &str,
    after: i64,
    upto: i64,
    visit: &mut (dyn FnMut(&EventFields<'_>) -> bool + Send),
) -> Result<()> {
    scan_sqlite_in_parts(url, after, upto, MAPPED_BYTES_PER_CONNECTION, visit)
}

/// [`scan_sqlite`], one connection per `part_bytes` of events read. The events up to `upto` do not change while
/// they are read (the log is appended at the end), so the parts read one sequence.
fn scan_sqlite_in_parts(
    url: &str,
    after: i64,
    upto: i64,
    part_bytes: usize,
    visit: &mut (dyn FnMut(&EventFields<'_>) -> bool + Send),
) -> Result<()> {
    let mut from = after;
    loop {
        match scan_sqlite_part(url, from, upto, part_bytes, visit)? {
            Some(last) => from = last,
            None => return Ok(()),
        }
    }
}

/// Reads events after `after` on a connection of its own until `part_bytes` have been read (then returns the last
/// seq read), the end, or `visit` asking to stop (then `None`).
fn scan_sqlite_part(
    url: &str,
    after: i64,
    upto: i64,
    part_bytes: usize,
    visit: &mut (dyn FnMut(&EventFields<'_>) -> bool + Send),
) -> Result<Option<i64>> {
    use rusqlite::{OpenFlags, types::ValueRef};
    let lite = |e: rusqlite::Error| StoreError::Corrupt(format!("audit scan: {e}"));
    // Read-write without create (a read-only connection cannot set up the WAL index of a store nobody has open),
    // but `query_only`: this connection never writes.
    let conn = rusqlite::Connection::open_with_flags(
        sqlite_path(url),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(lite)?;
    // Pages mapped rather than read: no copy into the page cache and no read call per page (the mapping goes with
    // the connection).
    conn.execute_batch(
        "PRAGMA query_only=ON; PRAGMA busy_timeout=10000; PRAGMA cache_size=-16000; PRAGMA mmap_size=4294967296;",
    )
    .map_err(lite)?;
    let sql = format!("SELECT {COLS} FROM audit_events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq");
    let mut stmt = conn.prepare(&sql).map_err(lite)?;
    let mut rows = stmt.query([after, upto]).map_err(lite)?;
    let mut read = 0usize;
    while let Some(r) = rows.next().map_err(lite)? {
        // Text only: a BLOB holds bytes too, but is not what the store writes (nor what its other readers read).
        let opt = |i: usize| -> Result<Option<&[u8]>> {
            match r.get_ref(i).map_err(lite)? {
                ValueRef::Text(b) => Ok(Some(b)),
                ValueRef::Null => Ok(None),
                other => Err(StoreError::Corrupt(format!(
                    "audit scan: column {i} of an event is {:?}, not text",
                    other.data_type()
                ))),
            }
        };
        let text = |i: usize| -> Result<&[u8]> {
            opt(i)?.ok_or_else(|| StoreError::Corrupt(format!("audit scan: column {i} of an event is NULL")))
        };
        let e = EventFields::from_columns(r.get(0).map_err(lite)?, text, opt)?;
        if !visit(&e) {
            return Ok(None);
        }
        read += e.stored_len();
        if read >= part_bytes {
            return Ok(Some(e.seq));
        }
    }
    Ok(None)
}

async fn scan_postgres(
    url: &str,
    after: i64,
    upto: i64,
    visit: &mut (dyn FnMut(&EventFields<'_>) -> bool + Send),
) -> Result<()> {
    use futures_util::TryStreamExt;
    use sqlx::Connection;
    // COPY takes no parameters; the bounds are integers formatted here.
    let sql = format!(
        "COPY (SELECT {COLS} FROM audit_events WHERE seq > {after} AND seq <= {upto} ORDER BY seq) \
         TO STDOUT (FORMAT binary)"
    );
    let mut conn = sqlx::PgConnection::connect(url).await?;
    {
        let mut stream = conn.copy_out_raw(&sql).await?;
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        let mut header = true;
        let mut done = false;
        while let Some(chunk) = stream.try_next().await? {
            if done {
                continue; // drain: the connection must read the rest before it can be closed
            }
            buf.extend_from_slice(&chunk);
            let mut pos = 0;
            if header {
                match copy_header(&buf)? {
                    Some(n) => {
                        pos = n;
                        header = false;
                    }
                    None => continue,
                }
            }
            loop {
                match copy_tuple(&buf[pos..])? {
                    CopyTuple::Incomplete => break,
                    CopyTuple::End => {
                        done = true;
                        break;
                    }
                    CopyTuple::Row(e, n) => {
                        pos += n;
                        if !visit(&e) {
                            done = true;
                            break;
                        }
                    }
                }
            }
            buf.drain(..pos);
        }
    }
    conn.close().await?;
    Ok(())
}

const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

fn corrupt_copy(what: &str) -> StoreError {
    StoreError::Corrupt(format!("audit scan: binary COPY {what}"))
}

/// The length of the binary COPY header at the start of `b`, once it is all there.
fn copy_header(b: &[u8]) -> Result<Option<usize>> {
    if b.len() < COPY_SIGNATURE.len() + 8 {
        return Ok(None);
    }
    if !b.starts_with(COPY_SIGNATURE) {
        return Err(corrupt_copy("signature"));
    }
    let at = COPY_SIGNATURE.len() + 4;
    let ext = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    let n = at + 4 + ext;
    Ok((b.len() >= n).then_some(n))
}

#[allow(clippy::large_enum_variant, reason = "returned by value for each row, never stored")]
enum CopyTuple<'r> {
    Incomplete,
    End,
    /// A row and the bytes it took.
    Row(EventFields<'r>, usize),
}

/// One tuple of a binary COPY of `COLS` (BIGINT then fifteen TEXT columns) at the start of `b`.
fn copy_tuple(b: &[u8]) -> Result<CopyTuple<'_>> {
    let Some(count) = b.get(..2) else { return Ok(CopyTuple::Incomplete) };
    match i16::from_be_bytes([count[0], count[1]]) {
        -1 => return Ok(CopyTuple::End),
        16 => {}
        _ => return Err(corrupt_copy("field count")),
    }
    let mut pos = 2;
    let mut fields: [Option<&[u8]>; 16] = [None; 16];
    for f in &mut fields {
        let Some(len) = b.get(pos..pos + 4) else { return Ok(CopyTuple::Incomplete) };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        pos += 4;
        if len >= 0 {
            let len = len as usize;
            let Some(v) = b.get(pos..pos + len) else { return Ok(CopyTuple::Incomplete) };
            *f = Some(v);
            pos += len;
        }
    }
    let seq = match fields[0] {
        Some(v) if v.len() == 8 => i64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]),
        _ => return Err(corrupt_copy("seq")),
    };
    let opt = |i: usize| -> Result<Option<&[u8]>> { Ok(fields[i]) };
    let text = |i: usize| -> Result<&[u8]> { opt(i)?.ok_or_else(|| corrupt_copy("NULL in a NOT NULL column")) };
    let e = EventFields::from_columns(seq, text, opt)?;
    Ok(CopyTuple::Row(e, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of `rows` (seq, then 15 text columns, `None` as NULL), with a header extension.
    fn copy_stream(rows: &[(i64, [Option<&str>; 15])]) -> Vec<u8> {
        let mut b = COPY_SIGNATURE.to_vec();
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&3u32.to_be_bytes());
        b.extend_from_slice(b"ext");
        for (seq, cols) in rows {
            b.extend_from_slice(&16i16.to_be_bytes());
            b.extend_from_slice(&8i32.to_be_bytes());
            b.extend_from_slice(&seq.to_be_bytes());
            for c in cols {
                match c {
                    Some(v) => {
                        b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        b.extend_from_slice(v.as_bytes());
                    }
                    None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b
    }

    fn row(seq: i64, actor: &'static str) -> (i64, [Option<&'static str>; 15]) {
        let mut cols = [Some("x"); 15];
        cols[1] = Some(actor);
        cols[3] = None; // actor_department
        cols[13] = Some("prev");
        cols[14] = Some("hash");
        (seq, cols)
    }

    /// Parses `stream` fed in pieces of `piece` bytes, as `scan_postgres` does.
    fn parse_in_pieces(stream: &[u8], piece: usize) -> (Vec<(i64, String, Option<String>)>, bool) {
        let (mut buf, mut out, mut header, mut end) = (Vec::new(), Vec::new(), true, false);
        for chunk in stream.chunks(piece) {
            buf.extend_from_slice(chunk);
            let mut pos = 0;
            if header {
                match copy_header(&buf).unwrap() {
                    Some(n) => (pos, header) = (n, false),
                    None => continue,
                }
            }
            loop {
                match copy_tuple(&buf[pos..]).unwrap() {
                    CopyTuple::Incomplete => break,
                    CopyTuple::End => {
                        end = true;
                        break;
                    }
                    CopyTuple::Row(e, n) => {
                        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                        out.push((e.seq, text(e.actor), e.actor_department.map(text)));
                        assert_eq!((e.prev_hash, e.hash), (&b"prev"[..], &b"hash"[..]));
                        pos += n;
                    }
                }
            }
            buf.drain(..pos);
        }
        (out, end)
    }

    #[test]
    fn binary_copy_rows_parse_whatever_the_chunking() {
        let stream = copy_stream(&[row(1, "张三"), row(2, "b"), row(3, "c")]);
        for piece in [1, 2, 7, 64, stream.len()] {
            let (rows, end) = parse_in_pieces(&stream, piece);
            assert!(end, "piece {piece}");
            let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
            assert_eq!(seqs, [1, 2, 3], "piece {piece}");
            assert_eq!(rows[0].1, "张三");
            assert_eq!(rows[0].2, None);
        }
    }

    #[test]
    fn binary_copy_rejects_what_it_does_not_expect() {
        let mut stream = copy_stream(&[row(1, "a")]);
        stream[0] = b'X';
        assert!(copy_header(&stream).is_err(), "bad signature");
        let mut tuple = 15i16.to_be_bytes().to_vec();
        tuple.extend_from_slice(&[0; 64]);
        assert!(copy_tuple(&tuple).is_err(), "wrong field count");
        let mut cols = row(1, "a");
        cols.1[0] = None; // `at` is NOT NULL
        let stream = copy_stream(&[cols]);
        let n = copy_header(&stream).unwrap().unwrap();
        assert!(copy_tuple(&stream[n..]).is_err(), "NULL in a NOT NULL column");
    }

    #[test]
    fn sqlite_paths_of_store_urls() {
        assert_eq!(sqlite_path("sqlite:///data/shuqiao.db?mode=rwc"), "/data/shuqiao.db");
        assert_eq!(sqlite_path("sqlite://rel/shuqiao.db"), "rel/shuqiao.db");
        assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    }

    fn event_row(seq: i64, prev: &str) -> EventRow {
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

    /// A scan reconnects after every part (here after each event, or after a few): every event is read once, in
    /// order, whatever the parts; a visitor that stops ends the whole scan.
    #[tokio::test]
    async fn a_scan_in_parts_reads_every_event_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let written = store
            .append_sync(|tx| -> Result<Vec<EventRow>> {
                let (first, prev) = tx.advance_head(7)?;
                let rows: Vec<EventRow> = (first..first + 7).map(|seq| event_row(seq, &prev)).collect();
                tx.insert_events(&rows)?;
                Ok(rows)
            })
            .await
            .unwrap()
            .unwrap();
        let one = written[0].fields().stored_len();
        for part in [1, 2 * one, 3 * one + 1, usize::MAX] {
            let mut seen = Vec::new();
            scan_sqlite_in_parts(&store.url, 1, 7, part, &mut |e| {
                seen.push((e.seq, e.hash.to_vec()));
                true
            })
            .unwrap();
            let want: Vec<(i64, Vec<u8>)> = written[1..].iter().map(|r| (r.seq, r.hash.clone().into_bytes())).collect();
            assert_eq!(seen, want, "parts of {part} bytes");
            let mut seen = Vec::new();
            scan_sqlite_in_parts(&store.url, 0, 7, part, &mut |e| {
                seen.push(e.seq);
                e.seq < 4
            })
            .unwrap();
            assert_eq!(seen, [1, 2, 3, 4], "stopped at 4, parts of {part} bytes");
        }
        // A text column turned into a BLOB (the same bytes) is not read as text.
        let conn = rusqlite::Connection::open(sqlite_path(&store.url)).unwrap();
        conn.execute("UPDATE audit_events SET detail = CAST(detail AS BLOB) WHERE seq = 3", []).unwrap();
        drop(conn);
        let mut seen = Vec::new();
        let r = scan_sqlite_in_parts(&store.url, 0, 7, usize::MAX, &mut |e| {
            seen.push(e.seq);
            true
        });
        assert!(matches!(r, Err(StoreError::Corrupt(_))), "{r:?}");
        assert_eq!(seen, [1, 2]);
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
