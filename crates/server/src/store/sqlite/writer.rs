//! The SQLite store's writer thread and the inbox that feeds it.
//!
//! One std thread owns the database connection; every other thread only
//! pushes [`Job`]s into the [`Inbox`] (a std `Mutex` held for a push or a swap,
//! plus a `Condvar`). A std thread, not a tokio task, because SQLite calls
//! block, and a slow disk must not stall the runtime.
//!
//! Ordering: the writer runs jobs in the order they were pushed, so a read or
//! a flush sees every message appended before it, and a room change commits
//! together with (after) the messages appended before it; that is why room
//! changes share the inbox instead of having their own path.
//!
//! Ids: [`Shared::append`] assigns each message its id under the inbox mutex
//! and returns it, so ids grow in the order of the calls and the order of the
//! jobs; a message it drops uses up its id all the same. Each commit also
//! records the highest id handed out so far in `sqlite_sequence` (see
//! `schema::remember_last_id`), as does the final commit at close, so after a
//! restart ids continue above every id handed out before the last commit;
//! only those handed out after it, when the process dies without a clean
//! close, can come again.
//!
//! Batching: appended messages collect in `pending` (with their final ids)
//! and are committed in one transaction `batch_interval` after the first of
//! them arrived, or as soon as there are `batch_max`. Appends wake the writer
//! only when that matters (the first of a batch, or the one that fills it),
//! so a busy room costs no wake-up per message.
//!
//! Checkpoints: SQLite copies the WAL into the database file by itself only
//! at `schema::WAL_AUTOCHECKPOINT_PAGES` (about 16 MB), more than a small
//! volume of messages ever writes, so the writer checkpoints (PASSIVE) after
//! a commit once `checkpoint_interval` has passed since the last time. The
//! WAL then holds about a second of commits (at most about 16 MB under a
//! heavy load), and SQLite writes it over from the start instead of growing
//! it.
//!
//! Failure: a write that fails (but for another connection's lock) is tried
//! once more at once after a TRUNCATE checkpoint, which goes through when the
//! database file has room for the WAL's pages and then gives the whole WAL
//! file's space back. A commit that still fails keeps `pending` and is retried
//! every [`RETRY_INTERVAL`]; meanwhile [`Shared::problem`] says what is wrong.
//! The first commit that goes through again checkpoints with TRUNCATE too, so
//! the WAL that held everything that waited shrinks at once.
//! Memory stays bounded: at most `queue_max` messages are uncommitted (in the
//! inbox and in `pending` together); past that, `append` drops the message,
//! counts it, and the writer logs the count.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use banter_proto::names::fold;
use rusqlite::{Connection, ErrorCode};
use tokio::sync::oneshot;

use super::schema::{self, Checkpoint, NewMessage};
use crate::metrics::Metrics;
use crate::store::{
    history_key, Ack, LoadedRoom, StoreError, StoredMessage, StoredRoom, StoredServerBan,
};

/// How long the writer waits before retrying a failed commit: long enough not
/// to spin on a full disk, short enough that recovery is noticed quickly.
pub(super) const RETRY_INTERVAL: Duration = Duration::from_secs(1);

type Answer<T> = oneshot::Sender<Result<T, StoreError>>;

/// Work for the writer, in the order it was asked for.
pub(super) enum Job {
    Append(StoredMessage),
    SaveRoom(StoredRoom, Answer<()>),
    DeleteRoom(String, Answer<()>),
    History {
        room: String,
        limit: usize,
        before: Option<i64>,
        answer: Answer<Vec<StoredMessage>>,
    },
    /// A std channel: `load` waits for it synchronously, possibly outside tokio.
    Load {
        recent: usize,
        answer: mpsc::SyncSender<Result<Vec<LoadedRoom>, StoreError>>,
    },
    Flush(Answer<()>),
    /// Answers every probe waiting in [`Shared::probe`].
    Probe,
    SaveServerBan(StoredServerBan, Answer<()>),
    /// By key (the mask lowercased).
    DeleteServerBan(String, Answer<()>),
    /// A std channel, like `Load`.
    LoadServerBans(mpsc::SyncSender<Result<Vec<StoredServerBan>, StoreError>>),
}

impl Job {
    /// Answers a job that will never run because the writer is gone.
    fn refuse(self) {
        // A caller that stopped waiting has nothing to be told.
        match self {
            Job::Append(_) => {}
            Job::SaveRoom(_, answer)
            | Job::DeleteRoom(_, answer)
            | Job::Flush(answer)
            | Job::SaveServerBan(_, answer)
            | Job::DeleteServerBan(_, answer) => {
                let _ = answer.send(Err(StoreError::Closed));
            }
            Job::LoadServerBans(answer) => {
                let _ = answer.send(Err(StoreError::Closed));
            }
            Job::History { answer, .. } => {
                let _ = answer.send(Err(StoreError::Closed));
            }
            Job::Load { answer, .. } => {
                let _ = answer.send(Err(StoreError::Closed));
            }
            Job::Probe => {}
        }
    }
}

#[derive(Default)]
struct Inbox {
    jobs: VecDeque<Job>,
    /// `Append`s in `jobs`.
    messages: usize,
    /// Other jobs in `jobs`; any of them wakes the writer at once.
    others: usize,
    /// Messages appended and not yet committed: in `jobs` or the writer's
    /// `pending`. Never more than `queue_max`.
    uncommitted: usize,
    /// While the writer waits: wake it when `messages` reaches this.
    wake_at: usize,
    /// Messages refused since the writer last looked, for its log.
    dropped_unlogged: u64,
    /// The id [`Shared::append`] handed out last (to a message kept or dropped).
    last_id: i64,
    closing: bool,
    /// The writer has exited; jobs are refused at once.
    gone: bool,
}

/// What the store handle and the writer share.
pub(super) struct Shared {
    inbox: Mutex<Inbox>,
    wake: Condvar,
    /// The current write failure; `None` while healthy.
    problem: Mutex<Option<String>>,
    /// Messages dropped because the queue was full, since open.
    dropped: AtomicU64,
    queue_max: usize,
    /// Callers of [`Shared::probe`] waiting for the next [`Job::Probe`].
    probes: Mutex<Vec<Answer<()>>>,
}

/// Most readiness probes that may wait at once; more are refused at once.
const PROBES_MAX: usize = 64;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a few field updates, so poison is ignored.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// `last_id` is the highest id the database remembers (`schema::last_id`);
    /// new ids continue after it.
    pub(super) fn new(queue_max: usize, last_id: i64) -> Self {
        Self {
            inbox: Mutex::new(Inbox {
                wake_at: usize::MAX,
                last_id,
                ..Inbox::default()
            }),
            wake: Condvar::new(),
            problem: Mutex::default(),
            dropped: AtomicU64::new(0),
            queue_max,
            probes: Mutex::default(),
        }
    }

    /// Gives the message the next id and queues it, or drops and counts it
    /// when `queue_max` are uncommitted; returns the id either way.
    pub(super) fn append(&self, message: StoredMessage) -> i64 {
        let mut inbox = lock(&self.inbox);
        inbox.last_id += 1;
        let id = inbox.last_id;
        self.queue(inbox, message, id);
        id
    }

    /// Queues a message under its own id (see `Store::append_with_id`),
    /// unless an id as high was handed out or stored before.
    pub(super) fn append_with_id(&self, message: StoredMessage) {
        let mut inbox = lock(&self.inbox);
        if message.id <= inbox.last_id {
            return;
        }
        inbox.last_id = message.id;
        let id = message.id;
        self.queue(inbox, message, id);
    }

    /// Queues `message` as `id`, or drops and counts it when `queue_max` are
    /// uncommitted.
    fn queue(&self, mut inbox: MutexGuard<'_, Inbox>, mut message: StoredMessage, id: i64) {
        if inbox.gone || inbox.uncommitted >= self.queue_max {
            inbox.dropped_unlogged += 1;
            drop(inbox);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            // Users hear of it even when the disk is fine but too slow for the
            // message rate; the next good commit clears it.
            let mut problem = lock(&self.problem);
            if problem.is_none() {
                *problem = Some("the message store cannot keep up with the message rate".into());
            }
            return;
        }
        message.id = id;
        inbox.jobs.push_back(Job::Append(message));
        inbox.messages += 1;
        inbox.uncommitted += 1;
        let wake = inbox.messages >= inbox.wake_at;
        if wake {
            inbox.wake_at = usize::MAX;
        }
        drop(inbox);
        if wake {
            self.wake.notify_one();
        }
    }

    /// The id handed out last.
    pub(super) fn last_id(&self) -> i64 {
        lock(&self.inbox).last_id
    }

    /// Queues any job but an append, and wakes the writer for it.
    pub(super) fn submit(&self, job: Job) {
        let mut inbox = lock(&self.inbox);
        if inbox.gone {
            drop(inbox);
            job.refuse();
            return;
        }
        inbox.jobs.push_back(job);
        inbox.others += 1;
        drop(inbox);
        self.wake.notify_one();
    }

    /// Asks the writer to commit what it has and exit.
    pub(super) fn close(&self) {
        lock(&self.inbox).closing = true;
        self.wake.notify_one();
    }

    pub(super) fn problem(&self) -> Option<String> {
        let problem = lock(&self.problem).clone()?;
        Some(match self.dropped() {
            0 => problem,
            dropped => format!("{problem} ({dropped} messages could not be saved)"),
        })
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Messages appended and not yet committed.
    pub(super) fn queued(&self) -> usize {
        lock(&self.inbox).uncommitted
    }

    /// Resolves once the writer could start a write transaction, or why not.
    /// Probes that arrive while one is queued share its answer.
    pub(super) fn probe(&self) -> Ack {
        let (answer, reply) = oneshot::channel();
        let mut probes = lock(&self.probes);
        if probes.len() >= PROBES_MAX {
            drop(probes);
            let _ = answer.send(Err(StoreError::Busy));
            return reply;
        }
        probes.push(answer);
        let first = probes.len() == 1;
        drop(probes);
        if first {
            self.submit(Job::Probe);
        }
        reply
    }

    fn set_problem(&self, problem: Option<String>) {
        *lock(&self.problem) = problem;
    }
}

/// Limits the writer works to; see `SqliteConfig`.
pub(super) struct Limits {
    pub history_max: usize,
    pub batch_interval: Duration,
    pub batch_max: usize,
    pub checkpoint_interval: Duration,
}

/// What the writer knows of one history, so that it neither counts rows nor
/// searches for a history's newest message (the table has no index by
/// history: see `schema::V4`).
#[derive(Default)]
struct History {
    /// Messages it holds on disk, to prune without counting rows, and to tell
    /// which of them readers may not reach (past `history_max`).
    stored: usize,
    /// Its newest message on disk, where reads and pruning start walking
    /// its chain back.
    newest_stored: Option<i64>,
    /// Its newest message, stored or pending: the `prev` of the next one.
    newest: Option<i64>,
    /// Its newest stored message's number: its messages are numbered in
    /// order, from 1 for the oldest stored when the store opened.
    last_number: i64,
    /// The number and id of every [`marks_every`]-th message, oldest first,
    /// from the oldest still stored: a sparse index of the chain, where
    /// pruning starts its walk to the first message it deletes (instead of
    /// `history_max` back from the newest), and a read whose `before` is not
    /// in the history its search for the first message below it.
    marks: VecDeque<(i64, i64)>,
}

impl History {
    /// Counts in a stored message, newer than any before it.
    fn count_stored(&mut self, id: i64, marks_every: i64) {
        self.stored += 1;
        self.newest_stored = Some(id);
        self.last_number += 1;
        if self.last_number % marks_every == 0 {
            self.marks.push_back((self.last_number, id));
        }
    }
}

/// How many marks a full history holds (see [`History::marks`]): pruning
/// walks at most `history_max / PRUNE_MARKS` messages to where it cuts, and
/// deletes at least ten times as many. In `store_throughput 200000 100 500`
/// the writer took 5.75 us of CPU per message walking from the newest, 2.45
/// with ten marks and 2.33 with a hundred; a hundred keep the walk short
/// also where the pages it reads are not in the cache (a full history of
/// 10,000), for 16 bytes per hundred stored messages.
const PRUNE_MARKS: usize = 100;

/// Every how many messages of a history one is marked.
fn marks_every(history_max: usize) -> i64 {
    (history_max / PRUNE_MARKS).max(1) as i64
}

/// The writer thread's state; it alone touches the connection.
pub(super) struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    limits: Limits,
    /// Appended, id assigned, not yet committed; each chained onto its
    /// history's previous message. In id order, and every id here is above
    /// every committed id.
    pending: Vec<NewMessage>,
    /// The highest id the database remembers handing out (`schema::last_id`).
    remembered_id: i64,
    /// Every history with a message stored or pending, by key. A deleted
    /// room's goes with it, so a room made again under its name starts a
    /// new chain.
    histories: HashMap<String, History>,
    /// When `pending` is to be committed; `Some` exactly while it is non-empty.
    due: Option<Instant>,
    /// Set while writes fail: when to try again.
    retry_at: Option<Instant>,
    /// When the WAL was last checkpointed (or the store opened).
    checkpointed_at: Instant,
    metrics: Arc<Metrics>,
}

/// What a commit does besides writing `pending`.
enum Change<'a> {
    Nothing,
    SaveRoom(&'a StoredRoom),
    /// A room's key, and its history's newest message (pending ones included:
    /// they are inserted first, in the same transaction).
    DeleteRoom {
        key: &'a str,
        newest: Option<i64>,
    },
    SaveServerBan(&'a StoredServerBan),
    DeleteServerBan(&'a str),
}

impl Writer {
    /// Reads what the writer needs to know from a freshly opened database;
    /// `shared` was made with its `schema::last_id`.
    pub(super) fn new(
        conn: Connection,
        shared: Arc<Shared>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let every = marks_every(limits.history_max);
        let mut histories: HashMap<String, History> = HashMap::new();
        schema::scan_messages(&conn, |key, id| {
            let history = match histories.get_mut(key) {
                Some(history) => history,
                None => histories.entry(key.to_owned()).or_default(),
            };
            history.count_stored(id, every);
            history.newest = Some(id);
        })?;
        Ok(Self {
            metrics,
            remembered_id: shared.last_id(),
            histories,
            conn,
            shared,
            limits,
            pending: Vec::new(),
            due: None,
            retry_at: None,
            checkpointed_at: Instant::now(),
        })
    }

    /// Starts the thread; it returns the result of its final commit.
    pub(super) fn spawn(self) -> std::io::Result<thread::JoinHandle<Result<(), StoreError>>> {
        thread::Builder::new()
            .name("banter-store".into())
            .spawn(move || self.run())
    }

    fn run(mut self) -> Result<(), StoreError> {
        let _gone = Gone(Arc::clone(&self.shared));
        let mut jobs = VecDeque::new();
        loop {
            let closing = self.take_jobs(&mut jobs);
            for job in jobs.drain(..) {
                self.run_job(job);
            }
            if closing {
                let lost = self.pending.len();
                return self.commit(Change::Nothing).inspect_err(|err| {
                    tracing::error!(%err, lost, "could not save the last messages at shutdown");
                });
            }
            if self.due.is_some_and(|due| Instant::now() >= due) {
                // A failure is logged and kept for retry by `commit` itself.
                let _ = self.commit(Change::Nothing);
            }
        }
    }

    /// Waits until there is something to do, then swaps the inbox's jobs into
    /// `into`; returns whether the store is closing.
    fn take_jobs(&mut self, into: &mut VecDeque<Job>) -> bool {
        let mut inbox = lock(&self.shared.inbox);
        loop {
            let now = Instant::now();
            let batch_full = self.retry_at.is_none()
                && self.pending.len() + inbox.messages >= self.limits.batch_max;
            let starts_batch = self.pending.is_empty() && inbox.messages > 0;
            let due = self.due.is_some_and(|due| now >= due);
            if inbox.closing || inbox.others > 0 || batch_full || starts_batch || due {
                std::mem::swap(&mut inbox.jobs, into);
                inbox.messages = 0;
                inbox.others = 0;
                inbox.wake_at = usize::MAX;
                let closing = inbox.closing;
                let dropped = std::mem::take(&mut inbox.dropped_unlogged);
                drop(inbox);
                if dropped > 0 {
                    tracing::error!(
                        dropped,
                        total = self.shared.dropped(),
                        queue_max = self.shared.queue_max,
                        "the message store queue is full; messages were not saved"
                    );
                }
                return closing;
            }
            inbox.wake_at = if self.pending.is_empty() {
                1
            } else if self.retry_at.is_some() {
                usize::MAX
            } else {
                self.limits
                    .batch_max
                    .saturating_sub(self.pending.len())
                    .max(1)
            };
            inbox = match self.due {
                None => self
                    .shared
                    .wake
                    .wait(inbox)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(due) => {
                    self.shared
                        .wake
                        .wait_timeout(inbox, due.saturating_duration_since(now))
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    fn run_job(&mut self, job: Job) {
        // A caller that stopped waiting for an answer has nothing to be told.
        match job {
            Job::Append(message) => self.queue(message),
            Job::SaveRoom(room, answer) => {
                let _ = answer.send(self.commit(Change::SaveRoom(&room)));
            }
            Job::DeleteRoom(name, answer) => {
                let key = fold(&name);
                let newest = self.histories.get(&key).and_then(|history| history.newest);
                let _ = answer.send(self.commit(Change::DeleteRoom { key: &key, newest }));
            }
            Job::History {
                room,
                limit,
                before,
                answer,
            } => {
                let _ = answer.send(self.history(&fold(&room), limit, before));
            }
            Job::Load { recent, answer } => {
                let _ = answer.send(self.load(recent));
            }
            Job::Flush(answer) => {
                let _ = answer.send(self.commit(Change::Nothing));
            }
            Job::SaveServerBan(ban, answer) => {
                let _ = answer.send(self.commit(Change::SaveServerBan(&ban)));
            }
            Job::DeleteServerBan(key, answer) => {
                let _ = answer.send(self.commit(Change::DeleteServerBan(&key)));
            }
            Job::LoadServerBans(answer) => {
                let _ = answer.send(schema::server_bans(&self.conn).map_err(Into::into));
            }
            Job::Probe => {
                let result = schema::probe_write(&self.conn);
                for answer in std::mem::take(&mut *lock(&self.shared.probes)) {
                    let _ = answer.send(match &result {
                        Ok(()) => Ok(()),
                        Err(err) => Err(StoreError::NotWritable(err.to_string())),
                    });
                }
            }
        }
    }

    /// Adds an appended message, which has its id, to `pending`.
    fn queue(&mut self, message: StoredMessage) {
        if self.pending.is_empty() {
            self.due = Some(
                self.retry_at
                    .unwrap_or_else(|| Instant::now() + self.limits.batch_interval),
            );
        }
        let key = history_key(&message).into_owned();
        let prev = match self.histories.get_mut(&key) {
            Some(history) => history.newest.replace(message.id),
            None => {
                let history = History {
                    newest: Some(message.id),
                    ..History::default()
                };
                self.histories.insert(key.clone(), history);
                None
            }
        };
        self.pending.push(NewMessage {
            history: key,
            prev,
            message,
        });
        if self.retry_at.is_none() && self.pending.len() >= self.limits.batch_max {
            // A failure is logged and kept for retry by `commit` itself.
            let _ = self.commit(Change::Nothing);
        }
    }

    /// Commits `pending` and `change` in one transaction, with the highest id
    /// handed out so far. On failure everything stays pending for a retry and
    /// the problem is reported.
    fn commit(&mut self, change: Change<'_>) -> Result<(), StoreError> {
        // Read before the write: any id handed out later is above every one
        // written now, and is remembered by the next commit. Inserting the
        // pending messages remembers their ids by itself.
        let last_id = self.shared.last_id();
        let stored = self.pending.last().map_or(self.remembered_id, |pending| {
            pending.message.id.max(self.remembered_id)
        });
        let remember = (last_id > stored).then_some(last_id);
        if self.pending.is_empty() && matches!(change, Change::Nothing) && remember.is_none() {
            return Ok(());
        }
        let started = Instant::now();
        if let Err(err) = self.write(&change, remember) {
            self.failed(&err);
            return Err(err.into());
        }
        self.metrics
            .store_committed(started.elapsed().as_secs_f64());
        self.remembered_id = self.remembered_id.max(last_id);
        let recovered = self.retry_at.take().is_some();
        if recovered {
            tracing::info!("the database is writable again");
            self.shared.set_problem(None);
        }
        let committed = self.pending.len();
        let mut over = self.count_committed();
        self.due = None;
        lock(&self.shared.inbox).uncommitted -= committed;
        if let Change::DeleteRoom { key, .. } = change {
            self.histories.remove(key);
            over.retain(|over| over != key);
        }
        self.prune(over);
        let checkpoint = if recovered {
            // The WAL grew to hold everything that waited: give the space back now.
            Some(Checkpoint::Truncate)
        } else {
            (self.checkpointed_at.elapsed() >= self.limits.checkpoint_interval)
                .then_some(Checkpoint::Passive)
        };
        if let Some(mode) = checkpoint {
            if let Err(err) = self.checkpoint(mode) {
                tracing::warn!(%err, ?mode, "checkpointing the database's WAL failed");
            }
        }
        Ok(())
    }

    /// Writes `pending` and `change` in one transaction. A failure may be a
    /// disk filled partly by the WAL, whose copies of pages take more room
    /// than the pages do in the database file; so the WAL is checkpointed and
    /// truncated, and if that went through, the write is tried once more. Not
    /// when another connection holds a lock: the checkpoint would only wait
    /// out the busy timeout as the write just did.
    fn write(&mut self, change: &Change<'_>, remember: Option<i64>) -> rusqlite::Result<()> {
        match write(&mut self.conn, &self.pending, change, remember) {
            // A checkpoint that fails too (no room for it either) is part of
            // the same trouble, and the write's error is the one reported.
            Err(err)
                if !is_contention(&err)
                    && self.checkpoint(Checkpoint::Truncate).unwrap_or(false) =>
            {
                write(&mut self.conn, &self.pending, change, remember)
            }
            written => written,
        }
    }

    /// Checkpoints the WAL; `Ok(true)` when all of it went into the database.
    /// A failure is harmless: the pages stay in the WAL for the next one.
    fn checkpoint(&mut self, mode: Checkpoint) -> rusqlite::Result<bool> {
        self.checkpointed_at = Instant::now();
        schema::checkpoint(&self.conn, mode)
    }

    fn failed(&mut self, err: &rusqlite::Error) {
        self.metrics.store_failed();
        let retry_at = Instant::now() + RETRY_INTERVAL;
        tracing::error!(
            %err,
            pending = self.pending.len(),
            "writing to the database failed; retrying every {RETRY_INTERVAL:?}"
        );
        self.shared.set_problem(Some(format!(
            "the message store cannot write to disk: {err}"
        )));
        self.retry_at = Some(retry_at);
        if !self.pending.is_empty() {
            self.due = Some(retry_at);
        }
    }

    /// Empties `pending` (just committed) into `histories`; returns the
    /// histories it touched that have grown a tenth past `history_max`, for
    /// [`Self::prune`]. One map lookup per message.
    fn count_committed(&mut self) -> Vec<String> {
        let max = self.limits.history_max;
        let limit = max + max / 10;
        let every = marks_every(max);
        let mut over = Vec::new();
        for NewMessage {
            history: key,
            message,
            ..
        } in self.pending.drain(..)
        {
            let Some(history) = self.histories.get_mut(&key) else {
                // `queue` made it, and only a room's deletion, after this, removes one.
                continue;
            };
            history.count_stored(message.id, every);
            // Pushed once per message while over: a few, unless pruning fails.
            if history.stored > limit {
                over.push(key);
            }
        }
        over.sort_unstable();
        over.dedup();
        over
    }

    /// Trims each history in `over` back to `history_max`: a few large
    /// deletes, each when a history has grown a tenth past it, instead of one
    /// per message. Readers never see the slack, since they are capped at
    /// `history_max`.
    ///
    /// All in one transaction: one fsync, and a table page that holds old
    /// messages of several of these histories is written once.
    fn prune(&mut self, over: Vec<String>) {
        let max = self.limits.history_max;
        let cuts: Vec<Cut> = over
            .into_iter()
            .filter_map(|key| {
                let history = self.histories.get(&key)?;
                Cut::of(key, history, max)
            })
            .collect();
        if cuts.is_empty() {
            return;
        }
        match prune(&mut self.conn, &cuts) {
            Ok(deleted) => {
                for (cut, deleted) in cuts.iter().zip(deleted) {
                    if let Some(history) = self.histories.get_mut(&cut.key) {
                        history.stored = history.stored.saturating_sub(deleted);
                        history.marks.retain(|&(number, _)| number > cut.number);
                    }
                }
            }
            // The sizes stay over the limit, so the next batches of these
            // histories try again.
            Err(err) => tracing::error!(%err, histories = cuts.len(), "pruning histories failed"),
        }
    }

    /// The newest `limit` messages of a history with ids below `before` (all
    /// when `None`), stored ones from disk followed by pending ones.
    ///
    /// Only the newest `history_max` of the history count, as readers are
    /// promised, though the disk may hold a few more until they are pruned:
    /// the oldest `excess` of the history are never returned, whatever
    /// `before` is. Pending messages are all newer than stored ones, so the
    /// excess is the oldest stored messages, and pending ones too only when
    /// a history has more than `history_max` pending.
    fn history(
        &self,
        key: &str,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let pending: Vec<&StoredMessage> = self
            .pending
            .iter()
            .filter(|pending| pending.history == key)
            .map(|pending| &pending.message)
            .collect();
        let history = self.histories.get(key);
        let stored = history.map_or(0, |history| history.stored);
        let excess = (stored + pending.len()).saturating_sub(self.limits.history_max);
        let stored_excess = excess.min(stored);
        let below = before.map_or(pending.len(), |before| {
            pending.partition_point(|message| message.id < before)
        });
        // Left out: pending ones in the excess (only when more than
        // `history_max` are pending), then those at or after `before`; of the
        // rest, the newest `limit` are read.
        let pending = &pending[(excess - stored_excess).min(below)..below];
        let pending = &pending[pending.len().saturating_sub(limit)..];
        let mut messages = match history {
            Some(history) => self.stored_page(
                key,
                history,
                stored - stored_excess,
                stored_excess,
                before,
                limit - pending.len(),
            )?,
            None => Vec::new(),
        };
        messages.extend(pending.iter().map(|&message| message.clone()));
        Ok(messages)
    }

    /// The newest `limit` stored messages of `history` (keyed `key`) with
    /// ids below `before`, chronological. Its newest `readable` stored
    /// messages may be returned, and the `excess` older than them (still on
    /// disk, past `history_max`) may not.
    ///
    /// A page's `before` is usually the oldest message of the page before it,
    /// in this history: while the history has no excess, its chain goes on
    /// from there, so a page costs its own messages and not the walk from the
    /// newest. While there is an excess (which a page must not reach into),
    /// and for any other `before` (another history's message, a pruned one),
    /// the page is placed by walking from the oldest mark at or above
    /// `before` (see [`History::marks`]), or from the newest, through at most
    /// `readable` messages: how far back it starts is then known.
    fn stored_page(
        &self,
        key: &str,
        history: &History,
        readable: usize,
        excess: usize,
        before: Option<i64>,
        limit: usize,
    ) -> rusqlite::Result<Vec<StoredMessage>> {
        let Some(newest) = history.newest_stored else {
            return Ok(Vec::new());
        };
        let before = match before {
            Some(before) if before <= newest && limit > 0 => before,
            _ => return schema::chain(&self.conn, newest, limit.min(readable)),
        };
        if excess == 0 {
            if let Some((linked, prev)) = schema::link(&self.conn, before)? {
                if linked == key {
                    return prev.map_or(Ok(Vec::new()), |prev| {
                        schema::chain(&self.conn, prev, limit)
                    });
                }
            }
        }
        // Marks are in id order; a mark's number says how far back it is.
        let marked = history.marks.partition_point(|&(_, id)| id < before);
        let (from, newer) = history
            .marks
            .get(marked)
            .map_or((newest, 0), |&(number, id)| {
                (id, (history.last_number - number) as usize)
            });
        let Some(cap) = readable.checked_sub(newer) else {
            return Ok(Vec::new());
        };
        match schema::first_below(&self.conn, from, before, cap)? {
            Some((first, further)) => schema::chain(&self.conn, first, limit.min(cap - further)),
            None => Ok(Vec::new()),
        }
    }

    fn load(&self, recent: usize) -> Result<Vec<LoadedRoom>, StoreError> {
        schema::rooms(&self.conn)?
            .into_iter()
            .map(|(key, room)| {
                Ok(LoadedRoom {
                    room,
                    recent: self.history(&key, recent, None)?,
                })
            })
            .collect()
    }
}

/// Where pruning cuts a history: the newest message it deletes, and where
/// the walk to it starts.
struct Cut {
    key: String,
    /// The message's number in its history (see [`History::last_number`]).
    number: i64,
    /// It is `back` along the chain from `from`.
    from: i64,
    back: usize,
}

impl Cut {
    /// Where to cut the history `key` to keep `keep`: the message numbered
    /// `last_number - keep`, reached from the first mark at or above it, or
    /// from the newest. `None` when it has nothing stored.
    fn of(key: String, history: &History, keep: usize) -> Option<Cut> {
        let newest = history.newest_stored?;
        let number = history.last_number - keep as i64;
        let first_mark_kept = history
            .marks
            .partition_point(|&(marked, _)| marked < number);
        let (from, back) = history
            .marks
            .get(first_mark_kept)
            .map_or((newest, keep), |&(marked, id)| {
                (id, (marked - number) as usize)
            });
        Some(Cut {
            key,
            number,
            from,
            back,
        })
    }
}

/// Makes each cut in one transaction; returns how many messages each deleted.
fn prune(conn: &mut Connection, cuts: &[Cut]) -> rusqlite::Result<Vec<usize>> {
    let tx = conn.transaction()?;
    let deleted = cuts
        .iter()
        .map(|cut| schema::prune(&tx, cut.from, cut.back))
        .collect::<rusqlite::Result<_>>()?;
    tx.commit()?;
    Ok(deleted)
}

fn write(
    conn: &mut Connection,
    pending: &[NewMessage],
    change: &Change<'_>,
    remember: Option<i64>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    schema::insert_messages(&tx, pending)?;
    if let Some(id) = remember {
        schema::remember_last_id(&tx, id)?;
    }
    match change {
        Change::Nothing => {}
        Change::SaveRoom(room) => schema::save_room(&tx, &fold(&room.name), room)?,
        Change::DeleteRoom { key, newest } => schema::delete_room(&tx, key, *newest)?,
        Change::SaveServerBan(ban) => schema::save_server_ban(&tx, ban)?,
        Change::DeleteServerBan(key) => schema::delete_server_ban(&tx, key)?,
    }
    tx.commit()
}

/// Whether a write failed only because another connection (an operator's
/// `sqlite3` shell, say) holds a lock.
fn is_contention(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Marks the writer gone when its thread ends, however it ends, and refuses
/// whatever is still queued, so no caller waits forever.
struct Gone(Arc<Shared>);

impl Drop for Gone {
    fn drop(&mut self) {
        let jobs = {
            let mut inbox = lock(&self.0.inbox);
            inbox.gone = true;
            std::mem::take(&mut inbox.jobs)
        };
        if thread::panicking() {
            tracing::error!("the message store's writer thread failed; nothing more is saved");
            self.0.set_problem(Some(
                "the message store has stopped; nothing more is saved".into(),
            ));
        }
        jobs.into_iter().for_each(Job::refuse);
    }
}
