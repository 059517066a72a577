//! A page of the event log for clients that pull (`conversationEventLog`): the events a
//! selection picks after a cursor, oldest first, never past what this replica's tailer has
//! published (so a page never has a hole that a later page would fill), nor past what the
//! database it reads (the read pool's standby, when there is one) has replayed.

use std::sync::Arc;

use super::{check, CursorProblem, EventBus, FeedError};
use crate::db::events::EventLog;
use crate::domain::{Event, EventCursor, EventSelection};

/// Events read per query.
const READ: u64 = 500;
/// Most events one page looks at (a narrow filter over a long log answers early, with
/// `has_next` and a cursor to go on from).
const MAX_SCANNED: usize = 10_000;

/// One page of the log.
#[derive(Debug)]
pub struct LogPage {
    pub events: Vec<Arc<Event>>,
    /// Where the page stopped looking: pass it as `after` for the next page. At or past the
    /// last event's cursor (events after that were looked at and not picked).
    pub end: EventCursor,
    /// The log holds events after `end` that this page did not look at.
    pub has_next: bool,
}

impl EventBus {
    /// Up to `first` events of `selection` after `after` (from the oldest kept when `None`).
    /// Read from the read pool's standby when there is one and it can answer: from the
    /// primary when it cannot, or when it has not replayed as far as `after` yet (a cursor
    /// the client had from a subscription, or from a page the primary answered).
    pub async fn page(
        &self,
        selection: &EventSelection,
        after: Option<EventCursor>,
        first: usize,
    ) -> Result<LogPage, FeedError> {
        let upto = self.started().await;
        if let Some(standby) = self.log().on_read_pool() {
            match read_page(&standby, selection, after, first, upto).await {
                Err(FeedError::Database(e)) if self.log().read_pool_failed(&e) => {}
                Err(FeedError::Cursor(CursorProblem::Unknown)) => {}
                done => return done,
            }
        }
        read_page(self.log(), selection, after, first, upto).await
    }
}

/// A page of `log`, read no further than `upto` (what this replica's tailer published) nor
/// than the head `log` sees (a standby may trail the primary: its page ends where its replay
/// is, and the next page goes on from there).
async fn read_page(
    log: &EventLog,
    selection: &EventSelection,
    after: Option<EventCursor>,
    first: usize,
    upto: u64,
) -> Result<LogPage, FeedError> {
    let bounds = log.bounds().await?;
    let upto = upto.min(bounds.head);
    let mut last = match after {
        Some(cursor) => {
            check(cursor, bounds)?;
            cursor.0
        }
        None => bounds.oldest - 1,
    };
    let customer = selection.customer();
    let kinds = selection.kinds.as_deref();
    let mut events = Vec::new();
    let mut scanned = 0;
    'read: while events.len() < first && last < upto && scanned < MAX_SCANNED {
        let rows = log.read_range(last, upto, READ, customer, kinds).await?;
        if last + 1 < log.bounds().await?.oldest {
            return Err(CursorProblem::Expired.into());
        }
        let full = rows.len() as u64 == READ;
        for event in rows {
            scanned += 1;
            last = event.position;
            if selection.matches(&event) {
                events.push(Arc::new(event));
                if events.len() == first {
                    break 'read;
                }
            }
        }
        if !full {
            last = upto;
        }
    }
    Ok(LogPage {
        events,
        end: EventCursor(last),
        has_next: last < upto,
    })
}
