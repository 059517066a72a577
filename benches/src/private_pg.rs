//! A PostgreSQL cluster of the bench's own (a temporary directory, a free port), with
//! `pg_stat_statements` loaded, to count the statements a configuration sends; the machine's
//! cluster is not touched. Run as root: the cluster runs as the `postgres` user.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use conversation_graphql::db;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::settings;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster of the bench's own, with `pg_stat_statements`; removed when dropped.
pub struct PrivatePg {
    dir: PathBuf,
    port: u16,
}

fn exec(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn as_postgres(program: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--", &format!("{PG_BIN}/{program}")]);
    cmd
}

impl PrivatePg {
    pub fn start() -> Result<PrivatePg, String> {
        let dir = std::env::temp_dir().join(format!("cg-bench-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        exec(Command::new("chown").args(["postgres:postgres"]).arg(&dir))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let pg = PrivatePg { dir, port };
        let data = pg.dir.join("data");
        exec(
            as_postgres("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "-D",
                ])
                .arg(&data),
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 \
             -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
            pg.dir.display()
        );
        exec(
            as_postgres("pg_ctl")
                .args(["-w", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(pg.dir.join("log"))
                .args(["-o", &options, "start"]),
        )?;
        Ok(pg)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new database with `pg_stat_statements`; its URL.
    pub async fn fresh(&self) -> Result<String, String> {
        let name = format!("bench_{}", Uuid::new_v4().simple());
        admin(&self.url("postgres"), &format!("CREATE DATABASE {name}")).await?;
        let url = self.url(&name);
        admin(&url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;
        Ok(url)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = exec(
            as_postgres("pg_ctl")
                .args(["-m", "immediate", "-D"])
                .arg(self.dir.join("data"))
                .arg("stop"),
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn admin(url: &str, sql: &str) -> Result<(), String> {
    let conn = db::connect(url, &settings(1, None))
        .await
        .map_err(|e| e.to_string())?;
    let result = conn
        .execute_unprepared(sql)
        .await
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    result.map(|_| ())
}
