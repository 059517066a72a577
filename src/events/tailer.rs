//! The tailer: one per replica. It reads the log after the last position it published, a run
//! of consecutive positions at a time ([`EventLog::read_after`], which stops at a hole), and
//! publishes each event into the replica's broadcast. On PostgreSQL a listener task turns
//! `NOTIFY`s from the sequencing transactions of every replica into wake-ups; a lost `LISTEN`
//! connection costs nothing but latency, since the tailer always reads from its own last
//! position.
//!
//! With `--event-bus` the tailer is not started: the NATS consumer ([`super::nats`]) feeds the
//! broadcast instead, and the `NOTIFY` listener wakes the relay.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::{EventSettings, Inner};
use crate::db::events::EventLog;
use crate::db::notify::{self, Listener, Received};
use crate::db::ConversationStore;

/// Events read per query.
const BATCH: u64 = 500;

/// Doubling waits after failures, up to 5 s.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(Duration::from_millis(100))
    }

    async fn sleep(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

pub(super) fn spawn(
    inner: &Arc<Inner>,
    store: &ConversationStore,
    settings: &EventSettings,
    started: watch::Sender<bool>,
) {
    let weak = Arc::downgrade(inner);
    let log = inner.log.clone();
    let db = store.connection().clone();
    if notify::available(&db) {
        tokio::spawn(listen(
            db,
            settings.channel.clone(),
            log.clone(),
            weak.clone(),
        ));
    }
    match (&inner.nats, &settings.bus) {
        (Some(bus), Some(nats)) => {
            super::nats::spawn(inner, bus.clone(), nats, settings.poll_interval, started)
        }
        _ => {
            tokio::spawn(tail(weak, log, settings.poll_interval, started));
        }
    }
}

/// The tail loop: publishes every event in position order, from the head at start-up.
async fn tail(weak: Weak<Inner>, log: EventLog, poll: Duration, started: watch::Sender<bool>) {
    let Some(mut last) = super::start_at_head(&weak, &log, &started, "tailer").await else {
        return;
    };
    let mut backoff = Backoff::new();
    // Since when the position after `last` has been a hole (not yet visible).
    let mut hole_since: Option<Instant> = None;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let (again, found) = match log.read_after(last, BATCH).await {
            Ok(run) => {
                backoff = Backoff::new();
                let read = run.events.len() as u64;
                for event in run.events {
                    last = event.position;
                    inner.publish(Arc::new(event));
                }
                if run.gap && read == 0 {
                    (hole(&log, &inner, &mut last, &mut hole_since).await, false)
                } else {
                    hole_since = None;
                    (run.gap || read == BATCH, read > 0)
                }
            }
            Err(e) => {
                drop(inner);
                if log.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "event tailer cannot read the log; retrying");
                backoff.sleep().await;
                continue;
            }
        };
        drop(inner);
        if again {
            continue;
        }
        if found {
            tokio::time::sleep(super::COALESCE).await;
        }
        tokio::select! {
            () = log.appended() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// The position after `last` is missing while later ones are visible. Below the oldest kept
/// position it was pruned before this replica read it (then the tailer moves on, and feeds
/// that needed it end with `EVENT_CURSOR_EXPIRED`); otherwise its sequencing transaction is
/// not visible to this snapshot yet, and the tailer waits a moment and reads again. Returns
/// whether to read again at once.
async fn hole(log: &EventLog, inner: &Inner, last: &mut u64, since: &mut Option<Instant>) -> bool {
    if let Ok(bounds) = log.bounds().await {
        if inner.skip_pruned(last, bounds.oldest, u64::MAX) {
            *since = None;
            return true;
        }
    }
    let started = *since.get_or_insert_with(Instant::now);
    if started.elapsed() > Duration::from_secs(5) {
        tracing::warn!(
            position = *last + 1,
            "event log position still not visible after 5 s"
        );
        *since = Some(Instant::now());
    }
    tokio::time::sleep(Duration::from_millis(2)).await;
    true
}

/// PostgreSQL: `LISTEN`s on the channel and pokes the tailer on every notification,
/// reconnecting (with backoff) whenever the connection drops.
async fn listen(db: DatabaseConnection, channel: String, log: EventLog, weak: Weak<Inner>) {
    let mut backoff = Backoff::new();
    let mut connected_before = false;
    loop {
        if log.is_closed() || weak.strong_count() == 0 {
            return;
        }
        let mut listener = match Listener::connect(&db, &channel).await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff.0, "event listener cannot LISTEN");
                backoff.sleep().await;
                continue;
            }
        };
        if connected_before {
            tracing::info!(%channel, "event listener reconnected to PostgreSQL");
        } else {
            tracing::info!(%channel, "event listener started");
            connected_before = true;
        }
        backoff = Backoff::new();
        // Whatever was sequenced while nobody listened.
        log.poke();
        while let Received::Payload(_) = listener.recv().await {
            if weak.strong_count() == 0 {
                return;
            }
            log.poke();
        }
        if log.is_closed() {
            return;
        }
        tracing::warn!("event listener lost its PostgreSQL connection; reconnecting");
    }
}
