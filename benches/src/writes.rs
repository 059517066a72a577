//! `bench safe-writes`: what the safe writes cost, on a fresh database of one backend.
//!
//! - `createConversation` without a key, with a new `idempotencyKey` each time (the key's
//!   claim is one more insert and one more read in the creating transaction), and a retry whose
//!   key is already used (answered from the key: no write);
//! - `updateConversations` of 20 ids against 20 single `updateConversation` calls made one
//!   after another on one connection (what a client without the bulk mutation does), and one
//!   single update per request.
//!
//! Each connection updates ids of its own (no two connections wait for each other's row
//! locks), all live conversations of the seed.
//!
//!   cargo run --release -p bench -- safe-writes --backend sqlite|postgres|mysql

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use conversation_graphql::db::{self, entity};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::common::{create_input, Fresh};
use crate::load::{self, Req, Stats};
use crate::{seed, settings, Server};

#[derive(Args)]
pub struct WriteArgs {
    /// `sqlite`, `postgres` or `mysql`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Conversations to seed.
    #[arg(long, default_value_t = 20_000)]
    rows: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds measured per scenario and round.
    #[arg(long, default_value_t = 3)]
    duration: u64,
    /// Seconds of warm-up per scenario.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Times each scenario runs, the scenarios taking turns.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// The scenarios, in the order they take turns: name, what one measured unit is, and how
/// many conversations one unit writes.
const SCENARIOS: [(&str, &str, usize); 6] = [
    ("createConversation", "request", 1),
    (
        "createConversation, a new idempotencyKey each",
        "request",
        1,
    ),
    (
        "createConversation, a retry (key used: no write)",
        "request",
        1,
    ),
    ("updateConversation, 1 id", "request", 1),
    (
        "20 x updateConversation, one after another",
        "20 requests",
        BULK,
    ),
    ("updateConversations, 20 ids", "request", BULK),
];

/// Ids one connection updates (20 at a time, round and round).
const IDS_PER_CONNECTION: usize = 200;
const BULK: usize = 20;

const SHAPE: &str = "id name version tmUpdate";

fn create(c: usize, i: u64, key: Option<String>) -> Req {
    Req::graphql(
        &format!(
            "mutation($input: CreateConversationInput!, $key: String) {{ \
             createConversation(input: $input, idempotencyKey: $key) {{ {SHAPE} }} }}"
        ),
        json!({ "key": key, "input": create_input(
            seed::customer((c as u64 * 31 + i) % seed::CUSTOMERS),
            c,
            i,
            c as u64,
        ) }),
    )
}

fn update_one(id: Uuid, i: u64) -> Req {
    Req::graphql(
        &format!(
            "mutation($id: UUID!, $n: String!) {{ updateConversation(id: $id, input: {{ name: $n }}) {{ {SHAPE} }} }}"
        ),
        json!({ "id": id, "n": format!("single {i}") }),
    )
}

fn update_many(ids: &[Uuid], i: u64) -> Req {
    Req::graphql(
        &format!(
            "mutation($ids: [UUID!]!, $n: String!) {{ updateConversations(ids: $ids, input: {{ name: $n }}) {{ {SHAPE} }} }}"
        ),
        json!({ "ids": ids, "n": format!("bulk {i}") }),
    )
}

/// The `k`-th group of 20 ids of connection `c`.
fn group(ids: &[Uuid], c: usize, k: u64) -> &[Uuid] {
    let own = &ids[c * IDS_PER_CONNECTION..(c + 1) * IDS_PER_CONNECTION];
    let start = (k as usize * BULK) % IDS_PER_CONNECTION;
    &own[start..start + BULK]
}

/// Like `load::run`, but one measured unit is 20 single updates sent one after another on the
/// connection (each must succeed).
async fn twenty_singles(addr: SocketAddr, ids: Arc<Vec<Uuid>>, args: &WriteArgs) -> Stats {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for c in 0..args.concurrency {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut units: Vec<u32> = Vec::new();
            let mut errors = 0u64;
            let Some((mut stream, mut buf)) = load::open(addr).await else {
                return (units, 1);
            };
            let mut k = 0u64;
            while Instant::now() < until {
                let sent = Instant::now();
                let mut ok = true;
                for (j, id) in group(&ids, c, k).iter().enumerate() {
                    let req = update_one(*id, k * BULK as u64 + j as u64);
                    if stream.write_all(&req.bytes(&addr)).await.is_err() {
                        return (units, errors + 1);
                    }
                    match load::read_response(&mut stream, &mut buf).await {
                        Ok((200, body)) => ok &= !body.windows(9).any(|w| w == b"\"errors\":"),
                        _ => return (units, errors + 1),
                    }
                }
                k += 1;
                if sent >= measure_from {
                    load::record(&mut units, &mut errors, sent, ok);
                }
            }
            (units, errors)
        }));
    }
    load::stats(tasks, args.duration as f64).await
}

pub async fn run(args: WriteArgs) -> Result<(), String> {
    let fresh = Fresh::new(&args.backend).await?;
    let result = measure(&args, &fresh.url, fresh.schema.clone()).await;
    fresh.drop_now().await;
    result
}

async fn measure(args: &WriteArgs, url: &str, schema: Option<String>) -> Result<(), String> {
    let needed = args.concurrency * IDS_PER_CONNECTION;
    let ids: Vec<Uuid> = {
        let conn = db::connect(url, &settings(4, schema.clone()))
            .await
            .map_err(|e| e.to_string())?;
        db::migrate(&conn).await.map_err(|e| e.to_string())?;
        seed::ensure(&conn, args.rows).await?;
        let ids = entity::Entity::find()
            .select_only()
            .column(entity::Column::Id)
            .filter(entity::Column::TmDelete.is_null())
            .order_by_asc(entity::Column::Id)
            .limit(needed as u64)
            .into_tuple()
            .all(&conn)
            .await
            .map_err(|e| e.to_string())?;
        let _ = conn.close().await;
        ids
    };
    if ids.len() < needed {
        return Err(format!(
            "need {needed} live rows, have {}: raise --rows",
            ids.len()
        ));
    }
    let ids = Arc::new(ids);
    let pool = if url.starts_with("sqlite") { 4 } else { 16 };
    let server = Server::start("graphql", url, schema.as_deref(), pool).await?;
    let (c, warm, dur) = (
        args.concurrency,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.duration),
    );
    // Every scenario runs once per round, in turn, so that the load of a shared machine
    // falls on all of them alike; each figure is the median of the rounds.
    let mut runs: Vec<Vec<Stats>> = vec![Vec::new(); SCENARIOS.len()];
    for round in 0..args.rounds {
        for (k, (name, ..)) in SCENARIOS.iter().enumerate() {
            let s = ids.clone();
            let make = move |c: usize, i: u64| -> Req {
                match k {
                    0 => create(c, i, None),
                    1 => create(c, i, Some(format!("new-{round}-{c}-{i}"))),
                    // The same input and key on every request of a connection.
                    2 => create(c, 0, Some(format!("retry-{c}"))),
                    3 => update_one(group(&s, c, i / BULK as u64)[i as usize % BULK], i),
                    _ => update_many(group(&s, c, i), i),
                }
            };
            let stats = if k == 4 {
                twenty_singles(server.addr, ids.clone(), args).await
            } else {
                load::run(server.addr, c, warm, dur, make).await
            };
            println!(
                "  round {round}: {name:<48} {:>8.0}/s  p99 {:>7.2} ms  errors {}",
                stats.rps(),
                stats.p99_ms,
                stats.errors
            );
            runs[k].push(stats);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };

    let backend = match args.backend.as_str() {
        "postgres" => "PostgreSQL",
        "mysql" => "MariaDB",
        _ => "SQLite",
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut md = format!(
        "\n### Safe writes, {backend}, {} rows, {c} connections, {}s per scenario, median of {} rounds ({cores} cores, {})\n\n\
         | scenario | unit | units/s | conversations/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|---:|\n",
        args.rows,
        args.duration,
        args.rounds,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    for ((name, unit, per), stats) in SCENARIOS.iter().zip(&runs) {
        let rps = median(stats.iter().map(Stats::rps).collect());
        md.push_str(&format!(
            "| {name} | {unit} | {rps:.0} | {:.0} | {:.2} | {:.2} | {} |\n",
            rps * *per as f64,
            median(stats.iter().map(|s| s.p50_ms).collect()),
            median(stats.iter().map(|s| s.p99_ms).collect()),
            stats.iter().map(|s| s.errors).sum::<u64>()
        ));
    }
    println!("{md}");
    Ok(())
}
