//! `bench hardening`: the server's memory and `{__typename}` latency while it is abused over
//! WebSocket (issue 17):
//!
//! 1. 2,000 sockets open and never send `connection_init` (the server closes them at the 5 s
//!    init deadline);
//! 2. one client sends a 64 KB `subscribe` document 1,000 times (`--window` in flight);
//! 3. three clients in turn send one 8 MB `subscribe` document each.
//!
//! Each phase runs on a fresh server process (SQLite). Peak RSS is sampled from
//! `/proc/<pid>/status` every 10 ms during the phase; `{__typename}` runs over 4 keep-alive
//! connections meanwhile, and once alone for comparison.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{ws_connect, ws_init, Ws};
use crate::load::{self, Req, Stats};
use crate::Server;

#[derive(clap::Args)]
pub struct HardeningArgs {
    /// Sockets opened without `connection_init` in phase 1.
    #[arg(long, default_value_t = 2_000)]
    sockets: usize,
    /// `subscribe` messages of 64 KB sent in phase 2.
    #[arg(long, default_value_t = 1_000)]
    documents: usize,
    /// Phase 2 `subscribe` messages sent ahead of their answers.
    #[arg(long, default_value_t = 50)]
    window: usize,
}

/// Samples the peak resident memory of `pid` until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(rss_kib(pid)));
        let (s, p) = (stop.clone(), peak_kib.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Self {
            stop,
            peak_kib,
            task,
        }
    }

    async fn peak_mb(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

async fn typename_load(addr: SocketAddr, seconds: f64) -> Stats {
    load::run(
        addr,
        4,
        Duration::from_millis(200),
        Duration::from_secs_f64(seconds),
        |_, _| Req::graphql("{ __typename }", json!({})),
    )
    .await
}

/// How a socket of phase 1 ended, and when.
async fn wait_closed(mut ws: Ws, opened: Instant) -> (Option<u16>, f64) {
    let code = loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    (code, opened.elapsed().as_secs_f64())
}

/// A `subscribe` message of just under 64 KB (or `size`): one operation with as many aliased root fields
/// as fit (the server parses it all, then refuses it for its aliases).
fn big_subscribe(id: usize) -> String {
    big_subscribe_of(id, 64 * 1024)
}

fn big_subscribe_of(id: usize, size: usize) -> String {
    let mut query = String::from("subscription {");
    let mut i = 0;
    while query.len() < size - 200 {
        query.push_str(&format!(" a{i}: conversationEvents {{ kind }}"));
        i += 1;
    }
    query.push_str(" }");
    json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": query } }).to_string()
}

/// A fresh server on a fresh SQLite file; its RSS after a `{__typename}` warm-up.
async fn fresh_server(db: &std::path::Path) -> Result<(Server, f64, Stats), String> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let server = Server::start("graphql", &url, None, 4).await?;
    let alone = typename_load(server.addr, 3.0).await;
    let rest_mb = rss_kib(server.child.id()) as f64 / 1024.0;
    Ok((server, rest_mb, alone))
}

fn row(name: &str, rest: f64, peak: f64, s: &Stats, notes: &str) {
    println!(
        "| {name} | {rest:.1} MB | {peak:.1} MB | {:.2} / {:.2} ms | {:.0} | {} | {notes} |",
        s.p50_ms,
        s.p99_ms,
        s.rps(),
        s.errors
    );
}

pub async fn run(args: HardeningArgs) -> Result<(), String> {
    let db = std::env::temp_dir().join(format!("bench-hardening-{}.db", uuid::Uuid::new_v4()));
    println!(
        "| phase | RSS at rest | peak RSS | `{{__typename}}` p50 / p99 | req/s | errors | notes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    let result = phases(&args, &db).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

async fn phases(args: &HardeningArgs, db: &std::path::Path) -> Result<(), String> {
    // Phase 1: sockets that never send connection_init.
    let (server, rest, alone) = fresh_server(db).await?;
    let (addr, pid) = (server.addr, server.child.id());
    row("`{__typename}` alone", rest, rest, &alone, "");
    let sampler = RssSampler::start(pid);
    let load = tokio::spawn(typename_load(addr, 6.0));
    let started = Instant::now();
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..args.sockets {
        opening.spawn(async move { ws_connect(addr).await });
    }
    let mut open = Vec::with_capacity(args.sockets);
    while let Some(ws) = opening.join_next().await {
        open.push(ws.map_err(|e| e.to_string())??);
    }
    let opened_in = started.elapsed().as_secs_f64();
    let at_open = rss_kib(pid) as f64 / 1024.0;
    let mut closing = tokio::task::JoinSet::new();
    for ws in open {
        closing.spawn(wait_closed(ws, started));
    }
    let (mut by_4408, mut last_close) = (0, 0.0f64);
    let all_closed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ended) = closing.join_next().await {
            if let Ok((code, at)) = ended {
                by_4408 += usize::from(code == Some(4408));
                last_close = last_close.max(at);
            }
        }
    })
    .await
    .is_ok();
    let stats = load.await.map_err(|e| e.to_string())?;
    let peak = sampler.peak_mb().await;
    let closed = if all_closed {
        format!("{by_4408} closed with 4408, the last {last_close:.2} s after the first connect")
    } else {
        format!("{by_4408} closed with 4408; the others still open after 20 s")
    };
    row(
        &format!("{} sockets without `connection_init`", args.sockets),
        rest,
        peak,
        &stats,
        &format!(
            "all open in {opened_in:.2} s ({at_open:.1} MB then, {:.1} KB a socket); {closed}",
            (at_open - rest) * 1024.0 / args.sockets as f64
        ),
    );
    drop(closing);
    drop(server);

    // Phase 2: one client, 64 KB documents.
    let (server, rest, _) = fresh_server(db).await?;
    let (addr, pid) = (server.addr, server.child.id());
    let message = big_subscribe(0);
    let sampler = RssSampler::start(pid);
    let load = tokio::spawn(typename_load(addr, 4.0));
    let mut ws = ws_connect(addr).await?;
    ws_init(&mut ws).await?;
    let (mut sink, mut stream) = ws.split();
    let started = Instant::now();
    let (window_tx, mut window_rx) = tokio::sync::mpsc::channel::<()>(args.window.max(1));
    let documents = args.documents;
    let sender = tokio::spawn(async move {
        for i in 0..documents {
            if window_tx.send(()).await.is_err() {
                break;
            }
            let text = big_subscribe(i);
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        sink
    });
    let (mut answered, mut refused_for_aliases, mut other) = (0usize, 0usize, 0usize);
    while answered < documents {
        let msg = match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        if msg.contains("\"type\":\"complete\"") || msg.contains("\"type\":\"error\"") {
            answered += 1;
            let _ = window_rx.recv().await;
        } else if msg.contains("QUERY_TOO_COMPLEX") {
            refused_for_aliases += 1;
        } else {
            other += 1;
        }
    }
    let took = started.elapsed().as_secs_f64();
    let _ = sender.await;
    let stats = load.await.map_err(|e| e.to_string())?;
    let peak = sampler.peak_mb().await;
    row(
        &format!(
            "{documents} × {} B `subscribe` on one socket, {} in flight",
            message.len(),
            args.window
        ),
        rest,
        peak,
        &stats,
        &format!(
            "{answered} answered in {took:.2} s ({:.1} ms each; {refused_for_aliases} \
             `QUERY_TOO_COMPLEX`, {other} other)",
            took * 1000.0 / answered.max(1) as f64
        ),
    );
    drop(server);

    // Phase 3: 8 MB documents, one socket after another.
    let (server, rest, _) = fresh_server(db).await?;
    let (addr, pid) = (server.addr, server.child.id());
    let sampler = RssSampler::start(pid);
    let load = tokio::spawn(typename_load(addr, 4.0));
    let huge = big_subscribe_of(0, 8 << 20);
    let mut endings = Vec::new();
    let started = Instant::now();
    for _ in 0..3 {
        let mut ws = ws_connect(addr).await?;
        ws_init(&mut ws).await?;
        let _ = ws.send(Message::Text(huge.clone().into())).await;
        let ending = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        break format!("closed {}", frame.map_or(0, |f| u16::from(f.code)))
                    }
                    Some(Ok(Message::Text(t))) if t.contains("QUERY_TOO_COMPLEX") => {
                        break "QUERY_TOO_COMPLEX".to_owned()
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break format!("dropped ({e})"),
                    None => break "dropped".to_owned(),
                }
            }
        })
        .await
        .unwrap_or_else(|_| "no answer in 60 s".to_owned());
        endings.push(ending);
    }
    let took = started.elapsed().as_secs_f64();
    let stats = load.await.map_err(|e| e.to_string())?;
    let peak = sampler.peak_mb().await;
    row(
        &format!("3 × {} B `subscribe`, one socket after another", huge.len()),
        rest,
        peak,
        &stats,
        &format!("answers: {} (all in {took:.2} s)", endings.join(", ")),
    );
    drop(server);
    Ok(())
}
