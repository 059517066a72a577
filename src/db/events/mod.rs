//! The event log: every committed change of a conversation, in commit order, each at a
//! position that never changes once given.
//!
//! # How a change becomes an event
//!
//! 1. **Record**, in the writing transaction ([`record`], called by every API write just
//!    before its `COMMIT`): one `conversation_events` row per change, holding the kind, the
//!    conversation after and before the change, and the time. A write that rolls back leaves
//!    no row; a write that changes nothing records nothing. The row waits for a position
//!    (`position IS NULL`), except on SQLite (below).
//! 2. **Sequence**, after the commit ([`EventLog::sequence`]): one transaction locks the head
//!    row (`conversation_event_head`, which holds `h`, the last position given), gives the
//!    waiting rows it sees the positions `h+1 ..= h+n` in `id` order, sets the head to `h+n`,
//!    and (PostgreSQL) sends `NOTIFY` from inside the same transaction. Every replica runs
//!    one sequencer; the writing replica wakes its own right after each commit, and every
//!    sequencer also sweeps at `--event-poll-interval` for rows a dead process left behind.
//! 3. **Read** ([`EventLog::read_after`]): a run of consecutive positions after `p`, stopping
//!    at the first position not (yet) visible.
//!
//! # Why no event is skipped or repeated
//!
//! - *Dense.* Positions are handed out only by a sequencing transaction, which holds the
//!   head row's lock and moves the head by exactly the number of rows it numbers, in the same
//!   transaction. If it rolls back (or its process dies), neither the head nor any row
//!   changed. So the positions in the log are always exactly `1 ..= head`, minus the prefix
//!   retention pruned.
//! - *Each row once, for good.* A sequencer only numbers rows whose position is NULL (its
//!   `UPDATE` says `AND position IS NULL` and must touch exactly the rows it numbered, or it
//!   rolls back), and no statement ever changes a position once set; the unique index on
//!   `position` refuses a duplicate outright.
//! - *Readers never pass a hole.* A reader delivers `p+1` only after `p`. If `p+2` is
//!   visible and `p+1` is not, `p+1` belongs to a sequencing transaction that committed but
//!   is not yet visible to this reader's snapshot (it cannot be missing: positions are dense
//!   and never change); the reader waits and reads again. So a reader that tails `position >
//!   last` neither skips (it stops at holes) nor repeats (it only moves forward).
//! - *Nothing is lost to a crash.* Each step is its own transaction. Killed before the
//!   writer's `COMMIT`: no change and no row. Between the commit and the sequencer: the row
//!   waits, and the next sequencing transaction on any replica (the sweep, or the restarted
//!   process) numbers it. In the middle of a sequencing transaction: it rolls back, the rows
//!   wait again. After it: the positions are committed (and on PostgreSQL the `NOTIFY` went
//!   out with the commit).
//! - *Commit order.* Two changes of one conversation are ordered by its row lock: the
//!   second inserts its event row after the first committed, so it has the larger `id`, and
//!   a snapshot that sees the second sees the first; numbering in `id` order keeps them in
//!   order. Changes of different conversations may be numbered in any order among those
//!   committed by then; what readers rely on is that the order never changes.
//!
//! Sequencing transactions run one at a time (the head row lock), so numbering is serial,
//! but writers never wait for it: a writer only inserts its row. That is the point. Numbering
//! inside the writer's transaction (the head row locked until `COMMIT`) serialises every
//! commit including its WAL flush: on this project's machine (`fdatasync` ≈ 3.3 ms) a
//! `pgbench` of 16 clients went from 3,579 to 700 transactions/s, and a `NOTIFY` in every
//! writing transaction (PostgreSQL holds a global lock from the `NOTIFY` queue insert to the
//! end of the commit) to 461/s. A sequencing transaction pays one flush for a whole batch.
//! No leader is elected: any replica may sequence, the head row lock keeps them apart, and
//! there is no fail-over delay when a replica dies.
//!
//! On MySQL/MariaDB sequencing and pruning run at `READ COMMITTED`, so their reads see the
//! latest commits and take no gap locks that would hold up writers inserting rows (at
//! `REPEATABLE READ` the sequencer's scan of the rows whose position is NULL locks the gap new
//! such rows go into).
//!
//! **SQLite** has one writer at a time: the writing transaction (`BEGIN IMMEDIATE`) takes the
//! database's write lock before its first statement and holds it to its commit, so it
//! numbers its own rows from the head directly ([`record`]); commit order is lock order.
//!
//! Pruning ([`EventLog::prune`]) deletes from the oldest position up, never past a row
//! younger than the retention, so what remains is always a contiguous range
//! `oldest ..= head`.

mod entity;
mod lease;
mod read;
mod record;
mod sequence;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::Notify;

use super::ReadPool;

pub use entity::Model as EventRow;
pub use lease::Lease;
pub use read::{Bounds, Run};
pub(crate) use record::{numbered_batch, record};

/// Rows numbered by one sequencing transaction at most.
pub const SEQUENCE_BATCH: u64 = 1000;

/// The event log of one database. Cheap to clone; clones share their wake-up signals.
#[derive(Clone, Debug)]
pub struct EventLog {
    db: DatabaseConnection,
    /// Where pages a client pulls may be read from ([`EventLog::on_read_pool`]).
    read: Option<ReadPool>,
    signals: Arc<Signals>,
}

#[derive(Debug, Default)]
struct Signals {
    /// Rows were committed that wait for a position (this process's sequencer waits here).
    pending: Notify,
    /// Positions became visible (this process's tailer waits here).
    appended: Notify,
}

impl EventLog {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            read: None,
            signals: Arc::default(),
        }
    }

    /// This log with a read pool for [`EventLog::on_read_pool`].
    pub(crate) fn with_read_pool(self, read: ReadPool) -> Self {
        Self {
            read: Some(read),
            ..self
        }
    }

    /// The log as the read pool's standby has replayed it, while the pool is up: for the pages
    /// a client pulls (`conversationEventLog`), never for the tailer, the sequencer or a
    /// subscription's replay, which read the primary. The standby may trail the primary:
    /// read its [`EventLog::bounds`] and read no further than its head.
    pub fn on_read_pool(&self) -> Option<EventLog> {
        let db = self.read.as_ref()?.choose()?;
        Some(Self {
            db,
            read: None,
            signals: Arc::default(),
        })
    }

    /// After a read on [`EventLog::on_read_pool`]'s log failed with `error`: whether to read
    /// again from the primary (the standby is unreachable, and is then marked down; or it has
    /// not replayed what the read needs).
    pub fn read_pool_failed(&self, error: &DbErr) -> bool {
        self.read.as_ref().is_some_and(|read| read.failed(error))
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Whether writers number their own events (SQLite), so that nothing waits for a
    /// sequencer.
    pub fn numbered_at_commit(&self) -> bool {
        self.backend() == DbBackend::Sqlite
    }

    /// Called after a transaction that recorded events committed: wakes this process's
    /// sequencer, or (SQLite) its tailer.
    pub(crate) fn committed(&self) {
        if self.numbered_at_commit() {
            self.signals.appended.notify_one();
        } else {
            self.signals.pending.notify_one();
        }
    }

    /// Resolves when this process committed events that wait for a position (one waiter).
    pub async fn pending(&self) {
        self.signals.pending.notified().await;
    }

    /// Resolves when new positions may be visible: this process sequenced or (SQLite) wrote
    /// events, or [`EventLog::poke`] was called (one waiter).
    pub async fn appended(&self) {
        self.signals.appended.notified().await;
    }

    /// True once the pool has been closed (the server is stopping).
    pub fn is_closed(&self) -> bool {
        super::notify::is_closed(&self.db)
    }

    /// Tells the tailer to look (e.g. a `NOTIFY` arrived from another replica).
    pub fn poke(&self) {
        self.signals.appended.notify_one();
    }
}
