//! The binary as a newcomer runs it: start-up rules, the `token` subcommand, serving on
//! port 0, graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conversation_graphql::auth::{Role, Verifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let mut child = command()
        .args(["--listen", "127.0.0.1:0", "--database-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs its GraphiQL URL");
        if let Some(rest) = line.split("GraphiQL: http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };

    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"query":"{ conversations { totalCount } }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"data":{"conversations":{"totalCount":0}}}"#),
        "{response}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
