//! [`AppState`]: what every handler shares, and who is calling.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};

use crate::auth::{Access, AuthError, Verifier};
use crate::db::ConversationStore;
use crate::events::EventBus;
use crate::graphql::Api;
use crate::metrics::Metrics;

/// What every handler shares: one [`Shared`] behind an `Arc`. axum clones the state for
/// every route a request passes (a dozen times a request), so a clone must be one counter.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct Shared {
    /// The executor for requests, and the schema for subscriptions.
    pub api: Api,
    pub store: ConversationStore,
    pub events: EventBus,
    /// `None`: the server runs open.
    pub auth: Option<Arc<Verifier>>,
    /// Most operations in a batched request; 0: batching is off.
    pub max_batch: usize,
    /// How long one operation may run before it is cancelled.
    pub request_timeout: Duration,
    /// How long one WebSocket write may take before the connection is dropped.
    pub ws_send_timeout: Duration,
    /// Bounds on each WebSocket: message size, init deadline, subscriptions.
    pub ws_limits: super::WsLimits,
    pub metrics: Arc<Metrics>,
}

impl Shared {
    /// Who is calling, from the `Authorization` header: [`Access::Open`] when no key is
    /// configured.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Access, AuthError> {
        self.authenticate_value(
            headers
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().map_err(|_| AuthError::NotBearer))
                .transpose()?,
        )
    }

    /// Who is calling, from an `Authorization` value (a header, or a WebSocket
    /// `connection_init` payload).
    pub fn authenticate_value(&self, authorization: Option<&str>) -> Result<Access, AuthError> {
        match &self.auth {
            None => Ok(Access::Open),
            Some(verifier) => verifier.verify_header(authorization).map(Access::Caller),
        }
    }
}
