//! Live updates: `conversationEvents` over WebSocket, in one process, on every backend. The
//! two-process tests are in `replicas` and `event_replicas`; the log itself in `event_log`.

use std::time::{Duration, Instant};

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::{mint_hs256, Caller, Role, Verifier};
use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value};

use crate::events_support::{delivered, subscribed, write_events};
use crate::support::*;
use crate::ws_client::{Ended, WsClient};

pub const EVENTS: &str = "subscription($f: ConversationFilter, $k: [ConversationEventKind!]) {
  conversationEvents(filter: $f, kinds: $k) { kind at conversation { id name type tmDelete customerId } }
}";

const SECOND: Duration = Duration::from_secs(1);

async fn expect_event(client: &mut WsClient, kind: &str, id: &Value) -> Value {
    let started = Instant::now();
    let payload = client
        .next_event(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no {kind} event"));
    assert!(started.elapsed() < SECOND, "delivered within 1 s");
    let event = &payload["data"]["conversationEvents"];
    assert_eq!(event["kind"], kind, "{payload}");
    assert_eq!(&event["conversation"]["id"], id, "{payload}");
    assert!(event["at"].as_str().unwrap().ends_with('Z'));
    event.clone()
}

async fn no_event(client: &mut WsClient) {
    if let Some(p) = client.next_event(Duration::from_millis(300)).await {
        panic!("unexpected event {p}");
    }
}

async fn every_kind_arrives(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    client.subscribe("1", EVENTS, json!({})).await;
    subscribed(&app, 1).await;

    let created = app.create(json!({ "name": "live" })).await;
    let id = &created["id"];
    let e = expect_event(&mut client, "CREATED", id).await;
    assert_eq!(e["conversation"]["name"], "live");

    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    let e = expect_event(&mut client, "UPDATED", id).await;
    assert_eq!(e["conversation"]["name"], "renamed");

    let del = "mutation($id: UUID!) { deleteConversation(id: $id) { id } }";
    app.data(del, json!({ "id": id })).await;
    let e = expect_event(&mut client, "DELETED", id).await;
    assert!(e["conversation"]["tmDelete"].is_string());
    // Deleting again changes nothing, so nothing is published.
    app.data(del, json!({ "id": id })).await;
    no_event(&mut client).await;

    app.data(
        "mutation($id: UUID!) { restoreConversation(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let e = expect_event(&mut client, "RESTORED", id).await;
    assert_eq!(e["conversation"]["tmDelete"], json!(null));

    // A failed mutation publishes nothing.
    app.error(del, json!({ "id": uuid::Uuid::new_v4() })).await;
    no_event(&mut client).await;
}

async fn filters_and_kinds_narrow(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    client
        .subscribe("1", EVENTS, json!({ "f": { "type": { "eq": "LINE" }, "name": { "contains": "VIP" } }, "k": ["UPDATED", "CREATED"] }))
        .await;
    subscribed(&app, 1).await;
    let message = app.create(json!({ "name": "vip sms" })).await;
    no_event(&mut client).await;
    let line = app
        .create(json!({ "name": "a vip chat", "type": "LINE" }))
        .await;
    expect_event(&mut client, "CREATED", &line["id"]).await;
    let rename = "mutation($id: UUID!, $n: String) { updateConversation(id: $id, input: { name: $n }) { id } }";
    app.data(rename, json!({ "id": message["id"], "n": "VIP sms 2" }))
        .await;
    no_event(&mut client).await;
    app.data(rename, json!({ "id": line["id"], "n": "VIP chat 2" }))
        .await;
    expect_event(&mut client, "UPDATED", &line["id"]).await;
    // Not a wanted kind.
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": line["id"] }),
    )
    .await;
    no_event(&mut client).await;
    // Renamed out of the filter: delivered once (it matched before the change), then not.
    app.data(
        "mutation($id: UUID!) { restoreConversation(id: $id) { id } }",
        json!({ "id": line["id"] }),
    )
    .await;
    app.data(rename, json!({ "id": line["id"], "n": "plain" }))
        .await;
    expect_event(&mut client, "UPDATED", &line["id"]).await;
    app.data(rename, json!({ "id": line["id"], "n": "plainer" }))
        .await;
    no_event(&mut client).await;
}

async fn bad_subscriptions_are_errors(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    // A filter over the limits is an error message for that subscription.
    let mut deep = json!({ "name": { "eq": "x" } });
    for _ in 0..6 {
        deep = json!({ "not": deep });
    }
    client.subscribe("1", EVENTS, json!({ "f": deep })).await;
    let msg = client.next_message(Duration::from_secs(5)).await.unwrap();
    let errors = if msg["type"] == "error" {
        msg["payload"].clone()
    } else {
        msg["payload"]["errors"].clone()
    };
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{msg}");
    // Subscribing before the handshake closes with 4401.
    let mut early = WsClient::connect(addr, "graphql-transport-ws").await;
    early.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(
        early.ended(Duration::from_secs(5)).await,
        Ended::Closed(4401)
    );
    // The legacy protocol works too.
    let mut legacy = WsClient::connect(addr, "graphql-ws").await;
    legacy
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    let ack = legacy.next_message(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack");
    legacy
        .send(json!({ "id": "1", "type": "start", "payload": { "query": EVENTS } }))
        .await;
    subscribed(&app, 1).await;
    let c = app.create(json!({})).await;
    let msg = legacy.next_message(Duration::from_secs(5)).await.unwrap();
    assert_eq!(msg["type"], "data", "{msg}");
    assert_eq!(
        msg["payload"]["data"]["conversationEvents"]["conversation"]["id"],
        c["id"]
    );
}

const SECRET: &[u8] = b"subscription-secret-0123456789";
const CUST_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const CUST_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn token(role: Role, customer: &str, agent: Option<&str>) -> String {
    bearer_for(SECRET, role, customer, agent)
}

fn auth_options() -> AppOptions {
    AppOptions {
        auth: Some(Verifier::hs256(SECRET).unwrap()),
        ..AppOptions::default()
    }
}

async fn tenant_scoping_and_bad_tokens(mut app: TestApp) {
    let addr = app.serve_http().await;
    app.as_caller(&token(Role::SuperAdmin, CUST_A, None));
    let mut admin_a = WsClient::init(
        addr,
        json!({ "Authorization": token(Role::Admin, CUST_A, None) }),
    )
    .await;
    admin_a.subscribe("1", EVENTS, json!({})).await;
    let agent = "11111111-0000-4000-8000-00000000a001";
    let mut agent_a = WsClient::init(
        addr,
        json!({ "headers": { "Authorization": token(Role::Agent, CUST_A, Some(agent)) } }),
    )
    .await;
    agent_a.subscribe("1", EVENTS, json!({})).await;
    subscribed(&app, 2).await;

    let b = app.create(json!({ "customerId": CUST_B })).await;
    no_event(&mut admin_a).await;
    let a = app.create(json!({ "customerId": CUST_A })).await;
    expect_event(&mut admin_a, "CREATED", &a["id"]).await;
    no_event(&mut agent_a).await; // not its conversation
    let mine = app
        .create(json!({ "customerId": CUST_A, "ownerId": agent }))
        .await;
    expect_event(&mut admin_a, "CREATED", &mine["id"]).await;
    expect_event(&mut agent_a, "CREATED", &mine["id"]).await;
    let _ = b;

    for payload in [
        json!({}),
        json!({ "Authorization": "Bearer garbage" }),
        json!({ "Authorization": format!("Bearer {}", mint_hs256(b"another-secret-0123456789", &Caller { role: Role::SuperAdmin, customer_id: CUST_A.parse().unwrap(), agent_id: None }, Duration::from_secs(60)).unwrap()) }),
    ] {
        let mut client = WsClient::connect(addr, "graphql-transport-ws").await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(
            client.ended(Duration::from_secs(5)).await,
            Ended::Closed(4403),
            "{payload}"
        );
    }
}

fn slow_options() -> AppOptions {
    AppOptions {
        event_buffer: 4096,
        ws_send_timeout: Duration::from_millis(500),
        ..AppOptions::default()
    }
}

/// What the stalled-subscriber test selects: the long `detail` makes each message ~4 KB.
const BIG: &str = "subscription { conversationEvents { conversation { id detail } } }";

/// A subscriber that stops reading is dropped; another keeps receiving every event.
async fn stalled_subscriber_is_dropped(app: TestApp) {
    let addr = app.serve_http().await;
    // The stalled client: a tiny receive buffer so the server's writes block soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/graphql/ws"
        ))
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut stalled, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    stalled
        .send(Message::Text(
            json!({ "type": "connection_init" }).to_string().into(),
        ))
        .await
        .unwrap();
    let _ack = stalled.next().await;
    stalled
        .send(Message::Text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": BIG } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();

    let mut reader = WsClient::init(addr, json!({})).await;
    reader.subscribe("1", BIG, json!({})).await;
    subscribed(&app, 2).await;

    // Events of 4,000-character details, ~6 MB in all: more than the socket buffers hold.
    let total = 1500;
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < total {
            match reader.next_event(Duration::from_secs(10)).await {
                Some(p) => got.push(
                    p["data"]["conversationEvents"]["conversation"]["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
                None => break,
            }
        }
        got
    });
    let detail = "x".repeat(4000);
    let mut sent = Vec::new();
    for chunk in 0..total / 50 {
        sent.extend(write_events(&app, &format!("{chunk}:"), 50, &detail).await);
    }
    let got = reading.await.unwrap();
    assert_eq!(
        got, sent,
        "the reading subscriber got every event, in order"
    );

    // The stalled one is disconnected once one of its writes waited longer than the
    // server's write timeout (500 ms): draining it ends in a closed connection.
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        let mut n = 0;
        while let Some(Ok(m)) = stalled.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
            n += 1;
        }
        n
    })
    .await
    .expect("the stalled connection was closed by the server");
    assert!(drained < total, "it did not get every event ({drained})");
}

fn tiny_buffer() -> AppOptions {
    AppOptions {
        event_buffer: 2,
        ..AppOptions::default()
    }
}

/// Runs a subscription in process, polling it until the bus feeds it.
async fn start(
    app: &TestApp,
    query: &str,
    variables: Value,
) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
    let before = app.state.events.subscriber_count();
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(conversation_graphql::auth::Access::Open);
    let mut stream = app.state.api.subscriptions.execute_stream(request);
    let bus = app.state.events.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while bus.subscriber_count() == before {
        assert!(
            stream.next().now_or_never().is_none(),
            "nothing to read yet"
        );
        assert!(Instant::now() < deadline, "the subscription never started");
        tokio::task::yield_now().await;
    }
    stream
}

/// A subscription that falls behind the buffer gets SUBSCRIBER_TOO_SLOW with the cursor to
/// resume from, and ends; resuming from that cursor loses nothing.
async fn lagging_subscription_gets_an_error(app: TestApp) {
    let doc = "subscription($after: String) { conversationEvents(after: $after) { cursor conversation { name } } }";
    let mut stream = start(&app, doc, json!({})).await;
    // More events than the buffer holds, published before the subscriber reads any.
    write_events(&app, "lag ", 5, "").await;
    delivered(&app).await;
    let response = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap();
    let body = serde_json::to_value(&response).unwrap();
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SUBSCRIBER_TOO_SLOW", "{body}");
    let last = error["extensions"]["lastCursor"].clone();
    assert!(last.is_string(), "{body}");
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(end.is_none(), "the stream ended");

    let mut resumed = start(&app, doc, json!({ "after": last })).await;
    let mut names = Vec::new();
    while names.len() < 5 {
        let r = tokio::time::timeout(Duration::from_secs(5), resumed.next())
            .await
            .expect("an event")
            .unwrap();
        let body = serde_json::to_value(&r).unwrap();
        names.push(body["data"]["conversationEvents"]["conversation"]["name"].clone());
    }
    assert_eq!(
        names,
        (0..5)
            .map(|i| json!(format!("lag {i}")))
            .collect::<Vec<_>>()
    );
}

crate::backend_tests!(
    every_kind_arrives,
    filters_and_kinds_narrow,
    bad_subscriptions_are_errors
);

mod auth {
    use super::*;
    crate::backend_tests!(options = auth_options; tenant_scoping_and_bad_tokens);
}

mod slow {
    use super::*;
    crate::backend_tests!(options = slow_options; stalled_subscriber_is_dropped);
}

mod lag {
    use super::*;
    crate::backend_tests!(options = tiny_buffer; lagging_subscription_gets_an_error);
}
