//! Queries from a PostgreSQL read replica (`--database-read-url`): with the standby's replay
//! paused, a mutation's answer is current while queries trail; with the standby stopped,
//! queries answer from the primary, `/ready` and `/metrics` say so, and once it is back reads
//! go to it again. The event log's pages read the standby without skipping an event.
//!
//! The pair of clusters is the harness's own (`support::standby`); these tests are reported as
//! not run where it cannot be made.

use std::time::Duration;

use axum::http::StatusCode;
use conversation_graphql::app::AppOptions;
use conversation_graphql::domain::EventCursor;
use serde_json::{json, Value};

use crate::events_support::{delivered, log_query, names};
use crate::support::*;

/// How often the tests' read pools check the standby's health.
const RETRY: Duration = Duration::from_millis(100);

const LIST: &str = "{ conversations(first: 50) { edges { node { id name } } totalCount } }";
const ONE: &str = "query($id: UUID!) { conversation(id: $id) { id name } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }";
const COUNTS: &str = "{ conversationCounts { total } }";
const CREATE_NAMED: &str =
    "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id name nodeId version } }";
const RENAME: &str = "mutation($id: UUID!, $n: String) { updateConversation(id: $id, input: { name: $n }) { id name version } }";

async fn create(app: &TestApp, name: &str) -> Value {
    let data = app
        .data(CREATE_NAMED, create_vars(json!({ "name": name })))
        .await;
    data["createConversation"].clone()
}

/// The names `conversations` lists, sorted, and its `totalCount`.
async fn listed(app: &TestApp) -> (Vec<String>, i64) {
    let data = app.data(LIST, json!({})).await;
    let mut names: Vec<String> = data["conversations"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    let total = data["conversations"]["totalCount"].as_i64().unwrap();
    (names, total)
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn ready(app: &TestApp) -> (StatusCode, Value) {
    let r = app.send(get("/ready", "application/json")).await;
    (r.status, r.body)
}

async fn metrics(app: &TestApp) -> String {
    let r = app.send(get("/metrics", "text/plain")).await;
    r.body.as_str().expect("text").to_owned()
}

/// The value of the metric line that starts with `name ` (labels included in `name`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// With replay paused, a mutation answers with the row it wrote (from the primary), while
/// every query (list, count, one, nodes, counts) still reads the standby's older state; once
/// replay resumes, the queries catch up.
async fn queries_trail_while_replay_is_paused() {
    let standby = standby().await;
    let app = TestApp::with_standby(&standby, AppOptions::default(), RETRY).await;
    let first = create(&app, "first").await;
    standby.caught_up().await;
    assert_eq!(listed(&app).await, (strings(&["first"]), 1));

    standby.pause_replay().await;
    let second = create(&app, "second").await;
    assert_eq!(second["name"], "second", "the mutation's answer is current");
    let renamed = app
        .data(RENAME, json!({ "id": first["id"], "n": "first, renamed" }))
        .await;
    assert_eq!(renamed["updateConversation"]["name"], "first, renamed");
    assert_eq!(renamed["updateConversation"]["version"], 2);

    assert_eq!(
        listed(&app).await,
        (strings(&["first"]), 1),
        "the list reads the paused standby"
    );
    let one = app.data(ONE, json!({ "id": second["id"] })).await;
    assert_eq!(one["conversation"], Value::Null);
    let one = app.data(ONE, json!({ "id": first["id"] })).await;
    assert_eq!(one["conversation"]["name"], "first");
    let nodes = app
        .data(NODES, json!({ "ids": [second["nodeId"], first["nodeId"]] }))
        .await;
    assert_eq!(nodes["nodes"][0], Value::Null);
    assert_eq!(nodes["nodes"][1]["nodeId"], first["nodeId"]);
    let counts = app.data(COUNTS, json!({})).await;
    assert_eq!(counts["conversationCounts"]["total"], 1);
    // The standby answered all of it: nothing fell back to the primary.
    let text = metrics(&app).await;
    assert_eq!(metric(&text, "db_read_pool_up"), Some(1.0), "{text}");
    assert_eq!(
        metric(&text, "db_read_pool_fallbacks_total"),
        Some(0.0),
        "{text}"
    );

    standby.resume_replay().await;
    wait_until(
        "the list shows the standby's replay of both writes",
        || async { listed(&app).await == (strings(&["first, renamed", "second"]), 2) },
    )
    .await;
    let one = app.data(ONE, json!({ "id": second["id"] })).await;
    assert_eq!(one["conversation"]["name"], "second");
}

/// `conversationEventLog` reads the standby: a page ends where the standby's replay is (its
/// `endCursor` never passes an event it has not seen), and the next page after resuming
/// holds that event. A cursor the standby has not reached yet (from a subscription) is read
/// from the primary, not refused.
async fn event_log_pages_read_the_standby_without_skipping() {
    let standby = standby().await;
    let app = TestApp::with_standby(&standby, AppOptions::default(), RETRY).await;
    create(&app, "one").await;
    delivered(&app).await;
    standby.caught_up().await;
    let page = app.data(&log_query(), json!({})).await["conversationEventLog"].clone();
    let events = nodes(&page);
    assert_eq!(names(&events), ["one"]);
    let after_one = page["pageInfo"]["endCursor"].clone();

    standby.pause_replay().await;
    create(&app, "two").await;
    delivered(&app).await;
    let head = app.state.events.published().expect("the tailer started");
    let page =
        app.data(&log_query(), json!({ "after": after_one })).await["conversationEventLog"].clone();
    assert_eq!(
        page["edges"],
        json!([]),
        "the standby has not replayed `two`"
    );
    assert_eq!(page["pageInfo"]["endCursor"], after_one, "{page}");
    // A cursor at the primary's head, which the standby has not reached: no error.
    let ahead = EventCursor(head).encode();
    let page =
        app.data(&log_query(), json!({ "after": ahead })).await["conversationEventLog"].clone();
    assert_eq!(page["edges"], json!([]));
    assert_eq!(page["pageInfo"]["endCursor"], ahead.as_str());

    standby.resume_replay().await;
    wait_until("the page after `one` holds `two`", || async {
        let page = app.data(&log_query(), json!({ "after": after_one })).await
            ["conversationEventLog"]
            .clone();
        page["edges"].as_array().unwrap().len() == 1
            && page["edges"][0]["node"]["conversation"]["name"] == "two"
    })
    .await;
}

/// With the standby stopped, queries answer from the primary without an error; `/ready` is
/// still ready and says the read pool is down; `/metrics` has each pool's gauges. When the
/// standby is back, the health check finds it and reads go to it again.
async fn queries_fall_back_to_the_primary_while_the_standby_is_down() {
    let standby = standby().await;
    let app = TestApp::with_standby(&standby, AppOptions::default(), RETRY).await;
    let first = create(&app, "first").await;
    standby.caught_up().await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["pools"],
        json!({ "primary": "up", "read": "up" }),
        "{body}"
    );

    standby.stop();
    let second = create(&app, "second").await;
    assert_eq!(
        listed(&app).await,
        (strings(&["first", "second"]), 2),
        "the primary answers"
    );
    let one = app.data(ONE, json!({ "id": second["id"] })).await;
    assert_eq!(one["conversation"]["name"], "second");
    let nodes = app
        .data(NODES, json!({ "ids": [first["nodeId"], second["nodeId"]] }))
        .await;
    assert_eq!(nodes["nodes"][1]["nodeId"], second["nodeId"]);
    let counts = app.data(COUNTS, json!({})).await;
    assert_eq!(counts["conversationCounts"]["total"], 2);
    delivered(&app).await;
    let log = app.data(&log_query(), json!({})).await;
    assert_eq!(
        log["conversationEventLog"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["pools"],
        json!({ "primary": "up", "read": "down" }),
        "{body}"
    );
    let text = metrics(&app).await;
    assert_eq!(metric(&text, "db_read_pool_up"), Some(0.0), "{text}");
    assert!(
        metric(&text, "db_read_pool_fallbacks_total").unwrap_or(0.0) >= 5.0,
        "{text}"
    );
    assert_eq!(metric(&text, "db_read_pool_max_connections"), Some(4.0));
    assert!(text.contains("db_read_pool_connections{state=\"idle\"}"));
    assert_eq!(metric(&text, "db_pool_max_connections"), Some(4.0));
    assert!(text.contains("db_pool_connections{state=\"in_use\"}"));

    standby.start();
    wait_until("/ready says the read pool is up again", || async {
        ready(&app).await.1["pools"]["read"] == "up"
    })
    .await;
    standby.caught_up().await;
    standby.pause_replay().await;
    create(&app, "third").await;
    assert_eq!(
        listed(&app).await,
        (strings(&["first", "second"]), 2),
        "reads go to the (paused) standby again"
    );
    let text = metrics(&app).await;
    assert_eq!(metric(&text, "db_read_pool_up"), Some(1.0), "{text}");
    standby.resume_replay().await;
    wait_until("the standby replays `third`", || async {
        listed(&app).await.1 == 3
    })
    .await;
}

/// The binary: `DATABASE_READ_URL` (and `DATABASE_READ_RETRY`) from the environment; queries
/// read the standby, `/ready` reports both pools.
async fn the_server_reads_from_database_read_url() {
    let standby = standby().await;
    // A migrated schema on the primary, replayed on the standby.
    let app = TestApp::with_standby(&standby, AppOptions::default(), RETRY).await;
    let schema = app.db_name.clone().expect("a schema");
    let server = ServerProcess::start(
        &[
            "--database-url",
            &standby.pair.primary_url,
            "--db-schema",
            &schema,
        ],
        &[
            ("DATABASE_READ_URL", standby.pair.standby_url.as_str()),
            ("DATABASE_READ_RETRY", "100ms"),
        ],
    );
    let (status, body) = http_get(server.addr, "/ready").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["pools"], json!({ "primary": "up", "read": "up" }));

    standby.pause_replay().await;
    let created = http_post(
        server.addr,
        &json!({ "query": CREATE_NAMED, "variables": create_vars(json!({ "name": "via the binary" })) }),
        None,
    )
    .await;
    assert_eq!(
        created.1["data"]["createConversation"]["name"], "via the binary",
        "{created:?}"
    );
    let (_, listed) = http_post(server.addr, &json!({ "query": LIST }), None).await;
    assert_eq!(listed["data"]["conversations"]["totalCount"], 0, "{listed}");
    standby.resume_replay().await;
    wait_until("the binary's list shows the row", || async {
        let (_, listed) = http_post(server.addr, &json!({ "query": LIST }), None).await;
        listed["data"]["conversations"]["totalCount"] == 1
    })
    .await;
}

/// A standby that is unreachable when the server starts is no error: queries read from the
/// primary, and `/ready` says the read pool is down.
async fn an_unreachable_standby_at_start_is_no_error(app: TestApp) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let primary = Backend::Postgres.server_url().expect("configured");
    let nowhere = format!("postgres://postgres@127.0.0.1:{port}/test");
    let replicated = TestApp::with_read_url(&primary, &nowhere, AppOptions::default(), RETRY).await;
    drop(app);
    create(&replicated, "only").await;
    assert_eq!(listed(&replicated).await, (strings(&["only"]), 1));
    let (status, body) = ready(&replicated).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pools"], json!({ "primary": "up", "read": "down" }));
}

/// The binary refuses a read URL it cannot use, before it opens anything: SQLite has no
/// replicas, and a standby is of the primary's backend.
async fn a_read_url_needs_a_replicable_backend() {
    let file = SqliteFile::new("cg-read-url");
    let mismatched = [
        (file.url.as_str(), file.url.as_str()),
        (
            "postgres://postgres@127.0.0.1:1/test",
            "mysql://root@127.0.0.1:1/test",
        ),
    ];
    for (primary, read) in mismatched {
        let (ok, _, stderr) = run(command().args([
            "--database-url",
            primary,
            "--database-read-url",
            read,
            "--listen",
            "127.0.0.1:0",
        ]));
        assert!(!ok, "{primary} read from {read}");
        assert!(stderr.contains("--database-read-url must be"), "{stderr}");
    }
    assert!(!file.path.exists(), "refused before opening the database");
}

crate::backend_tests! {
    standby:
        queries_trail_while_replay_is_paused,
        event_log_pages_read_the_standby_without_skipping,
        queries_fall_back_to_the_primary_while_the_standby_is_down,
        the_server_reads_from_database_read_url;
    postgres: an_unreachable_standby_at_start_is_no_error;
    standalone: a_read_url_needs_a_replicable_backend;
}
