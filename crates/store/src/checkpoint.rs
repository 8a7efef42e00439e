//! SQLite: write-ahead-log checkpoints on a thread of their own.
//!
//! By default SQLite checkpoints in the connection whose commit takes the log past 1000 pages: the store's write
//! thread would stop there, copy the pages into the database file and sync it, while every write queued behind it
//! waits (the tail of the sharing round trip's latency: decision record 16). The store's connections turn that off
//! (`PRAGMA wal_autocheckpoint=0`, see [`NO_AUTO_CHECKPOINT`]) and this thread checkpoints instead, `PASSIVE`: it
//! never waits for a writer or a reader, nor makes one wait.
//!
//! A passive checkpoint alone never lets the log start over while writes go on: SQLite rewinds the log when a
//! writer begins and finds every frame copied, which a checkpoint running beside a busy writer never leaves behind
//! (measured: 800 MB of log after 6 s of the sharing benchmark). So once the log passes [`PACE`]'s frames, the
//! thread asks the writer ([`Rewind`]) to run one more passive checkpoint itself right after its next commit: it
//! copies only what was written since the thread's pass, and its next transaction starts the log over (unless a
//! reader still reads from the log; the thread asks again). The last connection to close checkpoints what is left
//! (SQLite does so whatever the setting).
//!
//! SQLite syncs the database file only at the end of a checkpoint that copied every frame — the writer's, never the
//! thread's, which the writer outruns — so that sync had to write out everything the thread copied since the last
//! rewind (64 MB of log: ~9 ms of `fsync` on the writer's path, seen with strace). The thread therefore syncs the
//! database file itself after each pass (`fdatasync` through a handle of its own), and the writer's sync finds
//! only its own few pages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pragma every connection of a SQLite store runs when it opens.
pub(crate) const NO_AUTO_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint=0;";

/// How often the thread checkpoints, and past how many frames (pages) in the log it asks the writer to let the log
/// start over.
#[derive(Debug, Clone, Copy)]
struct Pace {
    every: Duration,
    restart_frames: i64,
}

/// The store's pace: every 100 ms; restart past 64 MB of 4 KB pages. The writer stops for its checkpoint (what
/// was written since the thread's pass, and two syncs) once per this much log, so not too often. (The store's own
/// tests restart past 1 MB, so that they need not write much to see it.)
const PACE: Pace = if cfg!(test) {
    Pace { every: Duration::from_millis(20), restart_frames: 256 }
} else {
    Pace { every: Duration::from_millis(100), restart_frames: 16384 }
};

/// The handle of the checkpoint thread: it stops when [`Checkpointer::stop`] is called or the last clone of the
/// store is gone.
#[derive(Clone)]
pub(crate) struct Checkpointer {
    stop: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    rewind: Rewind,
}

/// The thread's request to the writer to let the log start over (see the module's documentation).
#[derive(Clone, Default)]
pub(crate) struct Rewind(Arc<AtomicBool>);

impl Rewind {
    /// On a writing connection after its commit (the group commit's, once its answers are sent): if the thread
    /// asked for it, a passive checkpoint of what was written since the thread's last one, so that the next
    /// transaction starts the log over. Asked again after the next commit if the checkpoint could not copy every
    /// frame (the thread was checkpointing too, or a reader still reads old frames). A failure is logged: the log
    /// only grows until the next request.
    pub(crate) fn after_commit(&self, conn: &rusqlite::Connection) {
        if !self.wanted() {
            return;
        }
        self.settle(
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| e.to_string()),
        );
    }

    /// Whether the thread asks for the writer's checkpoint (see [`Rewind::after_commit`]).
    pub(crate) fn wanted(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// The outcome of the writer's checkpoint, `(busy, frames in the log, frames copied)` as `PRAGMA
    /// wal_checkpoint` answers: the request stands until every frame was copied.
    pub(crate) fn settle(&self, outcome: Result<(i64, i64, i64), String>) {
        match outcome {
            Ok((busy, log, copied)) if busy != 0 || log != copied => {}
            Ok(_) => self.0.store(false, Ordering::Release),
            Err(e) => {
                self.0.store(false, Ordering::Release);
                tracing::warn!(error = %e, "the writer's WAL checkpoint failed");
            }
        }
    }
}

impl Checkpointer {
    /// Starts the thread for the database file at `path`; `None` if no thread can be started (the store then does
    /// not open).
    pub(crate) fn start(path: &str) -> Option<Checkpointer> {
        Self::start_paced(path, PACE)
    }

    fn start_paced(path: &str, pace: Pace) -> Option<Checkpointer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.to_owned();
        let rewind = Rewind::default();
        let asks = rewind.clone();
        std::thread::Builder::new()
            .name("shuqiao-checkpoint".into())
            .spawn(move || run(&path, &stopped, &asks, pace))
            .ok()?;
        Some(Checkpointer { stop: Arc::new(Mutex::new(Some(stop))), rewind })
    }

    /// What the writing connections call after their commits.
    pub(crate) fn rewind(&self) -> Rewind {
        self.rewind.clone()
    }

    /// Stops the thread (at its next wake-up at the latest); its connection closes.
    pub(crate) fn stop(&self) {
        if let Ok(mut s) = self.stop.lock() {
            s.take();
        }
    }
}

/// Passes the thread leaves to the writer after asking it to checkpoint, at most: a store whose writes stopped (or
/// go through no connection that answers the request) is checkpointed by the thread again after a second.
const WAIT_FOR_WRITER: u32 = 10;

fn run(path: &str, stopped: &mpsc::Receiver<()>, rewind: &Rewind, pace: Pace) {
    let mut conn: Option<rusqlite::Connection> = None;
    let mut db_file: Option<std::fs::File> = None;
    let mut failing = false;
    let mut waited = 0;
    loop {
        match stopped.recv_timeout(pace.every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if rewind.wanted() && waited < WAIT_FOR_WRITER {
            // The writer's turn: a checkpoint here would only make its own find the log busy.
            waited += 1;
            continue;
        }
        waited = 0;
        let outcome = match &conn {
            Some(c) => checkpoint(c, rewind, pace.restart_frames),
            None => open(path).and_then(|c| checkpoint(conn.insert(c), rewind, pace.restart_frames)),
        };
        match outcome {
            Ok(()) => {
                failing = false;
                // What this pass copied, on disk now rather than in the writer's sync (see the module's docs).
                if db_file.is_none() {
                    db_file = std::fs::File::open(path).ok();
                }
                if let Some(f) = &db_file
                    && f.sync_data().is_err()
                {
                    db_file = None;
                }
            }
            Err(e) => {
                // Logged once per failing streak; the connection is opened again at the next wake-up.
                if !failing {
                    tracing::warn!(error = %e, "the store's WAL checkpoint failed; retrying");
                }
                failing = true;
                conn = None;
            }
        }
    }
}

fn open(path: &str) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL;")?;
    conn.execute_batch(NO_AUTO_CHECKPOINT)?;
    Ok(conn)
}

/// A passive checkpoint: copies what the log holds beyond what readers still need into the database file; asks the
/// writer to let the log start over if it has grown past `restart_frames`.
fn checkpoint(c: &rusqlite::Connection, rewind: &Rewind, restart_frames: i64) -> rusqlite::Result<()> {
    let frames: i64 = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?;
    if frames >= restart_frames {
        rewind.0.store(true, Ordering::Release);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_len(dir: &std::path::Path) -> u64 {
        std::fs::metadata(dir.join("t.db-wal")).map(|m| m.len()).unwrap_or(0)
    }

    /// The checkpoint sequence number in the log's header (big-endian at offset 12): SQLite moves it each time the
    /// log starts over.
    fn wal_restarts(dir: &std::path::Path) -> Option<u32> {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(dir.join("t.db-wal")).ok()?.read_exact(&mut header).ok()?;
        Some(u32::from_be_bytes([header[12], header[13], header[14], header[15]]))
    }

    #[test]
    fn the_log_starts_over_while_a_writer_keeps_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let path = path.to_str().unwrap();
        let w = rusqlite::Connection::open(path).unwrap();
        w.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").unwrap();
        w.execute_batch(NO_AUTO_CHECKPOINT).unwrap();
        w.execute_batch("CREATE TABLE t (v TEXT)").unwrap();
        // A quick pace, so that the test writes little: restart past 1 MB.
        let pace = Pace { every: Duration::from_millis(10), restart_frames: 256 };
        let cp = Checkpointer::start_paced(path, pace).unwrap();
        let rewind = cp.rewind();
        // Commits of a page each, without a pause, until 64 times the restart threshold went through the log: a
        // passive checkpoint alone never finds the log wholly copied when the writer begins, so the log would hold
        // all of it.
        let limit = pace.restart_frames as u64 * 4096;
        let (mut written, mut i) = (0u64, 0u64);
        let (mut asked, mut refused) = (0u64, 0u64);
        // Counted from the log's header: the file keeps the largest size the log ever had (written over from its
        // start, not truncated), and on a busy machine the thread may not run for a while (the log grows
        // meanwhile), so the file's size says little.
        let (mut restarts, mut seen) = (0u32, None);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while written < 64 * limit && std::time::Instant::now() < deadline {
            w.execute("INSERT INTO t VALUES (?1)", [format!("{i:04000}")]).unwrap();
            if rewind.wanted() {
                asked += 1;
                rewind.after_commit(&w);
                if rewind.wanted() {
                    refused += 1;
                }
            }
            written += 4096;
            i += 1;
            if i % 16 == 0 {
                let now = wal_restarts(dir.path());
                if seen.is_some() && now != seen {
                    restarts += 1;
                }
                seen = now;
            }
        }
        assert!(written >= 64 * limit, "wrote only {written} bytes in a minute");
        // Started over again and again (a log of about the threshold each time when the thread keeps its pace);
        // without the writer's checkpoint, never.
        assert!(
            restarts >= 4,
            "the log started over {restarts} times while {written} bytes were written (the writer was asked {asked} \
             times, {refused} of them in vain; the log file is {} bytes)",
            wal_len(dir.path())
        );
        let db_len = std::fs::metadata(path).unwrap().len();
        assert!(db_len > limit, "the checkpoints copied the log into the database file ({db_len} bytes)");
        let n: i64 = w.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(u64::try_from(n).unwrap(), i);
        cp.stop();
    }

    #[test]
    fn the_thread_checkpoints_and_the_log_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let path = path.to_str().unwrap();
        let w = rusqlite::Connection::open(path).unwrap();
        w.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").unwrap();
        w.execute_batch(NO_AUTO_CHECKPOINT).unwrap();
        w.execute_batch("CREATE TABLE t (v TEXT)").unwrap();
        let rows = |from: usize| {
            for i in from..from + 5000 {
                w.execute("INSERT INTO t VALUES (?1)", [format!("{i:04000}")]).unwrap();
            }
        };
        // 5000 commits of a page each: past SQLite's own threshold of 1000 pages (off).
        rows(0);
        let db_len = || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let first = wal_len(dir.path());
        assert!(first > 5000 * 4096, "the log holds every commit: no checkpoint ran");
        assert!(db_len() < 100 * 4096, "nothing reached the database file yet");
        let cp = Checkpointer::start(path).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while db_len() < 5000 * 4000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(db_len() >= 5000 * 4000, "the checkpoint thread copied the log into the database file");
        std::thread::sleep(PACE.every * 3);
        // The next writer starts the log over instead of appending to it.
        rows(5000);
        let second = wal_len(dir.path());
        assert!(second < first + first / 5, "the log grew from {first} to {second} bytes: it did not start over");
        let reader = rusqlite::Connection::open(path).unwrap();
        let n: i64 = reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 10000);
        cp.stop();
    }

    #[tokio::test]
    async fn a_store_written_through_sqlx_lets_its_log_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT)").execute(&mut *tx).await.unwrap();
        crate::commit_append(tx).await.unwrap();
        let wal = || std::fs::metadata(dir.path().join("shuqiao.db-wal")).map(|m| m.len()).unwrap_or(0);
        let limit = PACE.restart_frames as u64 * 4096;
        let (mut written, mut largest, mut i) = (0u64, 0u64, 0u64);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while written < 64 * limit && std::time::Instant::now() < deadline {
            let mut tx = store.begin().await.unwrap();
            sqlx::query("INSERT INTO t VALUES ($1)").bind(format!("{i:04000}")).execute(&mut *tx).await.unwrap();
            crate::commit_append(tx).await.unwrap();
            written += 4096;
            i += 1;
            if i % 64 == 0 {
                largest = largest.max(wal());
            }
        }
        assert!(written >= 64 * limit, "wrote only {written} bytes in two minutes");
        assert!(
            largest < written * 3 / 4,
            "the log reached {largest} bytes for {written} written: it never started over"
        );
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *store.reader().await.unwrap()).await.unwrap();
        assert_eq!(u64::try_from(n).unwrap(), i);
        store.close().await;
    }
}
