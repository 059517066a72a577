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

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_layer::Layer;
use tower_service::Service;

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigins {
    /// Any origin (without credentials).
    #[default]
    Any,
    /// Only these.
    List(Vec<HeaderValue>),
}

/// The whole HTTP surface: the routes, each request inside one [`Envelope`], with bodies
/// limited to `max_body_bytes` (larger ones get `413`).
///
/// The envelope and the body limit wrap the router once, around all its routes, rather than
/// each route (`Router::layer` boxes every layer's service and future for each request).
pub fn router(state: AppState, origins: &CorsOrigins, max_body_bytes: usize) -> Router {
    let envelope = Envelope {
        request_timeout: state.request_timeout,
        cors: Arc::new(cors::Cors::new(origins)),
    };
    let routes = Router::new()
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
        .with_state(state);
    Router::new().fallback_service(Enveloped {
        inner: DefaultBodyLimit::max(max_body_bytes).layer(routes),
        envelope,
    })
}

/// What every request gets (cheap to clone: it is cloned for every request): its id
/// ([`request_id`]); a deadline for its body ([`body_deadline`]: a late body answers `408`);
/// and on the API routes, CORS ([`cors`]: a preflight is answered here).
#[derive(Clone)]
struct Envelope {
    request_timeout: Duration,
    cors: Arc<cors::Cors>,
}

/// `inner` with every request inside the [`Envelope`].
#[derive(Clone)]
struct Enveloped<S> {
    inner: S,
    envelope: Envelope,
}

impl<S> Service<Request> for Enveloped<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let (request, id) = request_id::assign(request);
        let cors =
            cors::Cors::applies_to(request.uri().path()).then(|| cors::origin(request.headers()));
        let envelope = self.envelope.clone();
        if let Some(origin) = &cors {
            if request.method() == Method::OPTIONS {
                let response = request_id::echo(envelope.cors.preflight(origin.as_ref()), id);
                return Box::pin(std::future::ready(Ok(response)));
            }
        }
        let timeout = envelope.request_timeout;
        let (request, expired) = body_deadline::arm(request, timeout);
        // The clone was made ready by `poll_ready` on `self` (the router is always ready).
        let inner = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, inner);
        let response = inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = response.await;
            if let Some(origin) = cors {
                envelope.cors.decorate(origin.as_ref(), &mut response);
            }
            Ok(request_id::echo(
                body_deadline::verdict(response, expired, timeout),
                id,
            ))
        })
    }
}
