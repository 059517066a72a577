//! Events over NATS JetStream (`--event-bus`): the event log is relayed into one stream, and
//! every replica reads the stream instead of the database.
//!
//! - **Relay** ([`relay`]): one replica at a time, the holder of the relay lease in the
//!   database ([`crate::db::events::Lease`], renewed every second, taken over by another
//!   replica [`LEASE`] after the holder's last renewal), reads the log in position order
//!   ([`EventLog::read_after`], as the tailer does without the bus) and publishes each event
//!   to `<stream>.log`. The message id is the position, and each message is published only
//!   after the one the relay saw stored last (`Nats-Expected-Last-Subject-Sequence`): a relay
//!   that dies mid-batch, or two that overlap for a moment, store nothing twice and nothing
//!   out of order. A new holder goes on from the stream's last message (or, when the stream is
//!   empty, from the position the lease row recorded).
//! - **Consumer** ([`consumer`]), on every replica: an ordered consumer of the stream feeds the
//!   replica's broadcast in position order, as the tailer does without the bus; what a
//!   subscription replays (`after`) still comes from the database. A position the stream
//!   no longer has (the replica was cut off longer than `--event-bus-max-age`, the stream
//!   was deleted) is read from the database before the message after it.
//! - **Wake-ups**: the relay reads when its own process wrote or numbered events, when a
//!   PostgreSQL `NOTIFY` arrives, when another replica says so on `<stream>.wake` (MySQL/MariaDB
//!   and SQLite, which have no `NOTIFY`), and every `--event-poll-interval`.
//! - **Sequencing** is unchanged (each replica numbers what it committed), but with the bus
//!   only the relay's holder sweeps for rows a dead process left unnumbered.
//!
//! So the database's event reads are those of one relay, however many replicas there are.
//! When NATS cannot be reached, queries and mutations go on; events wait in the log and flow
//! when it is back; `/ready` says `"eventBus": "down"`, and the log says so once (and once
//! when it is back).

mod consumer;
mod link;
mod relay;
mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::Inner;
use crate::db::events::EventLog;

/// How long the relay lease lasts without renewal: another replica takes over this long
/// after the holder's last renewal.
pub const LEASE: Duration = Duration::from_secs(5);

/// How often the holder renews the lease, and the others try to take it.
pub const RENEW: Duration = Duration::from_secs(1);

/// Where and how the replicas meet on NATS.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// `nats://HOST:PORT`.
    pub url: String,
    /// The stream's name; its subject is `<stream>.log`.
    pub stream: String,
    /// How long the stream keeps a message.
    pub max_age: Duration,
}

impl NatsSettings {
    /// The stream's subject.
    pub fn subject(&self) -> String {
        format!("{}.log", self.stream)
    }

    /// The subject of wake-ups for the relay (plain NATS, not in the stream).
    pub fn wake_subject(&self) -> String {
        format!("{}.wake", self.stream)
    }
}

/// `--event-bus`: a NATS server address, plain TCP (the client is built without a TLS crypto
/// provider: put the NATS server on a private network or a local TLS proxy).
pub fn parse_url(s: &str) -> Result<String, String> {
    let addr = s
        .parse::<async_nats::ServerAddr>()
        .map_err(|e| format!("`{s}` is not a NATS address like nats://127.0.0.1:4222: {e}"))?;
    let plain = s.starts_with("nats://") || !s.contains("://");
    if addr.tls_required() || !plain {
        return Err(format!(
            "`{s}`: only plain nats://HOST:PORT addresses are supported (no TLS, no WebSocket)"
        ));
    }
    Ok(s.to_owned())
}

/// `--event-bus-stream`: a JetStream stream name (and subject token).
pub fn parse_stream_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}`: a stream name is 1 to 200 of A-Z, a-z, 0-9, `_` and `-`"
        ))
    }
}

/// What `/ready` and `/metrics` show of the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusStatus {
    /// Connected, and the last JetStream operations of this replica succeeded.
    pub up: bool,
    /// This replica holds the relay lease.
    pub relaying: bool,
}

/// Which task reports a failure (each clears its own when it succeeds again).
#[derive(Debug, Clone, Copy)]
enum Part {
    Relay = 0,
    Consumer = 1,
}

#[derive(Debug, Default)]
struct HealthState {
    connected: bool,
    failures: [Option<String>; 2],
    /// What the log last said: `None` before it said anything.
    reported: Option<bool>,
}

/// Whether the bus works, and the log lines when that changes (once per change).
#[derive(Debug)]
struct Health {
    url: String,
    up: AtomicBool,
    state: Mutex<HealthState>,
}

impl Health {
    fn update(&self, change: impl FnOnce(&mut HealthState)) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        let up = state.connected && state.failures.iter().all(Option::is_none);
        self.up.store(up, Ordering::Relaxed);
        if state.reported == Some(up) {
            return;
        }
        let url = &self.url;
        match (up, state.reported) {
            (true, None) => tracing::info!(%url, "event bus up"),
            (true, Some(_)) => tracing::info!(%url, "event bus back up: events flow again"),
            (false, _) => {
                let reason = state
                    .failures
                    .iter()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "not connected".into());
                tracing::warn!(
                    %url, %reason,
                    "event bus down: queries and mutations go on, events wait in the log until it is back"
                );
            }
        }
        state.reported = Some(up);
    }

    fn connected(&self, yes: bool) {
        self.update(|s| s.connected = yes);
    }

    fn failed(&self, part: Part, reason: String) {
        self.update(|s| s.failures[part as usize] = Some(reason));
    }

    fn ok(&self, part: Part) {
        let failed = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failures[part as usize]
            .is_some();
        if failed {
            self.update(|s| s.failures[part as usize] = None);
        }
    }
}

/// This replica's side of the bus, shared by its tasks and the [`super::EventBus`].
#[derive(Debug)]
pub(crate) struct Bus {
    health: Health,
    /// This process's id in the relay lease.
    holder: String,
    /// Holds the lease now.
    relaying: AtomicBool,
    /// The last position the relay saw stored in the stream (0: none yet).
    relayed: AtomicU64,
    /// Wakes this replica's relay.
    wake: Notify,
    /// Set when the server stops: the relay gives the lease up.
    stop: watch::Sender<bool>,
}

impl Bus {
    pub(crate) fn new(settings: &NatsSettings) -> Self {
        Self {
            health: Health {
                url: settings.url.clone(),
                up: AtomicBool::new(false),
                state: Mutex::default(),
            },
            holder: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            relaying: AtomicBool::new(false),
            relayed: AtomicU64::new(0),
            wake: Notify::new(),
            stop: watch::channel(false).0,
        }
    }

    pub(crate) fn status(&self) -> BusStatus {
        BusStatus {
            up: self.health.up.load(Ordering::Relaxed),
            relaying: self.relaying.load(Ordering::Relaxed),
        }
    }

    /// Whether this replica sweeps for events a dead process left unnumbered: only the
    /// relay's holder does.
    pub(crate) fn sweeps(&self) -> bool {
        self.relaying.load(Ordering::Relaxed)
    }

    /// Stops relaying and gives the lease up (server shutdown).
    pub(crate) async fn stop(&self, log: &EventLog) {
        let _ = self.stop.send(true);
        self.relaying.store(false, Ordering::Relaxed);
        // Only where this process holds it (the statement says so).
        let relayed = Some(self.relayed.load(Ordering::Relaxed)).filter(|p| *p > 0);
        if let Err(e) = log.release_relay(&self.holder, relayed).await {
            tracing::warn!(error = %e, "could not give the event relay lease up");
        }
    }
}

/// Starts this replica's consumer (feeding the broadcast), relay candidate and wake-up
/// forwarder. They stop when the event bus is dropped or the pool is closed.
pub(super) fn spawn(
    inner: &Arc<Inner>,
    bus: Arc<Bus>,
    settings: &NatsSettings,
    poll: Duration,
    started: watch::Sender<bool>,
) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let log = inner.log.clone();
    let settings = settings.clone();
    tokio::spawn(async move {
        let link = match link::Link::connect(&settings, &bus).await {
            Ok(link) => Arc::new(link),
            Err(e) => {
                bus.health
                    .failed(Part::Consumer, format!("cannot connect: {e}"));
                return;
            }
        };
        tokio::spawn(forward_wakes(
            weak.clone(),
            log.clone(),
            bus.clone(),
            link.clone(),
        ));
        tokio::spawn(relay::run(
            weak.clone(),
            log.clone(),
            bus.clone(),
            link.clone(),
            poll,
        ));
        consumer::run(weak, log, bus, link, started).await;
    });
}

/// Passes this process's "events appended" signal (its writes, its sequencer, PostgreSQL
/// `NOTIFY`s) to its relay, and, where the database has no `NOTIFY`, to the other replicas'
/// relays through `<stream>.wake`.
async fn forward_wakes(weak: Weak<Inner>, log: EventLog, bus: Arc<Bus>, link: Arc<link::Link>) {
    let tell_others = log.backend() != sea_orm::DbBackend::Postgres;
    loop {
        log.appended().await;
        if weak.strong_count() == 0 || log.is_closed() {
            return;
        }
        bus.wake.notify_one();
        if tell_others {
            link.wake_others().await;
        }
    }
}
