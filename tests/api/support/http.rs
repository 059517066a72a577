//! HTTP: requests through a `TestApp`'s router, and plain HTTP/1.1 to a real socket.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use super::app::TestApp;

/// A response: status, headers and the JSON body (or the text, when it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A `GET` request with an `Accept` header.
pub fn get(uri: &str, accept: &str) -> Request<Body> {
    Request::get(uri)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap()
}

/// Sends a raw HTTP request through `router`: status, headers and the body's bytes.
pub async fn bytes_from(
    router: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, axum::body::Bytes) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes)
}

/// Sends a raw HTTP request through `router`.
pub async fn send_to(router: &axum::Router, request: Request<Body>) -> Reply {
    let (status, headers, bytes) = bytes_from(router, request).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

impl TestApp {
    /// Sends a raw HTTP request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        send_to(&self.router, request).await
    }

    /// `POST /graphql` with a JSON body and an optional `Accept`.
    pub async fn post(&self, body: Value, accept: Option<&str>) -> Reply {
        self.post_as(body, accept, self.token.as_deref()).await
    }

    /// `POST /graphql` with an explicit `Authorization` header value (or none).
    pub async fn post_as(
        &self,
        body: Value,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Reply {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        if let Some(auth) = authorization {
            request = request.header("authorization", auth);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// The same app, sending `Authorization: <authorization>` from now on.
    pub fn as_caller(&mut self, authorization: &str) -> &mut Self {
        self.token = Some(authorization.to_owned());
        self
    }

    /// Runs a document; returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.post(json!({ "query": query, "variables": variables }), None)
            .await
            .body
    }

    /// Runs a document that must succeed; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected errors: {body:#}\nquery: {query}"
        );
        body["data"].clone()
    }

    /// Runs a document that must fail; returns the first error.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        body["errors"][0].clone()
    }
}

/// The first field of a `data` object (the one root field a document asked for).
pub fn root_field(data: &Value) -> Value {
    data.as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or(Value::Null)
}

/// `POST /graphql` over a plain TCP connection; returns the status and JSON body.
pub async fn http_post(
    addr: std::net::SocketAddr,
    body: &Value,
    authorization: Option<&str>,
) -> (u16, Value) {
    let body = body.to_string();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n{auth}Content-Length: {}\r\n",
        body.len()
    );
    let (status, text) = http_exchange(addr, &head, &body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET path` over a plain TCP connection; returns the status and body text.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    http_exchange(addr, &format!("GET {path} HTTP/1.1\r\n"), "").await
}

/// Sends `head` (request line and headers) and `body` with `Connection: close`; reads the
/// whole response.
async fn http_exchange(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let request = format!("{head}Host: {addr}\r\nConnection: close\r\n\r\n{body}");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response[9..12].parse().expect("status");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
