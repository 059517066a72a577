//! Requests that try to be two things at once, or to make the answer big: duplicate keys,
//! unknown directives, skipped root fields, huge error lists and echoed names.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

const GQL_JSON: &str = "application/graphql-response+json";

/// Sends a raw body (which `json!` could not hold: duplicate keys).
async fn post_raw(app: &TestApp, body: String) -> Reply {
    app.send(
        Request::post("/graphql")
            .header("content-type", "application/json")
            .header("accept", GQL_JSON)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn code(r: &Reply) -> &Value {
    &r.body["errors"][0]["extensions"]["code"]
}

async fn duplicate_keys_are_request_errors(app: TestApp) {
    let created = app.create(json!({})).await;
    let id = created["id"].as_str().unwrap();
    let before = app.snapshot().await;
    // A proxy reading the first `query` sees a read; the last one would delete.
    let sneaky = format!(
        r#"{{"query":"{{ __typename }}","query":"mutation {{ deleteConversation(id: \"{id}\") {{ id }} }}"}}"#
    );
    let r = post_raw(&app, sneaky).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(code(&r), "BAD_USER_INPUT");
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("`query`"));
    // Nested objects too: the variables.
    let nested = format!(
        r#"{{"query":"query($id: UUID!) {{ conversation(id: $id) {{ id }} }}","variables":{{"id":"{id}","id":"x"}}}}"#
    );
    let r = post_raw(&app, nested).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // And a GET parameter given twice.
    let r = app
        .send(
            Request::get("/graphql?query=%7B__typename%7D&query=%7Bx%7D")
                .header("accept", GQL_JSON)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(app.snapshot().await, before, "nothing was written");
}

async fn unknown_directives_fail_validation(app: TestApp) {
    for query in [
        "{ __typename @foo }",
        "{ conversations @foo { totalCount } }",
        "query @foo { __typename }",
        "{ ...F } fragment F on Query @foo { __typename }",
        "{ __typename @skip(unless: true) }",
        "{ __typename @include(if: \"yes\") }",
    ] {
        let r = app.post(json!({ "query": query }), Some(GQL_JSON)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(code(&r), "BAD_USER_INPUT", "{query}");
        assert!(r.body.get("data").is_none(), "{query}");
    }
    // The defined ones still work, with literals and with variables.
    let r = app
        .post(
            json!({ "query": "query($s: Boolean!) { a: conversations @skip(if: $s) { totalCount } b: __typename @include(if: true) }", "variables": { "s": true } }),
            Some(GQL_JSON),
        )
        .await;
    assert_eq!(r.body, json!({ "data": { "b": "Query" } }));
}

async fn skipping_every_root_field_answers_empty_data(app: TestApp) {
    for query in [
        "{ __typename @skip(if: true) }",
        "{ conversations @skip(if: true) { totalCount } }",
        "{ conversations @include(if: false) { totalCount } }",
    ] {
        let r = app.post(json!({ "query": query }), Some(GQL_JSON)).await;
        assert_eq!(r.status, StatusCode::OK, "{query}");
        assert_eq!(r.body, json!({ "data": {} }), "{query}");
    }
}

/// Fields come back in the order the document asks for them, at every level, through
/// fragments too (async-graphql collects concurrent fields as they finish).
async fn answers_keep_the_documents_field_order(app: TestApp) {
    app.create(json!({})).await;
    let query = "{ zeta: conversations { totalCount } alpha: __typename \
        mid: conversations(first: 1) { nodes { ...F name } pageInfo { hasNextPage } totalCount } } \
        fragment F on Conversation { tmCreate id }";
    let data = app.data(query, json!({})).await;
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&data), ["zeta", "alpha", "mid"]);
    assert_eq!(keys(&data["mid"]), ["nodes", "pageInfo", "totalCount"]);
    assert_eq!(keys(&data["mid"]["nodes"][0]), ["tmCreate", "id", "name"]);
}

async fn error_lists_are_capped(app: TestApp) {
    // 5,000 unknown arguments in a 40 KB document.
    let args: Vec<String> = (0..5000).map(|i| format!("a{i}: 1")).collect();
    let query = format!("{{ conversations({}) {{ totalCount }} }}", args.join(" "));
    let r = app.post(json!({ "query": query }), Some(GQL_JSON)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let errors = r.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 51, "50 errors and one that counts the rest");
    let last = &errors[50];
    assert!(
        last["extensions"]["dropped"].as_u64().unwrap() > 4000,
        "{last}"
    );
    assert!(
        r.body.to_string().len() < 20_000,
        "{} bytes",
        r.body.to_string().len()
    );

    // A 60 KB field name is not echoed in full.
    let name = "x".repeat(60_000);
    let r = app
        .post(json!({ "query": format!("{{ {name} }}") }), Some(GQL_JSON))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.chars().count() < 300, "{}", message.len());
    assert!(message.contains(&"x".repeat(100)), "{message}");
}

crate::backend_tests! {
    duplicate_keys_are_request_errors,
    unknown_directives_fail_validation,
    skipping_every_root_field_answers_empty_data,
    answers_keep_the_documents_field_order,
    error_lists_are_capped;
}
