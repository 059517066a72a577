//! HTTP: the router and its middleware.

mod activity;
mod body_deadline;
mod connection_limits;
mod cors;
mod graphiql;
mod graphql;
mod health;
mod negotiate;
mod params;
pub mod request_id;
mod respond;
pub mod serve;
mod state;
mod ws;
mod ws_guard;

pub use ws_guard::WsLimits;

pub use state::{AppState, Shared};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, Method};
use axum::middleware;
use axum::routing::get;
use axum::Router;

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigins {
    /// Any origin (without credentials).
    #[default]
    Any,
    /// Only these.
    List(Vec<HeaderValue>),
}

/// The whole HTTP surface.
pub fn router(state: AppState, origins: &CorsOrigins) -> Router {
    let envelope_state = Envelope {
        request_timeout: state.request_timeout,
        cors: Arc::new(cors::Cors::new(origins)),
    };
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphql/assets/{file}", get(graphiql::asset))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(envelope_state, envelope))
        .with_state(state)
}

/// What [`envelope`] needs (cheap to clone: it is cloned for every request).
#[derive(Clone)]
struct Envelope {
    request_timeout: Duration,
    cors: Arc<cors::Cors>,
}

/// What every request gets, in one layer (each layer costs a boxed clone and a moved future
/// per request): its id ([`request_id`]); a deadline for its body ([`body_deadline`]: a late
/// body answers `408`); and on the API routes, CORS ([`cors`]: a preflight is answered here).
async fn envelope(
    State(envelope): State<Envelope>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let (request, id) = request_id::assign(request);
    let cors =
        cors::Cors::applies_to(request.uri().path()).then(|| cors::origin(request.headers()));
    if let Some(origin) = &cors {
        if request.method() == Method::OPTIONS {
            return request_id::echo(envelope.cors.preflight(origin.as_ref()), &id);
        }
    }
    let timeout = envelope.request_timeout;
    let (request, expired) = body_deadline::arm(request, timeout);
    let mut response = next.run(request).await;
    if let Some(origin) = cors {
        envelope.cors.decorate(origin.as_ref(), &mut response);
    }
    request_id::echo(body_deadline::verdict(response, expired, timeout), &id)
}
