//! The event log in one process, on every backend: what is recorded (and what is not),
//! `previous` and filters on it, scope, cursors (expired, garbage, unknown), the log's pages,
//! errors over WebSocket, and `import --with-events`. The multi-process tests are in
//! `event_replicas`.

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use conversation_graphql::domain::EventCursor;
use conversation_graphql::transfer::import::{import_text, ImportOptions};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::events_support::*;
use crate::support::*;

const RENAME: &str =
    "mutation($id: UUID!, $n: String) { updateConversation(id: $id, input: { name: $n }) { id } }";

/// The kinds and names of the whole log, oldest first.
async fn kinds_and_names(app: &TestApp) -> Vec<(String, String)> {
    delivered(app).await;
    whole_log(app, Value::Null)
        .await
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["conversation"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect()
}

/// Makes every event insert of a conversation named `rollback me` fail, so the transaction
/// that writes it rolls back.
async fn fail_events_named_rollback_me(app: &TestApp) {
    let sql = match app.backend {
        Backend::Sqlite => {
            "CREATE TRIGGER fail_events BEFORE INSERT ON conversation_events \
             WHEN NEW.conversation LIKE '%\"name\":\"rollback me\"%' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        }
        Backend::Postgres => {
            "CREATE FUNCTION fail_events() RETURNS trigger AS $$ BEGIN \
             IF NEW.conversation LIKE '%\"name\":\"rollback me\"%' THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER fail_events BEFORE INSERT ON conversation_events \
             FOR EACH ROW EXECUTE FUNCTION fail_events()"
        }
        Backend::MySql => {
            "CREATE TRIGGER fail_events BEFORE INSERT ON conversation_events FOR EACH ROW \
             BEGIN IF NEW.conversation LIKE '%\"name\":\"rollback me\"%' THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END"
        }
    };
    app.db.execute_unprepared(sql).await.expect("trigger");
}

/// Each committed change writes one event; rollbacks, failed validation, repeated deletes,
/// empty updates, restores of live conversations and updates of deleted ones write none.
async fn one_event_per_committed_change(app: TestApp) {
    fail_events_named_rollback_me(&app).await;
    let c = app.create(json!({ "name": "first" })).await;
    let id = &c["id"];

    // A change whose transaction rolls back: neither the change nor an event.
    let err = app
        .error(
            CREATE,
            json!({ "input": { "customerId": CUSTOMER, "accountId": ACCOUNT, "name": "rollback me",
                "type": "MESSAGE", "dialogId": "+1", "self": { "type": "NONE", "target": "" },
                "peer": { "type": "NONE", "target": "" } } }),
        )
        .await;
    assert_eq!(err["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{err}");
    let err = app
        .error(RENAME, json!({ "id": id, "n": "rollback me" }))
        .await;
    assert_eq!(err["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{err}");
    assert_eq!(
        app.snapshot().await.len(),
        1,
        "the rolled back create left no row"
    );
    assert_eq!(
        app.snapshot().await[0].name,
        "first",
        "the rename was rolled back"
    );

    // Failed validation.
    let err = app
        .error(
            "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }",
            json!({ "input": input(json!({ "peer": { "type": "TEL", "target": "no" } })) }),
        )
        .await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT");
    // An empty update.
    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: {}) { id } }",
        json!({ "id": id }),
    )
    .await;
    // Restoring a live conversation.
    app.data(RESTORE, json!({ "id": id })).await;
    app.data(DELETE, json!({ "id": id })).await;
    // A repeated delete, an update of a deleted conversation (NOT_FOUND), unknown ids.
    app.data(DELETE, json!({ "id": id })).await;
    let err = app.error(RENAME, json!({ "id": id, "n": "x" })).await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND");
    let unknown = json!({ "id": uuid::Uuid::new_v4() });
    assert_eq!(
        app.error(DELETE, unknown.clone()).await["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        app.error(RESTORE, unknown).await["extensions"]["code"],
        "NOT_FOUND"
    );
    app.data(RESTORE, json!({ "id": id })).await;
    app.data(RENAME, json!({ "id": id, "n": "second" })).await;

    assert_eq!(
        kinds_and_names(&app).await,
        pairs(&[
            ("CREATED", "first"),
            ("DELETED", "first"),
            ("RESTORED", "first"),
            ("UPDATED", "second"),
        ])
    );
    // The events carry the states around each change.
    let log = whole_log(&app, Value::Null).await;
    assert_eq!(log[0]["previous"], Value::Null);
    assert_eq!(log[1]["previous"]["tmDelete"], Value::Null);
    assert!(log[1]["conversation"]["tmDelete"].is_string());
    assert!(log[2]["previous"]["tmDelete"].is_string());
    assert_eq!(log[2]["conversation"]["tmDelete"], Value::Null);
    assert_eq!(log[3]["previous"]["name"], "first");
    assert_eq!(positions(&log), vec![1, 2, 3, 4], "dense positions from 1");
}

/// A conversation renamed out of a `startsWith` filter is delivered once, with `previous`;
/// later changes outside the filter are not.
async fn previous_announces_a_row_leaving_the_filter(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    let filter = json!({ "name": { "startsWith": "ticket" } });
    client
        .subscribe("1", &subscription(), json!({ "f": filter }))
        .await;
    app.wait_for_subscribers(1).await;

    let c = app.create(json!({ "name": "Ticket 1" })).await;
    app.create(json!({ "name": "unrelated" })).await;
    app.data(RENAME, json!({ "id": c["id"], "n": "Archived 1" }))
        .await;
    app.data(RENAME, json!({ "id": c["id"], "n": "Archived 2" }))
        .await;
    app.data(DELETE, json!({ "id": c["id"] })).await;
    // A marker that matches, so "nothing in between" needs no timeout.
    app.create(json!({ "name": "Ticket 2" })).await;

    let got = take(&mut client, 3).await;
    assert_eq!(got[0]["kind"], "CREATED");
    assert_eq!(got[0]["previous"], Value::Null);
    assert_eq!(got[1]["kind"], "UPDATED");
    assert_eq!(got[1]["conversation"]["name"], "Archived 1");
    assert_eq!(got[1]["previous"]["name"], "Ticket 1");
    assert_eq!(got[2]["conversation"]["name"], "Ticket 2");
    // The log answers the same with the same filter.
    delivered(&app).await;
    let log = whole_log(&app, filter).await;
    assert_eq!(names(&log), names(&got));
    assert_eq!(positions(&log), positions(&got));
}

const SECRET: &[u8] = b"event-log-secret-0123456789abc";
const OTHER_CUSTOMER: &str = CUST_B;
const OTHER_AGENT: &str = "22222222-0000-4000-8000-00000000a002";

fn auth_options() -> AppOptions {
    hs256_options(SECRET)
}

/// Scope applies to both states: an agent sees the event that takes its conversation away
/// (once), not later ones; another customer sees nothing.
async fn scope_before_and_after(mut app: TestApp) {
    let addr = app.serve_http().await;
    app.as_caller(&bearer_for(SECRET, Role::Admin, CUSTOMER, None));
    let agent = bearer_for(SECRET, Role::Agent, CUSTOMER, Some(AGENT));
    let other = bearer_for(SECRET, Role::Admin, OTHER_CUSTOMER, None);
    let mut agent_ws = WsClient::init(addr, json!({ "Authorization": agent })).await;
    agent_ws.subscribe("1", &subscription(), json!({})).await;
    let mut other_ws = WsClient::init(addr, json!({ "Authorization": other })).await;
    other_ws.subscribe("1", &subscription(), json!({})).await;
    app.wait_for_subscribers(2).await;

    let mine = app.create(json!({ "name": "mine" })).await;
    let reassign = "mutation($id: UUID!, $o: UUID) { updateConversation(id: $id, input: { ownerId: $o }) { id } }";
    app.data(reassign, json!({ "id": mine["id"], "o": OTHER_AGENT }))
        .await;
    app.data(
        RENAME,
        json!({ "id": mine["id"], "n": "not mine any more" }),
    )
    .await;
    app.data(reassign, json!({ "id": mine["id"], "o": AGENT }))
        .await;

    let got = take(&mut agent_ws, 3).await;
    assert_eq!(got[0]["kind"], "CREATED");
    assert_eq!(got[1]["previous"]["ownerId"], AGENT);
    assert_eq!(got[1]["conversation"]["ownerId"], OTHER_AGENT);
    assert_eq!(got[2]["previous"]["ownerId"], OTHER_AGENT, "given back");
    assert_eq!(got[2]["conversation"]["name"], "not mine any more");
    assert_eq!(
        positions(&got),
        vec![1, 2, 4],
        "the rename while it was not its own is not"
    );

    // Another customer: nothing, in the stream (the next event it gets is its own) and log.
    let theirs = app
        .post_as(
            json!({ "query": "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }",
                    "variables": { "input": input(json!({ "customerId": OTHER_CUSTOMER })) } }),
            None,
            Some(&bearer_for(SECRET, Role::SuperAdmin, CUSTOMER, None)),
        )
        .await;
    assert!(theirs.body.get("errors").is_none(), "{}", theirs.body);
    let got = take(&mut other_ws, 1).await;
    assert_eq!(got[0]["conversation"]["customerId"], OTHER_CUSTOMER);
    delivered(&app).await;
    let page = app
        .post_as(
            json!({ "query": log_query(), "variables": {} }),
            None,
            Some(&bearer_for(SECRET, Role::Admin, OTHER_CUSTOMER, None)),
        )
        .await
        .body;
    let edges = page["data"]["conversationEventLog"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1, "{page}");
}

/// Garbage and unknown cursors are BAD_USER_INPUT; expired ones EVENT_CURSOR_EXPIRED, in the
/// subscription and in the log; the cursor of the last event stays valid after pruning.
async fn expired_garbage_and_unknown_cursors(app: TestApp) {
    for i in 0..3 {
        app.create(json!({ "name": format!("old {i}") })).await;
    }
    delivered(&app).await;
    let log = whole_log(&app, Value::Null).await;
    let first = log[0]["cursor"].clone();
    let last = log[2]["cursor"].clone();
    let pruned = app
        .state
        .events
        .prune(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(pruned, 3);

    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    let unknown = EventCursor(1000).encode();
    let cases = [
        (first.clone(), "EVENT_CURSOR_EXPIRED"),
        (json!("not a cursor"), "BAD_USER_INPUT"),
        (json!(unknown), "BAD_USER_INPUT"),
        // base64url of `e1:01`: no such spelling of a position.
        (json!("ZTE6MDE"), "BAD_USER_INPUT"),
    ];
    for (i, (after, code)) in cases.iter().enumerate() {
        let error = app.error(&log_query(), json!({ "after": after })).await;
        assert_eq!(error["extensions"]["code"], *code, "log, {after}: {error}");
        if *code == "BAD_USER_INPUT" {
            assert_eq!(error["extensions"]["field"], "after", "{error}");
        }
        let id = format!("s{i}");
        client
            .subscribe(&id, &subscription(), json!({ "after": after }))
            .await;
        let errors = errors_of(&mut client, &id).await;
        assert_eq!(
            errors[0]["extensions"]["code"], *code,
            "subscription, {after}: {errors}"
        );
    }
    // Everything was pruned: the log is empty, and the last cursor still resumes.
    let page = app.data(&log_query(), json!({ "after": last })).await;
    assert_eq!(page["conversationEventLog"]["edges"], json!([]));
    assert_eq!(page["conversationEventLog"]["pageInfo"]["endCursor"], last);
    let page = app.data(&log_query(), json!({})).await;
    assert_eq!(page["conversationEventLog"]["pageInfo"]["endCursor"], last);
    client
        .subscribe("live", &subscription(), json!({ "after": last }))
        .await;
    app.wait_for_subscribers(1).await;
    app.create(json!({ "name": "new" })).await;
    let got = take(&mut client, 1).await;
    assert_eq!(got[0]["conversation"]["name"], "new");
    assert_eq!(positions(&got), vec![4]);
}

/// The log pages Relay-style: `endCursor` is the next `after`; filters and kinds apply.
async fn log_pages_follow_end_cursor(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..12 {
        let c = app.create(json!({ "name": format!("n{i}"), "type": if i % 3 == 0 { "LINE" } else { "MESSAGE" } })).await;
        ids.push(c["id"].clone());
    }
    app.data(DELETE, json!({ "id": ids[0] })).await;
    delivered(&app).await;
    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let data = app
            .data(&log_query(), json!({ "after": after, "first": 5 }))
            .await;
        let page = &data["conversationEventLog"];
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() <= 5);
        for e in edges {
            assert_eq!(e["cursor"], e["node"]["cursor"]);
            seen.push(
                e["node"]["conversation"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        pages += 1;
        after = page["pageInfo"]["endCursor"].clone();
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
    expected.push("n0".into());
    assert_eq!(seen, expected);
    // Kinds and filters (a DELETED event of a LINE conversation; tmDelete does not hide).
    let data = app
        .data(
            &log_query(),
            json!({ "f": { "type": { "eq": "LINE" } }, "k": ["DELETED"] }),
        )
        .await;
    let edges = data["conversationEventLog"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["conversation"]["name"], "n0");
    // Polling from the end: an empty page keeps the same cursor.
    let data = app.data(&log_query(), json!({ "after": after })).await;
    assert_eq!(data["conversationEventLog"]["edges"], json!([]));
    assert_eq!(data["conversationEventLog"]["pageInfo"]["endCursor"], after);
    // `first` is checked like the lists' page sizes.
    let err = app.error(&log_query(), json!({ "first": 101 })).await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT");
}

/// Errors of a subscription over WebSocket carry codes as over HTTP: a malformed UUID in its
/// variables is BAD_USER_INPUT.
async fn websocket_errors_have_codes(app: TestApp) {
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    let doc =
        "subscription($id: UUID!) { conversationEvents(filter: { id: { eq: $id } }) { kind } }";
    client
        .subscribe("1", doc, json!({ "id": "not-a-uuid" }))
        .await;
    let errors = errors_of(&mut client, "1").await;
    assert_eq!(
        errors[0]["extensions"]["code"], "BAD_USER_INPUT",
        "{errors}"
    );
    client
        .subscribe(
            "2",
            "subscription { conversationEvents { nope } }",
            json!({}),
        )
        .await;
    let errors = errors_of(&mut client, "2").await;
    assert_eq!(
        errors[0]["extensions"]["code"], "BAD_USER_INPUT",
        "{errors}"
    );
}

/// `import` records no events unless asked; with events, a replaced record's event has the
/// stored row as `previous`, and a record equal to the stored row records nothing.
async fn import_with_and_without_events(app: TestApp) {
    let store = &app.state.store;
    let record = |name: &str| {
        json!({ "id": "6f1e7c5a-1b2c-4d3e-8f90-123456789abc", "customer_id": CUSTOMER,
                "account_id": ACCOUNT, "name": name, "type": "message", "dialog_id": "+1",
                "tm_create": "2022-06-23 05:05:40.950834",
                "self": { "type": "tel", "target": "+14703298699" },
                "peer": { "type": "tel", "target": "+673802" } })
        .to_string()
    };
    let mut options = ImportOptions::default();
    import_text(store, &record("quiet"), &options, &mut ())
        .await
        .unwrap();
    options.with_events = true;
    options.on_existing = conversation_graphql::db::OnExisting::Replace;
    import_text(store, &record("loud"), &options, &mut ())
        .await
        .unwrap();
    import_text(store, &record("loud"), &options, &mut ())
        .await
        .unwrap();
    let other = record("new").replace("6f1e7c5a", "7f1e7c5a");
    import_text(store, &other, &options, &mut ()).await.unwrap();
    assert_eq!(
        kinds_and_names(&app).await,
        pairs(&[("UPDATED", "loud"), ("CREATED", "new")])
    );
    let log = whole_log(&app, Value::Null).await;
    assert_eq!(log[0]["previous"]["name"], "quiet");
}

/// A replay longer than one page, through the customer prefilter, then live with no seam.
async fn long_replay_then_live(app: TestApp) {
    let mut names_written = Vec::new();
    for batch in 0..3 {
        write_events(&app, &format!("b{batch}-"), 411, "").await;
        names_written.extend((0..411).map(|i| format!("b{batch}-{i}")));
    }
    // Another customer's events in between are not this subscriber's.
    app.create(json!({ "customerId": CUST_B, "name": "theirs" }))
        .await;
    write_events(&app, "b3-", 1, "").await;
    names_written.push("b3-0".into());
    delivered(&app).await;
    let addr = app.serve_http().await;
    let mut client = WsClient::init(addr, json!({})).await;
    let filter = json!({ "customerId": { "eq": CUSTOMER } });
    client
        .subscribe(
            "1",
            &subscription(),
            json!({ "f": filter, "k": ["CREATED"], "after": EventCursor(0).encode() }),
        )
        .await;
    let replayed = take(&mut client, names_written.len()).await;
    assert_eq!(names(&replayed), names_written);
    let mut expected: Vec<u64> = (1..=1233).collect();
    expected.push(1235);
    assert_eq!(positions(&replayed), expected);
    let live = app.create(json!({ "name": "live" })).await;
    let got = take(&mut client, 1).await;
    assert_eq!(got[0]["conversation"]["id"], live["id"]);
    assert_eq!(positions(&got), vec![1236]);
}

crate::backend_tests! {
    long_replay_then_live,
    one_event_per_committed_change,
    previous_announces_a_row_leaving_the_filter,
    expired_garbage_and_unknown_cursors,
    log_pages_follow_end_cursor,
    websocket_errors_have_codes,
    import_with_and_without_events;
    mod scoped(auth_options): scope_before_and_after;
}
