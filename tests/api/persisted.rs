//! Automatic persisted queries (async-graphql's extension): a client registers a document
//! once, then sends only its SHA-256. Every check still applies to the stored document.

use axum::http::StatusCode;
use conversation_graphql::app::AppOptions;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

fn hash(query: &str) -> String {
    format!("{:x}", Sha256::digest(query.as_bytes()))
}

fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } })
}

/// A request body: the document (if any) and the persisted-query hash of `hashed`.
fn body(query: Option<&str>, hashed: &str) -> Value {
    let mut body = json!({ "extensions": persisted(hashed) });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    body
}

/// `GET /graphql` with only the hash of `hashed`.
fn get_by_hash(hashed: &str) -> axum::http::Request<axum::body::Body> {
    let extensions = urlencode(&persisted(hashed).to_string());
    get(
        &format!("/graphql?extensions={extensions}"),
        "application/json",
    )
}

const LIST: &str = "query Count { conversations { totalCount } }";

async fn register_then_send_only_the_hash(app: TestApp) {
    app.create(json!({})).await;
    let count = |r: &Reply| r.body["data"]["conversations"]["totalCount"].clone();
    // Unknown hash: the client is told to send the document.
    let r = app.post(body(None, LIST), None).await;
    let message = &r.body["errors"][0]["message"];
    assert_eq!(message, "PersistedQueryNotFound", "{}", r.body);
    // Register (document + hash), then the hash alone works, by POST and by GET.
    for sent in [body(Some(LIST), LIST), body(None, LIST)] {
        let r = app.post(sent, None).await;
        assert_eq!(count(&r), 1, "{}", r.body);
    }
    let r = app.send(get_by_hash(LIST)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(count(&r), 1);
    // A hash that does not match the document is refused.
    let r = app.post(body(Some(LIST), "{ __typename }"), None).await;
    let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sha"), "{}", r.body);
    assert!(r.body.get("data").is_none());
}

async fn a_hash_is_no_way_around_the_rules(app: TestApp) {
    app.create(json!({})).await;
    // A mutation registered over POST (on an id that does not exist, so nothing changes) is
    // still refused when its hash comes over GET.
    let missing =
        "mutation { deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }";
    app.post(body(Some(missing), missing), None).await;
    let before = app.snapshot().await;
    let r = app.send(get_by_hash(missing)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert_eq!(r.headers.get("allow").unwrap(), "POST");
    assert_eq!(app.snapshot().await, before);
}

fn tight() -> AppOptions {
    limited(|l| l.max_depth = 3)
}

async fn persisted_documents_obey_the_limits(app: TestApp) {
    let deep = "{ conversations { edges { node { self { type } } } } }";
    // Refused when registered, and when only the hash comes later.
    let gql_json = Some("application/graphql-response+json");
    for (sent, accept) in [(body(Some(deep), deep), gql_json), (body(None, deep), None)] {
        let r = app.post(sent, accept).await;
        let code = &r.body["errors"][0]["extensions"]["code"];
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{}", r.body);
        if accept.is_some() {
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
    }
}

crate::backend_tests! {
    register_then_send_only_the_hash, a_hash_is_no_way_around_the_rules;
    mod limited(tight): persisted_documents_obey_the_limits;
}
