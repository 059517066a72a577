//! The real binary: a clean command line for it, and a server process to talk to.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::http_get;
use super::wait_until;

/// The binary, with none of the caller's configuration: every setting a test wants it passes.
pub fn command() -> Command {
    command_under(&[])
}

/// [`command`] run through `wrapper`, a command that ends by running its arguments (e.g.
/// `sh -c 'ulimit -n 300 && exec "$@"' sh`).
pub fn command_under(wrapper: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_conversation-graphql");
    let mut cmd = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut cmd = Command::new(program);
            cmd.args(rest).arg(bin);
            cmd
        }
        None => Command::new(bin),
    };
    cmd.env_clear();
    for keep in ["PATH", "TMPDIR", "RUST_BACKTRACE"] {
        if let Some(value) = std::env::var_os(keep) {
            cmd.env(keep, value);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` to the end: whether it succeeded, its standard output and its standard error.
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server process of the real binary, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every log line it printed so far.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--listen 127.0.0.1:0`) and waits for it to serve.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        Self::start_under(&[], args, env)
    }

    /// Like [`ServerProcess::start`], through `wrapper` (see [`command_under`]).
    pub fn start_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut child = command_under(wrapper)
            .envs(env.iter().copied())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("GraphiQL: http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs its GraphiQL URL")
            .parse()
            .expect("an address");
        ServerProcess { child, addr, logs }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Waits until the server has logged a line containing `needle`.
    pub async fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("the server logs {needle:?}"), || async {
            self.logged(needle)
        })
        .await;
    }

    /// Waits until at least `n` subscriptions are registered on the server's event bus (its
    /// `graphql_event_subscribers` gauge in `GET /metrics`).
    pub async fn wait_for_subscribers(&self, n: usize) {
        wait_until(&format!("{n} subscribers on {}", self.addr), || async {
            let (_, text) = http_get(self.addr, "/metrics").await;
            text.lines()
                .find_map(|l| l.strip_prefix("graphql_event_subscribers "))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .is_some_and(|count| count >= n)
        })
        .await;
    }

    /// Sends SIGTERM and waits (with a deadline) for the process to exit; returns its status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let mut exit = None;
        wait_until("the server stops on SIGTERM", || {
            exit = exit.or_else(|| self.child.try_wait().expect("try_wait"));
            let done = exit.is_some();
            async move { done }
        })
        .await;
        exit.expect("exited")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
