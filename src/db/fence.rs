//! [`CommitFence`]: the line a request's deadline may not cross.
//!
//! A request timeout must cancel work that has not committed, and must never report work that
//! has committed as failed. Dropping a write's future at the deadline cannot promise that: the
//! future may be inside `COMMIT`, which the database carries out although nobody waits for
//! its answer (and a client told "504" retries a write that happened). So the deadline and the
//! writes of one operation agree through one atomic word:
//!
//! - a write marks the fence ([`CommitFence::enter_commit`]) right before it sends `COMMIT`,
//!   unless the operation was already cancelled (then it rolls back and reports
//!   [`WriteError::Cancelled`](super::WriteError::Cancelled));
//! - at the deadline, whoever enforces it calls [`CommitFence::expire`]: if no write had
//!   marked the fence, nothing of the operation can have committed, and it is cancelled
//!   (dropped: open transactions roll back); otherwise the deadline no longer applies and the
//!   operation's answer is waited for, to the end: the commit under way, and any later root
//!   field of the same mutation (each statement is still bounded by the database's statement
//!   timeout). Cutting the later fields short would not help: a failed non-null root field
//!   nulls the whole `data`, so the committed field's answer would be lost all the same.
//!
//! Both steps are one atomic read-modify-write of the same word, so exactly one of them comes
//! first: a commit is never both started and reported as cancelled.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// A commit was started.
const COMMITTED: u8 = 1;
/// The operation was cancelled at its deadline.
const CANCELLED: u8 = 2;

/// See the module docs. One per operation; a fence nobody expires never cancels anything.
#[derive(Debug, Default)]
pub struct CommitFence {
    state: AtomicU8,
    /// The deadline's length, for messages.
    timeout: Duration,
}

impl CommitFence {
    /// A fence for an operation with this timeout.
    pub fn new(timeout: Duration) -> Self {
        Self {
            state: AtomicU8::new(0),
            timeout,
        }
    }

    /// The timeout this fence stands for (zero: none).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The deadline passed. True when no commit had started: the operation is cancelled and
    /// may be dropped (nothing of it can commit any more). False when one had: the caller
    /// must wait for the operation's answer.
    pub fn expire(&self) -> bool {
        self.state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (s & COMMITTED == 0).then_some(s | CANCELLED)
            })
            .is_ok()
    }

    /// Whether any write of the operation began to commit.
    pub fn committed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & COMMITTED != 0
    }

    /// Marks that a commit is about to be sent; false (send none) once the operation was
    /// cancelled.
    pub(super) fn enter_commit(&self) -> bool {
        self.state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (s & CANCELLED == 0).then_some(s | COMMITTED)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_commit_outlives_the_deadline() {
        let fence = CommitFence::default();
        assert!(fence.enter_commit());
        assert!(!fence.expire(), "a commit started: wait for it");
        assert!(
            fence.enter_commit(),
            "the rest of the operation runs to its end"
        );
        assert!(fence.committed());
    }

    #[test]
    fn before_any_commit_the_deadline_cancels() {
        let fence = CommitFence::default();
        assert!(fence.expire());
        assert!(
            !fence.enter_commit(),
            "a cancelled operation commits nothing"
        );
        assert!(!fence.committed());
    }
}
