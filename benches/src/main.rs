//! `bench`: seeds conversations, starts the real server and a raw axum + SeaORM baseline, each
//! in a child process of its own (so the server's RSS is its alone), drives both over real HTTP
//! and prints a table. The event log's benchmarks are in `events`.
//!
//!   cargo run --release -p bench -- --rows 1000000 --backend sqlite
//!   cargo run --release -p bench -- --rows 1000000 --backend postgres
//!   cargo run --release -p bench -- subscriptions --backend postgres --events 1000
//!   cargo run --release -p bench -- write-cost --backend postgres --baseline OTHER/bench
//!   cargo run --release -p bench -- replay --backend postgres --events 100000
//!   cargo run --release -p bench -- safe-writes --backend sqlite
//!   cargo run --release -p bench -- hardening
//!   cargo run --release -p bench -- bus --events 1000
//!   cargo run --release -p bench -- read-replica --rows 100000
//!   cargo run --release -p bench -- lean --backend postgres --rows 1000000

/// mimalloc: a faster allocator than glibc's for this many small, short-lived allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bus;
mod common;
mod events;
mod hardening;
mod lean;
mod load;
mod private_pg;
mod ratio;
mod raw;
mod replica;
mod seed;
mod writes;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use conversation_graphql::app::{self, AppOptions};
use conversation_graphql::db::{self, entity, ConversationStore, PoolSettings};
use conversation_graphql::domain::filter::{Field, Predicate};
use conversation_graphql::domain::page::{Order, PageQuery};
use load::Req;
use sea_orm::{EntityTrait, QuerySelect};
use serde_json::json;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "bench", about = "Benchmarks conversation-graphql")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// The load benchmark (the default).
    Run(RunArgs),
    /// Internal: the server side, started by `run` as a child process.
    Serve(ServeArgs),
    /// Create-to-delivery latency of events across two replicas.
    Subscriptions(events::EventArgs),
    /// `createConversation` req/s of this build against a baseline build, alternating.
    WriteCost(events::EventArgs),
    /// Events per second replayed to one subscriber from a 100,000-event log.
    Replay(events::EventArgs),
    /// What the safe writes cost: idempotency keys, bulk updates against single ones.
    SafeWrites(writes::WriteArgs),
    /// Memory and latency while WebSocket clients abuse the server (issue 17).
    Hardening(hardening::HardeningArgs),
    /// Events over NATS JetStream against the database path: create-to-delivery over three
    /// replicas, and the database queries spent on event delivery with 1 and 3 replicas.
    Bus(bus::BusArgs),
    /// List req/s with queries reading a PostgreSQL hot standby against the primary.
    ReadReplica(replica::ReplicaArgs),
    /// GraphQL against the leanest handler and the raw one, closed and open loop.
    Lean(ratio::LeanArgs),
}

#[derive(Args, Clone)]
struct Db {
    /// `sqlite` or `postgres` (ignored when --database-url is given).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Where the data lives; default: target/bench-<rows>.db, or the local PostgreSQL.
    #[arg(long)]
    database_url: Option<String>,
    /// PostgreSQL schema (default: bench_<rows>).
    #[arg(long)]
    schema: Option<String>,
    /// Pool size of the server and of the baseline (default: the server's, 4 on SQLite and
    /// 16 on PostgreSQL).
    #[arg(long)]
    pool: Option<u32>,
}

/// The database, its size and the load: what the read benchmarks take.
#[derive(Args, Clone)]
pub(crate) struct LoadArgs {
    #[command(flatten)]
    pub(crate) db: Db,
    /// Conversations to seed.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) rows: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Seconds measured per scenario (per run).
    #[arg(long, default_value_t = 5)]
    pub(crate) duration: u64,
    /// Seconds of warm-up per scenario (per closed-loop run).
    #[arg(long, default_value_t = 1)]
    pub(crate) warmup: u64,
}

#[derive(Args, Clone)]
struct RunArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Run only the scenarios whose name contains this text, e.g. `(a)`.
    #[arg(long)]
    only: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// `graphql` (the real app), `raw` (the baseline) or `lean` (the leanest baseline).
    #[arg(long)]
    what: String,
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    schema: Option<String>,
    #[arg(long, default_value_t = 16)]
    pool: u32,
    /// Deliver events through this NATS server (`--event-bus` of the server).
    #[arg(long)]
    event_bus: Option<String>,
    /// The stream for `--event-bus`.
    #[arg(long, default_value = "conversation_events")]
    event_bus_stream: String,
    /// A hot standby that the real app's queries read from (`--database-read-url`).
    #[arg(long)]
    read_url: Option<String>,
}

impl Db {
    fn url(&self, rows: u64) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| match self.backend.as_str() {
                "postgres" => "postgres://postgres@127.0.0.1:5432/test".into(),
                _ => format!("sqlite://target/bench-{rows}.db?mode=rwc"),
            })
    }

    fn schema(&self, url: &str, rows: u64) -> Option<String> {
        url.starts_with("postgres").then(|| {
            self.schema
                .clone()
                .unwrap_or_else(|| format!("bench_{rows}"))
        })
    }
}

fn settings(pool: u32, schema: Option<String>) -> PoolSettings {
    PoolSettings {
        max_connections: pool,
        schema,
        ..PoolSettings::default()
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Serve(args)) => serve(args).await,
        Some(Cmd::Subscriptions(args)) => events::latency(args).await,
        Some(Cmd::WriteCost(args)) => events::write_cost(args).await,
        Some(Cmd::Replay(args)) => events::replay(args).await,
        Some(Cmd::SafeWrites(args)) => writes::run(args).await,
        Some(Cmd::Hardening(args)) => hardening::run(args).await,
        Some(Cmd::Bus(args)) => bus::run(args).await,
        Some(Cmd::ReadReplica(args)) => replica::run(args).await,
        Some(Cmd::Lean(args)) => ratio::run(args).await,
        Some(Cmd::Run(args)) => run(args).await,
        None => run(cli.run).await,
    };
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

/// A child: the real app, or the baseline, on a loopback port. Each runs in a process of its
/// own, so the server's memory is measured alone.
async fn serve(args: ServeArgs) -> Result<(), String> {
    let started = Instant::now();
    let conn = db::connect(
        &args.database_url,
        &settings(args.pool, args.schema.clone()),
    )
    .await
    .map_err(|e| e.to_string())?;
    db::migrate(&conn).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    if args.what == "lean" {
        let router = lean::router(&conn);
        println!("READY {port} {}", started.elapsed().as_micros());
        return axum::serve(listener, router)
            .await
            .map_err(|e| e.to_string());
    }
    if args.what == "raw" {
        let router = raw::router(ConversationStore::new(conn));
        println!("READY {port} {}", started.elapsed().as_micros());
        return axum::serve(listener, router)
            .await
            .map_err(|e| e.to_string());
    }
    // The real app, served as the binary serves it (its connection limits included).
    let options = AppOptions {
        event_bus: args
            .event_bus
            .map(|url| conversation_graphql::events::nats::NatsSettings {
                url,
                stream: args.event_bus_stream,
                max_age: Duration::from_secs(3600),
            }),
        ..AppOptions::default()
    };
    let read = match &args.read_url {
        Some(url) => {
            let read_settings = PoolSettings {
                acquire_timeout: Duration::from_secs(1),
                ..settings(args.pool, args.schema.clone())
            };
            let retry = Duration::from_millis(500);
            let read = db::open_read_pool(url, &read_settings, retry)
                .await
                .map_err(|e| e.to_string())?;
            Some(read)
        }
        None => None,
    };
    let router = app::build_with_read_pool(conn, read, &options).0;
    println!("READY {port} {}", started.elapsed().as_micros());
    conversation_graphql::http::serve::serve(
        listener,
        router,
        options.connection,
        std::future::pending(),
    )
    .await;
    Ok(())
}

/// A child process running `serve`.
struct Server {
    child: Child,
    addr: SocketAddr,
    startup_in_process_ms: f64,
    startup_wall_ms: f64,
}

impl Server {
    async fn start(
        what: &str,
        url: &str,
        schema: Option<&str>,
        pool: u32,
    ) -> Result<Server, String> {
        Self::start_exe(None, what, url, schema, pool, &[]).await
    }

    /// As `start`, with another build's `bench` binary (`None`: this one) and more arguments
    /// for `serve` (`extra`, e.g. `--read-url URL`).
    async fn start_exe(
        exe: Option<&std::path::PathBuf>,
        what: &str,
        url: &str,
        schema: Option<&str>,
        pool: u32,
        extra: &[&str],
    ) -> Result<Server, String> {
        let exe = match exe {
            Some(exe) => exe.clone(),
            None => std::env::current_exe().map_err(|e| e.to_string())?,
        };
        let spawned = Instant::now();
        let mut cmd = Command::new(exe);
        cmd.args([
            "serve",
            "--what",
            what,
            "--database-url",
            url,
            "--pool",
            &pool.to_string(),
        ]);
        if let Some(schema) = schema {
            cmd.args(["--schema", schema]);
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.first() != Some(&"READY") || parts.len() < 3 {
            return Err(format!("the server did not start: {line:?}"));
        }
        let port = parts[1].parse::<u16>().map_err(|e| e.to_string())?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if what == "graphql" {
            while !matches!(
                load::once(addr, &Req::get("/health".into())).await,
                Ok((200, _))
            ) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        Ok(Server {
            child,
            addr,
            startup_in_process_ms: parts[2].parse::<f64>().unwrap_or(0.0) / 1000.0,
            startup_wall_ms: spawned.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Peak and current resident memory of the server process, in MB.
    fn rss_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (kb("VmHWM:"), kb("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NODE: &str = "id customerId ownerId name type dialogId self { type target targetName name detail } peer { type target targetName name detail } tmCreate tmUpdate";

/// Data the scenarios pick from.
struct Sample {
    ids: Vec<Uuid>,
    peers: Vec<String>,
    page_500_cursor: String,
}

async fn sample(url: &str, schema: Option<String>) -> Result<Sample, String> {
    let conn = db::connect(url, &settings(4, schema))
        .await
        .map_err(|e| e.to_string())?;
    let ids: Vec<Uuid> = entity::Entity::find()
        .select_only()
        .column(entity::Column::Id)
        .limit(5_000)
        .into_tuple()
        .all(&conn)
        .await
        .map_err(|e| e.to_string())?;
    let peers: Vec<String> = (0..5_000u64).map(|i| seed::peer_number(i * 197)).collect();
    // The cursor after row 9,980 of the default order: page 500 of 20.
    let store = ConversationStore::new(conn.clone());
    let query = PageQuery {
        filter: Predicate::IsNull(Field::TmDelete, true),
        order: Order::NEWEST_FIRST,
        after: None,
        before: None,
        limit: 9_980,
        from_end: false,
    };
    let page = store
        .page(&query, &Predicate::All)
        .await
        .map_err(|e| e.to_string())?;
    let (last, _) = page.rows.last().ok_or("not enough rows for page 500")?;
    let page_500_cursor = last.encode(Order::NEWEST_FIRST);
    let _ = conn.close().await;
    Ok(Sample {
        ids,
        peers,
        page_500_cursor,
    })
}

struct Row {
    name: String,
    stats: load::Stats,
}

/// The database of a run, migrated and seeded: its URL, PostgreSQL schema, and the pool size
/// the server and the baselines use.
struct Prepared {
    url: String,
    schema: Option<String>,
    pool: u32,
}

async fn prepare(db: &Db, rows: u64) -> Result<Prepared, String> {
    let url = db.url(rows);
    let schema = db.schema(&url, rows);
    println!(
        "bench: {rows} rows on {url}{}",
        schema
            .as_ref()
            .map(|s| format!(" (schema {s})"))
            .unwrap_or_default()
    );
    if let Some(schema) = &schema {
        let admin = db::connect(&url, &settings(1, None))
            .await
            .map_err(|e| e.to_string())?;
        use sea_orm::ConnectionTrait;
        admin
            .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(|e| e.to_string())?;
        let _ = admin.close().await;
    }
    {
        let conn = db::connect(&url, &settings(4, schema.clone()))
            .await
            .map_err(|e| e.to_string())?;
        db::migrate(&conn).await.map_err(|e| e.to_string())?;
        match seed::ensure(&conn, rows).await? {
            Some(rate) => println!("seeded {rows} rows at {rate:.0} rows/s"),
            None => println!("reusing the {rows} seeded rows"),
        }
        let _ = conn.close().await;
    }
    let pool = db
        .pool
        .unwrap_or(if url.starts_with("sqlite") { 4 } else { 16 });
    Ok(Prepared { url, schema, pool })
}

async fn run(args: RunArgs) -> Result<(), String> {
    let Prepared { url, schema, pool } = prepare(&args.load.db, args.load.rows).await?;
    let sample = std::sync::Arc::new(sample(&url, schema.clone()).await?);
    let server = Server::start("graphql", &url, schema.as_deref(), pool).await?;
    let baseline = Server::start("raw", &url, schema.as_deref(), pool).await?;
    println!(
        "server ready in {:.1} ms in-process ({:.1} ms from spawn to first /health answer)",
        server.startup_in_process_ms, server.startup_wall_ms
    );
    let (c, warm, dur) = (
        args.load.concurrency,
        Duration::from_secs(args.load.warmup),
        Duration::from_secs(args.load.duration),
    );
    let mut rows: Vec<Row> = Vec::new();
    let only = args.only.clone();
    macro_rules! scenario {
        ($name:expr, $addr:expr, $make:expr) => {{
            if only.as_deref().is_none_or(|o| $name.contains(o)) {
                let stats = load::run($addr, c, warm, dur, $make).await;
                println!(
                    "  {:<44} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                    $name,
                    stats.rps(),
                    stats.p50_ms,
                    stats.p99_ms,
                    stats.errors
                );
                rows.push(Row {
                    name: $name.to_string(),
                    stats,
                });
            }
        }};
    }
    let pick = |c: usize, i: u64, n: usize| ((c as u64 * 7_919 + i * 104_729) % n as u64) as usize;

    let s = sample.clone();
    let q_a = format!("query($id: UUID!) {{ conversation(id: $id) {{ {NODE} }} }}");
    scenario!("(a) conversation(id)", server.addr, move |c, i| {
        Req::graphql(&q_a, json!({ "id": s.ids[pick(c, i, s.ids.len())] }))
    });
    let s = sample.clone();
    scenario!("(a) raw handler", baseline.addr, move |c, i| Req::get(
        format!("/raw/conversation/{}", s.ids[pick(c, i, s.ids.len())])
    ));

    let q_b = format!("query($c: UUID!) {{ conversations(filter: {{ customerId: {{ eq: $c }} }}, first: 20) {{ nodes {{ {NODE} }} pageInfo {{ hasNextPage endCursor }} }} }}");
    let q_b2 = q_b.clone();
    scenario!(
        "(b) conversations(customerId eq, first 20)",
        server.addr,
        move |c, i| Req::graphql(
            &q_b2,
            json!({ "c": seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64) })
        )
    );
    scenario!("(b) raw handler", baseline.addr, move |c, i| Req::get(
        format!(
            "/raw/conversations?customer_id={}&first=20",
            seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64)
        )
    ));

    let q_c = format!("query($after: String) {{ conversations(first: 20, after: $after) {{ edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage }} }} }}");
    let q_c1 = q_c.clone();
    scenario!("(c) page 1 (newest first)", server.addr, move |_, _| {
        Req::graphql(&q_c1, json!({}))
    });
    let s = sample.clone();
    scenario!("(c) page 500 by cursor", server.addr, move |_, _| {
        Req::graphql(&q_c, json!({ "after": s.page_500_cursor }))
    });

    let s = sample.clone();
    let q_d = format!("query($t: String!) {{ conversations(filter: {{ peer: {{ target: {{ eq: $t }} }} }}, first: 20) {{ nodes {{ {NODE} }} }} }}");
    scenario!("(d) filter peer.target eq", server.addr, move |c, i| {
        Req::graphql(&q_d, json!({ "t": s.peers[pick(c, i, s.peers.len())] }))
    });

    let q_e = format!("query($w: String!) {{ conversations(filter: {{ name: {{ contains: $w }} }}, first: 20) {{ nodes {{ {NODE} }} }} }}");
    scenario!("(e) filter name contains", server.addr, move |c, i| {
        Req::graphql(
            &q_e,
            json!({ "w": seed::WORDS[pick(c, i, seed::WORDS.len())].to_lowercase() }),
        )
    });

    // Dashboard reads, compared with (d) on the same run; before (f), whose new rows would
    // otherwise be the newest of all and none of them a match for (j).
    let q_h = "query($c: UUID!) { conversationCounts(filter: { customerId: { eq: $c } }, groupBy: [TYPE, OWNER_ID]) { total truncated groups { count type ownerId } } }".to_string();
    scenario!(
        "(h) conversationCounts(customerId eq, groupBy [TYPE, OWNER_ID])",
        server.addr,
        move |c, i| Req::graphql(
            &q_h,
            json!({ "c": seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64) })
        )
    );
    let q_search = format!(
        "query($s: String!) {{ conversations(search: $s, first: 20) {{ nodes {{ {NODE} }} }} }}"
    );
    let s = sample.clone();
    let q_i = q_search.clone();
    scenario!(
        "(i) search: 7-digit phone fragment",
        server.addr,
        move |c, i| {
            // The last 7 digits of a seeded peer number, typed as a local number: `329-8699`.
            let number = &s.peers[pick(c, i, s.peers.len())];
            let digits = &number[number.len() - 7..];
            Req::graphql(
                &q_i,
                json!({ "s": format!("{}-{}", &digits[..3], &digits[3..]) }),
            )
        }
    );
    scenario!(
        "(j) search: a word of the name",
        server.addr,
        move |c, i| {
            Req::graphql(
                &q_search,
                json!({ "s": seed::WORDS[pick(c, i, seed::WORDS.len())].to_lowercase() }),
            )
        }
    );

    let q_f = "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id tmCreate } }".to_string();
    scenario!("(f) createConversation", server.addr, move |c, i| {
        Req::graphql(
            &q_f,
            json!({ "input": common::create_input(
                seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64),
                c,
                i,
                i % 10_000_000,
            ) }),
        )
    });

    let q_g = format!("query($c: UUID!) {{ conversations(filter: {{ customerId: {{ eq: $c }} }}, first: 20) {{ totalCount nodes {{ {NODE} }} }} }}");
    scenario!("(g) (b) with totalCount", server.addr, move |c, i| {
        Req::graphql(
            &q_g,
            json!({ "c": seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64) }),
        )
    });
    let s = sample.clone();
    let q_g2 = format!("query($id: UUID!) {{ conversation(id: $id) {{ {NODE} }} all: conversations(first: 1) {{ totalCount }} }}");
    scenario!(
        "(g) (a) with totalCount of all rows",
        server.addr,
        move |c, i| Req::graphql(&q_g2, json!({ "id": s.ids[pick(c, i, s.ids.len())] }))
    );

    let (peak, now) = server.rss_mb();
    let find = |n: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(n))
            .map(|r| r.stats.rps())
            .unwrap_or(0.0)
    };
    let ratio_a = find("(a) conversation") / find("(a) raw");
    let ratio_b = find("(b) conversations") / find("(b) raw");
    let page_ratio = find("(c) page 1") / find("(c) page 500");
    let exact = find("(d) filter");
    let dashboard = format!(
        "Against (d) peer.target eq: (h) counts {:.0}%, (i) phone search {:.0}%, (j) word search {:.0}%.",
        find("(h)") / exact * 100.0,
        find("(i)") / exact * 100.0,
        find("(j)") / exact * 100.0
    );
    println!("{dashboard}");
    println!("GraphQL/raw: (a) {:.0}%  (b) {:.0}%   page 500 costs {:.2}x page 1   server RSS peak {peak:.1} MB (now {now:.1} MB)", ratio_a * 100.0, ratio_b * 100.0, page_ratio);

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else if url.starts_with("mysql") {
        "MySQL"
    } else {
        "SQLite"
    };
    let mut md = format!(
        "\n### {backend}, {} rows, {c} connections, {}s per scenario ({} cores, {})\n\n| scenario | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|\n",
        args.load.rows, args.load.duration, cores, chrono::Utc::now().format("%Y-%m-%d")
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |\n",
            r.name,
            r.stats.rps(),
            r.stats.p50_ms,
            r.stats.p99_ms,
            r.stats.errors
        ));
    }
    md.push_str(&format!(
        "\nGraphQL/raw req/s: (a) {:.0}%, (b) {:.0}%. Page 500 by cursor costs {:.2}x page 1. Server peak RSS {peak:.1} MB. Start-up on the seeded database: {:.1} ms in-process, {:.1} ms from spawn to the first answer.\n",
        ratio_a * 100.0, ratio_b * 100.0, page_ratio, server.startup_in_process_ms, server.startup_wall_ms
    ));
    md.push_str(&format!("{dashboard}\n"));
    println!("{md}");
    Ok(())
}
