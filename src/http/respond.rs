//! Writing GraphQL-over-HTTP answers: statuses, media types, error bodies.
//!
//! Every error body is a GraphQL response (`{"errors": [...]}`) built from an
//! [`ApiError`], so each carries `extensions.code`.

use async_graphql::ServerError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::negotiate::MediaType;
use crate::auth::AuthError;
use crate::error::ApiError;
use crate::graphql::Outcome;
use crate::metrics;

/// One operation's answer: its HTTP status (alone), serialized body and extra headers.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub headers: HeaderMap,
    pub kind: metrics::Outcome,
    /// A compiled plan answered it (see `graphql::compiled`).
    pub compiled: bool,
}

/// `{"errors": [...]}`, without `data` (a request error).
fn errors_body(errors: Vec<ServerError>) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Body {
        errors: Vec<ServerError>,
    }
    serde_json::to_vec(&Body { errors }).unwrap_or_default()
}

/// The status of a GraphQL request error (the document or variables are at fault): `400` in
/// `application/graphql-response+json`, `200` in `application/json`.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

impl Answer {
    /// A request refused before GraphQL saw it (a malformed request), with `status`.
    pub fn rejected(status: StatusCode, error: ApiError) -> Self {
        Self {
            status,
            body: errors_body(vec![error.into_server_error()]),
            headers: HeaderMap::new(),
            kind: metrics::Outcome::RequestError,
            compiled: false,
        }
    }

    /// The HTTP form of what the executor did.
    pub fn of(outcome: Outcome, media: MediaType, timeout_secs: u64, request_id: &str) -> Self {
        match outcome {
            Outcome::Compiled(body) => Self {
                status: StatusCode::OK,
                body,
                headers: HeaderMap::new(),
                kind: metrics::Outcome::Ok,
                compiled: true,
            },
            Outcome::Ran(response) => {
                let kind = if response.errors.is_empty() {
                    metrics::Outcome::Ok
                } else {
                    metrics::Outcome::FieldError
                };
                Self {
                    status: StatusCode::OK,
                    body: serde_json::to_vec(&response).unwrap_or_default(),
                    headers: response.http_headers,
                    kind,
                    compiled: false,
                }
            }
            Outcome::Refused {
                errors,
                not_a_query: true,
            } => {
                let mut headers = HeaderMap::new();
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
                Self {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    body: errors_body(errors),
                    headers,
                    kind: metrics::Outcome::RequestError,
                    compiled: false,
                }
            }
            Outcome::Refused { errors, .. } => Self {
                status: request_error_status(media),
                body: errors_body(errors),
                headers: HeaderMap::new(),
                kind: metrics::Outcome::RequestError,
                compiled: false,
            },
            Outcome::TimedOut => {
                let error = ApiError::timed_out(timeout_secs)
                    .with("requestId", request_id.to_owned())
                    .into_server_error();
                Self {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    body: errors_body(vec![error]),
                    headers: HeaderMap::new(),
                    kind: metrics::Outcome::Timeout,
                    compiled: false,
                }
            }
        }
    }

    pub fn into_response(self, media: MediaType) -> Response {
        let mut response = (self.status, self.body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        for (name, value) in &self.headers {
            response.headers_mut().append(name, value.clone());
        }
        response
    }
}

/// `401` with `WWW-Authenticate: Bearer` (RFC 6750) and an `UNAUTHENTICATED` error.
pub fn unauthorized(media: MediaType, error: &AuthError) -> Response {
    let body = errors_body(vec![
        ApiError::unauthenticated(error.to_string()).into_server_error()
    ]);
    let challenge = match error {
        AuthError::Missing => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    };
    let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// `406`: the client accepts none of the types this server answers in.
pub fn not_acceptable() -> Response {
    Answer::rejected(
        StatusCode::NOT_ACCEPTABLE,
        ApiError::bad_request(
            "this server answers in application/graphql-response+json or application/json",
        ),
    )
    .into_response(MediaType::Json)
}
