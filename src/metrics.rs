//! Prometheus metrics through `prometheus-client`, in the OpenMetrics text format
//! (`GET /metrics`):
//! - `graphql_requests_total{operation, outcome}`: GraphQL requests by operation name (the
//!   client's `operationName`; at most [`MAX_OPERATIONS`] distinct ones, then `other`) and
//!   outcome;
//! - `graphql_compiled_requests_total`: those of them a compiled plan answered (see
//!   `graphql::compiled`);
//! - `graphql_request_duration_seconds`: a latency histogram of all GraphQL requests;
//! - `graphql_websocket_connections`: open subscription sockets;
//! - `graphql_event_subscribers`: subscriptions this replica feeds events to;
//! - `graphql_event_log_position`: the last event log position this replica published (its
//!   lag behind the log's head is how far its subscribers are behind);
//! - `db_pool_connections{state}` and `db_pool_max_connections`: pool usage (the primary's);
//! - with a read pool (`--database-read-url`), the same of it, `db_read_pool_connections{state}`
//!   and `db_read_pool_max_connections`, and `db_read_pool_up` (1: queries read from the
//!   standby; 0: it is down and the primary answers them) and `db_read_pool_fallbacks_total`
//!   (queries the primary answered because the read pool was down or failed them).
//! - `graphql_event_bus_up` (1 while the NATS event bus works) and `graphql_event_relay`
//!   (1 on the replica that relays the log into NATS): both 0 without `--event-bus`.
//!
//! The request path takes no mutex: the histogram is atomic buckets, and the request counters
//! live in a `Family` whose map is only written the first time a label pair is seen.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::db::{PoolStats, ReadPoolReport};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most distinct operation names counted separately.
pub const MAX_OPERATIONS: usize = 200;

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Data and no errors.
    Ok,
    /// Data with field errors (`NOT_FOUND`, `BAD_USER_INPUT` from a resolver, …).
    FieldError,
    /// The request as a whole was refused (parse, validation, limits, bad HTTP).
    RequestError,
    /// No or a bad token.
    Unauthenticated,
    /// Cancelled at the request timeout.
    Timeout,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::FieldError => "field_error",
            Outcome::RequestError => "request_error",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Timeout => "timeout",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A histogram of seconds in atomic buckets (prometheus-client's own takes a mutex).
#[derive(Debug, Default, Clone)]
struct AtomicHistogram(std::sync::Arc<Buckets>);

#[derive(Debug, Default)]
struct Buckets {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Buckets {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let this = &self.0;
        let count = this.count.load(Ordering::Relaxed);
        let mut buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .zip(&this.buckets)
            .map(|(bound, n)| (*bound, n.load(Ordering::Relaxed)))
            .collect();
        let bounded: u64 = buckets.iter().map(|(_, n)| n).sum();
        buckets.push((f64::INFINITY, count.saturating_sub(bounded)));
        let sum = this.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The process's metrics. Shared by every handler.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    compiled: Counter,
    operations: AtomicUsize,
    duration: AtomicHistogram,
    websockets: Gauge,
    subscribers: Gauge,
    log_position: Gauge,
    pool: Family<StateLabel, Gauge>,
    pool_max: Gauge,
    bus_up: Gauge,
    relay: Gauge,
    read_pool: Option<ReadPoolGauges>,
}

/// The read pool's gauges.
#[derive(Debug, Default)]
struct ReadPoolGauges {
    connections: Family<StateLabel, Gauge>,
    max: Gauge,
    up: Gauge,
    fallbacks: Counter,
}

impl ReadPoolGauges {
    fn register(registry: &mut Registry) -> Self {
        let this = Self::default();
        registry.register(
            "db_read_pool_connections",
            "Read pool (standby) connections by state",
            this.connections.clone(),
        );
        registry.register(
            "db_read_pool_max_connections",
            "The read pool's size",
            this.max.clone(),
        );
        registry.register(
            "db_read_pool_up",
            "1 while queries read from the standby, 0 while the primary answers them",
            this.up.clone(),
        );
        registry.register(
            "db_read_pool_fallbacks",
            "Queries the primary answered because the read pool was down or failed them",
            this.fallbacks.clone(),
        );
        this
    }

    fn set(&self, report: ReadPoolReport) {
        let in_use = report.stats.open.saturating_sub(report.stats.idle);
        self.connections
            .get_or_create(&StateLabel { state: "in_use" })
            .set(in_use.into());
        self.connections
            .get_or_create(&StateLabel { state: "idle" })
            .set(report.stats.idle.into());
        self.max.set(report.stats.max.into());
        self.up.set(report.up.into());
        // The pool counts; this follows (never backwards, however scrapes interleave).
        self.fallbacks
            .inner()
            .fetch_max(report.fallbacks, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Metrics {
    /// The metrics of a process, with the read pool's when it has one.
    pub fn new(read_pool: bool) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation name and outcome",
            requests.clone(),
        );
        let compiled = Counter::default();
        registry.register(
            "graphql_compiled_requests",
            "GraphQL requests a compiled plan answered (the others ran on async-graphql's executor)",
            compiled.clone(),
        );
        let duration = AtomicHistogram::default();
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request",
            duration.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let websockets = gauge(
            &mut registry,
            "graphql_websocket_connections",
            "Open subscription WebSockets",
        );
        let subscribers = gauge(
            &mut registry,
            "graphql_event_subscribers",
            "Subscriptions this replica feeds events to",
        );
        let log_position = gauge(
            &mut registry,
            "graphql_event_log_position",
            "The last event log position this replica published to its subscribers",
        );
        let pool = Family::<StateLabel, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by state",
            pool.clone(),
        );
        let pool_max = gauge(&mut registry, "db_pool_max_connections", "The pool's size");
        let bus_up = gauge(
            &mut registry,
            "graphql_event_bus_up",
            "1 while the NATS event bus (--event-bus) works for this replica",
        );
        let relay = gauge(
            &mut registry,
            "graphql_event_relay",
            "1 while this replica relays the event log into NATS",
        );
        let read_pool = read_pool.then(|| ReadPoolGauges::register(&mut registry));
        Self {
            registry,
            requests,
            compiled,
            operations: AtomicUsize::new(0),
            duration,
            websockets,
            subscribers,
            log_position,
            pool,
            pool_max,
            bus_up,
            relay,
            read_pool,
        }
    }
}

/// A label value that is safe and bounded: GraphQL names are `[_A-Za-z][_0-9A-Za-z]*`.
fn operation_label(name: Option<&str>) -> &str {
    match name {
        None | Some("") => "anonymous",
        Some(n) if n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => n,
        Some(_) => "invalid",
    }
}

impl Metrics {
    /// Counts a request a compiled plan answered.
    pub fn compiled(&self) {
        self.compiled.inc();
    }

    /// Records one GraphQL request.
    pub fn observe(&self, operation: Option<&str>, outcome: Outcome, elapsed: Duration) {
        self.duration.0.observe(elapsed);
        let mut labels = RequestLabels {
            operation: operation_label(operation).to_owned(),
            outcome: outcome.as_str(),
        };
        // A new label pair grows the map for good: past the cap, new names count as `other`.
        if self.operations.load(Ordering::Relaxed) >= MAX_OPERATIONS * 5 {
            labels.operation = "other".into();
        }
        let counter = self.requests.get_or_create(&labels);
        if counter.inc() == 0 {
            self.operations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A WebSocket opened (`+1`) or closed (`-1`).
    pub fn websocket(&self, delta: i64) {
        self.websockets.inc_by(delta);
    }

    /// The NATS event bus's state, for the next [`Metrics::render`].
    pub fn set_event_bus(&self, up: bool, relaying: bool) {
        self.bus_up.set(i64::from(up));
        self.relay.set(i64::from(relaying));
    }

    /// Sets the read pool's gauges (before [`Metrics::render`]); nothing without a read pool.
    pub fn set_read_pool(&self, report: Option<ReadPoolReport>) {
        if let (Some(gauges), Some(report)) = (&self.read_pool, report) {
            gauges.set(report);
        }
    }

    /// The exposition text, with the gauges read now.
    pub fn render(&self, pool: PoolStats, subscribers: usize, log_position: u64) -> String {
        let in_use = pool.open.saturating_sub(pool.idle);
        self.pool
            .get_or_create(&StateLabel { state: "in_use" })
            .set(in_use.into());
        self.pool
            .get_or_create(&StateLabel { state: "idle" })
            .set(pool.idle.into());
        self.pool_max.set(pool.max.into());
        self.subscribers
            .set(i64::try_from(subscribers).unwrap_or(i64::MAX));
        self.log_position
            .set(i64::try_from(log_position).unwrap_or(i64::MAX));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        out
    }
}
