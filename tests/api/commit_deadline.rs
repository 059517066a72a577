//! A mutation whose transaction committed is never answered as failed: the request timeout
//! may cancel work before the commit (`limits::slow_requests_are_cancelled`), never a commit
//! under way. Here the commit is held past the deadline ([`SlowCommit`]: the database commits,
//! its answer is late) and the request must still answer with the result.

use std::time::Duration;

use axum::http::StatusCode;
use conversation_graphql::app::AppOptions;
use serde_json::json;

use crate::support::*;
use crate::writes_support::*;

/// Long enough for the write before its commit even on a busy machine.
const TIMEOUT: Duration = Duration::from_millis(1000);

fn short_timeout() -> AppOptions {
    AppOptions {
        request_timeout: TIMEOUT,
        ..AppOptions::default()
    }
}

/// What the held transaction's statements carry, so the proxy knows its connection.
const MARKER: &str = "slow-commit-9f1c2e";

/// The commit is under way when the deadline passes: the answer is the result, and the
/// change and its event are there.
async fn a_commit_outlives_the_deadline(app: TestApp) {
    let id = id_of(&app.create(json!({})).await);
    let slow = SlowCommit::start(&app, short_timeout()).await;
    let events = log(&app).await.len();
    slow.arm(MARKER);
    let started = std::time::Instant::now();
    let request = slow.post(json!({
        "query": update_doc(),
        "variables": { "id": id, "input": { "name": MARKER } },
    }));
    let (reply, ()) = tokio::join!(request, slow.hold_past(TIMEOUT));
    assert!(
        started.elapsed() > TIMEOUT,
        "the deadline passed during the request"
    );
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    let answer = &reply.body["data"]["updateConversation"];
    assert_eq!(answer["name"], MARKER);
    assert_eq!(answer["version"], 2);
    let stored = app.snapshot().await;
    assert_eq!((stored[0].name.as_str(), stored[0].version), (MARKER, 2));
    assert_eq!(log(&app).await.len(), events + 1);
}

/// The same for an idempotent create: its answer is the conversation, and a retry (which a
/// client told "timed out" would have sent) answers the same one.
async fn an_idempotent_create_outlives_the_deadline(app: TestApp) {
    let slow = SlowCommit::start(&app, short_timeout()).await;
    slow.arm(MARKER);
    let vars = json!({ "input": input(json!({ "name": MARKER })), "key": "held" });
    let request = slow.post(json!({ "query": create_doc(), "variables": vars }));
    let (reply, ()) = tokio::join!(request, slow.hold_past(TIMEOUT));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let created = reply.body["data"]["createConversation"].clone();
    assert_eq!(created["name"], MARKER, "{}", reply.body);
    let retry = app.data(&create_doc(), vars).await;
    assert_eq!(retry["createConversation"], created);
    assert_eq!(app.snapshot().await.len(), 1);
}

/// Once a root field committed, the deadline no longer cuts the mutation short: the later
/// fields run to their end too (cutting one would null the whole `data`, committed field
/// included).
async fn after_a_commit_the_rest_runs_to_its_end(app: TestApp) {
    let ids = create_named(&app, "c", 2).await;
    let slow = SlowCommit::start(&app, short_timeout()).await;
    let events = log(&app).await.len();
    slow.arm(MARKER);
    let doc = format!(
        "mutation($a: UUID!, $b: UUID!) {{ \
         a: updateConversation(id: $a, input: {{ name: \"{MARKER}\" }}) {{ {SHAPE} }} \
         b: deleteConversations(ids: [$b]) {{ {SHAPE} }} }}"
    );
    let request = slow.post(json!({ "query": doc, "variables": { "a": ids[0], "b": ids[1] } }));
    let (reply, ()) = tokio::join!(request, slow.hold_past(TIMEOUT));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    assert_eq!(reply.body["data"]["a"]["name"], MARKER);
    assert!(reply.body["data"]["b"][0]["tmDelete"].is_string());
    assert_eq!(log(&app).await.len(), events + 2);
}

crate::backend_tests! {
    a_commit_outlives_the_deadline,
    an_idempotent_create_outlives_the_deadline,
    after_a_commit_the_rest_runs_to_its_end;
}
