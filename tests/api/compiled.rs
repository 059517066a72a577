//! The compiled path (`graphql::compiled`) answers plain reads byte for byte as the general
//! path does. A document runs on the general path the first time (it is validated then), and
//! on its plan from the second time; the same document with `@include(if: true)` on its root
//! field never has a plan. Both answers must be the same bytes, and
//! `graphql_compiled_requests_total` must show which requests the plan answered.

use axum::body::Body;
use axum::http::Request;
use conversation_graphql::auth::Role;
use serde_json::{json, Value};

use crate::support::*;

const SECRET: &[u8] = b"compiled-test-secret-0123456789abcd";

const ALL: &str = "__typename id nodeId customerId ownerType ownerId accountId name detail type \
    dialogId tmCreate tmUpdate tmDelete version \
    self { __typename type target targetName name detail } \
    peer { __typename type target targetName name detail }";

/// The response body, as bytes (as text), of `body` posted to `/graphql`.
async fn raw(app: &TestApp, body: Value) -> String {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(token) = &app.token {
        request = request.header("authorization", token);
    }
    let request = request.body(Body::from(body.to_string())).unwrap();
    let (_, _, bytes) = bytes_from(&app.router, request).await;
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// `graphql_compiled_requests_total` of the app's `/metrics`.
async fn compiled_count(app: &TestApp) -> u64 {
    let r = app.send(get("/metrics", "text/plain")).await;
    let text = r.body.as_str().unwrap_or_default().to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("graphql_compiled_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no graphql_compiled_requests_total in {text}"))
}

/// Runs `doc` (whose root field is followed by `@D`) on both paths with `variables` and
/// `operationName`; asserts the same bytes, and whether the plan answered. Returns the answer.
async fn both(
    app: &TestApp,
    doc: &str,
    variables: Value,
    name: Option<&str>,
    compiled: bool,
) -> Value {
    let body = |doc: String| json!({ "query": doc, "variables": variables, "operationName": name });
    let general = raw(app, body(doc.replace("@D", "@include(if: true)"))).await;
    let plain = body(doc.replace("@D", ""));
    let first = raw(app, plain.clone()).await;
    let before = compiled_count(app).await;
    let second = raw(app, plain).await;
    let after = compiled_count(app).await;
    assert_eq!(first, general, "first run of {doc} with {variables}");
    assert_eq!(second, general, "planned run of {doc} with {variables}");
    assert_eq!(
        after - before,
        u64::from(compiled),
        "did the plan answer {doc} with {variables}? {general}"
    );
    serde_json::from_str(&general).unwrap()
}

/// Rows that differ in every part: owned or not, updated, deleted, LINE, text that needs
/// escaping, a legacy row with sentinels and a nil owner.
async fn seed(app: &TestApp) -> Vec<Value> {
    let a = app
        .create(json!({ "name": "quote \" back \\ tab \t é 😀", "detail": "line\nnext \u{1}" }))
        .await;
    let b = app
        .create(json!({ "ownerId": null, "type": "LINE", "dialogId": "Uroom",
                        "peer": { "type": "LINE", "target": "Ufriend", "name": "Pat", "detail": "</script>" } }))
        .await;
    let c = app.create(json!({ "name": "third" })).await;
    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }",
        json!({ "id": a["id"] }),
    )
    .await;
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    let legacy = legacy_row(at("2022-06-23T05:05:40.950834Z"));
    let d = json!(legacy.id);
    app.insert_raw(legacy).await;
    vec![a["id"].clone(), b["id"].clone(), c["id"].clone(), d]
}

async fn plain_reads_answer_alike_on_both_paths(app: TestApp) {
    let ids = seed(&app).await;
    let one = format!("query($id: UUID!) {{ conversation(id: $id) @D {{ {ALL} }} }}");
    for id in ids.iter().chain([&json!(uuid::Uuid::new_v4())]) {
        both(&app, &one, json!({ "id": id }), None, true).await;
    }
    // Aliases, a named operation (with and without its name), a literal id.
    let named = "query Named($id: UUID!) { c: conversation(id: $id) @D { i: id __typename \
                 p: peer { t: target __typename } tmCreate } }";
    both(&app, named, json!({ "id": ids[0] }), Some("Named"), true).await;
    both(&app, named, json!({ "id": ids[1] }), None, true).await;
    let literal = format!("{{ conversation(id: {}) @D {{ id name }} }}", ids[1]);
    both(&app, &literal, json!({}), None, true).await;

    // Lists: every connection field, with and without the page info that reads.
    let list = format!(
        "{{ conversations(includeDeleted: true, first: 10) @D {{ __typename totalCount \
         edges {{ __typename cursor node {{ {ALL} }} }} nodes {{ id }} \
         pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
    );
    let whole = both(&app, &list, json!({}), None, true).await;
    assert_eq!(whole["data"]["conversations"]["totalCount"], 4, "{whole}");
    let cursor = whole["data"]["conversations"]["edges"][1]["cursor"].clone();
    let page = "query($c: UUID!, $n: Int, $a: String, $b: String, $l: Int) { \
                conversations(filter: { customerId: { eq: $c } }, first: $n, after: $a, \
                before: $b, last: $l) @D { edges { cursor node { id name type } } \
                pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let customer = whole["data"]["conversations"]["edges"][0]["node"]["customerId"].clone();
    for vars in [
        json!({ "c": customer, "n": 1 }),
        json!({ "c": customer, "n": 1, "a": cursor }),
        json!({ "c": customer, "l": 1, "b": cursor }),
        json!({ "c": customer, "l": 5 }),
        json!({ "c": uuid::Uuid::new_v4(), "n": 5 }),
    ] {
        both(&app, page, vars, None, true).await;
    }
    for args in [
        "orderBy: { field: NAME, direction: ASC }",
        "orderBy: { field: TM_UPDATE, direction: DESC }, includeDeleted: true",
        "search: \"renamed\"",
        "filter: { or: [{ type: { eq: LINE } }, { name: { contains: \"third\" } }] }, includeDeleted: true",
    ] {
        let doc = format!(
            "{{ conversations({args}) @D {{ nodes {{ id name tmUpdate }} pageInfo {{ endCursor hasNextPage }} }} }}"
        );
        both(&app, &doc, json!({}), None, true).await;
    }
}

async fn what_a_plan_refuses_the_general_path_answers(app: TestApp) {
    let ids = seed(&app).await;
    // Errors: the plan gives way, and the answer is the general path's, error included.
    let one = "query($id: UUID!) { conversation(id: $id) @D { id } }";
    for vars in [
        json!({ "id": "not-a-uuid" }),
        json!({ "id": null }),
        json!({}),
    ] {
        both(&app, one, vars, None, false).await;
    }
    let other_name = "query Named($id: UUID!) { conversation(id: $id) @D { id } }";
    both(
        &app,
        other_name,
        json!({ "id": ids[0] }),
        Some("Other"),
        false,
    )
    .await;
    let list =
        "query($n: Int, $a: String) { conversations(first: $n, after: $a) @D { nodes { id } } }";
    for vars in [
        json!({ "n": 1000 }),
        json!({ "n": -1 }),
        json!({ "n": 1, "a": "garbage" }),
        json!({ "n": "1" }),
    ] {
        let answer = both(&app, list, vars, None, false).await;
        assert!(
            answer["errors"][0]["extensions"]["code"].is_string(),
            "{answer}"
        );
    }
    // Shapes a plan does not cover: the general path answers every time.
    for doc in [
        "{ conversations @D { nodes { ... on Conversation { id } } } }",
        "{ conversations @D { nodes { id } } a: conversations { totalCount } }",
        "{ conversations @D { nodes { id id } } }",
        "{ conversations @D { nodes { id name @skip(if: false) } } }",
    ] {
        both(&app, doc, json!({}), None, false).await;
    }
}

async fn a_plan_reads_only_the_callers_tenant(mut app: TestApp) {
    app.as_caller(&bearer_for(SECRET, Role::SuperAdmin, CUST_A, None));
    let mine = app.create(json!({ "customerId": CUST_A })).await;
    let theirs = app.create(json!({ "customerId": CUST_B })).await;
    app.as_caller(&bearer_for(SECRET, Role::Admin, CUST_A, None));
    let one = "query($id: UUID!) { conversation(id: $id) @D { id customerId } }";
    let got = both(&app, one, json!({ "id": mine["id"] }), None, true).await;
    assert_eq!(got["data"]["conversation"]["id"], mine["id"]);
    let got = both(&app, one, json!({ "id": theirs["id"] }), None, true).await;
    assert_eq!(got["data"]["conversation"], Value::Null, "{got}");
    let list = "{ conversations @D { nodes { customerId } } }";
    let got = both(&app, list, json!({}), None, true).await;
    assert_eq!(
        got["data"]["conversations"]["nodes"],
        json!([{ "customerId": CUST_A }])
    );
}

fn with_auth() -> conversation_graphql::app::AppOptions {
    hs256_options(SECRET)
}

crate::backend_tests! {
    plain_reads_answer_alike_on_both_paths,
    what_a_plan_refuses_the_general_path_answers;
    mod scoped(with_auth): a_plan_reads_only_the_callers_tenant;
}
