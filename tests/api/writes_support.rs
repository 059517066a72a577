//! Helpers for the safe-write tests (versions, idempotency keys, bulk writes, deadlines): the
//! mutations with their new arguments, and the event log as (kind, id, version).

use serde_json::{json, Value};

use crate::events_support::delivered;
use crate::support::*;

/// What the safe-write tests select of a conversation.
pub const SHAPE: &str = "id name ownerId version tmUpdate tmDelete";

pub fn update_doc() -> String {
    format!(
        "mutation($id: UUID!, $input: UpdateConversationInput!, $v: Int) {{ \
         updateConversation(id: $id, input: $input, ifVersion: $v) {{ {SHAPE} }} }}"
    )
}

pub fn delete_doc() -> String {
    format!(
        "mutation($id: UUID!, $v: Int) {{ deleteConversation(id: $id, ifVersion: $v) {{ {SHAPE} }} }}"
    )
}

pub fn restore_doc() -> String {
    format!(
        "mutation($id: UUID!, $v: Int) {{ restoreConversation(id: $id, ifVersion: $v) {{ {SHAPE} }} }}"
    )
}

pub fn create_doc() -> String {
    format!(
        "mutation($input: CreateConversationInput!, $key: String) {{ \
         createConversation(input: $input, idempotencyKey: $key) {{ {SHAPE} }} }}"
    )
}

pub fn bulk_update_doc() -> String {
    format!(
        "mutation($ids: [UUID!]!, $input: UpdateConversationInput!) {{ \
         updateConversations(ids: $ids, input: $input) {{ {SHAPE} }} }}"
    )
}

pub fn bulk_delete_doc() -> String {
    format!("mutation($ids: [UUID!]!) {{ deleteConversations(ids: $ids) {{ {SHAPE} }} }}")
}

pub fn bulk_restore_doc() -> String {
    format!("mutation($ids: [UUID!]!) {{ restoreConversations(ids: $ids) {{ {SHAPE} }} }}")
}

/// One event of the log: its kind, the conversation's id and version after it, and the
/// version before it (`None` for CREATED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub kind: String,
    pub id: String,
    pub version: i64,
    pub previous: Option<i64>,
}

/// Every event of the log through `conversationEventLog` (every committed write sequenced
/// first), oldest first.
pub async fn log(app: &TestApp) -> Vec<Logged> {
    delivered(app).await;
    let query = "query($after: String) { conversationEventLog(after: $after, first: 100) { \
                 edges { node { kind conversation { id version } previous { version } } } \
                 pageInfo { hasNextPage endCursor } } }";
    let mut after = Value::Null;
    let mut all = Vec::new();
    loop {
        let data = app.data(query, json!({ "after": after })).await;
        let page = &data["conversationEventLog"];
        for edge in page["edges"].as_array().unwrap() {
            let node = &edge["node"];
            all.push(Logged {
                kind: node["kind"].as_str().unwrap().to_owned(),
                id: node["conversation"]["id"].as_str().unwrap().to_owned(),
                version: node["conversation"]["version"].as_i64().unwrap(),
                previous: node["previous"]["version"].as_i64(),
            });
        }
        after = page["pageInfo"]["endCursor"].clone();
        if page["pageInfo"]["hasNextPage"] != true {
            return all;
        }
    }
}

/// The id of a conversation answer.
pub fn id_of(c: &Value) -> String {
    c["id"].as_str().expect("an id").to_owned()
}

/// Creates `n` conversations named `{prefix}{i}` through the API; returns their ids.
pub async fn create_named(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(id_of(
            &app.create(json!({ "name": format!("{prefix}{i}") })).await,
        ));
    }
    ids
}

/// Runs a document that must fail with `code` and leave every row byte-equal and the event
/// log as it was; returns the error.
pub async fn refused_quietly(app: &TestApp, doc: &str, vars: Value, code: &str) -> Value {
    let log_before = log(app).await;
    let err = app.refused(doc, vars.clone(), code).await;
    assert_eq!(log(app).await, log_before, "{doc} with {vars}: no event");
    err
}
