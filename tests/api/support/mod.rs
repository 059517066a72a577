//! The test harness: a fresh database per test, the real router, real GraphQL documents.
//!
//! Every test runs on SQLite (a new file); when `TEST_POSTGRES_URL` is set, on PostgreSQL (a new
//! schema, dropped afterwards); and when `TEST_MYSQL_URL` is set, on MySQL/MariaDB (a new
//! database, dropped afterwards). Tests are written once as `async fn name(app: TestApp)` and
//! listed in `backend_tests!` (see `runner`), which makes one trial per backend.
//!
//! - `database`: the backends, and each test's database (set-up and clean-up);
//! - `app`: `TestApp`, the router over that database, and waiting for subscribers;
//! - `http`: requests through the router, and plain HTTP to a real socket;
//! - `fixtures`: the seed's example conversation, stored rows, times, tokens;
//! - `nats`: the NATS server of `TEST_NATS_URL`, a stream per test, a `nats-server` of a test's own;
//! - `process`: the real binary and server processes;
//! - `slow_commit`: a commit held past a request's deadline (a proxy, or a SQLite hook);
//! - `standby`: a PostgreSQL primary and hot standby of the harness's own (read replicas);
//! - `ws`: a WebSocket subscription client and the event checks;
//! - `runner`: the harness itself (`summary`: its last line).

mod app;
mod database;
mod fixtures;
mod http;
mod nats;
mod process;
pub mod runner;
mod slow_commit;
mod standby;
mod summary;
mod ws;

use std::future::Future;
use std::time::Duration;

pub use app::{hs256_options, limited, TestApp};
pub use database::{Backend, SqliteFile};
pub use fixtures::*;
pub use http::*;
pub use nats::*;
pub use process::*;
pub use slow_commit::SlowCommit;
pub use standby::standby;
pub use ws::*;

/// How long a test waits for something that must happen before it fails. Generous: it is a
/// deadline for hangs, not a latency check.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `check` until it holds; fails the test after [`DEADLINE`], saying what it waited for.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {DEADLINE:?} for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
