//! Event log benchmarks, each on a fresh database of the chosen backend:
//!
//! - `subscriptions`: create-to-delivery latency across two replicas (creates through A, one
//!   at a time; a subscriber on B);
//! - `write-cost`: `createConversation` req/s of this build (with the event log) against a
//!   baseline build's `bench` binary (e.g. `main` before the log), alternating on the same
//!   database server in one run;
//! - `replay`: events per second replayed to one subscriber from a 100,000-event log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use conversation_graphql::db::{self, ConversationStore, OnExisting};
use conversation_graphql::domain::{Conversation, EventCursor, Record};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::common::{create_input, ws_connect, ws_init};
pub(crate) use crate::common::{Fresh, Ws};
use crate::load::{self, Req};
use crate::{seed, settings};

#[derive(Args, Clone)]
pub struct EventArgs {
    /// `postgres`, `mysql` or `sqlite`.
    #[arg(long, default_value = "postgres")]
    backend: String,
    /// Events to measure (`subscriptions`) or to replay (`replay`).
    #[arg(long)]
    events: Option<usize>,
    /// `write-cost`: the baseline's `bench` binary (built from the baseline's sources).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// `write-cost`: seconds per measured run (two runs each, alternating).
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// `write-cost`: concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// `subscriptions`: wait a random 0..N ms before each create (arrivals that are not in
    /// step with a polling replica's clock; 0: each create right after the last delivery).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// `write-cost`: measured runs of each build, alternating (the median counts).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

pub(crate) fn create_request(c: usize, i: u64) -> Req {
    Req::graphql(
        "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id tmCreate } }",
        json!({ "input": create_input(
            seed::customer((c as u64 * 7_919 + i * 104_729) % seed::CUSTOMERS),
            c,
            i,
            i % 10_000_000,
        ) }),
    )
}

/// A graphql-transport-ws subscription to `query` on `addr`, once the server feeds it.
pub(crate) async fn subscribe(
    addr: SocketAddr,
    query: &str,
    variables: serde_json::Value,
) -> Result<Ws, String> {
    let mut ws = ws_connect(addr).await?;
    ws_init(&mut ws).await?;
    let text = |v: serde_json::Value| Message::Text(v.to_string().into());
    let before = subscribers(addr).await;
    ws.send(text(json!({ "id": "1", "type": "subscribe",
        "payload": { "query": query, "variables": variables } })))
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribers(addr).await <= before {
        if Instant::now() > deadline {
            let got = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
            return Err(format!(
                "the subscription was not registered within 10 s (the socket said {got:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(ws)
}

/// The server's `graphql_event_subscribers` gauge.
async fn subscribers(addr: SocketAddr) -> u64 {
    let Ok((_, body)) = load::once(addr, &Req::get("/metrics".into())).await else {
        return 0;
    };
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| {
            l.strip_prefix("graphql_event_subscribers ")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The next `next` message's text.
pub(crate) async fn next_event(ws: &mut Ws, wait: Duration) -> Result<String, String> {
    loop {
        let msg = tokio::time::timeout(wait, ws.next())
            .await
            .map_err(|_| format!("no event within {wait:?}"))?
            .ok_or("socket closed")?
            .map_err(|e| e.to_string())?;
        if let Message::Text(t) = msg {
            if t.contains("\"next\"") {
                return Ok(t.to_string());
            }
            return Err(format!("unexpected message {t}"));
        }
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Create-to-delivery latency across two replicas.
pub async fn latency(args: EventArgs) -> Result<(), String> {
    let n = args.events.unwrap_or(1000);
    let fresh = Fresh::new(&args.backend).await?;
    let a = fresh.server(None).await?;
    let b = fresh.server(None).await?;
    let mut ws = subscribe(
        b.addr,
        "subscription { conversationEvents(kinds: [CREATED]) { cursor conversation { id } } }",
        json!({}),
    )
    .await?;
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        if args.jitter_ms > 0 {
            let r = u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().expect("8"));
            tokio::time::sleep(Duration::from_millis(r % args.jitter_ms)).await;
        }
        let req = create_request(0, i as u64);
        let sent = Instant::now();
        let (status, body) = load::once(a.addr, &req).await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("create answered {status}"));
        }
        let body = String::from_utf8_lossy(&body);
        let id = body
            .split("\"id\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or("no id")?
            .to_owned();
        let event = next_event(&mut ws, Duration::from_secs(5)).await?;
        if !event.contains(&id) {
            return Err(format!("event {i} is not the create's: {event}"));
        }
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "create-to-delivery across two replicas ({}, {n} events, default --event-poll-interval, \
         {} ms jitter): median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.backend,
        args.jitter_ms,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    drop((a, b));
    fresh.drop_now().await;
    Ok(())
}

/// `createConversation` req/s: the baseline build against this one, alternating.
pub async fn write_cost(args: EventArgs) -> Result<(), String> {
    let baseline_exe = args
        .baseline
        .clone()
        .ok_or("--baseline BENCH_BINARY is required")?;
    let (base_db, ours_db) = (
        Fresh::new(&args.backend).await?,
        Fresh::new(&args.backend).await?,
    );
    let baseline = base_db.server(Some(&baseline_exe)).await?;
    let ours = ours_db.server(None).await?;
    let (c, warm, dur) = (
        args.concurrency,
        Duration::from_secs(1),
        Duration::from_secs(args.duration),
    );
    let mut runs: Vec<(&str, f64, f64)> = Vec::new();
    for round in 0..args.rounds {
        for (name, addr) in [("baseline", baseline.addr), ("event log", ours.addr)] {
            let stats = load::run(addr, c, warm, dur, create_request).await;
            println!(
                "  round {round} {name:<10} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                stats.rps(),
                stats.p50_ms,
                stats.p99_ms,
                stats.errors
            );
            runs.push((name, stats.rps(), stats.p99_ms));
        }
    }
    let mean = |n: &str| {
        let mut rs: Vec<f64> = runs.iter().filter(|r| r.0 == n).map(|r| r.1).collect();
        rs.sort_by(f64::total_cmp);
        rs[rs.len() / 2]
    };
    // Every request counted was a create that succeeded: the rows are there.
    for (name, addr, db) in [
        ("baseline", baseline.addr, &base_db),
        ("event log", ours.addr, &ours_db),
    ] {
        let req = Req::graphql("{ conversations { totalCount } }", json!({}));
        let (_, body) = load::once(addr, &req).await.map_err(|e| e.to_string())?;
        println!("  {name}: {} ({})", String::from_utf8_lossy(&body), db.url);
    }
    let (b, o) = (mean("baseline"), mean("event log"));
    println!(
        "createConversation on {} ({c} connections, median of {} runs each): baseline {b:.0} \
         req/s, with the event log {o:.0} req/s = {:.0}% of the baseline",
        args.backend,
        args.rounds,
        o / b * 100.0
    );
    drop((baseline, ours));
    base_db.drop_now().await;
    ours_db.drop_now().await;
    Ok(())
}

/// A conversation of customer `i % 1000`, as the import would store it.
fn conversation(i: usize) -> Conversation {
    let record: Record = serde_json::from_value(json!({
        "id": Uuid::new_v4(), "customer_id": seed::customer(i as u64 % seed::CUSTOMERS),
        "account_id": "a1b2c3d4-e5f6-4890-abcd-ef1234567890",
        "name": format!("replay {i}"), "detail": "replayed", "type": "message",
        "dialog_id": "+14705550100", "tm_create": "2026-12-01T00:00:00Z",
        "self": { "type": "tel", "target": "+14705550100" },
        "peer": { "type": "tel", "target": "+14705550101" },
    }))
    .expect("a record");
    record.parse().expect("valid")
}

/// Events per second replayed to one subscriber from a log of `--events` (100,000).
pub async fn replay(args: EventArgs) -> Result<(), String> {
    let n = args.events.unwrap_or(100_000);
    let fresh = Fresh::new(&args.backend).await?;
    let server = fresh.server(None).await?;
    let conn = db::connect(&fresh.url, &settings(4, fresh.schema.clone()))
        .await
        .map_err(|e| e.to_string())?;
    let store = ConversationStore::new(conn.clone());
    let written = Instant::now();
    for start in (0..n).step_by(1000) {
        let rows: Vec<Conversation> = (start..n.min(start + 1000)).map(conversation).collect();
        store
            .import_batch(&rows, OnExisting::Skip, true)
            .await
            .map_err(|e| e.to_string())?;
    }
    let log = store.events();
    while log.has_pending().await.map_err(|e| e.to_string())? {
        log.sequence(None).await.map_err(|e| e.to_string())?;
    }
    let head = log.bounds().await.map_err(|e| e.to_string())?.head;
    println!(
        "wrote {n} events in {:.1} s; log head {head}",
        written.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut ws = subscribe(
        server.addr,
        "subscription($after: String) { conversationEvents(after: $after) { cursor kind at conversation { id name customerId } } }",
        json!({ "after": EventCursor(0).encode() }),
    )
    .await?;
    let mut got = 0;
    let mut last = String::new();
    while got < n {
        last = next_event(&mut ws, Duration::from_secs(30)).await?;
        got += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let want = EventCursor(head).encode();
    if !last.contains(&want) {
        return Err(format!("the last event is not the head's: {last}"));
    }
    println!(
        "replay ({}): {n} events to one subscriber in {secs:.2} s = {:.0} events/s",
        args.backend,
        n as f64 / secs
    );
    let _ = conn.close().await;
    drop(server);
    fresh.drop_now().await;
    Ok(())
}
