//! Group commit for audit events that are not part of a state change (data accesses, refused requests): callers
//! hand their event to one writer task and wait until it is durable; the task appends whatever has queued up in
//! one transaction, so many concurrent requests share one commit instead of paying one each.

use std::sync::Arc;

use shuqiao_domain::rules::RuleSet;
use shuqiao_store::audit;
use shuqiao_store::{Store, ts};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{Actor, AuditEvent, AuditKeys};
use crate::{AppError, Result};

/// Events appended in one transaction at most.
const MAX_BATCH: usize = 2000;

struct Job {
    actor: Actor,
    event: AuditEvent,
    done: oneshot::Sender<std::result::Result<i64, String>>,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditWriter")
    }
}

impl AuditWriter {
    pub fn start(store: Store, keys: Arc<AuditKeys>, rules: Arc<RuleSet>) -> AuditWriter {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        // On SQLite the batches are written from the store's write thread, like every write transaction.
        store.clone().spawn_writer(run(store, keys, rules, rx));
        AuditWriter { jobs: tx }
    }

    /// Appends an event and returns its sequence number once it is committed.
    pub async fn append(&self, actor: Actor, event: AuditEvent) -> Result<i64> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job { actor, event, done })
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the audit writer has stopped")))?;
        match wait.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(AppError::Internal(anyhow::anyhow!("audit append failed: {e}"))),
            Err(_) => Err(AppError::Internal(anyhow::anyhow!("the audit writer has stopped"))),
        }
    }
}

async fn run(store: Store, keys: Arc<AuditKeys>, rules: Arc<RuleSet>, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let jobs = std::mem::take(&mut batch);
        let result = write(&store, &keys, &rules, &jobs).await;
        for (i, job) in jobs.into_iter().enumerate() {
            let reply = match &result {
                Ok(first_seq) => Ok(first_seq + i as i64),
                Err(e) => Err(e.clone()),
            };
            let _ = job.done.send(reply);
        }
    }
}

async fn write(store: &Store, keys: &AuditKeys, rules: &RuleSet, jobs: &[Job]) -> std::result::Result<i64, String> {
    let n = i64::try_from(jobs.len()).unwrap_or(i64::MAX);
    let at = ts(OffsetDateTime::now_utc());
    // The rows of the batch, chained from the head `(first, prev)`, with the checkpoints that fall in it.
    let events = || jobs.iter().map(|job| (job.actor.clone(), job.event.clone()));
    let chain = |first: i64, prev: String| crate::audit::chain(keys, rules, &at, first, prev, events());
    // The batch is answered only once it is on disk: one flush per batch, not per event.
    let on_sqlite = store
        .append_sync(|tx| -> Result<i64> {
            let (last, prev) = tx.head()?;
            let batch = chain(last + 1, prev)?;
            crate::audit::write_lite(tx, &batch)?;
            Ok(last + 1)
        })
        .await;
    if let Some(result) = on_sqlite {
        return result.map_err(|e| e.to_string());
    }
    let inner = async {
        let mut tx = store.begin().await?;
        let (first, prev) = audit::advance_head(&mut tx, n).await?;
        let batch = chain(first, prev)?;
        audit::insert_many(&mut tx, &batch.rows).await?;
        shuqiao_store::exchange::insert_subjects(&mut tx, &batch.subjects).await?;
        audit::set_head_hash(&mut tx, &batch.head).await?;
        for cp in &batch.checkpoints {
            audit::insert_checkpoint(&mut tx, cp).await?;
        }
        shuqiao_store::commit_append(tx).await?;
        Ok::<i64, AppError>(first)
    };
    inner.await.map_err(|e| e.to_string())
}
