//! Bounds of a subscription WebSocket over real sockets: message size (4413, and the server's
//! memory does not grow by the message), the `connection_init` deadline (4408, both protocols),
//! subscriptions per connection (`TOO_MANY_SUBSCRIPTIONS`) and reused ids (4409).

use std::collections::BTreeSet;
use std::time::Duration;

use conversation_graphql::app::AppOptions;
use conversation_graphql::http::serve::ConnectionLimits;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;
use crate::support::{Ended, WsClient};

const WAIT: Duration = Duration::from_secs(5);
const MAX_BODY: usize = 16 * 1024;

fn small() -> AppOptions {
    AppOptions {
        max_body_bytes: MAX_BODY,
        connection: ConnectionLimits {
            ws_init_timeout_secs: 1,
            max_subscriptions_per_connection: 3,
            ..ConnectionLimits::default()
        },
        ..AppOptions::default()
    }
}

async fn small_app() -> (TestApp, std::net::SocketAddr) {
    let app = TestApp::with_options(Backend::Sqlite, small()).await;
    let addr = app.serve_http().await;
    (app, addr)
}

/// `{ __typename }` padded with a comment to `size` bytes of JSON.
fn padded_query(id: &str, size: usize) -> String {
    let message = |pad: usize| {
        json!({ "id": id, "type": "subscribe",
                "payload": { "query": format!("{{ __typename }}\n#{}", "x".repeat(pad)) } })
        .to_string()
    };
    let base = message(0).len();
    message(size.saturating_sub(base))
}

fn text(s: String) -> Message {
    Message::Text(s.into())
}

async fn messages_over_the_limit_close_with_4413() {
    let (_app, addr) = small_app().await;
    let mut client = WsClient::init(addr, json!({})).await;
    // Just under the limit: served.
    client
        .send_raw(text(padded_query("under", MAX_BODY - 100)))
        .await;
    let msg = client.next_message().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["payload"]["data"]["__typename"], "Query", "{msg}");
    // Over it: closed.
    client
        .send_raw(text(padded_query("over", MAX_BODY + 100)))
        .await;
    assert_eq!(client.ended(WAIT).await, Ended::Closed(4413));

    // Frames each under the limit that add up to a message over it.
    let mut client = WsClient::init(addr, json!({})).await;
    let whole = padded_query("frag", 3 * MAX_BODY / 2).into_bytes();
    let parts: Vec<&[u8]> = whole.chunks(MAX_BODY / 2).collect();
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(part.to_vec(), opcode, i + 1 == parts.len());
        if !client.send_raw(Message::Frame(frame)).await {
            break;
        }
    }
    assert_eq!(client.ended(WAIT).await, Ended::Closed(4413));

    // The `connection_init` payload is capped too.
    let mut client = WsClient::connect(addr, "graphql-transport-ws").await;
    let init = json!({ "type": "connection_init", "payload": { "pad": "x".repeat(MAX_BODY) } });
    client.send_raw(text(init.to_string())).await;
    assert_eq!(client.ended(WAIT).await, Ended::Closed(4413));
}

async fn silent_sockets_are_closed_at_the_init_deadline() {
    let (_app, addr) = small_app().await;
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut silent = WsClient::connect(addr, protocol).await;
        assert_eq!(
            silent.ended(WAIT).await,
            Ended::Closed(4408),
            "{protocol}: no connection_init in time"
        );
        // Pings or other messages do not count as an init.
        let mut chatty = WsClient::connect(addr, protocol).await;
        chatty.send(json!({ "type": "ping" })).await;
        assert_eq!(
            chatty.ended(WAIT).await,
            Ended::Closed(4408),
            "{protocol}: a ping is no init"
        );
        // A socket that completed the handshake is not closed at the deadline.
        let mut ready = WsClient::connect(addr, protocol).await;
        ready
            .send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        let ack = ready.next_message().await;
        assert_eq!(ack["type"], "connection_ack");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let kind = if protocol == "graphql-ws" {
            "start"
        } else {
            "subscribe"
        };
        ready
            .send(json!({ "id": "1", "type": kind, "payload": { "query": "{ __typename }" } }))
            .await;
        let msg = ready.next_message().await;
        assert!(msg["type"] == "next" || msg["type"] == "data", "{msg}");
    }
}

/// The ids of the next `n` messages, which must all be `next` with an event.
async fn event_ids(client: &mut WsClient, n: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for _ in 0..n {
        let msg = client.next_message().await;
        assert_eq!(msg["type"], "next", "{msg}");
        assert!(
            msg["payload"]["data"]["conversationEvents"].is_object(),
            "{msg}"
        );
        ids.insert(msg["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn subscriptions_per_connection_are_capped(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    for id in ["1", "2", "3"] {
        client.subscribe(id, EVENTS, json!({})).await;
    }
    client.subscribe("4", EVENTS, json!({})).await;
    let refused = client.next_message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "4", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{refused}"
    );
    app.wait_for_subscribers(3).await;
    app.create(json!({})).await;
    assert_eq!(event_ids(&mut client, 3).await, set(&["1", "2", "3"]));
    // Nothing else came: the next create's events are the next messages.
    app.create(json!({})).await;
    assert_eq!(event_ids(&mut client, 3).await, set(&["1", "2", "3"]));

    // Completing one frees its place.
    client.send(json!({ "id": "2", "type": "complete" })).await;
    let done = client.next_message().await;
    assert_eq!(
        (&done["type"], &done["id"]),
        (&json!("complete"), &json!("2"))
    );
    let events = app.state.events.clone();
    wait_until("subscription 2 ended", || {
        let events = events.clone();
        async move { events.subscriber_count() == 2 }
    })
    .await;
    client.subscribe("4", EVENTS, json!({})).await;
    app.wait_for_subscribers(3).await;
    app.create(json!({})).await;
    let seen = event_ids(&mut client, 3).await;
    assert_eq!(seen, set(&["1", "3", "4"]));

    // Reusing the id of a running subscription closes the socket, as the protocol says.
    client.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(client.ended(WAIT).await, Ended::Closed(4409));

    // An operation that has finished frees its place too.
    let mut client = WsClient::init(addr, json!({})).await;
    for id in ["q1", "q2", "q3", "q4"] {
        client.subscribe(id, "{ __typename }", json!({})).await;
        let next = client.next_message().await;
        assert_eq!(next["type"], "next", "{next}");
        let complete = client.next_message().await;
        assert_eq!(complete["type"], "complete", "{complete}");
    }
    for id in ["s1", "s2", "s3"] {
        client.subscribe(id, EVENTS, json!({})).await;
    }
    app.wait_for_subscribers(3).await;
    app.create(json!({})).await;
    assert_eq!(event_ids(&mut client, 3).await, set(&["s1", "s2", "s3"]));

    // The legacy protocol's error carries one error object.
    let mut legacy = WsClient::connect(addr, "graphql-ws").await;
    legacy
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(legacy.next_message().await["type"], "connection_ack");
    for id in ["1", "2", "3", "4"] {
        legacy
            .send(json!({ "id": id, "type": "start", "payload": { "query": EVENTS } }))
            .await;
    }
    let refused = legacy.next_message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{refused}"
    );
}

/// `field` of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {status}"))
}

/// An 8 MB message is refused from its frame header: the server's peak memory does not grow by
/// anything near the message, three times over.
async fn an_oversize_message_does_not_grow_the_servers_memory() {
    const SIZE: usize = 8 << 20;
    let path = std::env::temp_dir().join(format!("cg-ws-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let server = ServerProcess::start(&["--database-url", &url], &[]);
    let pid = server.child.id();
    let oversize = text(padded_query("big", SIZE));

    // Warm up what any connection allocates, an oversize one included.
    let mut warm = WsClient::init(server.addr, json!({})).await;
    warm.subscribe("1", EVENTS, json!({})).await;
    let (status, _) = http_post(server.addr, &json!({ "query": "{ __typename }" }), None).await;
    assert_eq!(status, 200);
    let mut client = WsClient::init(server.addr, json!({})).await;
    client.send_raw(text(padded_query("big", 70_000))).await;
    assert_eq!(client.ended(WAIT).await, Ended::Closed(4413));

    let before = status_kib(pid, "VmHWM:");
    for _ in 0..3 {
        let mut client = WsClient::init(server.addr, json!({})).await;
        client.send_raw(oversize.clone()).await;
        let ended = client.ended(WAIT).await;
        assert!(
            matches!(ended, Ended::Closed(4413) | Ended::Dropped),
            "{ended:?}"
        );
    }
    let after = status_kib(pid, "VmHWM:");
    let grown = after.saturating_sub(before) * 1024;
    assert!(
        grown < SIZE as u64 / 2,
        "peak RSS grew by {grown} bytes for three {SIZE}-byte messages ({before} -> {after} KiB)"
    );
    // And the server still serves.
    let (status, body) = http_post(server.addr, &json!({ "query": "{ __typename }" }), None).await;
    assert_eq!(status, 200, "{body}");
    warm.subscribe("2", "{ __typename }", json!({})).await;
    let msg: Value = warm.next_message().await;
    assert_eq!(msg["type"], "next", "{msg}");
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

crate::backend_tests! {
    mod limited(small): subscriptions_per_connection_are_capped;
    standalone: messages_over_the_limit_close_with_4413, silent_sockets_are_closed_at_the_init_deadline, an_oversize_message_does_not_grow_the_servers_memory;
}
