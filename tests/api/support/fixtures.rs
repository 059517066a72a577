//! Test data: the seed's example conversation, stored rows, times, tokens.

use chrono::{DateTime, TimeZone, Utc};
use conversation_graphql::db::entity;
use serde_json::{json, Value};
use uuid::Uuid;

/// The fields every test selects.
pub const FIELDS: &str = "id customerId ownerType ownerId accountId name detail type dialogId \
    self { type target targetName name detail } peer { type target targetName name detail } \
    tmCreate tmUpdate tmDelete";

pub const CUSTOMER: &str = "5e4a0680-804e-11ec-8477-2fea5968d85b";
pub const ACCOUNT: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
pub const AGENT: &str = "3a4b5c6d-7e8f-9012-3456-789abcdef012";

/// The seed's example conversation as a create input.
pub fn default_input() -> Value {
    json!({
        "customerId": CUSTOMER,
        "ownerId": AGENT,
        "accountId": ACCOUNT,
        "name": "conversation",
        "detail": "conversation detail",
        "type": "MESSAGE",
        "dialogId": "+673802",
        "self": { "type": "TEL", "target": "+14703298699" },
        "peer": { "type": "TEL", "target": "+673802" }
    })
}

/// The mutations tests run by name.
pub const CREATE: &str =
    "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }";
pub const DELETE: &str = "mutation($id: UUID!) { deleteConversation(id: $id) { id tmDelete } }";
pub const RESTORE: &str = "mutation($id: UUID!) { restoreConversation(id: $id) { id tmDelete } }";

/// The seed's example with `patch` deep-merged into it.
pub fn input(patch: Value) -> Value {
    let mut input = default_input();
    merge(&mut input, patch);
    input
}

/// The variables of [`CREATE`] for the seed's example with `patch` merged in.
pub fn create_vars(patch: Value) -> Value {
    json!({ "input": input(patch) })
}

/// `value` with each string that names a value in `values` replaced by it: a table kept in a
/// data file names what is only known when the test runs (`"$alpha"`: that row's id).
pub fn with_values(value: Value, values: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) => match values.iter().find(|(name, _)| *name == s) {
            Some((_, v)) => json!(v),
            None => Value::String(s),
        },
        Value::Array(items) => items.into_iter().map(|v| with_values(v, values)).collect(),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, with_values(v, values)))
                .collect(),
        ),
        other => other,
    }
}

/// Deep-merges `patch` into `base` (objects merge, anything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// The seed's example as an import record (the source platform's shape, see `transfer`),
/// without its `id` and `tm_create`.
pub fn default_record() -> Value {
    let tel = |target: &str| json!({ "type": "tel", "target": target, "target_name": "", "name": "", "detail": "" });
    json!({
        "customer_id": CUSTOMER, "owner_type": "agent", "owner_id": AGENT, "account_id": ACCOUNT,
        "name": "conversation", "detail": "conversation detail", "type": "message",
        "dialog_id": "+673802", "self": tel("+14703298699"), "peer": tel("+673802"),
        "tm_update": null, "tm_delete": null
    })
}

/// A second customer and agent, for rows that must differ from the seed's.
pub const C2: &str = "11111111-2222-3333-4444-555555555555";
pub const A2: &str = "99999999-8888-7777-6666-555555555555";

/// Placeholders that tables in data files use for the constants above.
pub fn known_values() -> Vec<(&'static str, &'static str)> {
    vec![
        ("$CUSTOMER", CUSTOMER),
        ("$ACCOUNT", ACCOUNT),
        ("$AGENT", AGENT),
        ("$C2", C2),
        ("$A2", A2),
    ]
}

/// A stored row with the seed's values; tweak the fields a test needs.
pub fn raw_row(tm_create: DateTime<Utc>) -> entity::Model {
    entity::Model {
        id: Uuid::new_v4(),
        customer_id: CUSTOMER.parse().unwrap(),
        owner_type: "agent".into(),
        owner_id: Some(AGENT.parse().unwrap()),
        account_id: ACCOUNT.parse().unwrap(),
        name: "conversation".into(),
        detail: "conversation detail".into(),
        kind: "message".into(),
        dialog_id: "+673802".into(),
        self_type: "tel".into(),
        self_target: "+14703298699".into(),
        self_target_name: String::new(),
        self_name: String::new(),
        self_detail: String::new(),
        peer_type: "tel".into(),
        peer_target: "+673802".into(),
        peer_target_name: String::new(),
        peer_name: String::new(),
        peer_detail: String::new(),
        tm_create,
        tm_update: None,
        tm_delete: None,
        version: 1,
    }
}

/// A legacy row: both timestamps the "not yet" sentinel, and the nil UUID as its owner.
pub fn legacy_row(tm_create: DateTime<Utc>) -> entity::Model {
    entity::Model {
        tm_update: Some(sentinel()),
        tm_delete: Some(sentinel()),
        owner_id: Some(Uuid::nil()),
        owner_type: String::new(),
        ..raw_row(tm_create)
    }
}

/// The legacy "not yet" sentinel, `9999-01-01 00:00:00.000000`.
pub fn sentinel() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap()
}

/// Checks that `value` is a time as the API writes it: UTC, to the microsecond, with `Z`
/// (`2022-06-23T05:05:40.950834Z`).
pub fn assert_api_time(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    assert_eq!(text.len(), "2022-06-23T05:05:40.950834Z".len(), "{text}");
    assert!(text.ends_with('Z'), "{text}");
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The ids of a `conversations` answer, in order.
pub fn ids(connection: &Value) -> Vec<String> {
    nodes(connection)
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The names of a connection's nodes (`nodes { name }` or `edges { node { name } }`), in
/// order.
pub fn node_names(connection: &Value) -> Vec<String> {
    nodes(connection)
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The nodes of a connection answer: its `nodes`, or each of its `edges`' `node`.
pub fn nodes(connection: &Value) -> Vec<Value> {
    match connection["nodes"].as_array() {
        Some(nodes) => nodes.clone(),
        None => connection["edges"]
            .as_array()
            .expect("a connection with nodes or edges")
            .iter()
            .map(|e| e["node"].clone())
            .collect(),
    }
}

/// Two customers for tenancy tests, and an agent of the first.
pub const CUST_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const CUST_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
pub const AGENT_1: &str = "11111111-0000-4000-8000-00000000a001";
pub const AGENT_2: &str = "22222222-0000-4000-8000-00000000a002";

/// An `Authorization` value with an HS256 token for this caller, valid for ten minutes.
pub fn bearer_for(
    secret: &[u8],
    role: conversation_graphql::auth::Role,
    customer: &str,
    agent: Option<&str>,
) -> String {
    let caller = conversation_graphql::auth::Caller {
        role,
        customer_id: customer.parse().expect("customer uuid"),
        agent_id: agent.map(|a| a.parse().expect("agent uuid")),
    };
    let token = conversation_graphql::auth::mint_hs256(
        secret,
        &caller,
        std::time::Duration::from_secs(600),
    )
    .expect("mint");
    format!("Bearer {token}")
}
