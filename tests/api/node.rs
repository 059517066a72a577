//! Relay object identification: `Conversation.nodeId`, `node(id)` and `nodes(ids)`. Ids that
//! are malformed, unknown or outside the caller's scope all read as `null`, alike.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const NODE: &str = "query($nodeId: ID!) { node(id: $nodeId) { __typename nodeId ... on Conversation { id name tmDelete } } }";
const NODES: &str =
    "query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId ... on Conversation { id name tmDelete } } }";
const GET: &str = "query($id: UUID!) { conversation(id: $id) { nodeId id name tmDelete } }";

async fn node_id(app: &TestApp, id: &Value) -> String {
    let data = app.data(GET, json!({ "id": id })).await;
    data["conversation"]["nodeId"]
        .as_str()
        .expect("nodeId is a string")
        .to_owned()
}

/// What `node` answers: the conversation as `NODE` selects it, or `null`.
async fn node(app: &TestApp, node_id: &str) -> Value {
    app.data(NODE, json!({ "nodeId": node_id })).await["node"].clone()
}

async fn nodes(app: &TestApp, ids: &[String]) -> Value {
    app.data(NODES, json!({ "ids": ids })).await["nodes"].clone()
}

fn as_node(c: &Value, node_id: &str) -> Value {
    json!({ "__typename": "Conversation", "nodeId": node_id, "id": c["id"], "name": c["name"], "tmDelete": c["tmDelete"] })
}

/// The id of a conversation that does not exist, in the form this server makes.
fn unknown_node_id() -> String {
    URL_SAFE_NO_PAD.encode(format!("Conversation:{}", Uuid::new_v4()))
}

async fn node_ids_round_trip(app: TestApp) {
    let a = app.create(json!({ "name": "a" })).await;
    let b = app.create(json!({ "name": "b" })).await;
    let (na, nb) = (node_id(&app, &a["id"]).await, node_id(&app, &b["id"]).await);
    assert_ne!(na, nb, "globally unique");
    assert_ne!(na, a["id"].as_str().unwrap(), "not the bare UUID");
    assert_eq!(node(&app, &na).await, as_node(&a, &na));
    assert_eq!(node(&app, &nb).await, as_node(&b, &nb));

    // The same id everywhere the conversation shows, and after it changes.
    let listed = app
        .data("{ conversations { nodes { id nodeId } } }", json!({}))
        .await;
    for c in listed["conversations"]["nodes"].as_array().unwrap() {
        let expected = if c["id"] == a["id"] { &na } else { &nb };
        assert_eq!(c["nodeId"], json!(expected), "{listed}");
    }
    let renamed = app
        .data(
            "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"a2\" }) { nodeId name } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(renamed["updateConversation"]["nodeId"], json!(na));
    assert_eq!(node(&app, &na).await["name"], "a2");

    // Relay's refetch query: the id through the interface, the rest through the fragment.
    let refetched = app
        .data(
            "query Refetch($nodeId: ID!) { node(id: $nodeId) { __typename ...F nodeId } } \
             fragment F on Conversation { name peer { target } }",
            json!({ "nodeId": nb }),
        )
        .await;
    assert_eq!(
        refetched["node"],
        json!({ "__typename": "Conversation", "name": "b", "peer": { "target": "+673802" }, "nodeId": nb })
    );
}

async fn garbage_and_unknown_ids_are_null(app: TestApp) {
    let c = app.create(json!({})).await;
    let id = c["id"].as_str().unwrap();
    let real = node_id(&app, &c["id"]).await;
    let garbage = [
        String::new(),
        "garbage".into(),
        "!!!".into(),
        "\u{0}".into(),
        "x".repeat(10_000),
        id.to_owned(),
        unknown_node_id(),
        URL_SAFE_NO_PAD.encode(format!("Conversation:{}", id.to_uppercase())),
        URL_SAFE_NO_PAD.encode(format!("Conversation:{}", id.replace('-', ""))),
        URL_SAFE.encode(format!("Conversation:{id}")) + "==",
        format!("{real}="),
        URL_SAFE_NO_PAD.encode(format!("Account:{id}")),
        URL_SAFE_NO_PAD.encode(format!("Conversation:{id}:x")),
        URL_SAFE_NO_PAD.encode("Conversation:"),
    ];
    for bad in &garbage {
        let body = app.gql(NODE, json!({ "nodeId": bad })).await;
        assert_eq!(body, json!({ "data": { "node": null } }), "{bad:?}");
    }
    let all: Vec<String> = garbage.to_vec();
    assert_eq!(nodes(&app, &all).await, json!(vec![Value::Null; all.len()]));
    // An `ID` may be given as an integer literal; it names nothing either.
    let body = app.gql("{ node(id: 42) { nodeId } }", json!({})).await;
    assert_eq!(body, json!({ "data": { "node": null } }));
    // The real one still works.
    assert_eq!(node(&app, &real).await, as_node(&c, &real));
}

async fn nodes_keep_the_order_of_ids(app: TestApp) {
    let mut created = Vec::new();
    for i in 0..5 {
        let c = app.create(json!({ "name": format!("c{i}") })).await;
        let n = node_id(&app, &c["id"]).await;
        created.push((c, n));
    }
    let unknown = unknown_node_id();
    let order: [Option<usize>; 9] = [
        Some(3),
        None,
        Some(0),
        Some(3),
        Some(4),
        None,
        Some(1),
        Some(0),
        Some(2),
    ];
    let ids: Vec<String> = order
        .iter()
        .enumerate()
        .map(|(i, o)| match o {
            Some(k) => created[*k].1.clone(),
            None if i == 1 => "garbage".to_owned(),
            None => unknown.clone(),
        })
        .collect();
    let expected: Vec<Value> = order
        .iter()
        .map(|o| o.map_or(Value::Null, |k| as_node(&created[k].0, &created[k].1)))
        .collect();
    assert_eq!(nodes(&app, &ids).await, json!(expected));
    let reversed: Vec<String> = ids.iter().rev().cloned().collect();
    let expected: Vec<Value> = expected.into_iter().rev().collect();
    assert_eq!(nodes(&app, &reversed).await, json!(expected));
    assert_eq!(nodes(&app, &[]).await, json!([]));
}

async fn nodes_take_at_most_100_ids(app: TestApp) {
    let c = app.create(json!({})).await;
    let real = node_id(&app, &c["id"]).await;
    let mut ids: Vec<String> = (0..100).map(|_| unknown_node_id()).collect();
    ids[0] = real.clone();
    ids[99] = real.clone();
    let answer = nodes(&app, &ids).await;
    let answer = answer.as_array().unwrap();
    assert_eq!(answer.len(), 100);
    assert_eq!(answer[0], as_node(&c, &real));
    assert_eq!(answer[99], as_node(&c, &real));
    assert!(answer[1..99].iter().all(Value::is_null));

    ids.push(real);
    let body = app.gql(NODES, json!({ "ids": ids })).await;
    let err = &body["errors"][0];
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(err["extensions"]["field"], "ids", "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
}

async fn deleted_conversations_are_reachable(app: TestApp) {
    let c = app.create(json!({ "name": "gone" })).await;
    let n = node_id(&app, &c["id"]).await;
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    let by_id = app.data(GET, json!({ "id": c["id"] })).await["conversation"].clone();
    assert!(by_id["tmDelete"].is_string(), "{by_id}");
    let by_node = node(&app, &n).await;
    assert_eq!(by_node["tmDelete"], by_id["tmDelete"], "{by_node}");
    assert_eq!(by_node["nodeId"], by_id["nodeId"]);
    assert_eq!(
        nodes(&app, &[n.clone(), n]).await,
        json!([by_node, by_node])
    );
}

// --- scope ------------------------------------------------------------------------------------

const SECRET: &[u8] = b"node-test-secret-0123456789abcdef";

fn with_auth() -> AppOptions {
    hs256_options(SECRET)
}

async fn other_tenants_ids_are_null(mut app: TestApp) {
    app.as_caller(&bearer_for(SECRET, Role::SuperAdmin, CUST_A, None));
    let mut made = Vec::new();
    for (customer, agent) in [(CUST_A, AGENT_1), (CUST_A, AGENT_2), (CUST_B, AGENT_1)] {
        let c = app
            .create(json!({ "customerId": customer, "ownerId": agent }))
            .await;
        let n = node_id(&app, &c["id"]).await;
        made.push((c, n));
    }
    let [(a1, na1), (a2, na2), (b1, nb1)] = &made[..] else {
        unreachable!()
    };
    let unknown = unknown_node_id();
    let ids = vec![nb1.clone(), na1.clone(), unknown.clone(), na2.clone()];
    assert_eq!(
        nodes(&app, &ids).await,
        json!([as_node(b1, nb1), as_node(a1, na1), null, as_node(a2, na2)]),
        "a superadmin sees every customer's"
    );

    // An admin of customer A: B's conversation reads exactly like one that does not exist.
    app.as_caller(&bearer_for(SECRET, Role::Admin, CUST_A, None));
    let foreign = app.gql(NODE, json!({ "nodeId": nb1 })).await;
    let missing = app.gql(NODE, json!({ "nodeId": unknown })).await;
    assert_eq!(foreign, json!({ "data": { "node": null } }));
    assert_eq!(foreign, missing, "no hint that the row exists elsewhere");
    assert_eq!(
        nodes(&app, &ids).await,
        json!([null, as_node(a1, na1), null, as_node(a2, na2)])
    );

    // Agent 1 of customer A: only what it owns; agent 1 of B's row is not its either.
    app.as_caller(&bearer_for(SECRET, Role::Agent, CUST_A, Some(AGENT_1)));
    assert_eq!(
        nodes(&app, &ids).await,
        json!([null, as_node(a1, na1), null, null])
    );
    assert_eq!(node(&app, na2).await, Value::Null);
    assert_eq!(node(&app, na1).await, as_node(a1, na1));

    // Without a token: refused as every request is, nothing in `data`.
    app.token = None;
    let body = app.gql(NODE, json!({ "nodeId": na1 })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");
}

// --- complexity -------------------------------------------------------------------------------

fn tight_complexity() -> AppOptions {
    limited(|l| l.max_complexity = 60)
}

/// `nodes` costs what its selection costs once per id, like a page of its size.
async fn nodes_weigh_by_their_ids(app: TestApp) {
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId ... on Conversation { id name } } }";
    let ids = |n: usize| -> Vec<String> { (0..n).map(|_| unknown_node_id()).collect() };
    // 1 + 3 × 19 = 58: fine.
    let ok = app.data(q, json!({ "ids": ids(19) })).await;
    assert_eq!(ok["nodes"].as_array().unwrap().len(), 19);
    // 1 + 3 × 20 = 61: too complex, before anything runs.
    let err = app.error(q, json!({ "ids": ids(20) })).await;
    assert_eq!(err["extensions"]["code"], "QUERY_TOO_COMPLEX", "{err}");
    // The same with the ids written into the document.
    let literal = |n: usize| {
        let list: Vec<String> = ids(n).iter().map(|i| format!("\"{i}\"")).collect();
        format!(
            "{{ nodes(ids: [{}]) {{ nodeId ... on Conversation {{ id name }} }} }}",
            list.join(",")
        )
    };
    app.data(&literal(19), json!({})).await;
    let err = app.error(&literal(20), json!({})).await;
    assert_eq!(err["extensions"]["code"], "QUERY_TOO_COMPLEX", "{err}");
}

crate::backend_tests! {
    node_ids_round_trip,
    garbage_and_unknown_ids_are_null,
    nodes_keep_the_order_of_ids,
    nodes_take_at_most_100_ids,
    deleted_conversations_are_reachable;
    mod scoped(with_auth): other_tenants_ids_are_null;
    mod complexity(tight_complexity): nodes_weigh_by_their_ids;
}
