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
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use super::negotiate::MediaType;
use super::respond::Answer;
use super::state::AppState;
use crate::error::ApiError;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if http_body::Body::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let timeout = state.request_timeout;
    let flag = expired.clone();
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            body,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            expired: flag,
        })
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        tracing::debug!("request body not received in time");
        return too_slow(timeout);
    }
    response
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

/// A body that fails once its deadline has passed.
struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
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
                if self.deadline.as_mut().poll(cx).is_ready() {
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
