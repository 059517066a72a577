//! `GET /health` (the process is up), `GET /ready` (the database answers; each pool's state;
//! the event bus's state) and
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
/// server unready). With `--event-bus` also `"eventBus": "up"` or `"down"` (down does not make
/// the replica unready: it still serves queries and mutations, and events wait in the log) and
/// `"eventRelay": true` on the replica that relays the log into NATS.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let primary = db::ping(state.store.connection()).await;
    let updown = |up: bool| if up { "up" } else { "down" };
    let mut pools = json!({ "primary": updown(primary) });
    if let Some(read) = state.store.read_pool() {
        pools["read"] = json!(updown(read.is_up()));
    }
    let (status, mut body) = if primary {
        (StatusCode::OK, json!({ "status": "ready", "pools": pools }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({
                "status": "unavailable",
                "reason": "database unreachable",
                "pools": pools,
            }),
        )
    };
    if let Some(bus) = state.events.bus_status() {
        body["eventBus"] = json!(if bus.up { "up" } else { "down" });
        body["eventRelay"] = json!(bus.relaying);
    }
    (status, Json(body))
}

/// `GET /metrics`: the OpenMetrics text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(bus) = state.events.bus_status() {
        state.metrics.set_event_bus(bus.up, bus.relaying);
    }
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
