//! A PostgreSQL primary and its hot standby, for the read-replica tests: made on first use by
//! `scripts/pg-standby.sh` (a cluster of its own in a temporary directory, on free ports; never
//! the machine's own), shared by the tests that need it one at a time (they pause, stop and
//! start the standby), and removed when the runner exits ([`teardown`]), or by the next run
//! if the test binary was killed.
//!
//! The tests run when PostgreSQL tests are asked for (`TEST_POSTGRES_URL` is set) and the
//! server binaries are there: `TEST_PG_BIN`, or `/usr/lib/postgresql/15/bin`. Without them the
//! runner reports the tests as ignored, saying why; with `TEST_PG_BIN` set to a directory
//! without them, it fails them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use conversation_graphql::db::{self, PoolSettings};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::wait_until;

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The prefix of the temporary directories (the owner's process id follows).
const DIR_PREFIX: &str = "cg-standby-";

/// Whether the tests that need a standby can run.
pub enum Availability {
    Ready,
    /// Not asked for, or not possible here: the tests are ignored, with this reason.
    Skip(String),
    /// Asked for and broken: the tests fail with this message.
    Broken(String),
}

pub fn availability() -> Availability {
    if std::env::var("TEST_POSTGRES_URL").map_or(true, |u| u.is_empty()) {
        return Availability::Skip("TEST_POSTGRES_URL not set".into());
    }
    match std::env::var("TEST_PG_BIN").ok().filter(|b| !b.is_empty()) {
        Some(bin) if !Path::new(&bin).join("initdb").exists() => {
            Availability::Broken(format!("TEST_PG_BIN={bin} holds no initdb"))
        }
        Some(_) => Availability::Ready,
        None if Path::new(DEFAULT_BIN).join("initdb").exists() => Availability::Ready,
        None => Availability::Skip(format!(
            "no PostgreSQL server binaries in {DEFAULT_BIN}: set TEST_PG_BIN to run the \
             read-replica tests"
        )),
    }
}

/// The pair: where it lives and how to reach it.
#[derive(Debug)]
pub struct Pair {
    dir: PathBuf,
    /// The primary's database `test`.
    pub primary_url: String,
    /// The standby's database `test`.
    pub standby_url: String,
}

/// `None` until the first test asks; then the pair, or why it could not be made.
static PAIR: Mutex<Option<Result<Arc<Pair>, String>>> = Mutex::new(None);
/// One test at a time holds the pair.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A test's turn with the pair. When it ends (passed or failed), the standby is running and
/// replaying again.
pub struct Standby {
    pub pair: Arc<Pair>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Waits for the turn, making the pair on first use.
pub async fn standby() -> Standby {
    let turn = TURN.lock().await;
    let pair = {
        let mut slot = PAIR.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(make).clone()
    };
    match pair {
        Ok(pair) => Standby { pair, _turn: turn },
        Err(e) => panic!("cannot make a PostgreSQL primary and standby: {e}"),
    }
}

/// Stops and removes the pair, if one was made (the runner calls this before it exits).
pub fn teardown() {
    let pair = PAIR.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(Ok(pair)) = pair {
        let _ = script(&["down", &pair.dir.to_string_lossy()]);
    }
}

fn script(args: &[&str]) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-standby.sh");
    let out = Command::new("bash")
        .arg(path)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run pg-standby.sh: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "pg-standby.sh {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Two ports nothing listens on now.
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let ports = (
        a.local_addr().expect("addr").port(),
        b.local_addr().expect("addr").port(),
    );
    drop((a, b));
    ports
}

/// Removes the pairs of test runs that were killed before their teardown.
fn sweep() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = script(&["down", &entry.path().to_string_lossy()]);
        }
    }
}

fn make() -> Result<Arc<Pair>, String> {
    sweep();
    let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
    let (primary, standby) = free_ports();
    let out = script(&[
        "up",
        &dir.to_string_lossy(),
        &primary.to_string(),
        &standby.to_string(),
    ]);
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let _ = script(&["down", &dir.to_string_lossy()]);
            return Err(e);
        }
    };
    let url = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_owned)
            .ok_or_else(|| format!("pg-standby.sh printed no {key}"))
    };
    Ok(Arc::new(Pair {
        primary_url: url("TEST_PG_PRIMARY_URL=")?,
        standby_url: url("TEST_PG_STANDBY_URL=")?,
        dir,
    }))
}

impl Standby {
    /// Stops the standby (`pg_ctl stop -m fast`).
    pub fn stop(&self) {
        script(&["stop-standby", &self.pair.dir.to_string_lossy()]).expect("stop the standby");
    }

    /// Starts the standby again.
    pub fn start(&self) {
        script(&["start-standby", &self.pair.dir.to_string_lossy()]).expect("start the standby");
    }

    /// Pauses the standby's WAL replay: it answers, from the state it has replayed so far.
    pub async fn pause_replay(&self) {
        self.standby_sql("SELECT pg_wal_replay_pause()").await;
        let paused = "SELECT 1 WHERE pg_get_wal_replay_pause_state() = 'paused'";
        wait_until("the standby's replay is paused", || async {
            self.standby_rows(paused).await > 0
        })
        .await;
    }

    pub async fn resume_replay(&self) {
        self.standby_sql("SELECT pg_wal_replay_resume()").await;
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    pub async fn caught_up(&self) {
        let primary = connect(&self.pair.primary_url).await;
        let lsn: String = primary
            .query_one_raw(Statement::from_string(
                primary.get_database_backend(),
                "SELECT pg_current_wal_lsn()::text",
            ))
            .await
            .expect("the primary's WAL position")
            .expect("a row")
            .try_get_by_index(0)
            .expect("text");
        let _ = primary.close().await;
        let sql = format!("SELECT 1 WHERE pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn");
        wait_until("the standby has replayed the primary's writes", || async {
            self.standby_rows(&sql).await > 0
        })
        .await;
    }

    async fn standby_sql(&self, sql: &str) {
        let conn = connect(&self.pair.standby_url).await;
        conn.execute_unprepared(sql).await.expect(sql);
        let _ = conn.close().await;
    }

    async fn standby_rows(&self, sql: &str) -> usize {
        let conn = connect(&self.pair.standby_url).await;
        let stmt = Statement::from_string(conn.get_database_backend(), sql);
        let n = conn.query_all_raw(stmt).await.map_or(0, |rows| rows.len());
        let _ = conn.close().await;
        n
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    let settings = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    db::connect(url, &settings).await.expect("connect")
}

impl Drop for Standby {
    fn drop(&mut self) {
        // A failed test may have left the standby stopped or paused: the next one needs it.
        let _ = script(&["reset", &self.pair.dir.to_string_lossy()]);
    }
}
