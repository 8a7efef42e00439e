//! Reading the audit log for verification: every event in order, borrowed from the driver's buffers — a mapped
//! rusqlite connection on SQLite, binary `COPY` on PostgreSQL.

use super::{COLS, EventFields};
use crate::{Result, StoreError};

/// Streams the events with `after < seq <= upto`, in order, through `visit` (which returns false to stop), on a
/// connection of the backend's native driver: column values are borrowed, nothing is allocated per row. On SQLite
/// that is a `query_only` rusqlite connection mapping the file, reopened every few MB read (sqlx's driver copies
/// every row into an owned `SqliteRow` on its worker thread and hands it over a channel, which caps verification at
/// a few hundred thousand events a second); a column that is not text (NULL where allowed) is an error, as the
/// store's other readers would fail on it too. The scan blocks its thread, so run it on a blocking one. On
/// PostgreSQL it is `COPY … TO STDOUT (FORMAT binary)`.
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
    use super::super::EventRow;
    use super::super::tests::event_row;
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
}
