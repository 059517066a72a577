//! `bench read-replica`: list req/s with the queries reading a PostgreSQL hot standby
//! (`--database-read-url`) against the same queries reading the primary.
//!
//! It makes a primary and a standby for the run (`scripts/pg-standby.sh`: a cluster of its own
//! in a temporary directory, `fsync` off, removed at the end), seeds the primary, waits for the
//! standby to replay it, and starts two servers on the primary, one of them with the standby as
//! its read pool. Then, the two taking turns for `--rounds` rounds (medians reported):
//!
//! - the list queries alone;
//! - the list queries while `--writers` connections create conversations through the same
//!   server (the list req/s, the creates/s, and how long the standby took to replay a write:
//!   the lag a query right after a mutation may see);
//! - with the standby stopped: the list queries of the server whose read pool is then down
//!   (they read the primary), and of the other server.
//!
//! Both clusters run on this machine and share its cores, so the standby adds no capacity here:
//! the figures show what reading it costs or saves per query, not what a standby on a machine
//! of its own would add.
//!
//!   cargo run --release -p bench -- read-replica --rows 100000

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use conversation_graphql::db;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;

use crate::common::create_input;
use crate::load::{self, Req, Stats};
use crate::{seed, settings, Server, NODE};

#[derive(Args)]
pub struct ReplicaArgs {
    /// Conversations to seed.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Concurrent connections of the list load.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Connections creating conversations in the "with writes" scenarios.
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// Seconds measured per scenario and round.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Seconds of warm-up per scenario.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Times each scenario runs, the two servers taking turns.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Pool size of each server (its read pool has as many).
    #[arg(long, default_value_t = 16)]
    pool: u32,
}

/// The primary and standby of this run, removed when dropped.
struct Pair {
    dir: PathBuf,
    primary: String,
    standby: String,
}

fn script(args: &[&str]) -> Result<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-standby.sh");
    let out = Command::new("bash")
        .arg(path)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "pg-standby.sh {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Pair {
    fn up() -> Result<Pair, String> {
        let dir = std::env::temp_dir().join(format!("cg-bench-standby-{}", std::process::id()));
        let port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port().to_string())
                .map_err(|e| e.to_string())
        };
        let (p, s) = (port()?, port()?);
        let out = script(&["up", &dir.to_string_lossy(), &p, &s]);
        // Removed when dropped, made or half made.
        let mut pair = Pair {
            dir,
            primary: String::new(),
            standby: String::new(),
        };
        let out = out?;
        let url = |key: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::to_owned)
                .ok_or_else(|| format!("no {key}"))
        };
        pair.primary = url("TEST_PG_PRIMARY_URL=")?;
        pair.standby = url("TEST_PG_STANDBY_URL=")?;
        Ok(pair)
    }

    fn stop_standby(&self) -> Result<(), String> {
        script(&["stop-standby", &self.dir.to_string_lossy()]).map(drop)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = script(&["down", &self.dir.to_string_lossy()]);
    }
}

async fn text(db: &DatabaseConnection, sql: &str) -> Result<String, String> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no row")?
        .try_get_by_index::<String>(0)
        .map_err(|e| e.to_string())
}

/// How long the standby takes to replay what the primary has written by now.
async fn replay_lag(primary: &DatabaseConnection, standby: &DatabaseConnection) -> Duration {
    let started = Instant::now();
    let lsn = text(primary, "SELECT pg_current_wal_lsn()::text")
        .await
        .unwrap_or_default();
    let sql = format!("SELECT (pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn)::text");
    while text(standby, &sql).await.as_deref() != Ok("true") {
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    started.elapsed()
}

/// Samples [`replay_lag`] until `stop`; returns the samples in ms, sorted.
async fn sample_lag(primary: String, standby: String, stop: Arc<AtomicBool>) -> Vec<f64> {
    let (Ok(p), Ok(s)) = (
        db::connect(&primary, &settings(1, None)).await,
        db::connect(&standby, &settings(1, None)).await,
    ) else {
        return Vec::new();
    };
    let mut lags = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        lags.push(replay_lag(&p, &s).await.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lags.sort_by(f64::total_cmp);
    lags
}

fn create(c: usize, i: u64) -> Req {
    Req::graphql(
        "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }",
        json!({ "input": create_input(
            seed::customer((c as u64 * 31 + i) % seed::CUSTOMERS),
            c,
            i,
            c as u64,
        ) }),
    )
}

/// The list queries: a customer's newest 20, and the newest 20 of all.
/// Request `i` of connection `c`.
type MakeReq = Arc<dyn Fn(usize, u64) -> Req + Send + Sync>;

fn lists() -> Vec<(&'static str, MakeReq)> {
    let by_customer = format!("query($c: UUID!) {{ conversations(filter: {{ customerId: {{ eq: $c }} }}, first: 20) {{ nodes {{ {NODE} }} pageInfo {{ hasNextPage endCursor }} }} }}");
    let newest = format!("{{ conversations(first: 20) {{ edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage }} }} }}");
    vec![
        (
            "conversations(customerId eq, first 20)",
            Arc::new(move |c, i| {
                let n = (c as u64 * 7_919 + i * 104_729) % seed::CUSTOMERS;
                Req::graphql(&by_customer, json!({ "c": seed::customer(n) }))
            }),
        ),
        (
            "conversations(first 20), newest first",
            Arc::new(move |_, _| Req::graphql(&newest, json!({}))),
        ),
    ]
}

/// Measured figures of one scenario on one server, over the rounds.
#[derive(Default)]
struct Figures {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    errors: u64,
    writes: Vec<f64>,
    lag_p50: Vec<f64>,
    lag_max: Vec<f64>,
}

/// The figures of `scenario` read on `on`, made on first use.
fn slot<'t>(
    table: &'t mut Vec<(String, &'static str, Figures)>,
    scenario: &str,
    on: &'static str,
) -> &'t mut Figures {
    let i = match table.iter().position(|(s, o, _)| s == scenario && *o == on) {
        Some(i) => i,
        None => {
            table.push((scenario.to_owned(), on, Figures::default()));
            table.len() - 1
        }
    };
    &mut table[i].2
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

impl Figures {
    fn add(&mut self, s: &Stats) {
        self.rps.push(s.rps());
        self.p50.push(s.p50_ms);
        self.p99.push(s.p99_ms);
        self.errors += s.errors;
    }
}

pub async fn run(args: ReplicaArgs) -> Result<(), String> {
    let pair = Pair::up()?;
    println!(
        "bench read-replica: {} rows; primary {}, standby {}",
        args.rows, pair.primary, pair.standby
    );
    {
        let conn = db::connect(&pair.primary, &settings(4, None))
            .await
            .map_err(|e| e.to_string())?;
        db::migrate(&conn).await.map_err(|e| e.to_string())?;
        if let Some(rate) = seed::ensure(&conn, args.rows).await? {
            println!("seeded {} rows at {rate:.0} rows/s", args.rows);
        }
        let standby = db::connect(&pair.standby, &settings(1, None))
            .await
            .map_err(|e| e.to_string())?;
        let lag = replay_lag(&conn, &standby).await;
        println!("the standby replayed the seed {lag:.2?} after it was written");
        let _ = conn.close().await;
        let _ = standby.close().await;
    }
    let on_primary = Server::start("graphql", &pair.primary, None, args.pool).await?;
    let read = ["--read-url", pair.standby.as_str()];
    let on_standby =
        Server::start_exe(None, "graphql", &pair.primary, None, args.pool, &read).await?;
    let servers = [("primary", &on_primary), ("standby", &on_standby)];
    let (c, warm, dur) = (
        args.concurrency,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.duration),
    );
    let lists = lists();
    // (scenario, reads from) → figures, in the order first measured.
    let mut table: Vec<(String, &str, Figures)> = Vec::new();
    for round in 0..args.rounds {
        for (on, server) in taking_turns(&servers, round) {
            for (name, make) in &lists {
                let make = make.clone();
                let stats = load::run(server.addr, c, warm, dur, move |c, i| make(c, i)).await;
                println!(
                    "  round {round}: {name:<52} reads on {on:<8} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                    stats.rps(), stats.p50_ms, stats.p99_ms, stats.errors
                );
                slot(&mut table, name, on).add(&stats);
            }
            // With writes: the first list load, and writers on the same server.
            let make = lists[0].1.clone();
            let writers = tokio::spawn(load::run(server.addr, args.writers, warm, dur, create));
            let stop = Arc::new(AtomicBool::new(false));
            let (p, s) = (pair.primary.clone(), pair.standby.clone());
            let lag = tokio::spawn(sample_lag(p, s, stop.clone()));
            let stats = load::run(server.addr, c, warm, dur, move |c, i| make(c, i)).await;
            let writes = writers.await.map_err(|e| e.to_string())?;
            stop.store(true, Ordering::Relaxed);
            let lags = lag.await.map_err(|e| e.to_string())?;
            let (lag_p50, lag_max) = (
                lags.get(lags.len() / 2).copied().unwrap_or(0.0),
                lags.last().copied().unwrap_or(0.0),
            );
            let scenario = format!("{} + {} writers", lists[0].0, args.writers);
            println!(
                "  round {round}: {scenario:<52} reads on {on:<8} {:>7.0} req/s  p99 {:>6.2} ms  creates {:>5.0}/s  replay lag p50 {lag_p50:.1} ms max {lag_max:.1} ms",
                stats.rps(), stats.p99_ms, writes.rps()
            );
            let figures = slot(&mut table, &scenario, on);
            figures.add(&stats);
            figures.writes.push(writes.rps());
            figures.lag_p50.push(lag_p50);
            figures.lag_max.push(lag_max);
        }
    }
    // The standby stopped: the server whose read pool it was reads the primary; the other
    // reads it anyway. Taking turns, as above.
    pair.stop_standby()?;
    let stopped = format!("{} (standby stopped)", lists[0].0);
    for round in 0..args.rounds {
        for (on, server) in taking_turns(&servers, round) {
            let make = lists[0].1.clone();
            let stats = load::run(server.addr, c, warm, dur, move |c, i| make(c, i)).await;
            let label = match *on {
                "standby" => "primary (read pool down)",
                _ => "primary",
            };
            println!(
                "  round {round}: {stopped:<52} reads on {label:<8} {:>7.0} req/s  p99 {:>6.2} ms  errors {}",
                stats.rps(), stats.p99_ms, stats.errors
            );
            slot(&mut table, &stopped, label).add(&stats);
        }
    }

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut md = format!(
        "\n### Read replica: {} rows, {c} connections, {}s per scenario, median of {} rounds ({cores} cores, {})\n\n| scenario | reads on | req/s | p50 ms | p99 ms | errors | creates/s | replay lag p50 / max ms |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
        args.rows, args.duration, args.rounds, chrono::Utc::now().format("%Y-%m-%d")
    );
    for (scenario, on, f) in &table {
        let writes = if f.writes.is_empty() {
            "–".to_owned()
        } else {
            format!("{:.0}", median(&f.writes))
        };
        let lag = if *on == "standby" && !f.lag_p50.is_empty() {
            format!("{:.1} / {:.1}", median(&f.lag_p50), median(&f.lag_max))
        } else {
            "–".to_owned()
        };
        md.push_str(&format!(
            "| {scenario} | {on} | {:.0} | {:.2} | {:.2} | {} | {writes} | {lag} |\n",
            median(&f.rps),
            median(&f.p50),
            median(&f.p99),
            f.errors
        ));
    }
    println!("{md}");
    Ok(())
}

/// The servers in round `round`'s order: as given in even rounds, reversed in odd ones (so
/// neither is always measured first).
fn taking_turns<T>(servers: &[T], round: usize) -> Vec<&T> {
    let mut order: Vec<&T> = servers.iter().collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}
