//! The bus (DESIGN "Data exchange"): one durable, ordered log per stream (a subscription's batches), with a
//! cumulative acknowledgement — what NATS JetStream gives with a stream and a durable consumer, and what
//! [`StoreBus`] gives on the platform's own database for a laptop or a county.
//!
//! The contract an implementation keeps (and the sync engine relies on):
//! - `publish(stream, seq, payload)` appends message `seq`, which must follow the last one without a gap; publishing
//!   a `seq` already there with the same payload is an idempotent retry (`Ok(false)`), with another payload an
//!   error — JetStream keeps this with `Nats-Msg-Id` de-duplication and `expected-last-sequence`;
//! - `fetch(stream, after, max)` returns the messages after `after` in order, surviving restarts until acknowledged;
//! - `ack(stream, upto)` acknowledges every message up to `upto`; they may be dropped; acknowledging is never undone.

use futures_util::future::BoxFuture;
use shuqiao_store::{Store, ts};

use crate::{AppError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// Where a stream stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamState {
    pub last: u64,
    pub acked: u64,
}

impl StreamState {
    /// Published and not yet acknowledged.
    pub fn pending(&self) -> u64 {
        self.last.saturating_sub(self.acked)
    }
}

pub trait Bus: Send + Sync + 'static {
    fn publish<'a>(&'a self, stream: &'a str, seq: u64, payload: &'a [u8]) -> BoxFuture<'a, Result<bool>>;
    fn fetch<'a>(&'a self, stream: &'a str, after: u64, max: usize) -> BoxFuture<'a, Result<Vec<Message>>>;
    fn ack<'a>(&'a self, stream: &'a str, upto: u64) -> BoxFuture<'a, Result<()>>;
    fn state<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, Result<StreamState>>;
    fn delete<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// The bus on the platform's database: each call one transaction (SQLite's writer, or PostgreSQL).
#[derive(Debug, Clone)]
pub struct StoreBus {
    store: Store,
}

impl StoreBus {
    pub fn new(store: Store) -> StoreBus {
        StoreBus { store }
    }
}

fn seq_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| AppError::BadRequest("sequence number too large".into()))
}

fn seq_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn conflict(e: shuqiao_store::StoreError) -> AppError {
    match e {
        shuqiao_store::StoreError::Corrupt(m) => AppError::Conflict(m),
        other => other.into(),
    }
}

impl Bus for StoreBus {
    fn publish<'a>(&'a self, stream: &'a str, seq: u64, payload: &'a [u8]) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let mut tx = self.store.begin().await?;
            let at = ts(time::OffsetDateTime::now_utc());
            let added =
                shuqiao_store::bus::append(&mut tx, stream, seq_i64(seq)?, payload, &at).await.map_err(conflict)?;
            shuqiao_store::commit_append(tx).await?;
            Ok(added)
        })
    }

    fn fetch<'a>(&'a self, stream: &'a str, after: u64, max: usize) -> BoxFuture<'a, Result<Vec<Message>>> {
        Box::pin(async move {
            let mut c = self.store.reader().await?;
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            let rows = shuqiao_store::bus::fetch(&mut c, stream, seq_i64(after)?, max).await?;
            Ok(rows.into_iter().map(|(seq, payload)| Message { seq: seq_u64(seq), payload }).collect())
        })
    }

    fn ack<'a>(&'a self, stream: &'a str, upto: u64) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut tx = self.store.begin().await?;
            shuqiao_store::bus::ack(&mut tx, stream, seq_i64(upto)?).await.map_err(conflict)?;
            Ok(shuqiao_store::commit_append(tx).await?)
        })
    }

    fn state<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, Result<StreamState>> {
        Box::pin(async move {
            let mut c = self.store.reader().await?;
            let (last, acked) = shuqiao_store::bus::stream_state(&mut c, stream).await?;
            Ok(StreamState { last: seq_u64(last), acked: seq_u64(acked) })
        })
    }

    fn delete<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut tx = self.store.begin().await?;
            shuqiao_store::bus::delete_stream(&mut tx, stream).await?;
            Ok(shuqiao_store::commit_append(tx).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract of the module documentation, on any implementation.
    async fn contract(bus: &dyn Bus) {
        let s = "subscription:1";
        assert_eq!(bus.state(s).await.unwrap(), StreamState::default());
        assert!(bus.publish(s, 1, b"batch one").await.unwrap());
        assert!(bus.publish(s, 2, b"batch two").await.unwrap());
        // A retry of the same message is absorbed; another payload under its number, or a gap, is refused.
        assert!(!bus.publish(s, 2, b"batch two").await.unwrap());
        assert!(matches!(bus.publish(s, 2, b"other").await, Err(AppError::Conflict(_))));
        assert!(matches!(bus.publish(s, 4, b"gap").await, Err(AppError::Conflict(_))));
        assert!(bus.publish(s, 3, b"batch three").await.unwrap());
        let got = bus.fetch(s, 0, 10).await.unwrap();
        assert_eq!(got.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(got[1].payload, b"batch two");
        assert_eq!(bus.fetch(s, 1, 1).await.unwrap().len(), 1);
        bus.ack(s, 2).await.unwrap();
        assert_eq!(bus.state(s).await.unwrap(), StreamState { last: 3, acked: 2 });
        assert_eq!(bus.fetch(s, 0, 10).await.unwrap().iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3]);
        // Acknowledging is never undone, and never past what was published.
        bus.ack(s, 1).await.unwrap();
        assert_eq!(bus.state(s).await.unwrap().acked, 2);
        assert!(bus.ack(s, 9).await.is_err());
        // A retry of an acknowledged (dropped) message is still absorbed.
        assert!(!bus.publish(s, 1, b"batch one").await.unwrap());
        // Streams are independent.
        assert!(bus.publish("subscription:2", 1, b"x").await.unwrap());
        assert_eq!(bus.state("subscription:2").await.unwrap().last, 1);
        bus.delete(s).await.unwrap();
        assert_eq!(bus.state(s).await.unwrap(), StreamState::default());
        assert_eq!(bus.state("subscription:2").await.unwrap().last, 1);
    }

    #[tokio::test]
    async fn store_bus_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        contract(&StoreBus::new(store)).await;
    }

    #[tokio::test]
    async fn store_bus_on_postgres() {
        use sqlx::{Connection, Executor};
        let base = std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
        sqlx::any::install_default_drivers();
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("shuqiao_bus_test_{}_{}", std::process::id(), t % 1_000_000_000_000);
        let mut admin = sqlx::AnyConnection::connect(&format!("{base}/postgres")).await.unwrap();
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
        let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
        contract(&StoreBus::new(store)).await;
    }
}
