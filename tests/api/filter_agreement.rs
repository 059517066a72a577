//! One filter, two evaluations: `conversations` runs it in SQL, `conversationEvents` in memory.
//! For every case of the table, on every backend, both must pick the same rows.
//!
//! The rows are stored once; one subscription per case (all on one socket) listens while each
//! row is touched (deleted and restored, or restored and deleted if it was deleted), so every
//! row's last event carries it as it is when `conversations` reads it afterwards. A closing row
//! that every case matches (`or: [CASE, { name: { eq: CLOSING } }]`) is touched last: once a
//! subscription has its event, it has all of its own.

use std::collections::{BTreeSet, HashMap};

use conversation_graphql::db::entity::Model;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const CLOSING: &str = "zz closing row";
const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// The id of row `n` (as in `data/filter_agreement_rows.ndjson`).
fn rid(n: u128) -> String {
    Uuid::from_u128(0x0f11_7e40_0000_4000_8000_0000_0000_0000 + n).to_string()
}

/// Rows that differ in every filterable field, with text in several scripts
/// (`data/filter_agreement_rows.ndjson`), and a legacy row stored as it is: the "not yet"
/// sentinel in both timestamps and the nil UUID as its owner. Their names by id, and which of
/// them are deleted.
async fn store_rows(app: &TestApp) -> (HashMap<String, String>, BTreeSet<String>) {
    let rows = include_str!("data/filter_agreement_rows.ndjson");
    let imported = app.import_rows(rows).await;
    let deleted = rows
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|row| !row["tm_delete"].is_null())
        .map(|row| row["id"].as_str().expect("an id").to_owned())
        .collect();
    let legacy = Model {
        id: rid(12).parse().unwrap(),
        name: "legacy".into(),
        ..legacy_row(at("2021-01-01T00:00:00Z"))
    };
    app.insert_raw(legacy).await;
    let mut names: HashMap<String, String> = imported
        .into_iter()
        .map(|(name, id)| (id.to_string(), name))
        .collect();
    names.insert(rid(12), "legacy".into());
    (names, deleted)
}

/// Every operator of every filter input, `and`/`or`/`not`, nulls, the legacy sentinel and the
/// nil owner, case-insensitive matches in several scripts, and `%`, `_`, `!`, `\` literally:
/// `data/filter_agreement.json`, by section.
fn cases() -> Vec<Value> {
    let table: Value = serde_json::from_str(include_str!("data/filter_agreement.json"))
        .expect("data/filter_agreement.json is JSON");
    let (r1, r3) = (rid(1), rid(3));
    let mut values = known_values();
    values.extend([("$r1", r1.as_str()), ("$r3", r3.as_str()), ("$NIL", NIL)]);
    let sections = table.as_object().expect("sections");
    sections
        .values()
        .flat_map(|cases| cases.as_array().expect("a list of cases").clone())
        .map(|case| with_values(case, &values))
        .collect()
}

const EVENTS_OF: &str = "subscription($f: ConversationFilter) {
  conversationEvents(filter: $f) { kind conversation { id } }
}";
const LIST: &str = "query($f: ConversationFilter) {
  conversations(filter: $f, includeDeleted: true, first: 100) { totalCount nodes { id } }
}";

async fn sql_and_in_memory_filters_agree(app: TestApp) {
    let (names, deleted) = store_rows(&app).await;
    // The kind of each row's last event: deleted rows end deleted, the others restored.
    let last_kind = |id: &str| {
        if deleted.contains(id) {
            "DELETED"
        } else {
            "RESTORED"
        }
    };
    let cases: Vec<Value> = cases()
        .into_iter()
        .map(|case| json!({ "or": [case, { "name": { "eq": CLOSING } }] }))
        .collect();

    // In memory: one subscription per case, then every row touched, the closing row last.
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    for (i, case) in cases.iter().enumerate() {
        client
            .subscribe(&i.to_string(), EVENTS_OF, json!({ "f": case }))
            .await;
    }
    app.wait_for_subscribers(cases.len()).await;
    let closing = rid(13);
    let mut ids: Vec<&String> = names.keys().filter(|id| **id != closing).collect();
    ids.push(&closing);
    for id in ids {
        let order = match last_kind(id) {
            "DELETED" => [RESTORE, DELETE],
            _ => [DELETE, RESTORE],
        };
        for doc in order {
            app.data(doc, json!({ "id": id })).await;
        }
    }
    let mut delivered: Vec<BTreeSet<String>> = vec![BTreeSet::new(); cases.len()];
    let mut open = cases.len();
    while open > 0 {
        let msg = client.next_message().await;
        let case: usize = msg["id"].as_str().and_then(|i| i.parse().ok()).unwrap();
        assert_eq!(msg["type"], "next", "case {}: {msg}", cases[case]);
        let event = &msg["payload"]["data"]["conversationEvents"];
        let (kind, id) = (
            event["kind"].as_str().unwrap(),
            event["conversation"]["id"].as_str().unwrap(),
        );
        if kind == last_kind(id) {
            delivered[case].insert(names[id].clone());
            if id == closing {
                open -= 1;
            }
        }
    }

    // In SQL, and the two compared.
    let mut disagreements = Vec::new();
    for (case, in_memory) in cases.iter().zip(&delivered) {
        let data = app.data(LIST, json!({ "f": case })).await;
        let nodes = data["conversations"]["nodes"].as_array().unwrap();
        assert_eq!(data["conversations"]["totalCount"], nodes.len(), "{case}");
        let in_sql: BTreeSet<String> = nodes
            .iter()
            .map(|n| names[n["id"].as_str().unwrap()].clone())
            .collect();
        if &in_sql != in_memory {
            let filter = &case["or"][0];
            let only_sql: Vec<_> = in_sql.difference(in_memory).collect();
            let only_memory: Vec<_> = in_memory.difference(&in_sql).collect();
            disagreements.push(format!(
                "{filter}: only in SQL {only_sql:?}, only in memory {only_memory:?}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} filter cases disagree on {}:\n{}",
        disagreements.len(),
        cases.len(),
        app.backend.label(),
        disagreements.join("\n")
    );
    // The table is not vacuous: the first case picks exactly alpha (and the closing row).
    let first: Vec<&str> = delivered[0].iter().map(String::as_str).collect();
    assert_eq!(first, ["alpha", CLOSING]);
}

/// Every case is a subscription on one socket: more than the default cap per connection.
fn many_subscriptions() -> conversation_graphql::app::AppOptions {
    let mut options = conversation_graphql::app::AppOptions::default();
    options.connection.max_subscriptions_per_connection = 1_000;
    options
}

crate::backend_tests! {
    mod wide(many_subscriptions): sql_and_in_memory_filters_agree;
}
