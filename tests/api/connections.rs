//! The connection layer over real sockets: a request head that trickles in is cut off, a body
//! that trickles in gets 408, idle keep-alive connections are closed, heads over the cap get
//! 431, and connections over `--max-connections` wait until one closes. These do not depend on
//! the database, so they run on SQLite only.

use std::net::SocketAddr;
use std::time::Duration;

use conversation_graphql::app::AppOptions;
use conversation_graphql::http::serve::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, ServerProcess, TestApp};

/// Longest any test here waits for something that must happen.
const WAIT: Duration = Duration::from_secs(8);

const QUERY: &str = r#"{"query":"{ __typename }"}"#;

/// A hand-driven HTTP/1.1 client connection.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    /// Writes bytes; false when the server has closed the connection.
    pub async fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    /// A keep-alive `POST /graphql` running `{ __typename }`, with extra header lines.
    pub async fn post(&mut self, extra_headers: &str) -> bool {
        let request = format!(
            "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             {extra_headers}Content-Length: {}\r\n\r\n{QUERY}",
            QUERY.len()
        );
        self.write(request.as_bytes()).await
    }

    async fn fill(&mut self, deadline: tokio::time::Instant) -> Option<usize> {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => None,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(n)
            }
            Ok(Err(_)) => Some(0),
        }
    }

    /// The next response's status and body; `None` if none comes within `wait` (or the
    /// connection closes first).
    /// The status of the response that must come within `WAIT`.
    pub async fn status(&mut self, what: &str) -> u16 {
        self.response(WAIT).await.expect(what).0
    }

    pub async fn response(&mut self, wait: Duration) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + wait;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill(deadline).await? == 0 {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_lowercase();
        let status = head[9..12].parse().expect("a status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().expect("a length"));
        while self.buf.len() < head_end + length {
            if self.fill(deadline).await? == 0 {
                return None;
            }
        }
        let body = String::from_utf8_lossy(&self.buf[head_end..head_end + length]).into_owned();
        self.buf.drain(..head_end + length);
        Some((status, body))
    }

    /// Whether the server closes the connection within `wait` (anything it sends is skipped).
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.fill(deadline).await {
                None => return false,
                Some(0) => return true,
                Some(_) => self.buf.clear(),
            }
        }
    }
}

async fn serve(connection: ConnectionLimits, request_timeout: Duration) -> (TestApp, SocketAddr) {
    let options = AppOptions {
        connection,
        request_timeout,
        ..AppOptions::default()
    };
    let app = TestApp::with_options(Backend::Sqlite, options).await;
    let addr = app.serve_http().await;
    (app, addr)
}

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout_secs: 1,
        idle_timeout_secs: 60,
        ..ConnectionLimits::default()
    }
}

async fn a_slow_request_head_is_cut_off() {
    let (_app, addr) = serve(limits(), Duration::from_secs(10)).await;
    let raw = Raw::connect(addr).await;
    // One header line every 200 ms: without a header deadline this could go on forever.
    let (mut read, mut write) = raw.stream.into_split();
    let trickle = tokio::spawn(async move {
        let _ = write
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: test\r\n")
            .await;
        for i in 0..(WAIT.as_millis() / 200) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
        }
        false
    });
    let mut chunk = [0u8; 1024];
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match read.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the connection is closed at the header deadline"
    );
    trickle.abort();
    // A connection that never sends anything is closed at the same deadline.
    let mut silent = Raw::connect(addr).await;
    assert!(
        silent.closed_within(WAIT).await,
        "a silent connection is closed"
    );
    let mut fresh = Raw::connect(addr).await;
    assert!(fresh.post("").await);
    assert_eq!(fresh.status("a fresh connection works").await, 200);
}

async fn a_slow_body_gets_408() {
    let (_app, addr) = serve(limits(), Duration::from_secs(1)).await;
    let raw = Raw::connect(addr).await;
    let (mut read, mut write) = raw.stream.into_split();
    let body = QUERY.as_bytes().to_vec();
    let trickle = tokio::spawn(async move {
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = write.write_all(head.as_bytes()).await;
        for b in body {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if write.write_all(&[b]).await.is_err() {
                break;
            }
        }
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(WAIT, read.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "a slow body gets 408: {response}"
    );
    assert!(response.contains("did not arrive within 1 s"), "{response}");
    trickle.abort();
}

async fn idle_keep_alive_connections_are_closed() {
    let limits = ConnectionLimits {
        header_read_timeout_secs: 1,
        idle_timeout_secs: 3,
        ..ConnectionLimits::default()
    };
    let (_app, addr) = serve(limits, Duration::from_secs(10)).await;
    let mut raw = Raw::connect(addr).await;
    assert!(raw.post("").await);
    assert_eq!(raw.status("answered").await, 200);
    // Idle for longer than the header deadline: that deadline only runs once a request starts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(raw.post("").await);
    assert_eq!(
        raw.response(WAIT)
            .await
            .expect("still open after 1.5 s idle")
            .0,
        200
    );
    // Then idle until the idle deadline.
    assert!(
        raw.closed_within(WAIT).await,
        "an idle keep-alive connection is closed"
    );
}

async fn request_heads_over_the_cap_get_431() {
    // The default cap, 16 KB.
    let (_app, addr) = serve(ConnectionLimits::default(), Duration::from_secs(10)).await;
    let mut raw = Raw::connect(addr).await;
    assert!(
        raw.post(&format!("X-Big: {}\r\n", "a".repeat(12_000)))
            .await
    );
    assert_eq!(raw.status("answered").await, 200, "12 KB is fine");
    let mut raw = Raw::connect(addr).await;
    raw.post(&format!("X-Big: {}\r\n", "a".repeat(17_000)))
        .await;
    assert_eq!(raw.status("answered").await, 431);
    // Many small headers add up the same way.
    let mut raw = Raw::connect(addr).await;
    let many: String = (0..90)
        .map(|i| format!("X-{i}: {}\r\n", "b".repeat(200)))
        .collect();
    raw.post(&many).await;
    assert_eq!(raw.status("answered").await, 431);
}

async fn connections_over_the_limit_wait_for_one_to_close() {
    let limits = ConnectionLimits {
        max_connections: 2,
        ..ConnectionLimits::default()
    };
    let (_app, addr) = serve(limits, Duration::from_secs(10)).await;
    let mut first = Raw::connect(addr).await;
    let mut second = Raw::connect(addr).await;
    for raw in [&mut first, &mut second] {
        assert!(raw.post("").await);
        assert_eq!(raw.status("answered").await, 200);
    }
    // The third connects (the listen backlog) but is not served while two are open.
    let mut third = Raw::connect(addr).await;
    assert!(third.post("").await);
    assert!(
        third.response(Duration::from_millis(700)).await.is_none(),
        "a third connection waits"
    );
    // The open ones keep working.
    assert!(first.post("").await);
    assert_eq!(first.status("answered").await, 200);
    drop(first);
    assert_eq!(third.status("served once a connection closed").await, 200);
}

/// Under an open-file limit too low for `--max-connections`, the server serves at most what the
/// limit leaves room for: 400 clients at once (over the 128 a default listen backlog holds) all
/// get their answer, none is refused for want of a file descriptor, and the database keeps its
/// connections.
async fn connections_stay_within_the_open_file_limit() {
    let path = std::env::temp_dir().join(format!("cg-nofile-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let server = ServerProcess::start_under(
        &["sh", "-c", "ulimit -n 320 && exec \"$0\" \"$@\""],
        &["--database-url", &url],
        &[],
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !server.logged("room for 64 connections") {
        assert!(
            std::time::Instant::now() < deadline,
            "the limit is lowered to fit 320 files"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Everyone connects first (the listen backlog holds them), then all ask at once.
    let mut clients = Vec::new();
    for _ in 0..400 {
        clients.push(Raw::connect(server.addr).await);
    }
    let mut answers = tokio::task::JoinSet::new();
    for mut raw in clients {
        answers.spawn(async move {
            let body = r#"{"query":"{ conversations { totalCount } }"}"#;
            let request = format!(
                "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                 Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            raw.write(request.as_bytes()).await;
            raw.response(Duration::from_secs(60)).await
        });
    }
    let mut ok = 0;
    while let Some(answer) = answers.join_next().await {
        match answer.expect("client task") {
            Some((200, body)) if body.contains(r#""totalCount":0"#) => ok += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 400);
    assert!(
        !server.logged("accepting a connection failed"),
        "never out of file descriptors"
    );
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The flags and their environment variables reach the binary's connection layer.
async fn the_binary_reads_connection_flags_and_environment() {
    let path = std::env::temp_dir().join(format!("cg-conn-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let server = ServerProcess::start(
        &["--database-url", &url, "--max-header-bytes", "4096"],
        &[("IDLE_TIMEOUT_SECS", "1")],
    );
    let mut raw = Raw::connect(server.addr).await;
    assert!(raw.post(&format!("X-Big: {}\r\n", "a".repeat(5_000))).await);
    assert_eq!(raw.status("answered").await, 431);
    let mut raw = Raw::connect(server.addr).await;
    assert!(raw.post("").await);
    assert_eq!(raw.status("answered").await, 200);
    assert!(raw.closed_within(WAIT).await, "IDLE_TIMEOUT_SECS=1 applies");
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

crate::backend_tests! {
    standalone: a_slow_request_head_is_cut_off, a_slow_body_gets_408, idle_keep_alive_connections_are_closed, request_heads_over_the_cap_get_431, connections_over_the_limit_wait_for_one_to_close, connections_stay_within_the_open_file_limit, the_binary_reads_connection_flags_and_environment;
}
