//! `bus`: events over NATS JetStream (`--event-bus`) against the database path, each
//! configuration on a fresh database:
//!
//! - **latency**: create-to-delivery over three replicas, `--events` creates one after
//!   another (through the replicas in turn), a subscriber on each replica; per subscriber and
//!   until all three have it;
//! - **queries** (PostgreSQL): the database statements spent on event delivery per second, with
//!   1 and with 3 replicas, idle and under `--rate` creates/s, counted by `pg_stat_statements`
//!   on a PostgreSQL cluster of the bench's own (a temporary directory, a free port; the
//!   machine's cluster is not touched), by kind: reading the log (tailers, or the relay),
//!   sweeps for unnumbered events, the relay lease, numbering (sequencing, the same with and
//!   without the bus), pruning.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use conversation_graphql::db;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::events::{create_request, next_event, percentile, subscribe, Fresh};
use crate::load::{self, Req};
use crate::private_pg::PrivatePg;
use crate::{settings, Server};

#[derive(Args, Clone)]
pub struct BusArgs {
    /// `postgres` (a private cluster: latency and query counts), `mysql` or `sqlite` (the
    /// machine's server or a file: latency only).
    #[arg(long, default_value = "postgres")]
    backend: String,
    /// Events of the latency run.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// The NATS server (JetStream on).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Seconds of each query-count phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Creates per second in the loaded query-count phase.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Only `latency` or only `queries`.
    #[arg(long)]
    only: Option<String>,
}

/// Where a configuration's servers store: a URL, and a PostgreSQL schema if any.
struct Place {
    url: String,
    schema: Option<String>,
}

/// `n` server processes on `place`, with the bus when `stream` is given.
async fn servers(
    place: &Place,
    n: usize,
    nats: &str,
    stream: Option<&str>,
) -> Result<Vec<Server>, String> {
    let extra: Vec<&str> = match stream {
        Some(stream) => vec!["--event-bus", nats, "--event-bus-stream", stream],
        None => Vec::new(),
    };
    let pool = if place.url.starts_with("sqlite") {
        4
    } else {
        16
    };
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(
            Server::start_exe(
                None,
                "graphql",
                &place.url,
                place.schema.as_deref(),
                pool,
                &extra,
            )
            .await?,
        );
    }
    if stream.is_some() {
        let deadline = Instant::now() + Duration::from_secs(30);
        for s in &all {
            while !ready_says(s.addr, "\"eventBus\":\"up\"").await {
                if Instant::now() > deadline {
                    return Err("the event bus did not come up".into());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(all)
}

async fn ready_says(addr: SocketAddr, text: &str) -> bool {
    match load::once(addr, &Req::get("/ready".into())).await {
        Ok((_, body)) => String::from_utf8_lossy(&body).contains(text),
        Err(_) => false,
    }
}

async fn delete_stream(nats: &str, stream: &str) {
    if let Ok(client) = async_nats::connect(nats).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await;
    }
}

/// Create-to-delivery over three replicas: (per subscriber, until all three), in ms.
async fn latency(
    place: &Place,
    nats: &str,
    stream: Option<&str>,
    n: usize,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let servers = servers(place, 3, nats, stream).await?;
    let mut sockets = Vec::new();
    for s in &servers {
        sockets.push(
            subscribe(
                s.addr,
                "subscription { conversationEvents(kinds: [CREATED]) { cursor conversation { id } } }",
                json!({}),
            )
            .await?,
        );
    }
    let (mut each, mut all) = (Vec::with_capacity(3 * n), Vec::with_capacity(n));
    for i in 0..n {
        let req = create_request(0, i as u64);
        let sent = Instant::now();
        let (status, body) = load::once(servers[i % 3].addr, &req)
            .await
            .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("create answered {status}"));
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let id = body
            .split("\"id\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or("no id")?;
        let got = join_all(sockets.iter_mut().map(|ws| async {
            let event = next_event(ws, Duration::from_secs(10)).await?;
            Ok::<_, String>((event, sent.elapsed().as_secs_f64() * 1000.0))
        }))
        .await;
        let mut slowest: f64 = 0.0;
        for r in got {
            let (event, ms) = r?;
            if !event.contains(id) {
                return Err(format!("event {i} is not the create's: {event}"));
            }
            each.push(ms);
            slowest = slowest.max(ms);
        }
        all.push(slowest);
    }
    each.sort_by(f64::total_cmp);
    all.sort_by(f64::total_cmp);
    Ok((each, all))
}

/// What kind of event work a statement is, or `None` for the rest (the writes themselves,
/// `BEGIN`/`COMMIT`, the API's reads).
fn kind(query: &str) -> Option<&'static str> {
    let q = query.to_lowercase().replace(['"', '`'], "");
    if q.contains("conversation_event_relay") {
        return Some("lease");
    }
    if !(q.contains("conversation_event") || q.contains("pg_notify")) || q.starts_with("insert") {
        return None;
    }
    if q.starts_with("delete") || q.contains("position is not null") {
        return Some("pruning");
    }
    if q.contains("for update")
        || q.starts_with("update")
        || q.contains("pg_notify")
        || q.contains("order by id")
    {
        return Some("numbering");
    }
    if q.contains("position is null") {
        return Some("sweeps");
    }
    Some("log reads")
}

/// Statement calls by kind since the last reset, in `url`'s database.
async fn counts(url: &str, reset: bool) -> Result<BTreeMap<&'static str, i64>, String> {
    let conn = db::connect(url, &settings(1, None))
        .await
        .map_err(|e| e.to_string())?;
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT query, calls FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ))
        .await
        .map_err(|e| e.to_string())?;
    let mut by_kind = BTreeMap::new();
    for row in rows {
        let query: String = row.try_get_by_index(0).map_err(|e| e.to_string())?;
        let calls: i64 = row.try_get_by_index(1).map_err(|e| e.to_string())?;
        if let Some(k) = kind(&query) {
            *by_kind.entry(k).or_insert(0) += calls;
        }
    }
    if reset {
        conn.execute_unprepared("SELECT pg_stat_statements_reset()")
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = conn.close().await;
    Ok(by_kind)
}

const KINDS: [&str; 5] = ["log reads", "sweeps", "lease", "numbering", "pruning"];

fn row(label: &str, c: &BTreeMap<&'static str, i64>, secs: f64) -> String {
    let per = |k: &str| *c.get(k).unwrap_or(&0) as f64 / secs;
    let delivery = per("log reads") + per("sweeps") + per("lease");
    let cells: Vec<String> = KINDS.iter().map(|k| format!("{:.1}", per(k))).collect();
    format!("| {label} | {} | {delivery:.1} |", cells.join(" | "))
}

/// Statements per second, idle and under load, with `replicas` servers.
async fn queries(
    pg: &PrivatePg,
    args: &BusArgs,
    replicas: usize,
    bus: bool,
) -> Result<(String, String), String> {
    let url = pg.fresh().await?;
    let place = Place {
        url: url.clone(),
        schema: None,
    };
    let stream = format!("bench_{}", Uuid::new_v4().simple());
    let servers = servers(&place, replicas, &args.nats, bus.then_some(stream.as_str())).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    counts(&url, true).await?;
    let since = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let idle = counts(&url, true).await?;
    let idle_secs = since.elapsed().as_secs_f64();
    let since = Instant::now();
    let every = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut tick = tokio::time::interval(every);
    let mut tasks = Vec::new();
    for i in 0..args.rate * args.seconds {
        tick.tick().await;
        let addr = servers[i as usize % replicas].addr;
        tasks.push(tokio::spawn(async move {
            load::once(addr, &create_request(1, i))
                .await
                .map(|(s, _)| s)
        }));
    }
    for t in tasks {
        let status = t
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("create answered {status}"));
        }
    }
    let load = counts(&url, false).await?;
    let load_secs = since.elapsed().as_secs_f64();
    drop(servers);
    if bus {
        delete_stream(&args.nats, &stream).await;
    }
    let label = format!(
        "{} replica{}, {}",
        replicas,
        if replicas == 1 { "" } else { "s" },
        if bus { "bus" } else { "NOTIFY" }
    );
    Ok((
        row(&format!("{label}, idle"), &idle, idle_secs),
        row(
            &format!("{label}, {} creates/s", args.rate),
            &load,
            load_secs,
        ),
    ))
}

pub async fn run(args: BusArgs) -> Result<(), String> {
    let pg = if args.backend == "postgres" {
        Some(PrivatePg::start()?)
    } else {
        None
    };
    if args.only.as_deref() != Some("queries") {
        println!(
            "| {} | p50 each | p99 each | p50 all three | p99 all three | max |\n|---|---|---|---|---|---|",
            args.backend
        );
        for bus in [false, true] {
            let (place, fresh) = match &pg {
                Some(pg) => (
                    Place {
                        url: pg.fresh().await?,
                        schema: None,
                    },
                    None,
                ),
                None => {
                    let fresh = Fresh::new(&args.backend).await?;
                    let place = Place {
                        url: fresh.url.clone(),
                        schema: fresh.schema.clone(),
                    };
                    (place, Some(fresh))
                }
            };
            let stream = format!("bench_{}", Uuid::new_v4().simple());
            let (each, all) = latency(
                &place,
                &args.nats,
                bus.then_some(stream.as_str()),
                args.events,
            )
            .await?;
            if bus {
                delete_stream(&args.nats, &stream).await;
            }
            if let Some(fresh) = fresh {
                fresh.drop_now().await;
            }
            println!(
                "| 3 replicas, {} ({} events) | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                if bus { "NATS bus" } else { "database path" },
                args.events,
                percentile(&each, 0.5),
                percentile(&each, 0.99),
                percentile(&all, 0.5),
                percentile(&all, 0.99),
                all[all.len() - 1]
            );
        }
    }
    if let (Some(pg), true) = (&pg, args.only.as_deref() != Some("latency")) {
        println!(
            "\nstatements per second ({} s per phase)\n\n| configuration | {} | delivery (reads + sweeps + lease) |\n|---|---|---|---|---|---|---|",
            args.seconds,
            KINDS.join(" | ")
        );
        for replicas in [1, 3] {
            for bus in [false, true] {
                let (idle, load) = queries(pg, &args, replicas, bus).await?;
                println!("{idle}\n{load}");
            }
        }
    }
    Ok(())
}
