//! CORS on the API routes (`/graphql`, `/graphql/ws`): what `tower_http`'s `CorsLayer` answered
//! with this server's policy, header for header, written out because the layer cost an eighth
//! of a small request (a header map built, and its values cloned, on every request).
//!
//! The policy: methods `GET`, `POST`, `OPTIONS`; request headers `content-type`,
//! `authorization`, `accept`, `x-request-id`; `x-request-id` exposed; preflights cached for an
//! hour; origins: any (`*`), or the listed ones (`--cors-origin`), echoed back. A preflight
//! (`OPTIONS`) is answered here without reaching the route.

use axum::body::Body;
use axum::http::header;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::request_id;
use super::CorsOrigins;

/// The policy, with its header values made once.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: CorsOrigins,
    vary: HeaderValue,
    methods: HeaderValue,
    headers: HeaderValue,
    expose: HeaderValue,
    max_age: HeaderValue,
}

impl Cors {
    pub fn new(origins: &CorsOrigins) -> Self {
        Self {
            origins: origins.clone(),
            vary: HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
            methods: HeaderValue::from_static("GET,POST,OPTIONS"),
            headers: HeaderValue::from_static("content-type,authorization,accept,x-request-id"),
            expose: HeaderValue::from_static(request_id::HEADER),
            max_age: HeaderValue::from_static("3600"),
        }
    }

    /// Whether requests to `path` get CORS headers.
    pub fn applies_to(path: &str) -> bool {
        matches!(path, "/graphql" | "/graphql/ws")
    }

    /// `Access-Control-Allow-Origin` for a request from `origin`, if it is allowed.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.origins {
            CorsOrigins::Any => Some(HeaderValue::from_static("*")),
            CorsOrigins::List(list) => origin.filter(|o| list.contains(o)).cloned(),
        }
    }

    /// The answer to a preflight request from `origin`: `200`, no body.
    pub fn preflight(&self, origin: Option<&HeaderValue>) -> Response {
        let mut response = Response::new(Body::empty());
        let out = response.headers_mut();
        out.insert(header::VARY, self.vary.clone());
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.headers.clone());
        out.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        if let Some(origin) = self.allow_origin(origin) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        response
    }

    /// The CORS headers of a request from `origin`, put on its `response`: `Vary` added to
    /// any the route set, the others set.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        let allow = self.allow_origin(origin);
        let out = response.headers_mut();
        out.append(header::VARY, self.vary.clone());
        out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose.clone());
        if let Some(origin) = allow {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
    }
}

/// `Origin`, kept for [`Cors::decorate`] after the request has gone on.
pub fn origin(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(header::ORIGIN).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origin(origin: &'static str) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(origin))
    }

    #[test]
    fn preflight_and_regular_answers_carry_the_policy() {
        let any = Cors::new(&CorsOrigins::Any);
        let r = any.preflight(with_origin("https://app.example.com").as_ref());
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["access-control-allow-methods"], "GET,POST,OPTIONS");
        assert_eq!(
            h["access-control-allow-headers"],
            "content-type,authorization,accept,x-request-id"
        );
        assert_eq!(h["access-control-max-age"], "3600");
        assert_eq!(
            h["vary"],
            "origin, access-control-request-method, access-control-request-headers"
        );

        let mut regular = Response::new(Body::empty());
        regular
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
        any.decorate(None, &mut regular);
        let h = regular.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["access-control-expose-headers"], "x-request-id");
        let vary: Vec<_> = h.get_all(header::VARY).iter().collect();
        assert_eq!(vary.len(), 2, "the route's Vary is kept");

        let listed = Cors::new(&CorsOrigins::List(vec![HeaderValue::from_static(
            "https://app.example.com",
        )]));
        let ok = listed.preflight(with_origin("https://app.example.com").as_ref());
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
        let other = listed.preflight(with_origin("https://evil.example").as_ref());
        assert!(other.headers().get("access-control-allow-origin").is_none());
        let mut regular = Response::new(Body::empty());
        listed.decorate(None, &mut regular);
        assert!(regular
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }
}
