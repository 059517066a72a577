//! [`ReadPool`]: a second pool, on a hot standby, that queries read from.
//!
//! Queries (`conversation`, `conversations`, `conversationCounts`, `node`/`nodes`, search, the
//! event log's pages) go to the read pool while it is up; writes, the answers of writes, the
//! event tailer and sequencer, and migrations always use the primary. A query the standby
//! cannot answer is asked of the primary instead, and the caller never sees the difference:
//!
//! - *Unreachable* (no connection within `acquire_timeout`, a broken connection, the standby
//!   shutting down or starting up): the pool is marked down, and every query goes to the
//!   primary until a health check (every `retry`, see [`ReadPool::spawn_health_checks`]) finds
//!   the standby answering again.
//! - *Not yet replayed* (a table, column or function a migration on the primary has just added;
//!   a statement cancelled for a conflict with recovery): this query goes to the primary, and
//!   the pool stays up.
//!
//! Any other error (a statement timeout, a bad row) is the query's own: asking the primary
//! the same would fail the same way, or take as long again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sea_orm::sqlx::Error as SqlxError;
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};

use super::{pool_stats, PoolStats};

/// The read pool and its health. Cheap to clone; clones share the pool and its state.
#[derive(Clone, Debug)]
pub struct ReadPool(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    conn: DatabaseConnection,
    /// Queries go to the standby (else to the primary).
    up: AtomicBool,
    /// Queries the primary answered because the read pool was down or failed them.
    fallbacks: AtomicU64,
    /// How often the health check looks.
    retry: Duration,
    /// When "not replayed yet" was last logged as a warning (ms since `started`): a standby
    /// that never has the tables (a read URL of the wrong database) says so once a minute.
    warned_at: AtomicU64,
    started: Instant,
}

/// How the read pool is doing, for `/ready` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPoolReport {
    /// Queries go to the standby.
    pub up: bool,
    pub stats: PoolStats,
    /// Queries the primary answered because the read pool was down or failed them.
    pub fallbacks: u64,
}

/// Why a query on the standby failed, and what to do about it.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// Cannot reach the standby: mark the pool down, ask the primary.
    Unreachable,
    /// The standby has not replayed what the query needs: ask the primary.
    NotYet,
    /// The query's own error.
    Other,
}

impl ReadPool {
    /// A read pool over `conn` (opened lazily: it need not be reachable yet), assumed up until
    /// the first query or health check says otherwise; `retry`: how often its health is
    /// checked.
    pub fn new(conn: DatabaseConnection, retry: Duration) -> Self {
        Self(Arc::new(Inner {
            conn,
            up: AtomicBool::new(true),
            fallbacks: AtomicU64::new(0),
            retry: retry.max(Duration::from_millis(10)),
            warned_at: AtomicU64::new(0),
            started: Instant::now(),
        }))
    }

    /// The standby's pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.0.conn
    }

    /// Whether queries go to the standby now.
    pub fn is_up(&self) -> bool {
        self.0.up.load(Ordering::Acquire)
    }

    /// How it is doing.
    pub fn report(&self) -> ReadPoolReport {
        ReadPoolReport {
            up: self.is_up(),
            stats: pool_stats(&self.0.conn),
            fallbacks: self.0.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Pings the standby once and records the answer: up if it answered, down if not.
    pub async fn check(&self) -> bool {
        let ok = self.0.conn.ping().await;
        match &ok {
            Ok(()) => self.mark_up(),
            Err(e) => self.mark_down(e),
        }
        ok.is_ok()
    }

    /// Checks the standby's health every `retry` in a task of its own, until the pool is
    /// closed or every clone of it is dropped.
    pub fn spawn_health_checks(&self) {
        let weak: Weak<Inner> = Arc::downgrade(&self.0);
        let retry = self.0.retry;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(retry).await;
                let Some(inner) = weak.upgrade() else { return };
                if super::notify::is_closed(&inner.conn) {
                    return;
                }
                ReadPool(inner).check().await;
            }
        });
    }

    /// The standby's pool if queries go there now; `None` (and one more fallback counted)
    /// while it is down.
    pub(super) fn choose(&self) -> Option<DatabaseConnection> {
        if self.is_up() {
            Some(self.0.conn.clone())
        } else {
            self.fell_back();
            None
        }
    }

    /// After a query on [`ReadPool::choose`]'s pool failed with `error`: whether to ask the
    /// primary instead (the pool is marked down first if the standby is unreachable).
    pub(super) fn failed(&self, error: &DbErr) -> bool {
        match classify(error) {
            Failure::Unreachable => self.mark_down(error),
            Failure::NotYet => self.not_yet(error),
            Failure::Other => return false,
        }
        self.fell_back();
        true
    }

    /// `run` on the standby if it is up; on the primary if it is down or fails the query as
    /// [`ReadPool::failed`] says.
    pub(super) async fn read<T, F, Fut>(
        &self,
        primary: &DatabaseConnection,
        run: F,
    ) -> Result<T, DbErr>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        if let Some(standby) = self.choose() {
            match run(standby).await {
                Err(e) if self.failed(&e) => {}
                done => return done,
            }
        }
        run(primary.clone()).await
    }

    /// Logs a query the standby could not answer yet: a warning at most once a minute (a
    /// migration's tables arrive within moments; a standby of another database never has them).
    fn not_yet(&self, error: &DbErr) {
        let now = u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.0.warned_at.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= 60_000;
        if due
            && self
                .0
                .warned_at
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = %error,
                "the standby cannot answer a query (not replayed yet, or not a standby of this \
                 database?): the primary answers it"
            );
        } else {
            tracing::debug!(error = %error, "the standby cannot answer this yet; asking the primary");
        }
    }

    fn fell_back(&self) {
        self.0.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    fn mark_up(&self) {
        if !self.0.up.swap(true, Ordering::AcqRel) {
            tracing::info!("the read pool answers again: queries read from the standby");
        }
    }

    fn mark_down(&self, error: &DbErr) {
        if self.0.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                error = %error,
                retry = ?self.0.retry,
                "the read pool is unreachable: queries read from the primary until it answers"
            );
        }
    }
}

/// What `error` from the standby means.
fn classify(error: &DbErr) -> Failure {
    let sqlx = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Failure::Unreachable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return Failure::Other,
    };
    match sqlx.as_ref() {
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::Protocol(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => Failure::Unreachable,
        SqlxError::Database(e) => classify_sqlstate(e.code().as_deref().unwrap_or_default()),
        _ => Failure::Other,
    }
}

/// What a SQLSTATE from the standby means.
fn classify_sqlstate(code: &str) -> Failure {
    match code {
        // connection_exception; admin_shutdown, crash_shutdown, cannot_connect_now (starting
        // up or shutting down).
        c if c.starts_with("08") => Failure::Unreachable,
        "57P01" | "57P02" | "57P03" => Failure::Unreachable,
        // PostgreSQL: a conflict with recovery cancelled the statement; undefined table,
        // column or function. MySQL: unknown table or column.
        "40001" | "42P01" | "42703" | "42883" | "42S02" | "42S22" => Failure::NotYet,
        _ => Failure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates() {
        assert_eq!(classify_sqlstate("08006"), Failure::Unreachable);
        assert_eq!(classify_sqlstate("57P01"), Failure::Unreachable);
        assert_eq!(classify_sqlstate("57P03"), Failure::Unreachable);
        assert_eq!(classify_sqlstate("42P01"), Failure::NotYet);
        assert_eq!(classify_sqlstate("40001"), Failure::NotYet);
        assert_eq!(classify_sqlstate("57014"), Failure::Other);
        assert_eq!(classify_sqlstate("23505"), Failure::Other);
    }

    #[test]
    fn errors() {
        assert_eq!(
            classify(&DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
            Failure::Unreachable
        );
        let io = SqlxError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(
            classify(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(io)))),
            Failure::Unreachable
        );
        assert_eq!(classify(&DbErr::Custom("bad row".into())), Failure::Other);
        assert_eq!(
            classify(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(
                SqlxError::RowNotFound
            )))),
            Failure::Other
        );
    }
}
