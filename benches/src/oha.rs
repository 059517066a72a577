//! Running `oha` for `bench lean`: the URLs it sends (GraphQL over `GET`), and reading its
//! JSON report.

use std::path::PathBuf;
use std::process::Command;

use super::ratio::{request, Cell, Handler, Picks, Query};

pub(super) fn find_oha(arg: &Option<String>) -> Option<PathBuf> {
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
pub(super) fn url_file(q: Query, h: Handler, picks: &Picks, base: &str) -> Result<PathBuf, String> {
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
pub(super) fn run(
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
