//! The store seam: one schema on SQLite (embedded, WAL, one writer) and PostgreSQL, reached through sqlx's `Any`
//! driver with runtime queries only, so the same portable SQL serves both backends. Business decisions live in
//! the app layer; this crate only reads and writes rows.

pub mod accounts;
pub mod audit;
pub mod bus;
pub mod catalog;
mod checkpoint;
pub mod exchange;
pub mod files;
pub mod idempotency;
mod migrate;
pub mod sharing;
pub mod sync;

use std::path::Path;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Conn = AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0}")]
    Duplicate(String),
    #[error("row not found")]
    NotFound,
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("the store's write thread has stopped")]
    WriterStopped,
    #[error("the write transaction failed: {0}")]
    Commit(String),
    #[error("database error: {0}")]
    Lite(#[from] rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(d.message().to_owned()),
            sqlx::Error::RowNotFound => StoreError::NotFound,
            _ => StoreError::Db(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A connection to the platform's database. On SQLite, writes go through a pool of one connection (SQLite has one
/// writer; serialising in the pool avoids `SQLITE_BUSY` on lock upgrades) and reads through a pool of several.
#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    /// The URL it was opened with, for connections of the native drivers (audit verification).
    url: String,
    write: AnyPool,
    backend: Backend,
    /// SQLite: the thread that runs write transactions (see [`Store::on_writer`]).
    write_thread: Option<WriteThread>,
    /// SQLite: the audit writer's synchronous connection, opened at its first use (see [`Store::append_sync`]).
    appender: Option<std::sync::Arc<std::sync::Mutex<Option<rusqlite::Connection>>>>,
    /// SQLite: the idle synchronous read connections of [`Store::read_sync`].
    readers: Option<std::sync::Arc<std::sync::Mutex<Vec<rusqlite::Connection>>>>,
    /// SQLite: the queue of [`Store::write_sync`]'s group commit.
    batches: Option<tokio::sync::mpsc::UnboundedSender<Box<dyn SyncJob>>>,
    /// SQLite: the thread that checkpoints the write-ahead log (see [`checkpoint`]).
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database `shuqiao.db` in `data_dir`, and applies migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::BadUrl(format!("{}: {e}", data_dir.display())))?;
        let path = data_dir.join("shuqiao.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and applies migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        let store = match backend {
            Backend::Sqlite => {
                // Checkpoints run on a thread of their own, not in whichever connection commits (see [`checkpoint`]).
                let checkpointer = checkpoint::Checkpointer::start(audit::sqlite_path(url))
                    .ok_or_else(|| StoreError::Commit("the store's checkpoint thread cannot be started".to_owned()))?;
                // A SQLite connection does not go stale: no `ping` (a hand-off to the driver's thread and back) on
                // every acquire.
                let opts = || {
                    AnyPoolOptions::new().test_before_acquire(false).after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
                                 PRAGMA busy_timeout=10000; PRAGMA cache_size=-8000;",
                            )
                            .await?;
                            conn.execute(checkpoint::NO_AUTO_CHECKPOINT).await?;
                            Ok(())
                        })
                    })
                };
                // Writes through sqlx answer the checkpoint thread's request too, when their connection returns.
                let rewind = checkpointer.rewind();
                let write = opts()
                    .max_connections(1)
                    .after_release(move |conn, _| {
                        let rewind = rewind.clone();
                        Box::pin(async move {
                            if rewind.wanted() {
                                let outcome = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                                    .fetch_one(&mut *conn)
                                    .await;
                                rewind.settle(outcome.map_err(|e| e.to_string()));
                            }
                            Ok(true)
                        })
                    })
                    .connect(url)
                    .await?;
                let read = opts().max_connections(4).min_connections(0).connect(url).await?;
                let appender: std::sync::Arc<std::sync::Mutex<Option<rusqlite::Connection>>> = Default::default();
                let (batches, queue) = tokio::sync::mpsc::unbounded_channel();
                let batcher = run_batches(
                    write.clone(),
                    appender.clone(),
                    audit::sqlite_path(url).to_owned(),
                    queue,
                    checkpointer.rewind(),
                );
                let store = Store {
                    read,
                    write,
                    backend,
                    url: url.to_owned(),
                    write_thread: WriteThread::start(),
                    appender: Some(appender),
                    readers: Some(Default::default()),
                    batches: Some(batches),
                    checkpointer: Some(checkpointer),
                };
                store.spawn_writer(batcher);
                store
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Store {
                    read: pool.clone(),
                    write: pool,
                    backend,
                    url: url.to_owned(),
                    write_thread: None,
                    appender: None,
                    readers: None,
                    batches: None,
                    checkpointer: None,
                }
            }
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.write.begin().await?)
    }

    /// Runs `work` — a write transaction from `begin` to commit — on the store's write thread (SQLite), and returns
    /// its result. SQLite has one writer connection, held from `BEGIN` to `COMMIT`; every statement is a hand-off to
    /// sqlx's connection thread and back, and on the request runtime each "back" waits in the run queue behind
    /// whatever HTTP work is ready, while the writer stays held. On a thread of its own, the transaction resumes as
    /// soon as its statement is done. Elsewhere (PostgreSQL: many writers) `work` runs where it is called.
    pub async fn on_writer<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.write_thread {
            Some(t) => t.run(work).await,
            None => Ok(work().await),
        }
    }

    /// Spawns `task` on the store's write thread (SQLite), or on the current runtime: for a task that writes (the
    /// audit group-commit writer).
    pub fn spawn_writer<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        match &self.write_thread {
            Some(t) => t.spawn(task),
            None => {
                tokio::spawn(task);
            }
        }
    }

    /// SQLite: runs `work` in one durable write transaction (`BEGIN IMMEDIATE` … `COMMIT` with `synchronous=FULL`)
    /// on a synchronous rusqlite connection of the store's own, while holding the pool's write connection so that
    /// no other write transaction runs meanwhile; rolls back if `work` or the commit fails. For the audit writer's
    /// group commit: through sqlx every statement is a hand-off to the driver's connection thread and back, and
    /// every bound value is copied on the way; here statements are prepared once and run in place, on the calling
    /// thread (the store's write thread), which they block until the commit is on disk. `None` on PostgreSQL.
    pub async fn append_sync<T, E, F>(&self, work: F) -> Option<std::result::Result<T, E>>
    where
        F: FnOnce(&mut LiteTx<'_>) -> std::result::Result<T, E>,
        E: From<StoreError>,
    {
        let slot = self.appender.as_ref()?;
        Some(self.run_sync(slot, work).await)
    }

    /// SQLite: runs `work` — a use case's write transaction (the sharing workflow's hot paths) — on the store's
    /// synchronous connection, on its write thread, with group commit: whatever work has queued up while the
    /// previous batch ran goes into one SQLite transaction, so that one flush of the WAL and one pass over the pages
    /// they share serve them all. A `work` that fails leaves nothing and the others commit: one that fails before
    /// changing a row (a check, a guarded update that finds the row changed) is simply not counted; one that fails
    /// after changing rows makes the batch roll back and run again without it — which is why `work` may run more
    /// than once and must do the same each time (decide everything before, write in here). No savepoint per work:
    /// SQLite copies every page a savepoint touches into its journal first, which cost the writer more than any
    /// statement. Its result is answered only once the batch has committed (if the commit fails, every work of the
    /// batch fails). The durability of the pool's transactions (`synchronous=NORMAL`: in WAL mode a commit survives
    /// a crash of the process; a power loss may take the last commits, never half of one). On the same connection
    /// as the audit writer's batches, so neither finds the other's pages stale. `None` on PostgreSQL.
    pub async fn write_sync<T, E, F>(&self, work: F) -> Option<std::result::Result<T, E>>
    where
        F: FnMut(&mut LiteTx<'_>) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let queue = self.batches.as_ref()?;
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn SyncJob> = Box::new(Queued { work, result: None, done });
        if queue.send(job).is_err() {
            return Some(Err(StoreError::WriterStopped.into()));
        }
        Some(answer.await.unwrap_or_else(|_| Err(StoreError::WriterStopped.into())))
    }

    async fn run_sync<T, E, F>(
        &self,
        slot: &std::sync::Mutex<Option<rusqlite::Connection>>,
        work: F,
    ) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut LiteTx<'_>) -> std::result::Result<T, E>,
        E: From<StoreError>,
    {
        // Held until the end: the pool's only write connection is the store's write lock.
        let _write_lock = self.write.acquire().await.map_err(StoreError::from)?;
        let mut guard = slot.lock().map_err(|_| StoreError::WriterStopped)?;
        let conn = match &mut *guard {
            Some(conn) => conn,
            empty @ None => empty.insert(audit::open_appender(audit::sqlite_path(&self.url))?),
        };
        let result = run(conn, "PRAGMA synchronous=FULL")
            .and_then(|()| run(conn, "BEGIN IMMEDIATE"))
            .map_err(|e| StoreError::from(e).into())
            .and_then(|()| {
                let v = work(&mut LiteTx { conn })?;
                run(conn, "COMMIT").map_err(StoreError::from)?;
                if let Some(c) = &self.checkpointer {
                    c.rewind().after_commit(conn);
                }
                Ok(v)
            });
        if result.is_err() {
            // Closing the connection rolls back whatever the failed transaction left open; the next batch opens
            // a fresh one (a connection stuck inside a transaction would refuse every later BEGIN).
            *guard = None;
        }
        result
    }

    /// SQLite: runs `read` — the point reads of a hot path (the application an answer works on) — in place, on the
    /// calling thread, on one of the store's synchronous read connections: no hand-off to a driver thread and back
    /// for every statement, as through sqlx (whose SQLite connections each run on a thread of their own). Reads by
    /// key take microseconds, and in WAL mode a reader does not wait for the writer, so the caller's runtime thread
    /// is held no longer than that. Each statement reads the committed state when it starts (no transaction around
    /// them, as on the pool). `None` on PostgreSQL.
    pub fn read_sync<T>(&self, read: impl FnOnce(&mut LiteTx<'_>) -> Result<T>) -> Option<Result<T>> {
        let idle = self.readers.as_ref()?;
        let taken = idle.lock().map_err(|_| StoreError::WriterStopped).map(|mut v| v.pop());
        let conn = match taken {
            Ok(Some(conn)) => conn,
            Ok(None) => match open_reader(audit::sqlite_path(&self.url)) {
                Ok(conn) => conn,
                Err(e) => return Some(Err(e)),
            },
            Err(e) => return Some(Err(e)),
        };
        let out = read(&mut LiteTx { conn: &conn });
        // Kept for the next read unless it failed (a fresh connection then) or enough are idle already.
        if out.is_ok()
            && let Ok(mut v) = idle.lock()
            && v.len() < MAX_IDLE_READERS
        {
            v.push(conn);
        }
        Some(out)
    }

    /// A connection for reads outside any transaction.
    pub async fn reader(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.read.acquire().await?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
        self.read.close().await;
        self.write.close().await;
    }
}

/// Idle connections [`Store::read_sync`] keeps: one per thread that may read at once (the runtime's).
const MAX_IDLE_READERS: usize = 8;

/// A synchronous read connection of [`Store::read_sync`]: reads only, and never checkpoints.
fn open_reader(path: &str) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A WAL reader waits only in rare cases (a log being recovered); then a runtime thread waits, so not for long.
    conn.execute_batch("PRAGMA query_only=ON; PRAGMA busy_timeout=1000; PRAGMA cache_size=-8000;")?;
    conn.execute_batch(checkpoint::NO_AUTO_CHECKPOINT)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// A use case's work queued for [`Store::write_sync`].
trait SyncJob: Send {
    /// Runs the work in the batch's transaction (again, if the batch started over); whether it succeeded.
    fn run(&mut self, tx: &mut LiteTx<'_>) -> bool;
    /// Answers with the last run's result: `None` once its batch committed, else why the batch failed.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

struct Queued<F, T, E> {
    work: F,
    result: Option<std::result::Result<T, E>>,
    done: tokio::sync::oneshot::Sender<std::result::Result<T, E>>,
}

impl<F, T, E> SyncJob for Queued<F, T, E>
where
    F: FnMut(&mut LiteTx<'_>) -> std::result::Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, tx: &mut LiteTx<'_>) -> bool {
        let result = (self.work)(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let out = match (failed, self.result) {
            (None, Some(r)) | (Some(_), Some(r @ Err(_))) => r,
            (Some(e), _) => Err(E::from(e)),
            // Not run: the batch stopped before it (only when it failed, which is the arm above).
            (None, None) => Err(E::from(StoreError::WriterStopped)),
        };
        let _ = self.done.send(out);
    }
}

/// Works per batch at most.
const MAX_SYNC_BATCH: usize = 256;

/// The group-commit loop of [`Store::write_sync`], on the write thread; ends when every handle of the store is gone.
async fn run_batches(
    write: AnyPool,
    slot: std::sync::Arc<std::sync::Mutex<Option<rusqlite::Connection>>>,
    path: String,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Box<dyn SyncJob>>,
    rewind: checkpoint::Rewind,
) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_SYNC_BATCH
            && let Ok(job) = queue.try_recv()
        {
            jobs.push(job);
        }
        // Held until the end: the pool's only write connection is the store's write lock.
        let lock = match write.acquire().await {
            Ok(lock) => lock,
            Err(e) => {
                // Dropping a work unrun answers it "the write thread has stopped"; say why here.
                tracing::error!(error = %e, "the store's write lock cannot be taken");
                continue;
            }
        };
        let failed = match slot.lock() {
            Ok(mut guard) => run_batch(&mut guard, &path, &mut jobs).err(),
            Err(_) => Some(StoreError::WriterStopped),
        };
        drop(lock);
        for job in jobs {
            job.answer(failed.as_ref().map(|e| StoreError::Commit(e.to_string())));
        }
        // After the answers: the batch's requests do not wait for the checkpoint.
        if let Ok(guard) = slot.lock()
            && let Some(conn) = &*guard
        {
            rewind.after_commit(conn);
        }
    }
}

/// One batch of [`run_batches`], committed; `Err` if it could not be (every work then fails with it). A work that
/// fails after changing rows is left out and the batch runs again from the start without it.
fn run_batch(slot: &mut Option<rusqlite::Connection>, path: &str, jobs: &mut [Box<dyn SyncJob>]) -> Result<()> {
    let outcome = (|| -> Result<()> {
        let conn = match &mut *slot {
            Some(conn) => conn,
            empty @ None => empty.insert(audit::open_appender(path)?),
        };
        run(conn, "PRAGMA synchronous=NORMAL")?;
        let mut left_out = vec![false; jobs.len()];
        'batch: loop {
            run(conn, "BEGIN IMMEDIATE")?;
            for (i, job) in jobs.iter_mut().enumerate() {
                if left_out[i] {
                    continue;
                }
                let before = conn.total_changes();
                let ok = job.run(&mut LiteTx { conn });
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back itself (an I/O error, a full disk), whether or not the
                    // work saw it: nothing of the batch may be written outside it, so the batch fails.
                    return Err(StoreError::Commit("the write transaction was rolled back".into()));
                }
                if ok {
                    continue;
                }
                if conn.total_changes() != before {
                    run(conn, "ROLLBACK")?;
                    left_out[i] = true;
                    continue 'batch;
                }
            }
            run(conn, "COMMIT")?;
            return Ok(());
        }
    })();
    if outcome.is_err() {
        // Closing the connection rolls back whatever the failed batch left open; the next batch opens a fresh one.
        *slot = None;
    }
    outcome
}

/// Runs one statement that returns no rows through the connection's statement cache: the transaction control of
/// every batch, parsed once instead of at every use.
fn run(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// A write transaction on the store's synchronous SQLite connection: the synchronous twins of the store's
/// functions that the hot write paths use (audit appends, the sharing workflow's submit and approve), writing
/// and reading the same rows with the same SQL.
pub struct LiteTx<'c> {
    pub(crate) conn: &'c rusqlite::Connection,
}

/// Binds `values` to a statement written for sqlx's numbered parameters (`$1`, `$2`, …). SQLite numbers such
/// named parameters in order of first appearance (a `$1` used twice is one parameter), so each is bound by its
/// name rather than its position.
pub(crate) fn bind_numbered(stmt: &mut rusqlite::Statement<'_>, values: &[&dyn rusqlite::ToSql]) -> Result<()> {
    for i in 1..=stmt.parameter_count() {
        let n = stmt.parameter_name(i).and_then(|s| s.strip_prefix('$')).and_then(|s| s.parse::<usize>().ok());
        let value = n
            .and_then(|n| values.get(n.checked_sub(1)?))
            .ok_or_else(|| StoreError::Corrupt(format!("statement parameter {i} has no value")))?;
        stmt.raw_bind_parameter(i, value)?;
    }
    Ok(())
}

/// The columns of a result row, read the same way from sqlx's rows and rusqlite's, so one decoder serves both.
pub(crate) trait Cols {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
}

impl Cols for sqlx::any::AnyRow {
    fn text(&self, i: usize) -> Result<String> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
}

type Job = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

/// A thread with a single-threaded runtime of its own, running the write transactions handed to it as tasks.
#[derive(Clone)]
struct WriteThread {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl WriteThread {
    /// `None` (writes stay on the caller's runtime) if the thread or its runtime cannot be created.
    fn start() -> Option<WriteThread> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        let (jobs, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("shuqiao-writer".into())
            .spawn(move || {
                rt.block_on(async move {
                    // Ends when every handle (every clone of the store) is gone.
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job());
                    }
                });
            })
            .ok()?;
        Some(WriteThread { jobs })
    }

    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let _ = self.jobs.send(Box::new(move || Box::pin(task)));
    }

    async fn run<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        self.spawn(async move {
            let _ = done.send(work().await);
        });
        result.await.map_err(|_| StoreError::WriterStopped)
    }
}

/// The placeholder of the `n`th (1-based) parameter of a statement on `c`. SQLite gets anonymous `?`: the driver
/// resolves every numbered parameter through `sqlite3_bind_parameter_name`, a linear scan, which makes binding a
/// statement with a thousand `$n` parameters quadratic; multi-row INSERTs use this, other statements keep `$n`.
pub(crate) fn placeholder(c: &Conn, n: usize) -> String {
    if c.backend_name().eq_ignore_ascii_case("sqlite") { "?".to_owned() } else { format!("${n}") }
}

/// Rows per multi-row INSERT, largest first. A batch is cut greedily into these sizes, so a few prepared statements
/// (one per size; statements of arbitrary sizes would each be prepared anew and evict each other from the statement
/// cache) serve every batch, and a remainder costs at most three statements per size instead of one per row.
const ROW_CHUNKS: [usize; 4] = [256, 64, 16, 4];

/// `items` cut into pieces of the sizes in [`ROW_CHUNKS`] (and single rows at the end).
pub(crate) fn row_chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let size = ROW_CHUNKS.iter().copied().find(|&n| n <= items.len()).unwrap_or(1);
        let (head, rest) = items.split_at(size);
        items = rest;
        Some(head)
    })
}

/// `INSERT INTO {head} VALUES (…), (…)` for `rows` rows of `cols` placeholders each.
pub(crate) fn multi_row_insert(c: &Conn, head: &str, rows: usize, cols: usize, tail: &str) -> String {
    let mut sql = format!("INSERT INTO {head} VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for k in 1..=cols {
            if k > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholder(c, i * cols + k));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// What a committed change may have changed, for the caches that hold such rows (see [`generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Departments, users, sessions, API clients.
    Accounts = 0,
    /// Catalog entries.
    Catalog = 1,
    /// Grants.
    Grants = 2,
    /// Mounts and nodes.
    Exchange = 3,
}

const KINDS: usize = 4;

/// Commits a write transaction and advances the [`generation`] of every kind, so that caches of what it may have
/// changed (sessions, grants, entries, mounts) are refreshed.
pub async fn commit(tx: Transaction<'_, sqlx::Any>) -> Result<()> {
    tx.commit().await?;
    changed(&[Kind::Accounts, Kind::Catalog, Kind::Grants, Kind::Exchange]);
    Ok(())
}

/// Commits a transaction that changes nothing a cache holds (appended audit events, usage counters): the
/// [`generation`] stays.
pub async fn commit_append(tx: Transaction<'_, sqlx::Any>) -> Result<()> {
    Ok(tx.commit().await?)
}

/// Advances the [`generation`] of `kinds`: to be called once a transaction that changed such rows has committed
/// (by [`commit`] for every kind; by a use case that knows what it changed, for those kinds only).
pub fn changed(kinds: &[Kind]) {
    for k in kinds {
        GENERATIONS[*k as usize].fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

static GENERATIONS: [std::sync::atomic::AtomicU64; KINDS] = [const { std::sync::atomic::AtomicU64::new(0) }; KINDS];

/// A number that grows with every committed change of rows of `kind` in this process (see [`commit`],
/// [`changed`]). A cache entry read at generation `g` is current while the generation is still `g`: read the
/// generation *before* reading the rows.
pub fn generation(kind: Kind) -> u64 {
    GENERATIONS[kind as usize].load(std::sync::atomic::Ordering::Acquire)
}

/// Formats a timestamp the way the store keeps them: RFC 3339 UTC, microseconds, fixed width, so text order is
/// time order on both backends.
pub fn ts(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Parses a stored timestamp.
pub fn parse_ts(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| StoreError::Corrupt(format!("timestamp {s}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_chunks_cover_every_row_in_order_with_few_sizes() {
        for n in [0usize, 1, 3, 4, 5, 63, 64, 65, 255, 256, 1000, 2000] {
            let items: Vec<usize> = (0..n).collect();
            let pieces: Vec<&[usize]> = row_chunks(&items).collect();
            assert_eq!(pieces.concat(), items, "n = {n}");
            assert!(pieces.iter().all(|p| [256, 64, 16, 4, 1].contains(&p.len())), "n = {n}");
            // Greedy: fewer than four pieces of each smaller size.
            for size in [64, 16, 4, 1] {
                assert!(pieces.iter().filter(|p| p.len() == size).count() < 4, "n = {n}, size {size}");
            }
        }
    }

    /// A batch of works on table `t (k PRIMARY KEY)`: work `i` inserts key `i`, and the ones in `fail_before` fail
    /// before writing, the one equal to `fail_after` inserts its key and then fails (inserting it again). Runs the
    /// batch directly (no write thread, so the batch is exactly these works) and returns, per work, how often it ran
    /// and whether it succeeded, with the keys stored.
    fn batch_of(n: usize, fail_before: &[usize], fail_after: Option<usize>) -> (Vec<(usize, bool)>, Vec<i64>) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db");
        let path = path.to_str().unwrap();
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        let runs: Vec<Arc<AtomicUsize>> = (0..n).map(|_| Arc::default()).collect();
        let mut answers = Vec::new();
        let mut jobs: Vec<Box<dyn SyncJob>> = Vec::new();
        for (i, ran) in runs.iter().cloned().enumerate() {
            let (done, answer) = tokio::sync::oneshot::channel();
            answers.push(answer);
            let fails_before = fail_before.contains(&i);
            let work = move |tx: &mut LiteTx<'_>| -> Result<()> {
                ran.fetch_add(1, Ordering::SeqCst);
                if fails_before {
                    return Err(StoreError::Corrupt("refused before writing".into()));
                }
                let k = i64::try_from(i).unwrap();
                tx.conn.execute("INSERT INTO t (k) VALUES (?1)", [k])?;
                if fail_after == Some(i) {
                    tx.conn.execute("INSERT INTO t (k) VALUES (?1)", [k])?;
                }
                Ok(())
            };
            jobs.push(Box::new(Queued { work, result: None, done }));
        }
        let mut slot = None;
        run_batch(&mut slot, path, &mut jobs).unwrap();
        for job in jobs {
            job.answer(None);
        }
        let outcome = answers
            .into_iter()
            .zip(&runs)
            .map(|(mut a, ran)| (ran.load(Ordering::SeqCst), matches!(a.try_recv(), Ok(Ok(())))))
            .collect();
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let keys = stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<Vec<i64>>>().unwrap();
        (outcome, keys)
    }

    #[test]
    fn a_work_that_fails_before_writing_is_left_behind_and_the_batch_goes_on() {
        let (outcome, keys) = batch_of(6, &[1, 4], None);
        // Every work ran once; the two that failed answer their error, the others committed.
        assert_eq!(outcome, [(1, true), (1, false), (1, true), (1, true), (1, false), (1, true)]);
        assert_eq!(keys, [0, 2, 3, 5]);
    }

    #[test]
    fn a_work_that_fails_after_writing_makes_the_batch_start_over_without_it() {
        let (outcome, keys) = batch_of(6, &[1], Some(3));
        // Works 0 and 2 ran before 3 failed, and again after the rollback; 3 is not run again and leaves nothing;
        // 4 and 5 ran once; 1 failed before writing both times.
        assert_eq!(outcome, [(2, true), (2, false), (2, true), (1, false), (1, true), (1, true)]);
        assert_eq!(keys, [0, 2, 4, 5]);
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let b = a + time::Duration::microseconds(1);
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(b)).unwrap(), b);
    }
}
