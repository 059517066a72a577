//! Helpers for the event log tests: waiting on conditions (never on time), writing many
//! events at once, reading the log and the subscriptions, and server processes on a fresh
//! database of any backend.

use std::future::Future;
use std::time::{Duration, Instant};

use conversation_graphql::db::OnExisting;
use conversation_graphql::domain::{Conversation, Record};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

/// What the event tests select of an event.
pub const EVENT: &str = "cursor kind at conversation { id name ownerId customerId tmDelete } \
                         previous { id name ownerId tmDelete }";

/// `conversationEvents` with `$f`, `$k` and `$after`.
pub fn subscription() -> String {
    format!(
        "subscription($f: ConversationFilter, $k: [ConversationEventKind!], $after: String) {{ \
         conversationEvents(filter: $f, kinds: $k, after: $after) {{ {EVENT} }} }}"
    )
}

/// `conversationEventLog` with `$f`, `$k`, `$after` and `$first`.
pub fn log_query() -> String {
    format!(
        "query($f: ConversationFilter, $k: [ConversationEventKind!], $after: String, $first: Int) {{ \
         conversationEventLog(filter: $f, kinds: $k, after: $after, first: $first) {{ \
         edges {{ cursor node {{ {EVENT} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

/// Waits until `cond` holds, checking every 10 ms; panics after `secs` seconds (for waits
/// longer than the harness's `DEADLINE`).
pub async fn wait_for<F, Fut>(what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "waited {secs} s for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the app's tailer published every event the log holds (every committed write
/// has its event sequenced and sent to the subscribers).
pub async fn delivered(app: &TestApp) {
    let bus = app.state.events.clone();
    wait_for("every event published", 20, || {
        let bus = bus.clone();
        async move {
            let log = bus.log();
            !log.has_pending().await.unwrap()
                && bus.published() == Some(log.bounds().await.unwrap().head)
        }
    })
    .await;
}

/// A conversation of `CUSTOMER` named `name`, not yet stored.
pub fn conversation(name: &str, detail: &str) -> Conversation {
    let record: Record = serde_json::from_value(json!({
        "id": Uuid::new_v4(), "customer_id": CUSTOMER, "account_id": ACCOUNT,
        "owner_type": "agent", "owner_id": AGENT,
        "name": name, "detail": detail, "type": "message", "dialog_id": "+673802",
        "tm_create": "2022-06-23T05:05:40.950834Z",
        "self": { "type": "tel", "target": "+14703298699" },
        "peer": { "type": "tel", "target": "+673802" },
    }))
    .unwrap();
    record.parse().unwrap()
}

/// Stores `n` conversations named `{prefix}{i}` with their CREATED events, in one
/// transaction; returns their ids in order.
pub async fn write_events(app: &TestApp, prefix: &str, n: usize, detail: &str) -> Vec<String> {
    let rows: Vec<Conversation> = (0..n)
        .map(|i| conversation(&format!("{prefix}{i}"), detail))
        .collect();
    app.state
        .store
        .import_batch(&rows, OnExisting::Skip, true)
        .await
        .expect("write events");
    rows.iter().map(|c| c.id.to_string()).collect()
}

/// Every event of the log through `conversationEventLog`, following `endCursor`.
pub async fn whole_log(app: &TestApp, filter: Value) -> Vec<Value> {
    let filter = &filter;
    every_event(|after| async move {
        app.data(
            &log_query(),
            json!({ "f": filter, "after": after, "first": 100 }),
        )
        .await
    })
    .await
}

/// Every event of the log, one `conversationEventLog` page (the data `page` answers for an
/// `after`) at a time, following `endCursor`.
pub async fn every_event<F, Fut>(mut page: F) -> Vec<Value>
where
    F: FnMut(Value) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut after = Value::Null;
    let mut all = Vec::new();
    loop {
        let data = page(after).await;
        let log = &data["conversationEventLog"];
        all.extend(nodes(log));
        after = log["pageInfo"]["endCursor"].clone();
        if log["pageInfo"]["hasNextPage"] != true {
            return all;
        }
    }
}

/// The next `n` events on `client` (`complete`s of earlier subscriptions are skipped; any
/// other message fails). Each must come within the harness's `DEADLINE` of the one before.
pub async fn take(client: &mut WsClient, n: usize) -> Vec<Value> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let msg = client.next_message().await;
        if msg["type"] == "complete" {
            continue;
        }
        assert_eq!(msg["type"], "next", "{msg}");
        assert!(msg["payload"].get("errors").is_none(), "{msg}");
        got.push(msg["payload"]["data"]["conversationEvents"].clone());
    }
    got
}

/// The conversation names of events.
pub fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["conversation"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The cursors of events, decoded to positions (to compare orders).
pub fn positions(events: &[Value]) -> Vec<u64> {
    use conversation_graphql::domain::EventCursor;
    events
        .iter()
        .map(|e| {
            EventCursor::decode(e["cursor"].as_str().unwrap())
                .unwrap()
                .0
        })
        .collect()
}

/// The errors of subscription `id`'s first answer (messages of other subscriptions, and
/// `complete`s, are skipped).
pub async fn errors_of(client: &mut WsClient, id: &str) -> Value {
    loop {
        let msg = client.next_message().await;
        if msg["id"] != id || msg["type"] == "complete" {
            continue;
        }
        return match msg["type"].as_str() {
            Some("error") => msg["payload"].clone(),
            _ => msg["payload"]["errors"].clone(),
        };
    }
}
