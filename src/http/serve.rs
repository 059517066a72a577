//! Serving the router on a listener through hyper's HTTP/1 connection builder, with a bound on
//! everything a client connection can hold:
//!
//! - at most `--max-connections` open at once (HTTP and WebSocket alike); more wait in the
//!   listen backlog (1,024 deep; beyond it the kernel refuses them) until one closes, and the
//!   limit is kept under the process's file limit;
//! - a request head must arrive within `--header-read-timeout-secs` of its first byte (the first
//!   one: of the connection's opening) and be at most `--max-header-bytes` (larger: `431`);
//! - a keep-alive connection idle for `--idle-timeout-secs` between requests is closed;
//! - the request body must arrive within the request timeout (`408`, see `body_deadline`).
//!
//! On shutdown the listener closes, idle connections close, and requests in flight finish.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::activity::{Activity, Deadline, Tracked};
pub use super::connection_limits::ConnectionLimits;

/// Connections the kernel holds for us while `--max-connections` are open (capped by
/// `net.core.somaxconn`); tokio's default is 128.
const LISTEN_BACKLOG: u32 = 1024;

/// Listens on `addr` with a backlog deep enough for bursts over the connection limit to wait.
pub fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// File descriptors kept for everything but client connections (database pool, listener, logs).
const RESERVED_FILES: u64 = 256;

/// How many connections may be open at once: `--max-connections`, lowered to what the open-file
/// limit leaves (after raising the soft limit towards the hard one where that is allowed).
fn connection_budget(wanted: u64) -> u64 {
    let needed = wanted.saturating_add(RESERVED_FILES);
    let Some(files) = raise_file_limit(needed) else {
        return wanted;
    };
    let budget = files.saturating_sub(RESERVED_FILES).max(1);
    if budget < wanted {
        tracing::warn!(
            max_connections = wanted,
            open_file_limit = files,
            "the open-file limit only leaves room for {budget} connections; serving at most that many"
        );
        budget
    } else {
        wanted
    }
}

/// Raises the soft `RLIMIT_NOFILE` to `needed` (at most the hard limit); returns the soft limit.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)] // `rlim_t` is not `u64` everywhere
fn raise_file_limit(needed: u64) -> Option<u64> {
    let as_u64 = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            v as u64
        }
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let (soft, hard) = (as_u64(limit.rlim_cur), as_u64(limit.rlim_max));
    if soft >= needed || hard <= soft {
        return Some(soft);
    }
    let raised = libc::rlimit {
        rlim_cur: needed.min(hard) as libc::rlim_t,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `setrlimit` only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        Some(as_u64(raised.rlim_cur))
    } else {
        Some(soft)
    }
}

#[cfg(not(unix))]
fn raise_file_limit(_needed: u64) -> Option<u64> {
    None
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, closes idle
/// connections and returns once the requests in flight have been answered. Upgraded
/// (WebSocket) connections are not waited for.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(
        usize::try_from(connection_budget(limits.max_connections)).unwrap_or(usize::MAX >> 4),
    ));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // The header deadline starts at a request's first byte (`Activity`); hyper's own would
        // also run while a keep-alive connection waits for its next request.
        .header_read_timeout(None)
        .max_header_size(usize::try_from(limits.max_header_bytes).unwrap_or(usize::MAX))
        .keep_alive(true);
    let builder = Arc::new(builder);
    // Every connection task holds a receiver; `closed()` is when the last one has ended.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            permit,
            builder.clone(),
            app.clone(),
            limits,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
}

/// An accept error: the connection that failed is gone; anything else (out of file descriptors)
/// is waited out without giving up on the listener.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn connection(
    stream: TcpStream,
    permit: OwnedSemaphorePermit,
    builder: Arc<http1::Builder>,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<()>,
) {
    let activity = Arc::new(Activity::new());
    // The permit goes with the socket, into an upgraded WebSocket too.
    let io = TokioIo::new(Tracked::new(stream, activity.clone(), permit));
    let router = TowerToHyperService::new(app);
    let served = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = served.request_started();
        let response = hyper::service::Service::call(&router, request);
        async move {
            let response = response.await?;
            Ok::<_, std::convert::Infallible>(guard.attach(response))
        }
    });
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        // The loop wakes on its own timer, never for each request (a wake per request start
        // and end cost a timer and a task switch each): it sleeps until the deadline that
        // applies now, but never longer than the shorter of the header and idle timeouts, since
        // a request head that starts later, or an idle spell that begins later, is due no
        // sooner than that. Each wake checks the state afresh.
        let now = tokio::time::Instant::now();
        let mut wake = now + limits.header_read_timeout().min(limits.idle_timeout());
        match activity.deadline(&limits, closing) {
            Some(Deadline::Header(at)) if at <= now => {
                tracing::debug!("closing a connection whose request head is late");
                return;
            }
            Some(Deadline::Idle(at)) if at <= now => {
                conn.as_mut().graceful_shutdown();
                closing = true;
                continue;
            }
            Some(deadline) => wake = wake.min(deadline.at()),
            None => {}
        }
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            () = tokio::time::sleep_until(wake) => {}
            changed = stop.changed(), if !closing => {
                let _ = changed;
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionLimits;

    /// The defaults come from the flags' attributes alone (the README's table lists them).
    #[test]
    fn defaults_are_the_flags_defaults() {
        let d = ConnectionLimits::default();
        assert_eq!(d.header_read_timeout_secs, 10);
        assert_eq!(d.idle_timeout_secs, 60);
        assert_eq!(d.max_header_bytes, 16 * 1024);
        assert_eq!(d.max_connections, 10_000);
        assert_eq!(d.ws_init_timeout_secs, 5);
        assert_eq!(d.max_subscriptions_per_connection, 100);
    }
}
