//! `bench lean`: the GraphQL path against the leanest handler for the same answer
//! ([`super::lean`]) and against the raw axum + SeaORM baseline ([`super::raw`]), for
//! `conversation(id)` and for one customer's newest 20 (with `cursor` and `pageInfo`).
//!
//! 1. The GraphQL answers are checked to equal the lean handler's, byte for byte.
//! 2. Closed loop (this crate's generator, 32 connections): `--rounds` rounds, each running
//!    every (query, handler) pair in turn so that drift on a shared machine hits all alike;
//!    each cell is the median of the rounds.
//! 3. With `oha` (`cargo install oha`): the same pairs closed-loop (another generator), then
//!    open-loop at a fixed offered rate (`--open-share` of the lean handler's closed-loop
//!    req/s, with latency correction: queueing shows in p99 instead of slowing the sender).
//!
//!   cargo run --release -p bench -- lean --backend postgres --rows 1000000

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use uuid::Uuid;

use super::lean;
use super::load::{self, Req, Stats};
use super::{prepare, sample, seed, LoadArgs, Server};

#[derive(Args, Clone)]
pub struct LeanArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Closed-loop rounds; each cell is the median.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Rounds run first and not counted: the first reads of a cold database (SQLite's pages
    /// not yet in the page cache) are slower by an order of magnitude.
    #[arg(long, default_value_t = 1)]
    warm_rounds: usize,
    /// The `oha` binary (default: `oha` on PATH or in ~/.cargo/bin); `none`: no oha runs.
    #[arg(long)]
    oha: Option<String>,
    /// Open-loop offered rate, as a share of the lean handler's closed-loop req/s.
    #[arg(long, default_value_t = 0.8)]
    open_share: f64,
    /// Only this query: `one` or `list`.
    #[arg(long)]
    only: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Query {
    One,
    List,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Handler {
    Graphql,
    Lean,
    Raw,
}

const HANDLERS: [Handler; 3] = [Handler::Graphql, Handler::Lean, Handler::Raw];

impl Query {
    fn name(self) -> &'static str {
        match self {
            Query::One => "conversation(id)",
            Query::List => "customer's newest 20",
        }
    }
}

impl Handler {
    fn name(self) -> &'static str {
        match self {
            Handler::Graphql => "GraphQL",
            Handler::Lean => "leanest handler",
            Handler::Raw => "raw handler (old baseline)",
        }
    }
}

/// What the requests pick from.
pub(super) struct Picks {
    ids: Vec<Uuid>,
}

fn pick(c: usize, i: u64, n: usize) -> usize {
    ((c as u64 * 7_919 + i * 104_729) % n as u64) as usize
}

/// Request `i` of connection `c`.
pub(super) fn request(q: Query, h: Handler, picks: &Picks, c: usize, i: u64) -> Req {
    match q {
        Query::One => {
            let id = picks.ids[pick(c, i, picks.ids.len())];
            match h {
                Handler::Graphql => Req::graphql(&lean::one_document(), json!({ "id": id })),
                Handler::Lean => Req::get(format!("/lean/conversation/{id}")),
                Handler::Raw => Req::get(format!("/raw/conversation/{id}")),
            }
        }
        Query::List => {
            let customer = seed::customer(pick(c, i, seed::CUSTOMERS as usize) as u64);
            match h {
                Handler::Graphql => Req::graphql(&lean::list_document(), json!({ "c": customer })),
                Handler::Lean => Req::get(format!(
                    "/lean/conversations?customer_id={customer}&first=20"
                )),
                Handler::Raw => Req::get(format!(
                    "/raw/conversations?customer_id={customer}&first=20"
                )),
            }
        }
    }
}

/// One cell of the table.
#[derive(Clone, Default)]
pub(super) struct Cell {
    pub(super) rps: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) errors: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_cell(runs: &[Stats]) -> Cell {
    Cell {
        rps: median(runs.iter().map(Stats::rps).collect()),
        p50: median(runs.iter().map(|s| s.p50_ms).collect()),
        p99: median(runs.iter().map(|s| s.p99_ms).collect()),
        errors: runs.iter().map(|s| s.errors).sum(),
    }
}

/// The GraphQL answers must be the lean handler's, byte for byte.
async fn check_same(servers: &[(Handler, &Server)], picks: &Picks) -> Result<(), String> {
    let addr = |h: Handler| servers.iter().find(|(x, _)| *x == h).map(|(_, s)| s.addr);
    let (Some(g), Some(l)) = (addr(Handler::Graphql), addr(Handler::Lean)) else {
        return Ok(());
    };
    for q in [Query::One, Query::List] {
        for i in 0..50 {
            let (sg, bg) = load::once(g, &request(q, Handler::Graphql, picks, 1, i))
                .await
                .map_err(|e| e.to_string())?;
            let (sl, bl) = load::once(l, &request(q, Handler::Lean, picks, 1, i))
                .await
                .map_err(|e| e.to_string())?;
            if sg != 200 || sl != 200 || bg != bl {
                return Err(format!(
                    "{}: the answers differ\n  GraphQL ({sg}): {}\n  lean ({sl}): {}",
                    q.name(),
                    String::from_utf8_lossy(&bg),
                    String::from_utf8_lossy(&bl)
                ));
            }
        }
    }
    println!("answers checked: GraphQL's equal the leanest handler's, byte for byte");
    Ok(())
}

pub async fn run(args: LeanArgs) -> Result<(), String> {
    let prepared = prepare(&args.load.db, args.load.rows).await?;
    let (url, schema, pool) = (&prepared.url, prepared.schema.clone(), prepared.pool);
    let ids = sample(url, schema.clone()).await?.ids;
    let picks = Arc::new(Picks { ids });
    let graphql = Server::start("graphql", url, schema.as_deref(), pool).await?;
    let lean_server = Server::start("lean", url, schema.as_deref(), pool).await?;
    let raw = Server::start("raw", url, schema.as_deref(), pool).await?;
    let servers = [
        (Handler::Graphql, &graphql),
        (Handler::Lean, &lean_server),
        (Handler::Raw, &raw),
    ];
    check_same(&servers, &picks).await?;
    let queries: Vec<Query> = [Query::One, Query::List]
        .into_iter()
        .filter(|q| match args.only.as_deref() {
            Some("one") => *q == Query::One,
            Some("list") => *q == Query::List,
            _ => true,
        })
        .collect();
    let (c, warm, dur) = (
        args.load.concurrency,
        Duration::from_secs(args.load.warmup),
        Duration::from_secs(args.load.duration),
    );
    let mut runs: Vec<(Query, Handler, Vec<Stats>)> = Vec::new();
    for round in 0..args.warm_rounds + args.rounds.max(1) {
        let counted = round >= args.warm_rounds;
        for &q in &queries {
            // Every other round runs the handlers in the opposite order, so that whatever the
            // run before leaves behind (a busy database, a cold cache) falls on each alike.
            let mut order = servers;
            if round % 2 == 1 {
                order.reverse();
            }
            for (h, server) in order {
                let p = picks.clone();
                let stats = load::run(server.addr, c, warm, dur, move |c, i| {
                    request(q, h, &p, c, i)
                })
                .await;
                println!(
                    "  {} {:<22} {:<27} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                    if counted {
                        format!("round {}", round + 1 - args.warm_rounds)
                    } else {
                        "warm-up".to_owned()
                    },
                    q.name(),
                    h.name(),
                    stats.rps(),
                    stats.p50_ms,
                    stats.p99_ms,
                    stats.errors
                );
                if !counted {
                    continue;
                }
                match runs.iter_mut().find(|(a, b, _)| *a == q && *b == h) {
                    Some((_, _, v)) => v.push(stats),
                    None => runs.push((q, h, vec![stats])),
                }
            }
        }
    }
    let closed = |q: Query, h: Handler| {
        runs.iter()
            .find(|(a, b, _)| *a == q && *b == h)
            .map(|(_, _, v)| median_cell(v))
            .unwrap_or_default()
    };

    let mut oha_closed: Vec<(Query, Handler, Cell)> = Vec::new();
    let mut oha_open: Vec<(Query, Handler, Cell, f64)> = Vec::new();
    let oha_bin = find_oha(&args.oha);
    match &oha_bin {
        None => println!("no oha: skipping the oha runs (cargo install oha)"),
        Some(bin) => {
            for &q in &queries {
                let rate = closed(q, Handler::Lean).rps * args.open_share;
                for (h, server) in servers {
                    let urls = url_file(q, h, &picks, &format!("http://{}", server.addr))?;
                    let cell = oha_run(bin, &urls, c, args.load.duration, None)?;
                    println!(
                        "  oha closed {:<22} {:<27} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                        q.name(), h.name(), cell.rps, cell.p50, cell.p99, cell.errors
                    );
                    oha_closed.push((q, h, cell));
                    let cell = oha_run(bin, &urls, c, args.load.duration, Some(rate))?;
                    println!(
                        "  oha open at {rate:.0}/s {:<22} {:<27} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                        q.name(), h.name(), cell.rps, cell.p50, cell.p99, cell.errors
                    );
                    oha_open.push((q, h, cell, rate));
                    let _ = std::fs::remove_file(urls);
                }
            }
        }
    }

    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut md = format!(
        "\n#### {backend}, {} rows, {c} connections, pool {pool}, {}s per run, closed loop median of {} rounds ({}; load average before the report: {})\n\n",
        args.load.rows,
        args.load.duration,
        args.rounds.max(1),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    md.push_str("| query | handler | closed req/s | p50 ms | p99 ms | oha closed req/s | p50 ms | p99 ms | oha open: offered → done req/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &q in &queries {
        for h in HANDLERS {
            let cl = closed(q, h);
            let oc = oha_closed
                .iter()
                .find(|(a, b, _)| *a == q && *b == h)
                .map(|(_, _, c)| c.clone());
            let oo = oha_open
                .iter()
                .find(|(a, b, _, _)| *a == q && *b == h)
                .map(|(_, _, c, r)| (c.clone(), *r));
            let errors = cl.errors
                + oc.as_ref().map_or(0, |c| c.errors)
                + oo.as_ref().map_or(0, |(c, _)| c.errors);
            let dash = "–".to_string();
            md.push_str(&format!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {errors} |\n",
                q.name(),
                h.name(),
                cl.rps,
                cl.p50,
                cl.p99,
                oc.as_ref()
                    .map_or(dash.clone(), |c| format!("{:.0}", c.rps)),
                oc.as_ref()
                    .map_or(dash.clone(), |c| format!("{:.2}", c.p50)),
                oc.as_ref()
                    .map_or(dash.clone(), |c| format!("{:.2}", c.p99)),
                oo.as_ref()
                    .map_or(dash.clone(), |(c, r)| format!("{r:.0} → {:.0}", c.rps)),
                oo.as_ref()
                    .map_or(dash.clone(), |(c, _)| format!("{:.2}", c.p50)),
                oo.as_ref()
                    .map_or(dash.clone(), |(c, _)| format!("{:.2}", c.p99)),
            ));
        }
    }
    md.push('\n');
    for &q in &queries {
        let g = closed(q, Handler::Graphql).rps;
        let of = |h: Handler| {
            oha_closed
                .iter()
                .find(|(a, b, _)| *a == q && *b == h)
                .map(|(_, _, c)| c.rps)
        };
        let oha_ratio = match (of(Handler::Graphql), of(Handler::Lean)) {
            (Some(g), Some(l)) if l > 0.0 => format!(", with oha {:.2}×", g / l),
            _ => String::new(),
        };
        md.push_str(&format!(
            "- {}: GraphQL / leanest **{:.2}×**{oha_ratio}; GraphQL / raw {:.2}×\n",
            q.name(),
            g / closed(q, Handler::Lean).rps,
            g / closed(q, Handler::Raw).rps,
        ));
    }
    println!("{md}");
    Ok(())
}

// --- oha: the same pairs under an established load generator ---------------------------

fn find_oha(arg: &Option<String>) -> Option<PathBuf> {
    match arg.as_deref() {
        Some("none") => return None,
        Some(path) => return Some(PathBuf::from(path)),
        None => {}
    }
    let on_path = Command::new("oha").arg("--version").output().is_ok();
    if on_path {
        return Some(PathBuf::from("oha"));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let cargo = home.join(".cargo/bin/oha");
    cargo.exists().then_some(cargo)
}

/// `text` percent-encoded for a URL query (everything but unreserved characters).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URLs oha sends for `q` to `h`, one per line in a file (GraphQL over `GET`).
fn url_file(q: Query, h: Handler, picks: &Picks, base: &str) -> Result<PathBuf, String> {
    let mut lines = String::new();
    for i in 0..2_000u64 {
        let path = match (q, h) {
            (_, Handler::Graphql) => {
                let req = request(q, h, picks, 3, i);
                let body: serde_json::Value =
                    serde_json::from_str(req.body.as_deref().unwrap_or("{}"))
                        .map_err(|e| e.to_string())?;
                format!(
                    "/graphql?query={}&variables={}",
                    url_encode(body["query"].as_str().unwrap_or_default()),
                    url_encode(&body["variables"].to_string())
                )
            }
            _ => request(q, h, picks, 3, i).path,
        };
        lines.push_str(base);
        lines.push_str(&path);
        lines.push('\n');
    }
    let file = std::env::temp_dir().join(format!(
        "bench-oha-{}-{}-{}.txt",
        std::process::id(),
        q as u8,
        h as u8
    ));
    std::fs::write(&file, lines).map_err(|e| e.to_string())?;
    Ok(file)
}

/// One oha run: closed loop (`rate` None) or open loop at `rate` req/s.
fn oha_run(
    bin: &PathBuf,
    urls: &PathBuf,
    concurrency: usize,
    duration: u64,
    rate: Option<f64>,
) -> Result<Cell, String> {
    let mut cmd = Command::new(bin);
    cmd.args(["--no-tui", "--output-format", "json", "-c"])
        .arg(concurrency.to_string())
        .args(["-z", &format!("{duration}s")])
        .args(["-H", "Accept: application/json"])
        .arg("--urls-from-file")
        .arg(urls);
    if let Some(rate) = rate {
        cmd.args(["-q", &format!("{rate:.0}"), "--latency-correction"]);
    }
    let out = cmd.output().map_err(|e| format!("oha: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "oha failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("oha's output is not JSON: {e}"))?;
    let ms = |k: &str| v["latencyPercentiles"][k].as_f64().unwrap_or(0.0) * 1000.0;
    let codes = &v["statusCodeDistribution"];
    let ok = codes["200"].as_u64().unwrap_or(0);
    let all: u64 = codes
        .as_object()
        .map(|m| m.values().filter_map(|x| x.as_u64()).sum())
        .unwrap_or(0);
    let errors = all - ok
        + v["errorDistribution"]
            .as_object()
            .map(|m| m.values().filter_map(|x| x.as_u64()).sum::<u64>())
            .unwrap_or(0);
    Ok(Cell {
        rps: ok as f64 / duration as f64,
        p50: ms("p50"),
        p99: ms("p99"),
        errors,
    })
}
