//! A request body must arrive within the request timeout, counted from its head: a client that
//! trickles its body in gets `408 Request Timeout` (and the connection is closed) instead of
//! holding a connection and a buffer for as long as it likes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::negotiate::MediaType;
use super::respond::Answer;
use crate::error::ApiError;

/// Gives `request` a body that fails once `timeout` has passed since now (its head); the flag
/// tells [`verdict`] whether it did. A request without a body is left as it is.
pub fn arm(request: Request, timeout: Duration) -> (Request, Option<Arc<AtomicBool>>) {
    if http_body::Body::is_end_stream(request.body()) {
        return (request, None);
    }
    let expired = Arc::new(AtomicBool::new(false));
    let flag = expired.clone();
    let at = Instant::now() + timeout;
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            body,
            at,
            deadline: None,
            expired: flag,
        })
    });
    (request, Some(expired))
}

/// `response`, or `408 Request Timeout` when the body armed by [`arm`] did not arrive in time.
pub fn verdict(
    response: Response,
    expired: Option<Arc<AtomicBool>>,
    timeout: Duration,
) -> Response {
    match expired {
        Some(expired) if expired.load(Ordering::Relaxed) => {
            tracing::debug!("request body not received in time");
            too_slow(timeout)
        }
        _ => response,
    }
}

fn too_slow(timeout: Duration) -> Response {
    let error = ApiError::bad_request(format!(
        "the request body did not arrive within {} s",
        timeout.as_secs()
    ));
    let mut response =
        Answer::rejected(StatusCode::REQUEST_TIMEOUT, error).into_response(MediaType::Json);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A body that fails once its deadline has passed. The timer starts only when the body is
/// not all there yet (most bodies arrive with their head, and need none).
struct DeadlineBody {
    body: Body,
    at: Instant,
    deadline: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Pending => {
                let at = self.at;
                let deadline = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if deadline.as_mut().poll(cx).is_ready() {
                    self.expired.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(axum::Error::new("request body timed out"))))
                } else {
                    Poll::Pending
                }
            }
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
