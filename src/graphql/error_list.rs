//! The errors of an answer as clients see them: each with its code, internal ones with the
//! request id, at most [`MAX_ERRORS`] of them, messages cut to a readable length.

use async_graphql::{Response, ServerError, Value};

use super::guard;
use crate::error::{code_of, coded, Code};

/// Most errors one answer lists; the rest are counted in one more error.
const MAX_ERRORS: usize = 50;
/// Longest error message shown (names quoted in it are cut first, see [`guard::echo`]).
const MAX_MESSAGE: usize = 500;

/// Gives uncoded errors their code, and internal errors the request id (which the log line
/// about their cause carries too). An operation whose every root field was skipped answers
/// `{"data": {}}`.
pub(super) fn with_codes(mut response: Response, request_id: &str) -> Response {
    if response.data == Value::Null && response.errors.is_empty() {
        response.data = Value::Object(Default::default());
    }
    let errors = std::mem::take(&mut response.errors);
    response.errors = bounded(errors)
        .into_iter()
        .map(coded)
        .map(|mut e| {
            if code_of(&e) == Some(Code::InternalServerError.as_str()) {
                if let Some(ext) = e.extensions.as_mut() {
                    ext.set("requestId", request_id);
                }
            }
            e
        })
        .collect();
    response
}

/// A message with the names it quotes (`"…"` or `` `…` ``) cut to a readable length, and the
/// whole cut to [`MAX_MESSAGE`] characters: a request must not make its error list big.
fn shortened(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE + 8));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = &rest[open..open + 1];
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(quote) else { break };
        out.push_str(&guard::echo(&rest[..close]));
        out.push_str(quote);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    match out.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// At most [`MAX_ERRORS`] errors, messages shortened; past that one more error says how many
/// were left out.
pub(super) fn bounded(mut errors: Vec<ServerError>) -> Vec<ServerError> {
    let dropped = errors.len().saturating_sub(MAX_ERRORS);
    if dropped > 0 {
        let code = code_of(&errors[MAX_ERRORS])
            .unwrap_or(Code::BadUserInput.as_str())
            .to_owned();
        errors.truncate(MAX_ERRORS);
        let mut more = ServerError::new(format!("{dropped} more errors were left out"), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code);
        ext.set("dropped", dropped as u64);
        more.extensions = Some(ext);
        errors.push(more);
    }
    for e in &mut errors {
        if e.message.len() > 100 {
            e.message = shortened(&e.message);
        }
    }
    errors
}
