//! Delivery of the event log ([`crate::db::events`]) to subscribers, on every replica.
//!
//! Each replica runs three tasks and one fan-out:
//! - the **tailer** ([`tailer`]) reads the log in position order, never past a hole, and
//!   publishes each event into one bounded broadcast buffer. It wakes when this process
//!   wrote or sequenced events, when PostgreSQL's `NOTIFY` (sent by the sequencing
//!   transaction of any replica) arrives, and every `--event-poll-interval` (how MySQL/MariaDB
//!   replicas learn of each other's events, and a safety net elsewhere);
//! - the **sequencer** ([`sequencer`], PostgreSQL and MySQL/MariaDB) numbers the events this
//!   process committed right after each commit, and sweeps for rows left waiting by a process
//!   that died;
//! - the **pruner** deletes events older than `--event-retention`, a small batch at a time;
//! - each subscription is a [`Feed`]: it replays what it missed from the database (never past
//!   what the tailer verified), then switches to the broadcast with no gap and no duplicate
//!   (see [`feed`]). A subscriber more than `--event-buffer` events behind gets
//!   `SUBSCRIBER_TOO_SLOW` with the cursor to resume from.

mod feed;
mod page;
mod sequencer;
mod tailer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::db::events::{Bounds, EventLog};
use crate::db::ConversationStore;
use crate::domain::{Event, EventCursor};

pub use crate::domain::{EventKind, EventSelection};
pub use feed::{Feed, FeedError};
pub use page::LogPage;

/// The flags of the event log and its delivery.
#[derive(Debug, Clone, clap::Args)]
pub struct EventOptions {
    /// PostgreSQL `NOTIFY` channel the replicas share to wake each other's event tailers.
    /// Replicas that serve the same data must use the same channel. Default:
    /// `conversation_events`, or `conversation_events_<schema>` with `--db-schema`.
    #[arg(long, env = "EVENTS_CHANNEL")]
    pub events_channel: Option<String>,

    /// How many events a subscriber may fall behind before it gets `SUBSCRIBER_TOO_SLOW`
    /// (with the cursor to resume from) and is dropped.
    #[arg(long, env = "EVENT_BUFFER", default_value_t = 1024)]
    pub event_buffer: usize,

    /// How often a replica looks for new events nobody woke it for: on MySQL/MariaDB this is
    /// how events of other replicas arrive (`50ms`, `1s`, …); everywhere, how soon events a
    /// crashed replica committed get their place in the log.
    #[arg(long, env = "EVENT_POLL_INTERVAL", default_value = "50ms",
          value_parser = crate::domain::parse_duration)]
    pub event_poll_interval: Duration,

    /// How long the event log keeps events (`7d`, `12h`, …). A cursor older than that is
    /// `EVENT_CURSOR_EXPIRED`.
    #[arg(long, env = "EVENT_RETENTION", default_value = "7d",
          value_parser = crate::domain::parse_duration)]
    pub event_retention: Duration,
}

/// How one replica delivers events.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// PostgreSQL `NOTIFY` channel.
    pub channel: String,
    /// Events a subscriber may fall behind.
    pub buffer: usize,
    pub poll_interval: Duration,
    pub retention: Duration,
}

/// Subscriptions and the log page, fed by this replica's tailer. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    log: EventLog,
    tx: broadcast::Sender<Arc<Event>>,
    /// The last position the tailer published; `None` until it has started. Publishing and
    /// subscribing both hold this lock, so a new receiver starts exactly after it.
    published: Mutex<Option<u64>>,
    /// Set once the tailer has started.
    started: watch::Receiver<bool>,
    /// Open feeds (subscriptions).
    feeds: AtomicUsize,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscriber_count())
            .field("published", &self.published())
            .finish()
    }
}

impl EventBus {
    /// The bus for `store`'s database: starts this replica's tailer, sequencer and pruner
    /// (they stop when the last clone of the bus is dropped or the pool is closed).
    pub fn start(store: &ConversationStore, settings: &EventSettings) -> Self {
        let (tx, _) = broadcast::channel(settings.buffer.max(1));
        let (started_tx, started) = watch::channel(false);
        let inner = Arc::new(Inner {
            log: store.events().clone(),
            tx,
            published: Mutex::new(None),
            started,
            feeds: AtomicUsize::new(0),
        });
        tailer::spawn(&inner, store, settings, started_tx);
        sequencer::spawn(&inner, settings);
        Self { inner }
    }

    /// How many subscriptions this replica is feeding right now.
    pub fn subscriber_count(&self) -> usize {
        self.inner.feeds.load(Ordering::Relaxed)
    }

    /// The last position this replica's tailer published (what its subscribers have been
    /// sent, or skipped as not theirs); `None` until the tailer has started.
    pub fn published(&self) -> Option<u64> {
        *self
            .inner
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The event log.
    pub fn log(&self) -> &EventLog {
        &self.inner.log
    }

    /// Deletes every event older than `older_than` now (the pruner does this on its own every
    /// so often); returns how many.
    pub async fn prune(
        &self,
        older_than: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::db::StoreError> {
        sequencer::prune_all(&self.inner.log, older_than).await
    }

    /// Waits for the tailer to start; then the last position it published.
    async fn started(&self) -> u64 {
        let mut started = self.inner.started.clone();
        let _ = started.wait_for(|s| *s).await;
        self.published().unwrap_or(0)
    }

    /// A receiver of what the tailer publishes from now on, and the position it starts after.
    fn live(&self) -> (broadcast::Receiver<Arc<Event>>, u64) {
        let published = self
            .inner
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (self.inner.tx.subscribe(), published.unwrap_or(0))
    }
}

impl Inner {
    /// Publishes the next event (called by the tailer only, in position order).
    fn publish(&self, event: Arc<Event>) {
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        *published = Some(event.position);
        // No subscribers is not an error.
        let _ = self.tx.send(event);
    }

    /// Moves the published position without an event (start-up; events pruned before this
    /// replica could read them).
    fn skip_to(&self, position: u64) {
        *self.published.lock().unwrap_or_else(|e| e.into_inner()) = Some(position);
    }
}

/// Why a cursor cannot be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorProblem {
    /// Events after it were pruned (older than the retention).
    Expired,
    /// No event has reached its position: not a cursor of this database.
    Unknown,
}

/// Whether the log still holds every event after `after`.
pub(crate) fn check(after: EventCursor, bounds: Bounds) -> Result<(), CursorProblem> {
    if after.0 > bounds.head {
        return Err(CursorProblem::Unknown);
    }
    if after.0 + 1 < bounds.oldest {
        return Err(CursorProblem::Expired);
    }
    Ok(())
}
