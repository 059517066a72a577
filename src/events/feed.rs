//! One subscription's events: a replay from the database, then the live broadcast, with no
//! gap and no duplicate at the seam.
//!
//! - **Replay**: pages of the log after the feed's last position, read from the database,
//!   never past the position this replica's tailer has published (the tailer verified that
//!   no position below it is missing, so a filtered read below it cannot hide a hole). Each
//!   page is followed by a look at the log's bounds: if retention pruned anything after the
//!   feed's position meanwhile, the feed ends with `EVENT_CURSOR_EXPIRED`.
//! - **Seam**: once the replay has caught up, the feed takes a broadcast receiver and the
//!   tailer's position *together* (one lock, which the tailer also holds while it publishes),
//!   so the receiver gets exactly the events after that position. It replays up to it (a
//!   few events at most), then reads the receiver, dropping anything at or before its own
//!   position.
//! - **Live**: the receiver, in position order. An event past the next position (the tailer
//!   jumped over events pruned before it read them) is first filled in from the database.
//!   A receiver more than the buffer behind ends the feed with `SUBSCRIBER_TOO_SLOW`, and the
//!   feed's position as the cursor to resume from.
//!
//! The feed's position moves over every event it looks at, delivered or not.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{check, CursorProblem, EventBus};
use crate::db::StoreError;
use crate::domain::{Event, EventCursor, EventKind, EventSelection};

/// Events read per replayed page.
const PAGE: u64 = 500;

/// Why a feed ended (or could not start).
#[derive(Debug)]
pub enum FeedError {
    /// `after` is expired (or events after the feed's position were pruned while it read
    /// them), or is not a position of this log.
    Cursor(CursorProblem),
    /// The subscriber fell more than the buffer behind; `last` is the cursor to resume from.
    TooSlow {
        last: EventCursor,
        missed: u64,
    },
    Database(StoreError),
}

impl From<StoreError> for FeedError {
    fn from(e: StoreError) -> Self {
        Self::Database(e)
    }
}

impl From<CursorProblem> for FeedError {
    fn from(p: CursorProblem) -> Self {
        Self::Cursor(p)
    }
}

enum Phase {
    /// Reading the database, up to what the tailer has published.
    Replay,
    /// Reading the database up to `upto`, then `held` (if any), then the receiver.
    Seam {
        rx: broadcast::Receiver<Arc<Event>>,
        upto: u64,
        held: Option<Arc<Event>>,
    },
    Live(broadcast::Receiver<Arc<Event>>),
    Ended,
}

enum Item {
    Event(Arc<Event>),
    /// Every event up to here was looked at.
    Through(u64),
}

/// A subscription's stream of events, in position order.
pub struct Feed {
    bus: EventBus,
    selection: EventSelection,
    customer: Option<Uuid>,
    last: u64,
    phase: Phase,
    queue: VecDeque<Item>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.bus.inner.feeds.fetch_sub(1, Ordering::Relaxed);
    }
}

impl EventBus {
    /// A feed of the events `selection` picks: after `after` (replayed, then live), or from
    /// the next event on. Fails when `after` is expired or unknown.
    pub async fn subscribe(
        &self,
        selection: EventSelection,
        after: Option<EventCursor>,
    ) -> Result<Feed, FeedError> {
        self.started().await;
        let (last, phase) = match after {
            None => {
                let (rx, start) = self.live();
                (start, Phase::Live(rx))
            }
            Some(cursor) => {
                check(cursor, self.log().bounds().await?)?;
                (cursor.0, Phase::Replay)
            }
        };
        self.inner.feeds.fetch_add(1, Ordering::Relaxed);
        Ok(Feed {
            bus: self.clone(),
            customer: selection.customer(),
            selection,
            last,
            phase,
            queue: VecDeque::new(),
        })
    }
}

impl Feed {
    /// The cursor of the last event this feed looked at.
    pub fn cursor(&self) -> EventCursor {
        EventCursor(self.last)
    }

    /// The next event for this subscriber; `None` when the server stops. After an error the
    /// feed is over.
    pub async fn next(&mut self) -> Option<Result<Arc<Event>, FeedError>> {
        loop {
            while let Some(item) = self.queue.pop_front() {
                match item {
                    Item::Through(p) => self.last = self.last.max(p),
                    Item::Event(e) if e.position <= self.last => {}
                    Item::Event(e) => {
                        self.last = e.position;
                        if self.selection.matches(&e) {
                            return Some(Ok(e));
                        }
                    }
                }
            }
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.phase = Phase::Ended;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Queues what comes next; false when the feed is over.
    async fn fill(&mut self) -> Result<bool, FeedError> {
        match std::mem::replace(&mut self.phase, Phase::Ended) {
            Phase::Ended => Ok(false),
            Phase::Replay => {
                let upto = self.bus.published().unwrap_or(0);
                if self.last >= upto {
                    let (rx, upto) = self.bus.live();
                    self.phase = Phase::Seam {
                        rx,
                        upto,
                        held: None,
                    };
                } else {
                    self.phase = Phase::Replay;
                    self.replay(upto).await?;
                }
                Ok(true)
            }
            Phase::Seam { rx, upto, held } => {
                if self.last >= upto {
                    if let Some(event) = held {
                        self.queue.push_back(Item::Event(event));
                    }
                    self.phase = Phase::Live(rx);
                } else {
                    self.phase = Phase::Seam { rx, upto, held };
                    self.replay(upto).await?;
                }
                Ok(true)
            }
            Phase::Live(mut rx) => match rx.recv().await {
                Ok(event) => {
                    if event.position > self.last + 1 {
                        // A jump: fill in from the database first.
                        self.phase = Phase::Seam {
                            rx,
                            upto: event.position - 1,
                            held: Some(event),
                        };
                    } else {
                        self.queue.push_back(Item::Event(event));
                        self.phase = Phase::Live(rx);
                    }
                    Ok(true)
                }
                Err(RecvError::Lagged(missed)) => Err(FeedError::TooSlow {
                    last: self.cursor(),
                    missed,
                }),
                Err(RecvError::Closed) => Ok(false),
            },
        }
    }

    /// Queues the next page of `(last, upto]`; when the page is not full, every event up to
    /// `upto` has been looked at.
    async fn replay(&mut self, upto: u64) -> Result<(), FeedError> {
        let log = self.bus.log();
        let kinds: Option<&[EventKind]> = self.selection.kinds.as_deref();
        let events = log
            .read_range(self.last, upto, PAGE, self.customer, kinds)
            .await?;
        // Nothing after `last` pruned by now, so nothing was missing when the page was read.
        if self.last + 1 < log.bounds().await?.oldest {
            return Err(CursorProblem::Expired.into());
        }
        let full = events.len() as u64 == PAGE;
        self.queue
            .extend(events.into_iter().map(|e| Item::Event(Arc::new(e))));
        if !full {
            self.queue.push_back(Item::Through(upto));
        }
        Ok(())
    }
}
