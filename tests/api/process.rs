//! The binary as a newcomer runs it: start-up rules, the `token` subcommand, serving on
//! port 0, graceful shutdown on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use conversation_graphql::auth::{Role, Verifier};

use crate::support::{http_post, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_conversation-graphql");

fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "JWT_SECRET",
        "JWT_PUBLIC_KEY",
        "DATABASE_URL",
        "LISTEN",
        "ALLOW_UNAUTHENTICATED",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

fn temp_db() -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("cg-proc-{}.db", uuid::Uuid::new_v4()));
    (format!("sqlite://{}?mode=rwc", path.display()), path)
}

#[test]
fn refuses_to_run_open_on_a_public_address() {
    let (url, path) = temp_db();
    let out = command()
        .args(["--listen", "0.0.0.0:0", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--allow-unauthenticated"), "{text}");
    let _ = std::fs::remove_file(path);
}

#[test]
fn token_subcommand_mints_a_token_the_server_accepts() {
    let secret = "a-secret-of-sixteen-bytes-or-more";
    let customer = uuid::Uuid::new_v4();
    let agent = uuid::Uuid::new_v4();
    let out = command()
        .env("JWT_SECRET", secret)
        .args([
            "token",
            "--customer-id",
            &customer.to_string(),
            "--role",
            "agent",
        ])
        .args(["--agent-id", &agent.to_string(), "--ttl", "5m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let caller = Verifier::hs256(secret.as_bytes())
        .unwrap()
        .verify(token.trim())
        .unwrap();
    assert_eq!(caller.role, Role::Agent);
    assert_eq!(caller.customer_id, customer);
    assert_eq!(caller.agent_id, Some(agent));

    // An agent token needs --agent-id; no secret, no token.
    let out = command()
        .env("JWT_SECRET", secret)
        .args([
            "token",
            "--customer-id",
            &customer.to_string(),
            "--role",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = command()
        .args([
            "token",
            "--customer-id",
            &customer.to_string(),
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn serves_on_port_zero_and_stops_on_sigterm() {
    let (url, path) = temp_db();
    let mut server = ServerProcess::start(&["--database-url", &url], &[]);
    let (status, body) = http_post(
        server.addr,
        &serde_json::json!({ "query": "{ conversations { totalCount } }" }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["conversations"]["totalCount"], 0);

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    assert!(server.logged("shutdown signal received"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn json_logs_on_request() {
    let (url, path) = temp_db();
    let server = ServerProcess::start(&["--database-url", &url, "--log-format", "json"], &[]);
    let lines = server.logs.lock().unwrap().clone();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{line}"
        );
    }
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_with_open_subscriptions() {
    let (url, path) = temp_db();
    let mut server =
        ServerProcess::start(&["--database-url", &url, "--shutdown-grace-secs", "1"], &[]);
    let mut client = crate::ws_client::WsClient::init(server.addr, serde_json::json!({})).await;
    client
        .subscribe("1", crate::subscriptions::EVENTS, serde_json::json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // An open subscription does not keep the process alive, and the client sees it end.
    assert!(started.elapsed() < Duration::from_secs(5));
    client.ended(Duration::from_secs(5)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
