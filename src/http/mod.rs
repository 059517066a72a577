//! HTTP: the router and its middleware.

mod activity;
mod body_deadline;
mod connection_limits;
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

pub use state::AppState;

use axum::extract::State;
use axum::http::{header, HeaderValue, Method};
use axum::middleware;
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigins {
    /// Any origin (without credentials).
    #[default]
    Any,
    /// Only these.
    List(Vec<HeaderValue>),
}

fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            header::HeaderName::from_static(request_id::HEADER),
        ])
        .expose_headers([header::HeaderName::from_static(request_id::HEADER)])
        .max_age(std::time::Duration::from_secs(3600));
    match origins {
        CorsOrigins::Any => layer.allow_origin(Any),
        CorsOrigins::List(list) => layer.allow_origin(AllowOrigin::list(list.clone())),
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState, origins: &CorsOrigins) -> Router {
    let api = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .layer(cors(origins));
    let routes = Router::new()
        .merge(api)
        .route("/graphql/assets/{file}", get(graphiql::asset))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), envelope));
    routes.with_state(state)
}

/// What every request gets, in one layer: its id ([`request_id`]), and a deadline for its
/// body ([`body_deadline`]; a late body answers `408`, with the id too).
async fn envelope(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let (request, id) = request_id::assign(request);
    let (request, expired) = body_deadline::arm(request, state.request_timeout);
    let response = body_deadline::verdict(next.run(request).await, expired, state.request_timeout);
    request_id::echo(response, &id)
}
