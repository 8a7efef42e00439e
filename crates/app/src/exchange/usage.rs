//! Daily usage of grants (requests and records per grant and day, for quotas) and their last use.
//!
//! On SQLite the platform is the store's only process, so the counts live in memory: a request is counted (or
//! refused) with a lock instead of a write transaction, and what changed is written to `grant_usage` and
//! `grants.last_used_at` by [`flush`] a few times a second and at a clean stop, in one transaction. A crash can
//! therefore forget the last fraction of a second of counts (the audit log still holds every request). On
//! PostgreSQL, where several platform processes may share the database, each request is counted in the store
//! itself, so that a quota holds across processes.

use std::collections::HashMap;
use std::sync::Mutex;

use shuqiao_store::Backend;
use shuqiao_store::exchange as store;

use crate::{AppError, Platform, Result};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    requests: i64,
    records: i64,
}

#[derive(Debug, Default)]
struct Book {
    /// grant → (day, counts of that day).
    today: HashMap<String, (String, Counts)>,
    /// (grant, day) → counts not yet written, and the last use.
    unwritten: HashMap<(String, String), (Counts, String)>,
}

/// The in-memory counts (SQLite).
#[derive(Debug, Default)]
pub struct Usage {
    book: Mutex<Book>,
}

/// Why a request was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Requests,
    Records,
}

fn poisoned() -> AppError {
    AppError::Internal(anyhow::anyhow!("usage counters unavailable"))
}

/// Counts one request of `grant` on `day` unless a quota is used up; returns the records left today (`None`: no
/// records quota). `records_needed`: whether a request with no records left must be refused.
pub async fn take_request(
    p: &Platform,
    grant: &str,
    day: &str,
    requests_per_day: Option<u64>,
    records_per_day: Option<u64>,
    records_needed: bool,
) -> Result<std::result::Result<Option<u64>, Exceeded>> {
    let max_requests = requests_per_day.map_or(i64::MAX, |r| i64::try_from(r).unwrap_or(i64::MAX));
    let left = |records: i64| records_per_day.map(|r| r.saturating_sub(u64::try_from(records).unwrap_or(0)));
    if p.store.backend() == Backend::Postgres {
        let mut tx = p.store.begin().await?;
        let (_, records) = store::usage(&mut tx, grant, day).await?;
        if records_needed && left(records) == Some(0) {
            return Ok(Err(Exceeded::Records));
        }
        if store::take_request(&mut tx, grant, day, max_requests).await?.is_none() {
            return Ok(Err(Exceeded::Requests));
        }
        shuqiao_store::commit_append(tx).await?;
        return Ok(Ok(left(records)));
    }
    let usage = &p.usage;
    let known = usage.book.lock().map_err(|_| poisoned())?.today.get(grant).is_some_and(|(d, _)| d == day);
    if !known {
        let (requests, records) = {
            let mut c = p.store.reader().await?;
            store::usage(&mut c, grant, day).await?
        };
        let mut book = usage.book.lock().map_err(|_| poisoned())?;
        // Counts not yet written belong on top of what the store holds.
        let pending = book.unwritten.get(&(grant.to_owned(), day.to_owned())).map(|(c, _)| *c).unwrap_or_default();
        let loaded = Counts { requests: requests + pending.requests, records: records + pending.records };
        match book.today.get(grant) {
            Some((d, _)) if d == day => {} // another request loaded it meanwhile
            _ => {
                book.today.insert(grant.to_owned(), (day.to_owned(), loaded));
            }
        }
    }
    let mut book = usage.book.lock().map_err(|_| poisoned())?;
    let Some((_, counts)) = book.today.get_mut(grant) else { return Err(poisoned()) };
    if records_needed && left(counts.records) == Some(0) {
        return Ok(Err(Exceeded::Records));
    }
    if counts.requests >= max_requests {
        return Ok(Err(Exceeded::Requests));
    }
    counts.requests += 1;
    let records = counts.records;
    let entry = book.unwritten.entry((grant.to_owned(), day.to_owned())).or_default();
    entry.0.requests += 1;
    Ok(Ok(left(records)))
}

/// Adds the records a request delivered and records the grant's last use (`at`, a store timestamp).
pub async fn add_records(p: &Platform, grant: &str, day: &str, records: u64, at: &str) -> Result<()> {
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    if p.store.backend() == Backend::Postgres {
        let mut tx = p.store.begin().await?;
        store::add_records(&mut tx, grant, day, records, at).await?;
        return Ok(shuqiao_store::commit_append(tx).await?);
    }
    let mut book = p.usage.book.lock().map_err(|_| poisoned())?;
    if let Some((d, counts)) = book.today.get_mut(grant)
        && d == day
    {
        counts.records += records;
    }
    let entry = book.unwritten.entry((grant.to_owned(), day.to_owned())).or_default();
    entry.0.records += records;
    if entry.1.as_str() < at {
        entry.1 = at.to_owned();
    }
    Ok(())
}

/// Writes the counts not yet in the store (SQLite; a no-op elsewhere). Called a few times a second and at a
/// clean stop. What cannot be written is kept for the next call.
pub async fn flush(p: &Platform) -> Result<usize> {
    let unwritten = {
        let mut book = p.usage.book.lock().map_err(|_| poisoned())?;
        // A bound on the grants kept in memory: past it they are read from the store again on their next request
        // (what is not yet written stays in `unwritten` and is added on top).
        if book.today.len() > 10_000 {
            book.today.clear();
        }
        std::mem::take(&mut book.unwritten)
    };
    if unwritten.is_empty() {
        return Ok(0);
    }
    let write = async {
        let mut tx = p.store.begin().await?;
        for ((grant, day), (counts, at)) in &unwritten {
            store::add_usage(&mut tx, grant, day, counts.requests, counts.records).await?;
            if !at.is_empty() {
                store::set_last_used(&mut tx, grant, at).await?;
            }
        }
        // Counters only: the caches need no refresh.
        shuqiao_store::commit_append(tx).await
    };
    match write.await {
        Ok(()) => Ok(unwritten.len()),
        Err(e) => {
            let mut book = p.usage.book.lock().map_err(|_| poisoned())?;
            for (key, (counts, at)) in unwritten {
                let entry = book.unwritten.entry(key).or_default();
                entry.0.requests += counts.requests;
                entry.0.records += counts.records;
                if entry.1 < at {
                    entry.1 = at;
                }
            }
            Err(e.into())
        }
    }
}

/// Shows in a grant the last use not yet written to the store.
pub(crate) fn overlay(p: &Platform, g: &mut crate::sharing::grants::GrantView) {
    let Ok(book) = p.usage.book.lock() else { return };
    let latest = book.unwritten.iter().filter(|((grant, _), _)| *grant == g.id).map(|(_, (_, at))| at).max();
    if let Some(at) = latest
        && !at.is_empty()
        && g.last_used_at.as_deref().is_none_or(|old| old < at.as_str())
    {
        g.last_used_at = Some(at.clone());
    }
}
