//! Rows of the embedded bus (see `app::exchange::bus`): one ordered log per stream and its acknowledged sequence.

use sqlx::Row;

use crate::{Conn, Result, StoreError};

/// `(last published seq, acknowledged seq)` of a stream; `(0, 0)` when it has none.
pub async fn stream_state(c: &mut Conn, stream: &str) -> Result<(i64, i64)> {
    let row = sqlx::query("SELECT last_seq, acked_seq FROM bus_streams WHERE stream = $1")
        .bind(stream)
        .fetch_optional(c)
        .await?;
    match row {
        Some(r) => Ok((r.try_get(0)?, r.try_get(1)?)),
        None => Ok((0, 0)),
    }
}

/// Appends message `seq` (which must be `last + 1`) to a stream. Returns `false` (and writes nothing) when `seq`
/// is already in the stream with the same payload — an idempotent retry; a different payload is an error.
pub async fn append(c: &mut Conn, stream: &str, seq: i64, payload: &[u8], at: &str) -> Result<bool> {
    let (last, acked) = stream_state(c, stream).await?;
    if seq <= last {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT payload FROM bus_messages WHERE stream = $1 AND seq = $2")
                .bind(stream)
                .bind(seq)
                .fetch_optional(&mut *c)
                .await?;
        return match stored {
            Some(p) if p == payload => Ok(false),
            // Acknowledged and dropped: a retry of what was delivered long ago.
            None if seq <= acked => Ok(false),
            _ => Err(StoreError::Corrupt(format!("stream {stream}: message {seq} exists with other content"))),
        };
    }
    if seq != last + 1 {
        return Err(StoreError::Corrupt(format!("stream {stream}: message {seq} after {last} leaves a gap")));
    }
    sqlx::query("INSERT INTO bus_messages (stream, seq, payload, published_at) VALUES ($1, $2, $3, $4)")
        .bind(stream)
        .bind(seq)
        .bind(payload.to_vec())
        .bind(at)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO bus_streams (stream, last_seq, acked_seq) VALUES ($1, $2, 0) \
         ON CONFLICT (stream) DO UPDATE SET last_seq = $2",
    )
    .bind(stream)
    .bind(seq)
    .execute(c)
    .await?;
    Ok(true)
}

/// Messages of a stream after `after`, in order, at most `limit`.
pub async fn fetch(c: &mut Conn, stream: &str, after: i64, limit: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    let rows =
        sqlx::query("SELECT seq, payload FROM bus_messages WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(stream)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Acknowledges every message up to `upto` (cumulative, never backwards) and drops them.
pub async fn ack(c: &mut Conn, stream: &str, upto: i64) -> Result<()> {
    let (last, acked) = stream_state(c, stream).await?;
    if upto > last {
        return Err(StoreError::Corrupt(format!("stream {stream}: acknowledging {upto}, only {last} were published")));
    }
    if upto <= acked {
        return Ok(());
    }
    sqlx::query("UPDATE bus_streams SET acked_seq = $1 WHERE stream = $2")
        .bind(upto)
        .bind(stream)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM bus_messages WHERE stream = $1 AND seq <= $2").bind(stream).bind(upto).execute(c).await?;
    Ok(())
}

/// Removes a stream and its messages (a cancelled subscription).
pub async fn delete_stream(c: &mut Conn, stream: &str) -> Result<()> {
    sqlx::query("DELETE FROM bus_messages WHERE stream = $1").bind(stream).execute(&mut *c).await?;
    sqlx::query("DELETE FROM bus_streams WHERE stream = $1").bind(stream).execute(c).await?;
    Ok(())
}
