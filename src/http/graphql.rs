//! `POST /graphql` and `GET /graphql`, per the GraphQL over HTTP spec: negotiate the media
//! type ([`super::negotiate`]), authenticate, read the parameters ([`super::params`]), hand
//! each operation to the [executor](crate::graphql::Executor), and write its
//! [answer](super::respond::Answer):
//! - a request error (unparsable JSON, bad parameters, a document that fails to parse or
//!   validate, variables that do not coerce) is `400` without `data` in
//!   `application/graphql-response+json`, and `200` in `application/json`;
//! - a mutation over `GET` is `405` with `Allow: POST`;
//! - a batch (a JSON array, with `--max-batch`) answers an array, one answer per operation.

use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::graphiql;
use super::negotiate::{is_json_content_type, negotiate, wants_html, MediaType};
use super::params::{self, Params};
use super::request_id::RequestId;
use super::respond::{not_acceptable, unauthorized, Answer};
use super::state::AppState;
use crate::auth::Access;
use crate::error::ApiError;
use crate::graphql::Operation;

/// What every operation of one HTTP request runs with.
struct Run<'a> {
    state: &'a AppState,
    media: MediaType,
    access: Access,
    request_id: &'a str,
}

impl Run<'_> {
    /// Executes one operation and records it in the metrics.
    async fn one(&self, params: Params, via_get: bool) -> Answer {
        let started = std::time::Instant::now();
        let operation = params.operation_name.clone();
        let op = Operation {
            query: params.query,
            operation_name: params.operation_name,
            variables: params.variables,
            persisted: params.persisted,
            via_get,
            access: self.access.clone(),
            request_id: self.request_id.to_owned(),
        };
        let timeout = self.state.request_timeout;
        let outcome = self.state.api.executor.execute(op, timeout).await;
        let answer = Answer::of(outcome, self.media, timeout.as_secs(), self.request_id);
        let elapsed = started.elapsed();
        if answer.compiled {
            self.state.metrics.compiled();
        }
        self.state
            .metrics
            .observe(operation.as_deref(), answer.kind, elapsed);
        tracing::debug!(
            request_id = self.request_id,
            operation = operation.as_deref().unwrap_or(""),
            status = answer.status.as_u16(),
            micros = elapsed.as_micros() as u64,
            "graphql request"
        );
        answer
    }

    /// Runs a batch: one answer per item, in order, as a JSON array (`200`).
    async fn batch(&self, items: Vec<Value>) -> Response {
        let max = self.state.max_batch;
        if max == 0 {
            return self.reject("batched requests are turned off on this server");
        }
        if items.is_empty() || items.len() > max {
            return self.reject(&format!("a batch holds 1 to {max} operations"));
        }
        let mut bodies = b"[".to_vec();
        for (i, item) in items.into_iter().enumerate() {
            let answer = match item {
                Value::Object(object) => match params::from_object(object) {
                    Ok(params) => self.one(params, false).await,
                    Err(e) => Answer::rejected(StatusCode::BAD_REQUEST, e),
                },
                _ => Answer::rejected(
                    StatusCode::BAD_REQUEST,
                    ApiError::bad_request("each batch item must be an object"),
                ),
            };
            if i > 0 {
                bodies.push(b',');
            }
            bodies.extend_from_slice(&answer.body);
        }
        bodies.push(b']');
        let mut response = (StatusCode::OK, bodies).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, self.media.content_type());
        response
    }

    fn reject(&self, message: &str) -> Response {
        Answer::rejected(StatusCode::BAD_REQUEST, ApiError::bad_request(message))
            .into_response(self.media)
    }
}

/// Negotiates and authenticates: the run, or the response that refuses the request.
fn start<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    request_id: &'a RequestId,
) -> Result<Run<'a>, Box<Response>> {
    let media = negotiate(headers).ok_or_else(|| Box::new(not_acceptable()))?;
    let access = state.authenticate(headers).map_err(|e| {
        state.metrics.observe(
            None,
            crate::metrics::Outcome::Unauthenticated,
            std::time::Duration::ZERO,
        );
        Box::new(unauthorized(media, &e))
    })?;
    Ok(Run {
        state,
        media,
        access,
        request_id: &request_id.0,
    })
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
) -> Response {
    // The headers are taken rather than copied (axum's `HeaderMap` extractor clones them).
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let body = match Bytes::from_request(Request::from_parts(parts, body), &state).await {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    let run = match start(&state, &headers, &request_id) {
        Ok(run) => run,
        Err(response) => return *response,
    };
    if !is_json_content_type(&headers) {
        return Answer::rejected(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::bad_request("send the request as Content-Type: application/json"),
        )
        .into_response(run.media);
    }
    if let Some(params) = params::from_body(&body) {
        return run.one(params, false).await.into_response(run.media);
    }
    match params::strict_json(&body) {
        Ok(Value::Object(object)) => match params::from_object(object) {
            Ok(params) => run.one(params, false).await.into_response(run.media),
            Err(e) => Answer::rejected(StatusCode::BAD_REQUEST, e).into_response(run.media),
        },
        Ok(Value::Array(items)) => run.batch(items).await,
        Ok(_) => run.reject("the request body must be a JSON object"),
        Err(params::JsonError::Duplicate(message)) => run.reject(&message),
        Err(params::JsonError::Invalid) => run.reject("the request body is not valid JSON"),
    }
}

/// `GET /graphql`: GraphiQL for a browser that asks for HTML without a query, otherwise a
/// query (never a mutation) from the URL.
pub async fn get(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    if wants_html(&headers) && !params::has_query(&raw) {
        return graphiql::page().await.into_response();
    }
    let run = match start(&state, &headers, &request_id) {
        Ok(run) => run,
        Err(response) => return *response,
    };
    match params::from_query_string(&raw) {
        Ok(params) => run.one(params, true).await.into_response(run.media),
        Err(e) => Answer::rejected(StatusCode::BAD_REQUEST, e).into_response(run.media),
    }
}
