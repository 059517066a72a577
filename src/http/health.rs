//! `GET /health` (the process is up), `GET /ready` (the database answers) and
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

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if db::ping(state.store.connection()).await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "database unreachable" })),
        )
    }
}

/// `GET /metrics`: the OpenMetrics text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.metrics.render(
        db::pool_stats(state.store.connection()),
        state.events.subscriber_count(),
        state.events.published().unwrap_or(0),
    );
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text)
}
