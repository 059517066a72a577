//! A request id on every request: the client's `x-request-id` when it is a sane token,
//! otherwise a new UUID. It is echoed in the response header, carried by log lines about the
//! request, and put in the `extensions.requestId` of internal errors.

use std::cell::Cell;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

/// [`HEADER`] as a header name (a `&str` name is parsed on every use).
const HEADER_NAME: HeaderName = HeaderName::from_static(HEADER);

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Gives `request` its id (see the module docs), which [`echo`] puts on the response.
pub fn assign(mut request: Request) -> (Request, String) {
    let id = request
        .headers()
        .get(&HEADER_NAME)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(fresh);
    request.extensions_mut().insert(RequestId(id.clone()));
    (request, id)
}

/// `response` with the request's id in its `x-request-id` header (the id's own buffer
/// becomes the header's, uncopied).
pub fn echo(mut response: Response, id: String) -> Response {
    if let Ok(value) = HeaderValue::try_from(id) {
        response.headers_mut().insert(HEADER_NAME, value);
    }
    response
}

/// A new random (version 4) UUID from a per-thread generator (SplitMix64) seeded once from the
/// operating system: a request id must be unique, not secret, and asking the system for
/// randomness costs a system call per request.
fn fresh() -> String {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(uuid::Uuid::new_v4().as_u64_pair().0);
    }
    let next = |state: &Cell<u64>| {
        let z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(z);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = STATE.with(|state| (next(state), next(state)));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    id.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| fresh()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let u = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(u.get_version_num(), 4, "{id}");
            assert!(acceptable(id));
        }
    }
}
