//! Token validity periods over real sockets: `nbf` (with the leeway `exp` gets), an `iat` in
//! the future, and `--max-token-lifetime`, over HTTP and in a WebSocket `connection_init`.

use std::time::Duration;

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Verifier;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::*;
use crate::support::{Ended, WsClient};

const SECRET: &[u8] = b"token-period-secret-0123456789";
const CUST: &str = "aaaaaaaa-0000-4000-8000-000000000001";
/// The leeway of `exp`, `nbf` and `iat` (`auth::Verifier`).
const LEEWAY: u64 = 30;
const HOUR: u64 = 3600;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn options() -> AppOptions {
    let verifier = Verifier::hs256(SECRET)
        .unwrap()
        .with_max_lifetime(Some(Duration::from_secs(HOUR)));
    AppOptions {
        auth: Some(verifier),
        ..AppOptions::default()
    }
}

/// `Bearer` and a token with these claims on top of valid ones.
fn bearer(extra: Value) -> String {
    let mut claims = json!({ "customer_id": CUST, "role": "admin", "exp": now() + 600 });
    merge(&mut claims, extra);
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    format!("Bearer {token}")
}

const QUERY: &str = "{ conversations { totalCount } }";

async fn accepted(addr: std::net::SocketAddr, extra: Value, what: &str) {
    let (status, body) = http_post(addr, &json!({ "query": QUERY }), Some(&bearer(extra))).await;
    assert_eq!(status, 200, "{what}: {body}");
    assert_eq!(
        body["data"]["conversations"]["totalCount"], 0,
        "{what}: {body}"
    );
}

async fn refused(addr: std::net::SocketAddr, extra: Value, message: &str, what: &str) {
    let (status, body) = http_post(addr, &json!({ "query": QUERY }), Some(&bearer(extra))).await;
    assert_eq!(status, 401, "{what}: {body}");
    let error = &body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "UNAUTHENTICATED",
        "{what}: {body}"
    );
    assert!(
        error["message"].as_str().unwrap_or("").contains(message),
        "{what}: {body}"
    );
    assert!(body.get("data").is_none(), "{what}: {body}");
}

async fn validity_periods(app: TestApp) {
    let addr = app.serve_http().await;
    let t = now();
    // (extra claims, the refusal's message or None when accepted, what the case is)
    let mut cases = vec![
        (json!({}), None, "no nbf, no iat".to_owned()),
        (
            json!({ "nbf": "soon" }),
            Some("invalid"),
            "nbf not a number".into(),
        ),
    ];
    // `nbf` and `iat` get the same leeway.
    for (claim, refusal) in [("nbf", "not valid yet"), ("iat", "issued in the future")] {
        for (at, refused, when) in [
            (t + HOUR, true, "in an hour"),
            (t + 2 * LEEWAY, true, "past the leeway"),
            (t + LEEWAY / 3, false, "within the leeway"),
            (t - HOUR, false, "in the past"),
        ] {
            let refusal = refused.then_some(refusal);
            cases.push((json!({ claim: at }), refusal, format!("{claim} {when}")));
        }
    }
    // The longest lifetime (an hour here).
    let too_long = Some("longer than this server accepts");
    cases.extend([
        (
            json!({ "exp": t + 2 * HOUR }),
            too_long,
            "valid for two hours".into(),
        ),
        (
            json!({ "exp": t + 365 * 24 * HOUR }),
            too_long,
            "valid for a year".into(),
        ),
        (
            json!({ "exp": t + HOUR - 60 }),
            None,
            "valid for under an hour".into(),
        ),
    ]);
    for (extra, refusal, what) in cases {
        match refusal {
            None => accepted(addr, extra, &what).await,
            Some(message) => refused(addr, extra, message, &what).await,
        }
    }

    // The same checks in a WebSocket's connection_init.
    for (extra, what) in [
        (json!({ "nbf": t + HOUR }), "nbf"),
        (json!({ "iat": t + HOUR }), "iat"),
        (json!({ "exp": t + 2 * HOUR }), "lifetime"),
    ] {
        let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
        ws.send(
            json!({ "type": "connection_init", "payload": { "Authorization": bearer(extra) } }),
        )
        .await;
        assert_eq!(
            ws.ended(Duration::from_secs(5)).await,
            Ended::Closed(4403),
            "{what}"
        );
    }
    WsClient::init(
        addr,
        json!({ "Authorization": bearer(json!({ "iat": t })) }),
    )
    .await;
}

/// `--max-token-lifetime` (and its unit syntax) reaches the binary's verifier.
async fn the_binary_reads_max_token_lifetime() {
    let path = std::env::temp_dir().join(format!("cg-tok-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let secret = std::str::from_utf8(SECRET).unwrap();
    let server = ServerProcess::start(
        &["--database-url", &url, "--max-token-lifetime", "30m"],
        &[("JWT_SECRET", secret)],
    );
    let t = now();
    refused(
        server.addr,
        json!({ "exp": t + HOUR }),
        "longer than this server accepts (1800 s)",
        "an hour with a 30 minute limit",
    )
    .await;
    accepted(server.addr, json!({ "exp": t + 600 }), "ten minutes").await;
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

crate::backend_tests! {
    mod limited(options): validity_periods;
    standalone: the_binary_reads_max_token_lifetime;
}
