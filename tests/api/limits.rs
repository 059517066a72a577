//! Limits: depth, complexity, aliases, root fields, page size, filter depth and `in` lists,
//! batching, timeouts and introspection. Each refusal has its code and writes nothing.

use std::time::Duration;

use axum::http::StatusCode;
use conversation_graphql::app::AppOptions;
use serde_json::{json, Value};

use crate::support::*;

const GQL_JSON: &str = "application/graphql-response+json";

fn tight() -> AppOptions {
    limited(|l| {
        l.max_depth = 3;
        l.max_aliases = 3;
        l.max_root_fields = 2;
    })
}

async fn too_complex(app: &TestApp, query: &str, what: &str) {
    let before = app.snapshot().await;
    let r = app.post(json!({ "query": query }), Some(GQL_JSON)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.body);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{what}: {}",
        r.body
    );
    assert!(r.body.get("data").is_none());
    assert_eq!(app.snapshot().await, before);
}

async fn shape_limits(app: TestApp) {
    too_complex(
        &app,
        "{ conversations { edges { node { self { type } } } } }",
        "depth 5 > 3",
    )
    .await;
    too_complex(
        &app,
        "query { ...F } fragment F on Query { conversations { edges { node { id } } } conversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }",
        "depth through a fragment",
    )
    .await;
    too_complex(
        &app,
        "{ a: __typename b: __typename c: __typename d: __typename }",
        "4 aliases > 3",
    )
    .await;
    too_complex(
        &app,
        "{ __typename conversations { totalCount } x: conversations { totalCount } }",
        "3 root fields > 2",
    )
    .await;
    too_complex(
        &app,
        "mutation { a: deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } b: deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } c: deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }",
        "mutations count too",
    )
    .await;
    // Within the limits, and the deep introspection query GraphiQL sends, work.
    app.data("{ conversations { nodes { id } } }", json!({}))
        .await;
    app.data(
        "{ __schema { types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } } }",
        json!({}),
    )
    .await;
}

async fn complexity_limit(app: TestApp) {
    let all = format!(
        "conversations(first: 100) {{ totalCount edges {{ cursor node {{ {FIELDS} }} }} }}"
    );
    // One full page of every field is fine...
    app.data(&format!("{{ {all} }}"), json!({})).await;
    // ... four in one request are not.
    let four = format!("{{ a: {all} b: {all} c: {all} d: {all} }}");
    let r = app.post(json!({ "query": four }), Some(GQL_JSON)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
}

async fn filter_limits(app: TestApp) {
    let nest = |levels: usize| {
        let mut f = json!({ "name": { "eq": "x" } });
        for _ in 0..levels {
            f = json!({ "not": f });
        }
        f
    };
    let q = "query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }";
    app.data(q, json!({ "f": nest(5) })).await;
    let err = app.error(q, json!({ "f": nest(6) })).await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{err}");
    assert_eq!(err["extensions"]["field"], "filter");
    let err = app.error(q, json!({ "f": { "and": [{ "or": [{ "and": [{ "or": [{ "and": [{ "not": {} }] }] }] }] }] } })).await;
    assert_eq!(
        err["extensions"]["code"], "BAD_USER_INPUT",
        "mixed nesting counts: {err}"
    );

    let ids =
        |n: usize| -> Vec<String> { (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect() };
    app.data(q, json!({ "f": { "id": { "in": ids(100) } } }))
        .await;
    for f in [
        json!({ "id": { "in": ids(101) } }),
        json!({ "id": { "notIn": ids(101) } }),
        json!({ "or": [{ "name": { "in": vec!["x"; 101] } }] }),
    ] {
        let err = app.error(q, json!({ "f": f })).await;
        assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{err}");
    }
}

/// A batch of these documents.
fn batch(queries: &[&str]) -> Value {
    Value::Array(queries.iter().map(|q| json!({ "query": q })).collect())
}

async fn batching_is_off_by_default(app: TestApp) {
    let r = app.post(batch(&["{ __typename }"; 2]), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

fn batching() -> AppOptions {
    AppOptions {
        max_batch: 2,
        ..AppOptions::default()
    }
}

async fn batching_when_enabled(app: TestApp) {
    let two = batch(&["{ __typename }", "{ conversations { totalCount } }"]);
    let r = app.post(two, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["data"]["__typename"], "Query");
    assert_eq!(r.body[1]["data"]["conversations"]["totalCount"], 0);
    let r = app.post(batch(&["{ __typename }"; 3]), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

fn no_introspection() -> AppOptions {
    limited(|l| l.disable_introspection = true)
}

async fn introspection_can_be_disabled(app: TestApp) {
    for q in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"Conversation\") { name } }",
    ] {
        let r = app.post(json!({ "query": q }), Some(GQL_JSON)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    // Ordinary queries still work.
    app.data("{ conversations { totalCount } }", json!({}))
        .await;
}

fn short_timeout() -> AppOptions {
    AppOptions {
        request_timeout: Duration::from_millis(300),
        ..AppOptions::default()
    }
}

/// A write that waits on a lock held elsewhere is cancelled at the deadline, and nothing of it
/// is ever committed.
async fn slow_requests_are_cancelled(app: TestApp) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let created = app.create(json!({})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;

    // Hold a write lock on the row (SQLite: the database) from another connection.
    let blocker = app.db.begin().await.unwrap();
    blocker
        .execute_unprepared("UPDATE conversations SET detail = detail")
        .await
        .unwrap();

    let r = app
        .post(
            json!({ "query": "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"late\" }) { name } }", "variables": { "id": id } }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let ext = &r.body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "INTERNAL_SERVER_ERROR");
    assert!(ext["requestId"].is_string());

    blocker.rollback().await.unwrap();
    // The cancelled request's connection comes back to the pool once its statement has ended
    // and its transaction was rolled back: from then on, nothing of it can land. At rest, only
    // PostgreSQL's event listener holds a pool connection.
    let at_rest = if app.backend == Backend::Postgres {
        "1"
    } else {
        "0"
    };
    wait_until("the pool is back at rest", || async {
        connections_in_use(&app).await == at_rest
    })
    .await;
    assert_eq!(
        app.snapshot().await,
        before,
        "the cancelled write never landed"
    );
}

/// `db_pool_connections{state="in_use"}` of `GET /metrics`.
async fn connections_in_use(app: &TestApp) -> String {
    let r = app.send(get("/metrics", "text/plain")).await;
    let text = r.body.as_str().unwrap_or_default();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("db_pool_connections{state=\"in_use\"} "));
    line.expect("the in_use gauge").to_owned()
}

async fn request_ids(app: TestApp) {
    use axum::body::Body;
    use axum::http::Request;
    let health = |id: &str| {
        let request = Request::get("/health").header("x-request-id", id);
        request.body(Body::empty()).unwrap()
    };
    let r = app.send(health("abc-123")).await;
    assert_eq!(r.headers.get("x-request-id").unwrap(), "abc-123");
    let r = app.send(health("bad id")).await;
    let made = r.headers.get("x-request-id").unwrap().to_str().unwrap();
    assert!(
        uuid::Uuid::try_parse(made).is_ok(),
        "a fresh id replaces a bad one: {made}"
    );
}

crate::backend_tests! {
    complexity_limit, filter_limits, batching_is_off_by_default, request_ids;
    mod tight_limits(tight): shape_limits;
    mod batch(batching): batching_when_enabled;
    mod introspection(no_introspection): introspection_can_be_disabled;
    mod timeout(short_timeout): slow_requests_are_cancelled;
}
