//! `GET /health` (the process is up), `GET /ready` (the database answers; each pool's state)
//! and
//! `GET /metrics` (Prometheus).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::state::AppState;
use crate::{db, metrics};

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 while the primary answers, 503 when it does not. `pools` says how each
/// pool is: `primary` (`up`/`down`, checked now) and, with `--database-read-url`, `read` (`up`:
/// queries read from the standby; `down`: the primary answers them, which does not make the
/// server unready).
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let primary = db::ping(state.store.connection()).await;
    let updown = |up: bool| if up { "up" } else { "down" };
    let mut pools = json!({ "primary": updown(primary) });
    if let Some(read) = state.store.read_pool() {
        pools["read"] = json!(updown(read.is_up()));
    }
    if primary {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "pools": pools })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "reason": "database unreachable",
                "pools": pools,
            })),
        )
    }
}

/// `GET /metrics`: the OpenMetrics text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state
        .metrics
        .set_read_pool(state.store.read_pool().map(|read| read.report()));
    let text = state.metrics.render(
        db::pool_stats(state.store.connection()),
        state.events.subscriber_count(),
        state.events.published().unwrap_or(0),
    );
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text)
}
