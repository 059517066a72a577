//! A commit that takes as long as a test wants, so that a request's deadline passes while its
//! `COMMIT` is under way. Nothing in the server is changed for it:
//!
//! - PostgreSQL and MySQL/MariaDB: the app's pool connects through a TCP proxy. Once armed
//!   with a marker, the proxy lets the first `COMMIT` sent on a connection that carried the
//!   marker through to the database (which commits) and holds the database's answer until
//!   released: a network that is slow after the server committed.
//! - SQLite: a commit hook (`sqlite3_commit_hook`) on every connection of the app's pool.
//!   Once armed, the next commit waits in it until released (on the connection's own thread;
//!   the runtime goes on).
//!
//! Either way the app under test is a second app ([`SlowCommit::router`]) on the test's
//! database, built with the options the test asks for; the `TestApp` reads and checks.

use std::ffi::{c_int, c_void};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use conversation_graphql::app::{self, AppOptions};
use conversation_graphql::db::{self, PoolSettings};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::database::Backend;
use super::http::{send_to, Reply};
use super::{wait_until, TestApp};

/// Whether a commit is to be held, is held, and may go.
struct Gate {
    armed: AtomicBool,
    /// A marker (proxy only): the connection whose statements carried it is the one held.
    marker: Mutex<Vec<u8>>,
    held: AtomicBool,
    released: Mutex<bool>,
    wake: Condvar,
    released_tx: watch::Sender<bool>,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate {
            armed: AtomicBool::new(false),
            marker: Mutex::new(Vec::new()),
            held: AtomicBool::new(false),
            released: Mutex::new(false),
            wake: Condvar::new(),
            released_tx: watch::channel(false).0,
        })
    }

    /// Disarms; true for the one caller that found it armed.
    fn take(&self) -> bool {
        self.armed
            .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The SQLite hook: when armed, waits here (a database thread) until released.
    fn hold_here(&self) {
        if !self.take() {
            return;
        }
        self.held.store(true, Ordering::SeqCst);
        let mut released = self.released.lock().unwrap();
        while !*released {
            released = self.wake.wait(released).unwrap();
        }
    }

    async fn wait_released(&self) {
        let mut rx = self.released_tx.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }
}

/// A second app on the test's database whose commits can be held.
pub struct SlowCommit {
    pub router: Router,
    _state: app::AppState,
    gate: Arc<Gate>,
    _pool: DatabaseConnection,
}

impl SlowCommit {
    /// The app for `app`'s database, built with `options`.
    pub async fn start(app: &TestApp, mut options: AppOptions) -> SlowCommit {
        let gate = Gate::new();
        let pool = match app.backend {
            Backend::Sqlite => {
                let settings = PoolSettings {
                    max_connections: 2,
                    ..PoolSettings::default()
                };
                let pool = db::connect(&app.url, &settings).await.expect("connect");
                hook_every_connection(&pool, settings.max_connections, &gate).await;
                pool
            }
            Backend::Postgres | Backend::MySql => {
                let upstream = upstream_addr(&app.url);
                let proxy = start_proxy(upstream, gate.clone()).await;
                let settings = PoolSettings {
                    max_connections: 4,
                    schema: (app.backend == Backend::Postgres)
                        .then(|| app.db_name.clone())
                        .flatten(),
                    ..PoolSettings::default()
                };
                db::connect(&through(&app.url, proxy, app.backend), &settings)
                    .await
                    .expect("connect through the proxy")
            }
        };
        if let Some(schema) = app
            .db_name
            .as_ref()
            .filter(|_| app.backend == Backend::Postgres)
        {
            options.events_channel = format!("events_{schema}_slow");
        }
        let (router, state) = app::build(pool.clone(), &options);
        SlowCommit {
            router,
            _state: state,
            gate,
            _pool: pool,
        }
    }

    /// Holds the next commit (on PostgreSQL and MySQL: the first on a connection whose
    /// statements carried `marker`).
    pub fn arm(&self, marker: &str) {
        *self.gate.marker.lock().unwrap() = marker.as_bytes().to_vec();
        self.gate.armed.store(true, Ordering::SeqCst);
    }

    /// Waits until a commit is held, then for `timeout` and a margin more, then lets it go:
    /// the deadline of the request that commits, set before its commit began, has then
    /// certainly passed while the commit was held. (A wait for a deadline known to lie
    /// before, not for something to happen.)
    pub async fn hold_past(&self, timeout: Duration) {
        wait_until("a commit is held", || async {
            self.gate.held.load(Ordering::SeqCst)
        })
        .await;
        tokio::time::sleep(timeout + Duration::from_millis(100)).await;
        *self.gate.released.lock().unwrap() = true;
        self.gate.wake.notify_all();
        self.gate.released_tx.send_replace(true);
    }

    /// `POST /graphql` to this app.
    pub async fn post(&self, body: Value) -> Reply {
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send_to(&self.router, request).await
    }
}

/// `sqlite3_commit_hook` callback: `arg` is a `Gate` that is never freed.
unsafe extern "C" fn hold_commit(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` came from `Arc::into_raw` and is never released.
    let gate = unsafe { &*(arg as *const Gate) };
    gate.hold_here();
    0
}

/// Installs the hook on every connection the pool may have (all taken at once).
async fn hook_every_connection(pool: &DatabaseConnection, max: u32, gate: &Arc<Gate>) {
    let sqlite = pool.get_sqlite_connection_pool();
    let mut connections = Vec::new();
    for _ in 0..max {
        connections.push(sqlite.acquire().await.expect("acquire"));
    }
    for connection in &mut connections {
        let mut handle = connection.lock_handle().await.expect("lock handle");
        let raw = handle.as_raw_handle().as_ptr();
        let arg = Arc::into_raw(gate.clone()) as *mut c_void;
        // SAFETY: `raw` is an open connection, locked for us while `handle` lives; `arg`
        // outlives it (leaked on purpose).
        unsafe {
            libsqlite3_sys::sqlite3_commit_hook(raw, Some(hold_commit), arg);
        }
    }
}

/// `host:port` of a database URL.
fn upstream_addr(url: &str) -> SocketAddr {
    let (start, end) = authority(url);
    let host_port = &url[start..end];
    let host_port = host_port.rsplit('@').next().unwrap();
    host_port
        .parse()
        .expect("a numeric host:port in the test URL")
}

/// Where the host and port of `url` start and end.
fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").expect("a URL") + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let at = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    (at, end)
}

/// `url` pointed at `proxy`, without TLS (the proxy must see the protocol).
fn through(url: &str, proxy: SocketAddr, backend: Backend) -> String {
    let (start, end) = authority(url);
    let rewritten = format!("{}{proxy}{}", &url[..start], &url[end..]);
    let sep = if rewritten.contains('?') { '&' } else { '?' };
    let ssl = match backend {
        Backend::MySql => "ssl-mode=disabled",
        _ => "sslmode=disable",
    };
    format!("{rewritten}{sep}{ssl}")
}

/// A proxy to `upstream` on a free loopback port.
async fn start_proxy(upstream: SocketAddr, gate: Arc<Gate>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            tokio::spawn(pipe(client, server, gate.clone()));
        }
    });
    addr
}

/// Where `needle` starts in `window` at or after `from`, ending past `old` (bytes already
/// looked at).
fn find(window: &[u8], needle: &[u8], from: usize, old: usize) -> Option<usize> {
    (from..=window.len().saturating_sub(needle.len()))
        .find(|&i| i + needle.len() > old && window[i..].starts_with(needle))
}

/// Copies both ways; holds the answers on this connection once it sent the held `COMMIT`.
async fn pipe(client: TcpStream, server: TcpStream, gate: Arc<Gate>) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let hold = Arc::new(AtomicBool::new(false));
    let up = {
        let (gate, hold) = (gate.clone(), hold.clone());
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut tail: Vec<u8> = Vec::new();
            let mut tagged = false;
            loop {
                let n = match client_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut window = std::mem::take(&mut tail);
                let old = window.len();
                window.extend_from_slice(&buf[..n]);
                if gate.armed.load(Ordering::SeqCst) {
                    let marker = gate.marker.lock().unwrap().clone();
                    let mut from = 0;
                    if !tagged {
                        if let Some(at) = find(&window, &marker, 0, old) {
                            tagged = true;
                            from = at + marker.len();
                        }
                    }
                    if tagged && find(&window, b"COMMIT", from, old).is_some() && gate.take() {
                        hold.store(true, Ordering::SeqCst);
                        gate.held.store(true, Ordering::SeqCst);
                    }
                }
                if server_tx.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                tail = window[window.len().saturating_sub(256)..].to_vec();
            }
            let _ = server_tx.shutdown().await;
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if hold.load(Ordering::SeqCst) {
                gate.wait_released().await;
            }
            if client_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_tx.shutdown().await;
    };
    tokio::join!(up, down);
}
