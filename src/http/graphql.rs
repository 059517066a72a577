//! `POST /graphql` and `GET /graphql`, per the GraphQL over HTTP spec.
//!
//! async-graphql-axum's extractor answers every request error with `200` in
//! `application/graphql-response+json`; this handler instead:
//! - picks the response media type from `Accept`: `application/graphql-response+json` when
//!   the client names it (and prefers it), `application/json` when it names that, sends no
//!   `Accept` or only wildcards (as the spec and the `graphql-http` audit ask, for clients
//!   that predate the new type), `406` when it accepts neither;
//! - answers a request error (unparsable JSON, bad parameters, a document that fails to parse
//!   or validate, variables that do not coerce) with `400` and no `data` in
//!   `application/graphql-response+json`, and with `200` in `application/json`;
//! - refuses mutations over `GET` with `405` and `Allow: POST`;
//! - gives every error an `extensions.code`.

use async_graphql::extensions::apollo_persisted_queries::CacheStorage;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tracing::Instrument;

use super::graphiql;
use super::request_id::RequestId;
use crate::app::AppState;
use crate::auth::{Access, AuthError};
use crate::error::code;
use crate::graphql::{guard_check, is_query_only, OperationName, ViaGet, STATUS_EXTENSION};
use crate::metrics;

/// Longest document text kept in the parsed-document cache.
const MAX_CACHED_QUERY: usize = 4096;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// The response media types this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Reads `Accept`: the named type with the highest q-value, ties going to
/// `application/graphql-response+json`; wildcards and no `Accept` mean `application/json`.
/// `None` when neither is acceptable.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Some(MediaType::Json);
    };
    let accept = accept.to_str().ok()?;
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let mut best: Option<(f32, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        if q <= 0.0 {
            continue;
        }
        let candidate = match range.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponseJson,
            APPLICATION_JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        let better = match best {
            None => true,
            Some((bq, bm)) => {
                q > bq
                    || (q == bq && candidate == MediaType::GraphqlResponseJson && bm != candidate)
            }
        };
        if better {
            best = Some((q, candidate));
        }
    }
    best.map(|(_, m)| m)
}

/// A GraphQL-over-HTTP request, before execution.
struct GraphqlParams {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

/// A request that fails before GraphQL sees it: its status and message.
struct Rejection(StatusCode, String);

fn request_error_body(message: &str) -> Value {
    serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code::BAD_USER_INPUT } }]
    })
}

fn json_response(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// The status of a GraphQL request error (the document or variables are at fault): `400` in
/// `application/graphql-response+json`, `200` in `application/json`.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

fn reject(media: MediaType, rejection: Rejection) -> Response {
    json_response(rejection.0, media, &request_error_body(&rejection.1))
}

fn params_from_object(object: Map<String, Value>) -> Result<GraphqlParams, Rejection> {
    let bad = |m: &str| Rejection(StatusCode::BAD_REQUEST, m.to_owned());
    let persisted = object
        .get("extensions")
        .and_then(|e| e.get("persistedQuery"))
        .is_some();
    let query = match object.get("query") {
        Some(Value::String(q)) => q.clone(),
        Some(_) => return Err(bad("`query` must be a string")),
        // An automatic persisted query may send only its hash.
        None if persisted => String::new(),
        None => return Err(bad("the request has no `query`")),
    };
    let operation_name = match object.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("`operationName` must be a string")),
    };
    let object_param = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(bad(&format!("`{name}` must be an object"))),
    };
    Ok(GraphqlParams {
        query,
        operation_name,
        variables: object_param("variables")?,
        extensions: object_param("extensions")?,
    })
}

/// `GET` parameters: `variables` and `extensions` are JSON text.
fn params_from_query_string(raw: &str) -> Result<GraphqlParams, Rejection> {
    let bad = |m: &str| Rejection(StatusCode::BAD_REQUEST, m.to_owned());
    let mut object = Map::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let value = match k.as_ref() {
            "query" | "operationName" => Value::String(v.into_owned()),
            "variables" | "extensions" => {
                if v.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&v)
                        .map_err(|_| bad(&format!("`{k}` must be a JSON object")))?
                }
            }
            _ => continue,
        };
        object.insert(k.into_owned(), value);
    }
    params_from_object(object)
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(APPLICATION_JSON))
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let access = match authenticate(&state, &headers) {
        Ok(access) => access,
        Err(e) => return unauthorized(&state, media, &e),
    };
    if !is_json_content_type(&headers) {
        return reject(
            media,
            Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the request as Content-Type: application/json".into(),
            ),
        );
    }
    let run = Run {
        state: &state,
        media,
        access: &access,
        request_id: &request_id,
    };
    let bad = |m: &str| Rejection(StatusCode::BAD_REQUEST, m.to_owned());
    let batch = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => {
            return match params_from_object(object) {
                Ok(params) => run.one(params, false).await.into_response(media),
                Err(rejection) => reject(media, rejection),
            };
        }
        Ok(Value::Array(items)) => items,
        Ok(_) => return reject(media, bad("the request body must be a JSON object")),
        Err(_) => return reject(media, bad("the request body is not valid JSON")),
    };
    if state.max_batch == 0 {
        return reject(media, bad("batched requests are turned off on this server"));
    }
    if batch.is_empty() || batch.len() > state.max_batch {
        return reject(
            media,
            bad(&format!(
                "a batch holds 1 to {} operations",
                state.max_batch
            )),
        );
    }
    let mut bodies = b"[".to_vec();
    for (i, item) in batch.into_iter().enumerate() {
        let outcome = match item {
            Value::Object(object) => match params_from_object(object) {
                Ok(params) => run.one(params, false).await,
                Err(Rejection(status, message)) => Outcome::failed(status, &message),
            },
            _ => Outcome::failed(StatusCode::BAD_REQUEST, "each batch item must be an object"),
        };
        if i > 0 {
            bodies.push(b',');
        }
        bodies.extend_from_slice(&outcome.body);
    }
    bodies.push(b']');
    let mut response = (StatusCode::OK, bodies).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
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
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let has_query = form_urlencoded::parse(raw.as_bytes()).any(|(k, _)| k == "query");
    if wants_html && !has_query {
        return graphiql::page().await.into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let access = match authenticate(&state, &headers) {
        Ok(access) => access,
        Err(e) => return unauthorized(&state, media, &e),
    };
    match params_from_query_string(&raw) {
        Ok(params) => {
            let run = Run {
                state: &state,
                media,
                access: &access,
                request_id: &request_id,
            };
            run.one(params, true).await.into_response(media)
        }
        Err(rejection) => reject(media, rejection),
    }
}

/// Who is calling: [`Access::Open`] when no key is configured.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Access, AuthError> {
    let Some(verifier) = &state.auth else {
        return Ok(Access::Open);
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| AuthError::NotBearer))
        .transpose()?;
    verifier.verify_header(header).map(Access::Caller)
}

/// `401` with `WWW-Authenticate: Bearer` (RFC 6750) and an `UNAUTHENTICATED` error.
fn unauthorized(state: &AppState, media: MediaType, error: &AuthError) -> Response {
    state.metrics.observe(
        None,
        metrics::Outcome::Unauthenticated,
        std::time::Duration::ZERO,
    );
    let body = serde_json::json!({
        "errors": [{ "message": error.to_string(), "extensions": { "code": code::UNAUTHENTICATED } }]
    });
    let mut response = json_response(StatusCode::UNAUTHORIZED, media, &body);
    let challenge = match error {
        AuthError::Missing => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

fn not_acceptable() -> Response {
    let body = request_error_body(
        "this server answers in application/graphql-response+json or application/json",
    );
    json_response(StatusCode::NOT_ACCEPTABLE, MediaType::Json, &body)
}

/// The result of one operation: its HTTP status (alone), serialized body and extra headers.
struct Outcome {
    status: StatusCode,
    body: Vec<u8>,
    headers: HeaderMap,
    kind: metrics::Outcome,
}

impl Outcome {
    fn failed(status: StatusCode, message: &str) -> Self {
        Self::from_value(
            status,
            &request_error_body(message),
            metrics::Outcome::RequestError,
        )
    }

    fn from_value(status: StatusCode, body: &Value, kind: metrics::Outcome) -> Self {
        Self {
            status,
            body: body.to_string().into_bytes(),
            headers: HeaderMap::new(),
            kind,
        }
    }

    fn into_response(self, media: MediaType) -> Response {
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

/// What one request runs with.
struct Run<'a> {
    state: &'a AppState,
    media: MediaType,
    access: &'a Access,
    request_id: &'a RequestId,
}

/// A request that failed as a whole (parse, validation, coercion, limits): no `data`, and
/// no error tied to a field.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

impl Run<'_> {
    /// Executes one operation and records it in the metrics.
    async fn one(&self, params: GraphqlParams, via_get: bool) -> Outcome {
        let started = std::time::Instant::now();
        let operation = params.operation_name.clone();
        let outcome = self.execute(params, via_get).await;
        let elapsed = started.elapsed();
        self.state
            .metrics
            .observe(operation.as_deref(), outcome.kind, elapsed);
        tracing::debug!(
            request_id = %self.request_id.0,
            operation = operation.as_deref().unwrap_or(""),
            status = outcome.status.as_u16(),
            micros = elapsed.as_micros() as u64,
            "graphql request"
        );
        outcome
    }

    /// Checks and executes one operation.
    async fn execute(&self, params: GraphqlParams, via_get: bool) -> Outcome {
        let persisted = params
            .extensions
            .as_ref()
            .is_some_and(|e| e.contains_key("persistedQuery"));
        // Run without validation (the document passed it before)?
        let mut unchecked = false;
        // The document to remember as validated if this run validates it.
        let mut remember = None;
        let mut request = async_graphql::Request::new(params.query)
            .variables(async_graphql::Variables::from_json(Value::Object(
                params.variables.unwrap_or_default(),
            )))
            .data(self.access.clone());
        if let Some(name) = params.operation_name {
            request = request.operation_name(name);
        }
        if let Some(ext) = params.extensions {
            for (k, v) in ext {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    request.extensions.insert(k, v);
                }
            }
        }

        let schema = if persisted {
            // The document is only known inside async-graphql: the guarded schema checks it.
            let name = OperationName(request.operation_name.clone());
            request = request.data(name);
            if via_get {
                request = request.data(ViaGet);
            }
            &self.state.schemas.guarded
        } else {
            // Check here, then run on a schema without extensions. Parsed documents are
            // cached by their text (most clients send the same few documents again and again);
            // a query whose document already passed full validation runs without it.
            let name = request.operation_name.clone();
            let key = (request.query.len() <= MAX_CACHED_QUERY).then(|| request.query.clone());
            let mut validated = false;
            let mut doc = None;
            if let Some(key) = &key {
                doc = self.state.validated.get(key.clone()).await;
                validated = doc.is_some();
                if doc.is_none() {
                    doc = self.state.documents.get(key.clone()).await;
                }
            }
            if doc.is_none() {
                doc = async_graphql::parser::parse_query(&request.query).ok();
                if let (Some(key), Some(doc)) = (&key, &doc) {
                    self.state.documents.set(key.clone(), doc.clone()).await;
                }
            }
            let mut query_only = false;
            if let Some(doc) = &doc {
                if let Err(error) = guard_check(
                    doc,
                    name.as_deref(),
                    &request.variables,
                    &self.state.limits,
                    via_get,
                ) {
                    return self.finish(async_graphql::Response::from_errors(vec![error]), false);
                }
                query_only = is_query_only(doc, name.as_deref());
            }
            let to_validate = if validated {
                None
            } else {
                key.zip(doc.clone())
            };
            if let Some(doc) = doc {
                request.set_parsed_query(doc);
            }
            if validated && query_only {
                unchecked = true;
                &self.state.schemas.prevalidated
            } else {
                remember = to_validate;
                &self.state.schemas.fast
            }
        };

        let span = tracing::info_span!("graphql", request_id = %self.request_id.0);
        let execution = schema.execute(request).instrument(span);
        match tokio::time::timeout(self.state.request_timeout, execution).await {
            Ok(response) => {
                if let Some((key, doc)) = remember {
                    if !is_request_error(&response) {
                        self.state.validated.set(key, doc).await;
                    }
                }
                self.finish(response, unchecked)
            }
            Err(_) => {
                tracing::warn!(request_id = %self.request_id.0, "request timed out and was cancelled");
                let mut body = request_error_body(&format!(
                    "the request took longer than {} s and was cancelled",
                    self.state.request_timeout.as_secs()
                ));
                let ext = &mut body["errors"][0]["extensions"];
                ext["code"] = code::INTERNAL_SERVER_ERROR.into();
                ext["requestId"] = self.request_id.0.clone().into();
                Outcome::from_value(
                    StatusCode::GATEWAY_TIMEOUT,
                    &body,
                    metrics::Outcome::Timeout,
                )
            }
        }
    }

    /// The HTTP answer to a GraphQL response. `unchecked`: it ran without validation, so a
    /// variable that does not coerce shows up as an execution error; it is still a request
    /// error (only queries run unchecked, so nothing was written).
    fn finish(&self, response: async_graphql::Response, unchecked: bool) -> Outcome {
        let mut headers = response.http_headers.clone();
        if response.errors.is_empty() {
            // The common case, serialized straight to bytes.
            let body = serde_json::to_vec(&response).unwrap_or_default();
            return Outcome {
                status: StatusCode::OK,
                body,
                headers,
                kind: metrics::Outcome::Ok,
            };
        }
        let request_error = is_request_error(&response)
            || (unchecked
                && response
                    .errors
                    .iter()
                    .any(|e| e.message.starts_with("Failed to parse")));
        let mut status = if request_error {
            request_error_status(self.media)
        } else {
            StatusCode::OK
        };
        let mut body = serde_json::to_value(&response)
            .unwrap_or_else(|_| request_error_body("the response could not be serialized"));
        if let Value::Object(map) = &mut body {
            if request_error {
                map.remove("data");
            }
            if let Some(Value::Array(errors)) = map.get_mut("errors") {
                for error in errors {
                    if let Some(forced) = take_status(error) {
                        status = forced;
                        if forced == StatusCode::METHOD_NOT_ALLOWED {
                            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
                        }
                    }
                    tag_error(error, request_error, &self.request_id.0);
                }
            }
        }
        let kind = if request_error {
            metrics::Outcome::RequestError
        } else {
            metrics::Outcome::FieldError
        };
        let mut outcome = Outcome::from_value(status, &body, kind);
        outcome.headers = headers;
        outcome
    }
}

/// Removes the guard's status hint from an error, returning it.
fn take_status(error: &mut Value) -> Option<StatusCode> {
    let hint = error
        .get_mut("extensions")?
        .as_object_mut()?
        .remove(STATUS_EXTENSION)?;
    StatusCode::from_u16(u16::try_from(hint.as_u64()?).ok()?).ok()
}

/// Gives an error without a code the code its kind implies; internal errors also get the
/// request id, which the server's log line about the cause carries too.
fn tag_error(error: &mut Value, request_error: bool, request_id: &str) {
    let Value::Object(error) = error else { return };
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let extensions = error
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(extensions) = extensions else {
        return;
    };
    if extensions.contains_key("code") {
        return;
    }
    let code = if message == "Query is too complex." || message == "Query is nested too deep." {
        code::QUERY_TOO_COMPLEX
    } else if request_error || message.starts_with("Failed to parse") {
        // Request errors, and argument values that do not coerce.
        code::BAD_USER_INPUT
    } else {
        code::INTERNAL_SERVER_ERROR
    };
    extensions.insert("code".into(), Value::String(code.into()));
    if code == code::INTERNAL_SERVER_ERROR {
        extensions.insert("requestId".into(), Value::String(request_id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Option<MediaType> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        negotiate(&h)
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("application/json"), Some(MediaType::Json));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json, */*;q=0.5"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Some(MediaType::Json)
        );
        assert_eq!(accept("text/html"), None);
    }
}
