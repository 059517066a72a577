//! Live updates: `conversationEvents` over WebSocket, in one process, on every backend. The
//! multi-process tests are in `replicas` and `event_replicas`; the event log itself (replay,
//! cursors, `previous`, the log query) in `event_log`.
//!
//! Each test waits until its subscriptions are registered before it writes. Where nothing may
//! arrive, the test makes a write that must arrive and checks that it is the next event.

use std::time::Duration;

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use futures_util::StreamExt;
use serde_json::json;

use crate::support::*;

async fn every_kind_arrives(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    client.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(1).await;

    let created = app.create(json!({ "name": "live" })).await;
    let id = &created["id"];
    let e = client.expect_event("CREATED", id).await;
    assert_eq!(e["conversation"]["name"], "live");

    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    let e = client.expect_event("UPDATED", id).await;
    assert_eq!(e["conversation"]["name"], "renamed");

    app.data(DELETE, json!({ "id": id })).await;
    let e = client.expect_event("DELETED", id).await;
    assert!(e["conversation"]["tmDelete"].is_string());
    // Deleting again changes nothing, so nothing is published: the next event is the restore.
    app.data(DELETE, json!({ "id": id })).await;
    app.data(RESTORE, json!({ "id": id })).await;
    let e = client.expect_event("RESTORED", id).await;
    assert_eq!(e["conversation"]["tmDelete"], json!(null));

    // A failed mutation publishes nothing: the next event is the next create.
    app.error(DELETE, json!({ "id": uuid::Uuid::new_v4() }))
        .await;
    let next = app.create(json!({})).await;
    client.expect_event("CREATED", &next["id"]).await;
}

async fn filters_and_kinds_narrow(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    let vip_line = json!({ "type": { "eq": "LINE" }, "name": { "contains": "VIP" } });
    client
        .subscribe(
            "1",
            EVENTS,
            json!({ "f": vip_line, "k": ["UPDATED", "CREATED"] }),
        )
        .await;
    app.wait_for_subscribers(1).await;
    // Not LINE: nothing; the next event is the LINE one.
    let message = app.create(json!({ "name": "vip sms" })).await;
    let line = app
        .create(json!({ "name": "a vip chat", "type": "LINE" }))
        .await;
    client.expect_event("CREATED", &line["id"]).await;
    let rename = "mutation($id: UUID!, $n: String) { updateConversation(id: $id, input: { name: $n }) { id } }";
    app.data(rename, json!({ "id": message["id"], "n": "VIP sms 2" }))
        .await;
    app.data(rename, json!({ "id": line["id"], "n": "VIP chat 2" }))
        .await;
    client.expect_event("UPDATED", &line["id"]).await;
    // Kinds not asked for do not arrive; a rename out of the filter does, once (the filter
    // matches the conversation before or after the change), and later changes outside it do
    // not: the next event after it is the next VIP LINE conversation.
    app.data(DELETE, json!({ "id": line["id"] })).await;
    app.data(RESTORE, json!({ "id": line["id"] })).await;
    app.data(rename, json!({ "id": line["id"], "n": "plain" }))
        .await;
    client.expect_event("UPDATED", &line["id"]).await;
    app.data(rename, json!({ "id": line["id"], "n": "plainer" }))
        .await;
    let last = app.create(json!({ "name": "VIP", "type": "LINE" })).await;
    client.expect_event("CREATED", &last["id"]).await;
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
    let msg = client.next_message().await;
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
    let ack = legacy.next_message().await;
    assert_eq!(ack["type"], "connection_ack");
    legacy
        .send(json!({ "id": "1", "type": "start", "payload": { "query": EVENTS } }))
        .await;
    app.wait_for_subscribers(1).await;
    let c = app.create(json!({})).await;
    let msg = legacy.next_message().await;
    assert_eq!(msg["type"], "data", "{msg}");
    assert_eq!(
        msg["payload"]["data"]["conversationEvents"]["conversation"]["id"],
        c["id"]
    );
}

const SECRET: &[u8] = b"subscription-secret-0123456789";

fn token(role: Role, customer: &str, agent: Option<&str>) -> String {
    bearer_for(SECRET, role, customer, agent)
}

fn auth_options() -> AppOptions {
    hs256_options(SECRET)
}

async fn tenant_scoping_and_bad_tokens(mut app: TestApp) {
    let addr = app.serve_http().await;
    app.as_caller(&token(Role::SuperAdmin, CUST_A, None));
    let admin = json!({ "Authorization": token(Role::Admin, CUST_A, None) });
    let mut admin_a = WsClient::init(addr, admin).await;
    admin_a.subscribe("1", EVENTS, json!({})).await;
    let agent =
        json!({ "headers": { "Authorization": token(Role::Agent, CUST_A, Some(AGENT_1)) } });
    let mut agent_a = WsClient::init(addr, agent).await;
    agent_a.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(2).await;

    // Each one's next event is the first it may see: customer B's is nobody's here, and the
    // agent sees only its own.
    app.create(json!({ "customerId": CUST_B })).await;
    let a = app.create(json!({ "customerId": CUST_A })).await;
    admin_a.expect_event("CREATED", &a["id"]).await;
    let mine = app
        .create(json!({ "customerId": CUST_A, "ownerId": AGENT_1 }))
        .await;
    admin_a.expect_event("CREATED", &mine["id"]).await;
    agent_a.expect_event("CREATED", &mine["id"]).await;

    let other_key = bearer_for(b"another-secret-0123456789", Role::SuperAdmin, CUST_A, None);
    for payload in [
        json!({}),
        json!({ "Authorization": "Bearer garbage" }),
        json!({ "Authorization": other_key }),
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

/// A subscriber that stops reading is dropped; another keeps receiving every event.
async fn stalled_subscriber_is_dropped(app: TestApp) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let addr = app.serve_http().await;
    // The stalled client: a tiny receive buffer so the server's writes block soon; it asks for
    // each conversation's detail, which the writes below make big.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let request = upgrade_request(addr, "graphql-transport-ws");
    let (mut stalled, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let text = |v: serde_json::Value| Message::Text(v.to_string().into());
    stalled
        .send(text(json!({ "type": "connection_init" })))
        .await
        .unwrap();
    let ack = stalled.next().await;
    assert!(matches!(ack, Some(Ok(Message::Text(_)))), "{ack:?}");
    let query = "subscription { conversationEvents { conversation { id detail } } }";
    stalled
        .send(text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
        ))
        .await
        .unwrap();
    let mut reader = WsClient::init(addr, json!({})).await;
    reader.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(2).await;

    // 600 creates with a 16 kB detail: ~10 MB for the stalled one, more than the socket
    // buffers hold.
    let total = 600;
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < total {
            let p = reader.next_event().await;
            let id = &p["data"]["conversationEvents"]["conversation"]["id"];
            got.push(id.as_str().unwrap().to_owned());
        }
        (got, reader)
    });
    let detail = "😀".repeat(4096);
    let mut sent = Vec::new();
    for _ in 0..total {
        let c = app.create(json!({ "detail": detail })).await;
        sent.push(c["id"].as_str().unwrap().to_owned());
    }
    let (got, _reader) = reading.await.unwrap();
    assert_eq!(
        got, sent,
        "the reading subscriber got every event, in order"
    );

    // The server gives up on the stalled one once a write has waited 500 ms.
    wait_until("the stalled subscription is dropped", || async {
        app.state.events.subscriber_count() == 1
    })
    .await;
    // Draining it ends in a dropped connection, short of every event.
    let drained = tokio::time::timeout(DEADLINE, async {
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

/// Runs `query` as a subscription in process (as the WebSocket does) and polls it until the
/// event bus feeds it; nothing may arrive before.
async fn start(
    app: &TestApp,
    query: &str,
) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
    let before = app.state.events.subscriber_count();
    let request = async_graphql::Request::new(query).data(conversation_graphql::auth::Access::Open);
    let mut stream = app.state.api.subscriptions.execute_stream(request);
    tokio::select! {
        item = stream.next() => panic!("an answer before any write: {item:?}"),
        () = app.wait_for_subscribers(before + 1) => {}
    }
    stream
}

/// A subscription that falls behind the buffer gets SUBSCRIBER_TOO_SLOW with the cursor to
/// resume from, and ends; resuming with that cursor loses nothing.
async fn lagging_subscription_gets_an_error(app: TestApp) {
    // A subscription in process that nobody polls while the events come.
    let doc = "subscription($after: String) { conversationEvents(after: $after) { cursor conversation { id } } }";
    let mut stream = start(&app, doc).await;
    // A subscriber that keeps up: once it has every event, so has the buffer.
    let addr = app.serve_http().await;
    let mut reader = WsClient::init(addr, json!({})).await;
    reader.subscribe("1", EVENTS, json!({})).await;
    app.wait_for_subscribers(2).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        let c = app.create(json!({})).await;
        reader.expect_event("CREATED", &c["id"]).await;
        created.push(c["id"].clone());
    }
    let response = tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("an answer")
        .expect("an error, not the end");
    let body = serde_json::to_value(&response).unwrap();
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SUBSCRIBER_TOO_SLOW", "{body}");
    let last = error["extensions"]["lastCursor"].clone();
    assert!(last.is_string(), "{body}");
    let end = tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "the stream ended");

    // Resuming from the cursor in the error: every event it missed, in order.
    let request = async_graphql::Request::new(doc)
        .variables(async_graphql::Variables::from_json(
            json!({ "after": last }),
        ))
        .data(conversation_graphql::auth::Access::Open);
    let mut resumed = app.state.api.subscriptions.execute_stream(request);
    for id in &created {
        let response = tokio::time::timeout(DEADLINE, resumed.next())
            .await
            .expect("an event")
            .expect("not the end");
        let body = serde_json::to_value(&response).unwrap();
        assert_eq!(
            &body["data"]["conversationEvents"]["conversation"]["id"], id,
            "{body}"
        );
    }
}

crate::backend_tests! {
    every_kind_arrives, filters_and_kinds_narrow, bad_subscriptions_are_errors;
    mod auth(auth_options): tenant_scoping_and_bad_tokens;
    mod slow(slow_options): stalled_subscriber_is_dropped;
    mod lag(tiny_buffer): lagging_subscription_gets_an_error;
}
