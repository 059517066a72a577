//! Prometheus metrics, rendered by hand in the text exposition format (`GET /metrics`):
//! - `graphql_requests_total{operation, outcome}`: GraphQL requests by operation name (the
//!   client's `operationName`, at most 200 distinct ones, then `other`) and outcome;
//! - `graphql_request_duration_seconds`: a latency histogram of all GraphQL requests;
//! - `graphql_websocket_connections`: open subscription sockets;
//! - `graphql_event_subscribers`: subscriptions registered on this replica's event bus;
//! - `db_pool_connections{state}` and `db_pool_max_connections`: pool usage.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
const MAX_OPERATIONS: usize = 200;

/// The process's metrics. Shared by every handler.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, Outcome), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    websockets: AtomicI64,
}

/// A label value that is safe and bounded: GraphQL names are `[_A-Za-z][_0-9A-Za-z]*`.
fn operation_label(name: Option<&str>) -> String {
    match name {
        None | Some("") => "anonymous".into(),
        Some(n) if n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            n.to_owned()
        }
        Some(_) => "invalid".into(),
    }
}

impl Metrics {
    /// Records one GraphQL request.
    pub fn observe(&self, operation: Option<&str>, outcome: Outcome, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let mut label = operation_label(operation);
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if !requests.contains_key(&(label.clone(), outcome)) && requests.len() >= MAX_OPERATIONS * 5
        {
            label = "other".into();
        }
        *requests.entry((label, outcome)).or_insert(0) += 1;
    }

    /// A WebSocket opened (`+1`) or closed (`-1`).
    pub fn websocket(&self, delta: i64) {
        self.websockets.fetch_add(delta, Ordering::Relaxed);
    }

    /// The exposition text; `subscribers` is the event bus's current subscription count.
    pub fn render(&self, db: &DatabaseConnection, subscribers: usize) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP graphql_requests_total GraphQL requests by operation name and outcome.\n",
        );
        out.push_str("# TYPE graphql_requests_total counter\n");
        {
            let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            let mut rows: Vec<_> = requests.iter().collect();
            rows.sort();
            for ((op, outcome), n) in rows {
                let _ = writeln!(
                    out,
                    "graphql_requests_total{{operation=\"{op}\",outcome=\"{}\"}} {n}",
                    outcome.as_str()
                );
            }
        }
        out.push_str("# HELP graphql_request_duration_seconds Time to answer a GraphQL request.\n");
        out.push_str("# TYPE graphql_request_duration_seconds histogram\n");
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "graphql_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "graphql_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "graphql_request_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "graphql_request_duration_seconds_count {count}");
        out.push_str("# HELP graphql_websocket_connections Open subscription WebSockets.\n");
        out.push_str("# TYPE graphql_websocket_connections gauge\n");
        let _ = writeln!(
            out,
            "graphql_websocket_connections {}",
            self.websockets.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP graphql_event_subscribers Subscriptions registered on the event bus.\n",
        );
        out.push_str("# TYPE graphql_event_subscribers gauge\n");
        let _ = writeln!(out, "graphql_event_subscribers {subscribers}");
        let (size, idle, max) = pool_stats(db);
        out.push_str("# HELP db_pool_connections Database connections by state.\n");
        out.push_str("# TYPE db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "db_pool_connections{{state=\"in_use\"}} {}",
            size.saturating_sub(idle)
        );
        let _ = writeln!(out, "db_pool_connections{{state=\"idle\"}} {idle}");
        out.push_str("# HELP db_pool_max_connections The pool's size limit.\n");
        out.push_str("# TYPE db_pool_max_connections gauge\n");
        let _ = writeln!(out, "db_pool_max_connections {max}");
        out
    }
}

/// (open, idle, max) connections of the pool.
fn pool_stats(db: &DatabaseConnection) -> (u64, u64, u64) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (
                p.size().into(),
                p.num_idle() as u64,
                p.options().get_max_connections().into(),
            )
        }
        DbBackend::MySql => {
            let p = db.get_mysql_connection_pool();
            (
                p.size().into(),
                p.num_idle() as u64,
                p.options().get_max_connections().into(),
            )
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (
                p.size().into(),
                p.num_idle() as u64,
                p.options().get_max_connections().into(),
            )
        }
    }
}
