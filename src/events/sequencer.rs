//! The sequencer and the pruner of one replica.
//!
//! The sequencer (PostgreSQL, MySQL/MariaDB) numbers committed events: at once when this
//! process committed some, and every poll interval when a look finds rows waiting (left by a
//! process that died between its commit and its sequencer, or by `import --with-events`).
//! Every replica runs one; the log's head row lock makes them take turns. With the NATS bus
//! only the relay's holder sweeps (each replica still numbers its own commits at once).
//!
//! The pruner deletes events older than the retention from the oldest up, in batches of
//! [`crate::db::PRUNE_BATCH`] with a pause between them, so no statement holds locks for long.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{EventSettings, Inner};
use crate::db::events::{EventLog, SEQUENCE_BATCH};
use crate::db::StoreError;

pub(super) fn spawn(inner: &Arc<Inner>, settings: &EventSettings) {
    let weak = Arc::downgrade(inner);
    let log = inner.log.clone();
    if !log.numbered_at_commit() {
        tokio::spawn(sequence(
            weak.clone(),
            log.clone(),
            settings.channel.clone(),
            settings.poll_interval,
        ));
    }
    tokio::spawn(prune(weak, log, settings.retention));
}

/// Numbers every waiting event (a batch at a time). False when the pool is closed.
async fn drain(log: &EventLog, channel: &str) -> bool {
    let mut failures = 0u32;
    loop {
        match log.sequence(Some(channel)).await {
            Ok(n) if n == SEQUENCE_BATCH => continue,
            Ok(0) => return true,
            Ok(_) => {
                // Let the next commits gather: under a stream of writes one sequencing
                // transaction then numbers many rows instead of one per commit.
                tokio::time::sleep(super::COALESCE).await;
                return true;
            }
            Err(e) => {
                if log.is_closed() {
                    return false;
                }
                failures += 1;
                tracing::warn!(error = %e, "event sequencer failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 << failures.min(6))).await;
                if failures >= 8 {
                    // The next wake-up or sweep tries again.
                    return true;
                }
            }
        }
    }
}

async fn sequence(weak: Weak<Inner>, log: EventLog, channel: String, poll: Duration) {
    loop {
        if weak.strong_count() == 0 || !drain(&log, &channel).await {
            return;
        }
        // Wait for this process's next commit, or a sweep that finds waiting rows.
        loop {
            tokio::select! {
                () = log.pending() => break,
                () = tokio::time::sleep(poll) => {
                    let sweeps = match weak.upgrade() {
                        Some(inner) => inner.sweeps(),
                        None => return,
                    };
                    if log.is_closed() {
                        return;
                    }
                    if sweeps && log.has_pending().await.unwrap_or(false) {
                        break;
                    }
                }
            }
        }
    }
}

/// Deletes every event older than `older_than`, a batch at a time; returns how many.
pub(super) async fn prune_all(
    log: &EventLog,
    older_than: DateTime<Utc>,
) -> Result<u64, StoreError> {
    crate::db::prune_in_batches(|batch| log.prune(older_than, batch)).await
}

async fn prune(weak: Weak<Inner>, log: EventLog, retention: Duration) {
    let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        tokio::time::sleep(every).await;
        if weak.strong_count() == 0 || log.is_closed() {
            return;
        }
        let cutoff = Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        match prune_all(&log, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned the event log"),
            Err(e) if !log.is_closed() => tracing::warn!(error = %e, "cannot prune the event log"),
            Err(_) => return,
        }
    }
}
