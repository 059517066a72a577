//! Automatic persisted queries (async-graphql's extension): a client registers a document
//! once, then sends only its SHA-256. Every check still applies to the stored document.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use conversation_graphql::app::AppOptions;
use conversation_graphql::graphql::Limits;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

fn hash(query: &str) -> String {
    format!("{:x}", Sha256::digest(query.as_bytes()))
}

fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } })
}

const LIST: &str = "query Count { conversations { totalCount } }";

async fn register_then_send_only_the_hash(app: TestApp) {
    app.create(json!({})).await;
    // Unknown hash: the client is told to send the document.
    let r = app
        .post(json!({ "extensions": persisted(LIST) }), None)
        .await;
    assert_eq!(
        r.body["errors"][0]["message"], "PersistedQueryNotFound",
        "{}",
        r.body
    );
    // Register (document + hash), then the hash alone works, by POST and by GET.
    let r = app
        .post(
            json!({ "query": LIST, "extensions": persisted(LIST) }),
            None,
        )
        .await;
    assert_eq!(
        r.body["data"]["conversations"]["totalCount"], 1,
        "{}",
        r.body
    );
    let r = app
        .post(json!({ "extensions": persisted(LIST) }), None)
        .await;
    assert_eq!(
        r.body["data"]["conversations"]["totalCount"], 1,
        "{}",
        r.body
    );
    let uri = format!(
        "/graphql?extensions={}",
        urlencode(&persisted(LIST).to_string())
    );
    let r = app
        .send(
            Request::get(uri)
                .header("accept", "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["conversations"]["totalCount"], 1);
    // A hash that does not match the document is refused.
    let r = app
        .post(
            json!({ "query": LIST, "extensions": persisted("{ __typename }") }),
            None,
        )
        .await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sha"),
        "{}",
        r.body
    );
    assert!(r.body.get("data").is_none());
}

async fn a_hash_is_no_way_around_the_rules(app: TestApp) {
    app.create(json!({})).await;
    // A mutation registered over POST (on an id that does not exist, so nothing changes) is
    // still refused when its hash comes over GET.
    let missing =
        "mutation { deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }";
    app.post(
        json!({ "query": missing, "extensions": persisted(missing) }),
        None,
    )
    .await;
    let before = app.snapshot().await;
    let uri = format!(
        "/graphql?extensions={}",
        urlencode(&persisted(missing).to_string())
    );
    let r = app
        .send(
            Request::get(uri)
                .header("accept", "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert_eq!(r.headers.get("allow").unwrap(), "POST");
    assert_eq!(app.snapshot().await, before);
}

fn tight() -> AppOptions {
    AppOptions {
        limits: Limits {
            max_depth: 3,
            ..Limits::default()
        },
        ..AppOptions::default()
    }
}

async fn persisted_documents_obey_the_limits(app: TestApp) {
    let deep = "{ conversations { edges { node { self { type } } } } }";
    let r = app
        .post(
            json!({ "query": deep, "extensions": persisted(deep) }),
            Some("application/graphql-response+json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{}",
        r.body
    );
    // Sending only the hash later is refused the same way, every time.
    let r = app
        .post(json!({ "extensions": persisted(deep) }), None)
        .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{}",
        r.body
    );
}

crate::backend_tests!(
    register_then_send_only_the_hash,
    a_hash_is_no_way_around_the_rules
);

mod limited {
    use super::*;
    crate::backend_tests!(options = tight; persisted_documents_obey_the_limits);
}
