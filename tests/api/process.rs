//! The binary as a newcomer runs it: start-up rules, the `token` subcommand, serving on
//! port 0, graceful shutdown on SIGTERM.

use std::time::Duration;

use conversation_graphql::auth::{Role, Verifier};
use serde_json::json;

use crate::support::*;

async fn refuses_to_run_open_on_a_public_address() {
    let file = SqliteFile::new("cg-proc");
    let (ok, _, err) = run(command().args(["--listen", "0.0.0.0:0", "--database-url", &file.url]));
    assert!(!ok);
    assert!(err.contains("--allow-unauthenticated"), "{err}");
}

async fn token_subcommand_mints_a_token_the_server_accepts() {
    let secret = "a-secret-of-sixteen-bytes-or-more";
    let customer = uuid::Uuid::new_v4().to_string();
    let agent = uuid::Uuid::new_v4().to_string();
    let token = |role: &str, agent: Option<&str>, secret: Option<&str>| {
        let mut cmd = command();
        cmd.args(["token", "--customer-id", &customer, "--role", role]);
        if let Some(agent) = agent {
            cmd.args(["--agent-id", agent, "--ttl", "5m"]);
        }
        if let Some(secret) = secret {
            cmd.env("JWT_SECRET", secret);
        }
        run(&mut cmd)
    };
    let (ok, token_text, err) = token("agent", Some(&agent), Some(secret));
    assert!(ok, "{err}");
    let caller = Verifier::hs256(secret.as_bytes())
        .unwrap()
        .verify(token_text.trim())
        .unwrap();
    assert_eq!(caller.role, Role::Agent);
    assert_eq!(caller.customer_id.to_string(), customer);
    assert_eq!(caller.agent_id.map(|a| a.to_string()), Some(agent));

    // An agent token needs --agent-id; no secret, no token.
    assert!(!token("agent", None, Some(secret)).0);
    assert!(!token("admin", None, None).0);
}

async fn serves_on_port_zero_and_stops_on_sigterm() {
    let file = SqliteFile::new("cg-proc");
    let mut server = ServerProcess::start(&["--database-url", &file.url], &[]);
    let query = json!({ "query": "{ conversations { totalCount } }" });
    let (status, body) = http_post(server.addr, &query, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["conversations"]["totalCount"], 0);

    let exit = server.terminate().await;
    assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    assert!(server.logged("shutdown signal received"));
}

async fn json_logs_on_request() {
    let file = SqliteFile::new("cg-proc");
    let server = ServerProcess::start(&["--database-url", &file.url, "--log-format", "json"], &[]);
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
}

/// An open subscription does not keep the process alive past the grace period, and the
/// client sees its socket end.
async fn sigterm_stops_the_server_with_open_subscriptions() {
    let file = SqliteFile::new("cg-proc");
    let args = ["--database-url", &file.url, "--shutdown-grace-secs", "1"];
    let mut server = ServerProcess::start(&args, &[]);
    let mut client = WsClient::init(server.addr, json!({})).await;
    client.subscribe("1", EVENTS, json!({})).await;
    server.wait_for_subscribers(1).await;
    let exit = server.terminate().await;
    assert!(exit.success(), "{exit:?}");
    client.ended(Duration::from_secs(5)).await;
}

crate::backend_tests! {
    standalone:
        refuses_to_run_open_on_a_public_address,
        token_subcommand_mints_a_token_the_server_accepts,
        serves_on_port_zero_and_stops_on_sigterm,
        json_logs_on_request,
        sigterm_stops_the_server_with_open_subscriptions;
}
