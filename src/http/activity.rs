//! What one client connection is doing, for its deadlines (see `serve`): serving requests (no
//! deadline), receiving a request head (header deadline from its first byte, or from the
//! connection's opening for its first request), or idle between requests (idle deadline).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::connection_limits::ConnectionLimits;

pub(super) struct Activity {
    epoch: Instant,
    /// Requests being served: from their head to the end of their response body.
    active: AtomicUsize,
    /// When the first byte of the next request arrived (ms since `epoch`, plus one; 0: not yet).
    head_started: AtomicU64,
    /// When the connection last became idle (ms since `epoch`).
    idle_since: AtomicU64,
}

/// The next deadline of a connection.
#[derive(Debug, Clone, Copy)]
pub(super) enum Deadline {
    /// The request head must be complete by then.
    Header(Instant),
    /// The next request must have started by then.
    Idle(Instant),
}

impl Deadline {
    pub(super) fn at(self) -> Instant {
        match self {
            Deadline::Header(at) | Deadline::Idle(at) => at,
        }
    }
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            active: AtomicUsize::new(0),
            // A new connection owes its first request head from the start.
            head_started: AtomicU64::new(1),
            idle_since: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn instant(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// Bytes arrived from the client.
    fn received(&self) {
        if self.active.load(Relaxed) == 0 && self.head_started.load(Relaxed) == 0 {
            self.head_started.store(self.now_ms() + 1, Relaxed);
        }
    }

    /// A request head was read; the request counts as active until the guard is dropped.
    pub(super) fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.active.fetch_add(1, Relaxed);
        self.head_started.store(0, Relaxed);
        RequestGuard(self.clone())
    }

    fn request_ended(&self) {
        if self.active.fetch_sub(1, Relaxed) == 1 {
            self.idle_since.store(self.now_ms(), Relaxed);
        }
    }

    /// The deadline that applies now; none while a request is served (and no idle deadline once
    /// the connection is closing anyway).
    pub(super) fn deadline(&self, limits: &ConnectionLimits, closing: bool) -> Option<Deadline> {
        if self.active.load(Relaxed) > 0 {
            return None;
        }
        match self.head_started.load(Relaxed) {
            0 if closing => None,
            0 => Some(Deadline::Idle(
                self.instant(self.idle_since.load(Relaxed)) + limits.idle_timeout(),
            )),
            started => Some(Deadline::Header(
                self.instant(started - 1) + limits.header_read_timeout(),
            )),
        }
    }
}

/// A request in flight; dropped with its response body.
pub(super) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

impl RequestGuard {
    /// Keeps the request active until `response`'s body has been sent (or dropped). A body
    /// whose size is known (a buffered answer, as every GraphQL answer is) goes out with its
    /// head at once: the request ends here, without wrapping the body.
    pub(super) fn attach(self, response: Response) -> Response {
        if http_body::Body::size_hint(response.body())
            .exact()
            .is_some()
        {
            return response;
        }
        // The guard lives in the body's frame mapping: dropped with the body.
        response.map(|body| {
            Body::new(body.map_frame(move |frame| {
                let _ = &self;
                frame
            }))
        })
    }
}

/// A client socket that reports what it receives, and holds the connection's permit for as
/// long as it is open (an upgraded WebSocket included).
pub(super) struct Tracked<S> {
    stream: S,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
}

impl<S> Tracked<S> {
    pub(super) fn new(stream: S, activity: Arc<Activity>, permit: OwnedSemaphorePermit) -> Self {
        Self {
            stream,
            activity,
            _permit: permit,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
