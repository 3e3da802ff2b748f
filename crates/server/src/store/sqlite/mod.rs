//! The on-disk [`Store`]: an embedded SQLite database in a data directory.
//!
//! Layout of the data directory (created if missing):
//! - `banter.db` (with SQLite's `-wal` and `-shm` files): the database;
//! - `banterd.lock`: exclusively locked (`flock`) for the store's life, so a
//!   second banterd on the same directory fails at start with
//!   [`StoreError::Locked`] instead of interleaving writes. The kernel drops
//!   the lock when the process dies, so a crash leaves nothing to clean up.
//!
//! Durability: WAL with `synchronous=FULL`. Every commit, a batch of messages
//! or one room change, is fsynced before it counts as done, so an
//! acknowledged room change survives a power cut as well as a `kill -9`, and
//! the database is never corrupt. NORMAL would survive `kill -9` too but may
//! lose the last commits on power loss; since messages are committed in
//! batches (at most `1000 / batch_interval` commits a second), the extra fsync
//! per commit is cheap, and an acknowledgement means "on disk". At most the
//! last batch window of messages is lost in a crash.
//!
//! Disk space: the WAL is checkpointed into `banter.db` about once a second
//! while messages are committed, and with TRUNCATE when a write fails and when
//! writing recovers (see `writer`), so it stays at about a second of commits
//! and a full disk is not kept full by the WAL; `journal_size_limit` cuts the
//! file back after a burst.
//!
//! All database work happens on one writer thread (see `writer`); the handle
//! only queues jobs, so no call here blocks on the disk except [`Store::load`]
//! and shutdown.

mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use self::writer::{Job, Limits, Shared, Writer};
use super::{
    Ack, LoadedRoom, Reply, Store, StoreError, StoredMessage, StoredRoom, StoredServerBan,
    DEFAULT_HISTORY_MAX,
};
use crate::metrics::Metrics;

/// The database file's name in the data directory.
pub const DATABASE_FILE: &str = "banter.db";
/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "banterd.lock";

/// Longest a message waits in memory before its batch is committed: the most
/// a crash can lose, and few enough commits (20 a second) that each can afford an fsync.
pub const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_millis(50);
/// Most messages in one batch: bounds a transaction's size and time under load.
/// With the `(history, id)` index of schema V3, 10,000 made `store_throughput`
/// at 1,000 rooms cheaper (2.7-2.9 us of the writer's CPU per message against
/// 6.6-7.0), but the server in `rooms` at 200,000 messages a second delivered
/// less and lost messages with it (BENCHMARKS.md, "Memory per connection and
/// IRC joins"), so it stays 1,000. Since V4 (history as a chain) the batch
/// size matters little: 1.35 against 1.45 us.
pub const DEFAULT_BATCH_MAX: usize = 1_000;
/// Longest time between two checkpoints of the WAL into the database file while
/// messages are being committed; see `writer`.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// Most messages held uncommitted while the disk is failing or slow (about
/// 100 seconds of a busy server's traffic, a few tens of MB); past it messages
/// are dropped and counted rather than growing memory without bound.
pub const DEFAULT_QUEUE_MAX: usize = 100_000;

/// How to open a [`SqliteStore`]; [`SqliteConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The data directory; created if missing.
    pub dir: PathBuf,
    /// Messages each room's history keeps (private messages: each recipient's).
    pub history_max: usize,
    /// Longest time between an append and the commit of its batch.
    pub batch_interval: Duration,
    /// A batch is committed as soon as it holds this many messages (at least 1).
    pub batch_max: usize,
    /// Most messages appended and not yet committed; see [`DEFAULT_QUEUE_MAX`].
    pub queue_max: usize,
    /// See [`DEFAULT_CHECKPOINT_INTERVAL`].
    pub checkpoint_interval: Duration,
    /// Where commit times and write failures are counted.
    pub metrics: Arc<Metrics>,
}

impl SqliteConfig {
    /// The defaults for a store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            history_max: DEFAULT_HISTORY_MAX,
            batch_interval: DEFAULT_BATCH_INTERVAL,
            batch_max: DEFAULT_BATCH_MAX,
            queue_max: DEFAULT_QUEUE_MAX,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            metrics: Arc::default(),
        }
    }
}

/// Writes a consistent copy of the database in `dir` to `into` with SQLite's
/// `VACUUM INTO`, safe while a banterd serves from `dir` (a read-only
/// connection reads one snapshot; it takes no lock the server needs). Fails if
/// `into` exists. Returns the copy's size in bytes.
pub fn backup(dir: &Path, into: &Path) -> Result<u64, StoreError> {
    let path = dir.join(DATABASE_FILE);
    if !path.exists() {
        return Err(io_error(format!("no database at {}", path.display()))(
            std::io::ErrorKind::NotFound.into(),
        ));
    }
    if into.exists() {
        return Err(io_error(format!(
            "{} exists already; choose a new file",
            into.display()
        ))(std::io::ErrorKind::AlreadyExists.into()));
    }
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: path.clone(),
        source: Box::new(source),
    })?;
    conn.busy_timeout(BACKUP_BUSY_TIMEOUT)?;
    let target = into.to_str().ok_or_else(|| {
        io_error(format!("{} is not a UTF-8 path", into.display()))(
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    conn.execute("VACUUM INTO ?1", [target])?;
    std::fs::metadata(into)
        .map(|meta| meta.len())
        .map_err(io_error(format!("cannot read {}", into.display())))
}

/// How long a backup waits for a moment the server is not checkpointing.
const BACKUP_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// See the module docs. Dropping it (or [`SqliteStore::close`]) commits what
/// is pending and joins the writer thread, then releases the directory lock.
pub struct SqliteStore {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<Result<(), StoreError>>>,
    /// Locked for the store's life; declared after `writer` so the lock goes
    /// only once the writer has closed the database.
    _lock: File,
}

/// SQLite's errors become the store's backend errors, so `?` works on them
/// and nothing above the store sees a rusqlite type.
impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(err))
    }
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

impl SqliteStore {
    /// Creates the data directory if needed, locks it, opens and migrates the
    /// database, and starts the writer thread.
    pub fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        let dir = config.dir;
        std::fs::create_dir_all(&dir).map_err(io_error(format!(
            "cannot create the data directory {} (--data-dir)",
            dir.display()
        )))?;
        let lock_file = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_file)
            .map_err(io_error(format!(
                "cannot write in the data directory {} (--data-dir): cannot open {LOCK_FILE}",
                dir.display()
            )))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(StoreError::Locked { dir, lock_file }),
            Err(TryLockError::Error(source)) => {
                return Err(io_error(format!("cannot lock {}", lock_file.display()))(
                    source,
                ))
            }
        }

        let path = dir.join(DATABASE_FILE);
        let conn = schema::open(&path)?;
        let shared = Arc::new(Shared::new(config.queue_max, schema::last_id(&conn)?));
        let limits = Limits {
            history_max: config.history_max,
            batch_interval: config.batch_interval,
            batch_max: config.batch_max.max(1),
            checkpoint_interval: config.checkpoint_interval,
        };
        let writer = Writer::new(conn, Arc::clone(&shared), limits, config.metrics)?
            .spawn()
            .map_err(io_error("cannot start the message store's thread".into()))?;
        tracing::info!(path = %path.display(), "opened the message store");
        Ok(Self {
            shared,
            writer: Some(writer),
            _lock: lock,
        })
    }

    /// Commits what is pending, stops the writer thread and releases the
    /// directory; blocks until done. Fails if the last commit failed (those
    /// messages are lost, and were logged).
    pub fn close(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        self.shared.close();
        writer.join().map_err(|_| StoreError::Closed)?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The writer has logged any failure of its last commit.
        let _ = self.stop();
    }
}

impl Store for SqliteStore {
    fn load(&self, recent: usize) -> Result<Vec<LoadedRoom>, StoreError> {
        let (answer, rx) = mpsc::sync_channel(1);
        self.shared.submit(Job::Load { recent, answer });
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn save_room(&self, room: StoredRoom) -> Ack {
        let (answer, rx) = oneshot::channel();
        self.shared.submit(Job::SaveRoom(room, answer));
        rx
    }

    fn delete_room(&self, name: &str) -> Ack {
        let (answer, rx) = oneshot::channel();
        self.shared.submit(Job::DeleteRoom(name.to_owned(), answer));
        rx
    }

    fn append(&self, message: StoredMessage) -> i64 {
        self.shared.append(message)
    }

    fn append_with_id(&self, message: StoredMessage) {
        self.shared.append_with_id(message);
    }

    fn history(&self, room: &str, limit: usize, before: Option<i64>) -> Reply<Vec<StoredMessage>> {
        let (answer, rx) = oneshot::channel();
        self.shared.submit(Job::History {
            room: room.to_owned(),
            limit,
            before,
            answer,
        });
        rx
    }

    fn flush(&self) -> Ack {
        let (answer, rx) = oneshot::channel();
        self.shared.submit(Job::Flush(answer));
        rx
    }

    fn problem(&self) -> Option<String> {
        self.shared.problem()
    }

    fn probe(&self) -> Ack {
        self.shared.probe()
    }

    fn queued(&self) -> usize {
        self.shared.queued()
    }

    fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    fn load_server_bans(&self) -> Result<Vec<StoredServerBan>, StoreError> {
        let (answer, rx) = mpsc::sync_channel(1);
        self.shared.submit(Job::LoadServerBans(answer));
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn save_server_ban(&self, ban: StoredServerBan) -> Ack {
        let (answer, rx) = oneshot::channel();
        self.shared.submit(Job::SaveServerBan(ban, answer));
        rx
    }

    fn delete_server_ban(&self, mask: &str) -> Ack {
        let (answer, rx) = oneshot::channel();
        self.shared
            .submit(Job::DeleteServerBan(mask.to_ascii_lowercase(), answer));
        rx
    }
}
