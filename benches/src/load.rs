//! A small HTTP/1.1 load generator: C keep-alive connections, each sending requests back to
//! back for a fixed time; latencies recorded per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request to send.
pub struct Req {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
}

impl Req {
    pub fn get(path: String) -> Self {
        Req {
            method: "GET",
            path,
            body: None,
        }
    }

    pub fn graphql(query: &str, variables: serde_json::Value) -> Self {
        let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
        Req {
            method: "POST",
            path: "/graphql".into(),
            body: Some(body),
        }
    }

    pub fn bytes(&self, host: &SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n",
            self.method, self.path
        );
        match &self.body {
            Some(b) => {
                head.push_str(&format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                ));
                let mut v = head.into_bytes();
                v.extend_from_slice(b.as_bytes());
                v
            }
            None => {
                head.push_str("\r\n");
                head.into_bytes()
            }
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Reads one response; returns (status, body).
pub async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return Ok((status, body));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one request on a fresh connection and returns its body (for set-up steps).
pub async fn once(addr: SocketAddr, req: &Req) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&req.bytes(&addr)).await?;
    let mut buf = Vec::new();
    read_response(&mut stream, &mut buf).await
}

/// Drives `addr` with `connections` connections for `warmup + duration`; only the requests
/// after the warm-up count. `make` builds request number `i` of connection `c`.
pub async fn run<F>(
    addr: SocketAddr,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    make: F,
) -> Stats
where
    F: Fn(usize, u64) -> Req + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let Some((mut stream, mut buf)) = open(addr).await else {
                return (latencies, 1);
            };
            let mut i = 0u64;
            loop {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                let req = make(c, i);
                i += 1;
                let bytes = req.bytes(&addr);
                let sent = Instant::now();
                let ok = match stream.write_all(&bytes).await {
                    Ok(()) => match read_response(&mut stream, &mut buf).await {
                        Ok((200, body)) => !body.windows(9).any(|w| w == b"\"errors\":"),
                        Ok(_) => false,
                        Err(_) => {
                            errors += 1;
                            match TcpStream::connect(addr).await {
                                Ok(s) => {
                                    stream = s;
                                    buf.clear();
                                    continue;
                                }
                                Err(_) => break,
                            }
                        }
                    },
                    Err(_) => break,
                };
                if sent >= measure_from {
                    record(&mut latencies, &mut errors, sent, ok);
                }
            }
            (latencies, errors)
        }));
    }
    stats(tasks, duration.as_secs_f64()).await
}

/// A keep-alive client connection to `addr` (no Nagle delay) and its read buffer.
pub async fn open(addr: SocketAddr) -> Option<(TcpStream, Vec<u8>)> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    Some((stream, Vec::with_capacity(64 * 1024)))
}

/// Counts one answer sent at `sent`: its latency (µs) when `ok`, else an error.
pub fn record(latencies: &mut Vec<u32>, errors: &mut u64, sent: Instant, ok: bool) {
    if ok {
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    } else {
        *errors += 1;
    }
}

/// The stats of `tasks`, each of which returns its latencies (µs) and its error count, over
/// `seconds`.
pub async fn stats(tasks: Vec<tokio::task::JoinHandle<(Vec<u32>, u64)>>, seconds: f64) -> Stats {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all[i]) / 1000.0
    };
    Stats {
        requests: all.len() as u64,
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}
