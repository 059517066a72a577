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
pub mod nats;
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

/// After a read (or a numbering) that found events, a reader of the log (the tailer, the
/// sequencer, the NATS relay) lets this long pass before it reads again, so that under a
/// stream of writes one read carries many events instead of one read per commit.
const COALESCE: Duration = Duration::from_millis(2);

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

    /// NATS server with JetStream (`nats://HOST:PORT`) to deliver events through: one replica
    /// at a time relays the event log into a stream, and every replica reads the stream
    /// instead of the database (see README, "Events over NATS JetStream"). Unset: each replica
    /// reads the log from the database.
    #[arg(long, env = "EVENT_BUS", value_parser = nats::parse_url)]
    pub event_bus: Option<String>,

    /// JetStream stream of `--event-bus` (created if missing; its subject is `<name>.log`).
    /// Replicas that serve the same database must use the same stream, and another database
    /// another one. Default: `conversation_events`, or `conversation_events_<schema>` with
    /// `--db-schema`.
    #[arg(long, env = "EVENT_BUS_STREAM", value_parser = nats::parse_stream_name)]
    pub event_bus_stream: Option<String>,

    /// How long the stream keeps events (`1h`, `1d`, …). Only for replicas that were cut off
    /// from NATS: a replica behind the stream's oldest event reads the missing ones from the
    /// database; `after` cursors are always replayed from the database.
    #[arg(long, env = "EVENT_BUS_MAX_AGE", default_value = "1h",
          value_parser = crate::domain::parse_duration)]
    pub event_bus_max_age: Duration,
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
    /// Deliver through NATS JetStream instead of reading the log on every replica.
    pub bus: Option<nats::NatsSettings>,
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
    /// This replica's side of the NATS bus, when `--event-bus` is set.
    nats: Option<Arc<nats::Bus>>,
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
            nats: settings
                .bus
                .as_ref()
                .map(|bus| Arc::new(nats::Bus::new(bus))),
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

    /// The NATS bus as this replica sees it; `None` without `--event-bus`.
    pub fn bus_status(&self) -> Option<nats::BusStatus> {
        self.inner.nats.as_ref().map(|bus| bus.status())
    }

    /// Stops relaying into NATS and gives the relay lease up, so that another replica takes
    /// over at once (call it when the server stops, before closing the pool).
    pub async fn stop(&self) {
        if let Some(bus) = &self.inner.nats {
            bus.stop(&self.inner.log).await;
        }
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
    /// Whether this replica sweeps for events a dead process left unnumbered: every replica
    /// without the bus, only the relay's holder with it.
    fn sweeps(&self) -> bool {
        self.nats.as_ref().is_none_or(|bus| bus.sweeps())
    }

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

    /// When the events after `last` were pruned before this replica delivered them (`oldest`
    /// is the log's oldest position now): says so, and moves `last` (and the published
    /// position) to just before `oldest`, at most to `upto`. Feeds that needed them end with
    /// `EVENT_CURSOR_EXPIRED`. Returns whether it moved.
    fn skip_pruned(&self, last: &mut u64, oldest: u64, upto: u64) -> bool {
        if *last + 1 >= oldest {
            return false;
        }
        tracing::warn!(
            from = *last + 1,
            to = oldest - 1,
            "events were pruned before this replica delivered them"
        );
        *last = (oldest - 1).min(upto);
        self.skip_to(*last);
        true
    }
}

/// Where a reader of the log (`reader`: the tailer, or the NATS consumer) starts: the log's
/// head now, asked again with a growing pause while the database does not answer. The
/// published position moves there and `started` is told. `None` when the log closed or the
/// bus went away first.
async fn start_at_head(
    weak: &std::sync::Weak<Inner>,
    log: &EventLog,
    started: &watch::Sender<bool>,
    reader: &'static str,
) -> Option<u64> {
    let mut backoff = Duration::from_millis(100);
    let last = loop {
        match log.bounds().await {
            Ok(bounds) => break bounds.head,
            Err(e) => {
                if log.is_closed() || weak.strong_count() == 0 {
                    return None;
                }
                tracing::warn!(error = %e, reader, "cannot read the event log's head; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    };
    weak.upgrade()?.skip_to(last);
    let _ = started.send(true);
    Some(last)
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
