//! `createConversation(idempotencyKey:)`: one conversation per customer and key, however often
//! and however concurrently it is called; another input with the key is `CONFLICT`; a key is
//! free again after `--idempotency-ttl`, and expired keys are pruned.

use std::time::Duration;

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::support::*;
use crate::writes_support::*;

/// `createConversation` with `key` and the seed's example patched with `patch`.
fn vars(key: &str, patch: Value) -> Value {
    json!({ "input": input(patch), "key": key })
}

async fn create_with(app: &TestApp, key: &str, patch: Value) -> Value {
    root_field(&app.data(&create_doc(), vars(key, patch)).await)
}

async fn key_rows(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) FROM idempotency_keys",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// A retry answers the first call's conversation as it is now, and writes nothing; an input
/// that stores the same conversation is the same input; another input is `CONFLICT`.
async fn a_retry_answers_the_first_conversation(app: TestApp) {
    let first = create_with(&app, "order-42", json!({})).await;
    assert_eq!(first["version"], 1);
    let rows = app.snapshot().await;
    let events = log(&app).await;

    let again = create_with(&app, "order-42", json!({})).await;
    assert_eq!(again, first, "the same conversation");
    let formatted = json!({ "self": { "target": "+1 (470) 329-8699" } });
    assert_eq!(create_with(&app, "order-42", formatted).await, first);
    assert_eq!(app.snapshot().await, rows, "no write");
    assert_eq!(log(&app).await, events, "no event");

    // As it is now, not as it was created.
    let changed = app
        .data(
            &update_doc(),
            json!({ "id": first["id"], "input": { "name": "renamed" } }),
        )
        .await;
    let now = create_with(&app, "order-42", json!({})).await;
    assert_eq!(now, root_field(&changed));
    assert_eq!(now["version"], 2);

    // Another input with the key: CONFLICT, nothing written.
    let err = refused_quietly(
        &app,
        &create_doc(),
        vars("order-42", json!({ "name": "something else" })),
        "CONFLICT",
    )
    .await;
    assert_eq!(err["extensions"]["field"], "idempotencyKey");

    // Another key: another conversation. No key: always another.
    let other = create_with(&app, "order-43", json!({})).await;
    assert_ne!(other["id"], first["id"]);
    let plain = app.create(json!({})).await;
    assert_ne!(plain["id"], first["id"]);
    assert_eq!(app.snapshot().await.len(), 3);
}

/// Twenty calls with one key at the same time: one row, one event, twenty answers naming it.
async fn twenty_at_once_create_one(app: TestApp) {
    let doc = create_doc();
    let calls = (0..20).map(|_| app.gql(&doc, vars("burst", json!({}))));
    let answers = join_all(calls).await;
    let rows = app.snapshot().await;
    assert_eq!(rows.len(), 1, "exactly one row");
    let id = rows[0].id.to_string();
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["createConversation"]["id"], json!(id));
    }
    let events = log(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].kind.as_str(), events[0].id.as_str()),
        ("CREATED", id.as_str())
    );
    assert_eq!(key_rows(&app).await, 1);
}

/// A key belongs to the input's customer, with or without authentication.
async fn keys_are_per_customer(app: TestApp) {
    let a = create_with(&app, "shared", json!({ "customerId": CUST_A })).await;
    let b = create_with(&app, "shared", json!({ "customerId": CUST_B })).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(
        create_with(&app, "shared", json!({ "customerId": CUST_B })).await,
        b
    );
    assert_eq!(app.snapshot().await.len(), 2);
}

const SECRET: &[u8] = b"idempotency-secret-0123456789";

fn auth_options() -> AppOptions {
    hs256_options(SECRET)
}

/// With authentication: a manager of another customer reusing a key gets a conversation of
/// its own, not the other customer's; the owner's retry still answers its own.
async fn keys_are_per_customer_with_auth(mut app: TestApp) {
    let manager_a = bearer_for(SECRET, Role::Manager, CUST_A, None);
    let manager_b = bearer_for(SECRET, Role::Manager, CUST_B, None);
    app.as_caller(&manager_a);
    let a = create_with(&app, "k", json!({ "customerId": CUST_A })).await;
    app.as_caller(&manager_b);
    let b = create_with(&app, "k", json!({ "customerId": CUST_B })).await;
    assert_ne!(a["id"], b["id"]);
    // B may not create for A at all, key or not.
    refused_quietly(
        &app,
        &create_doc(),
        vars("k", json!({ "customerId": CUST_A })),
        "FORBIDDEN",
    )
    .await;
    app.as_caller(&manager_a);
    assert_eq!(
        create_with(&app, "k", json!({ "customerId": CUST_A })).await,
        a
    );
    app.as_caller(&bearer_for(SECRET, Role::SuperAdmin, CUST_A, None));
    assert_eq!(
        create_with(&app, "k", json!({ "customerId": CUST_B })).await,
        b
    );
}

/// A key is 1 to 255 characters; exact (case and spaces count).
async fn key_length(app: TestApp) {
    for bad in [String::new(), "k".repeat(256)] {
        let err =
            refused_quietly(&app, &create_doc(), vars(&bad, json!({})), "BAD_USER_INPUT").await;
        assert_eq!(err["extensions"]["field"], "idempotencyKey", "{err}");
    }
    let longest = "é".repeat(255);
    let a = create_with(&app, &longest, json!({})).await;
    assert_eq!(create_with(&app, &longest, json!({})).await, a);
    let b = create_with(&app, "Key", json!({})).await;
    let c = create_with(&app, "key", json!({})).await;
    let d = create_with(&app, "key ", json!({})).await;
    assert_ne!(b["id"], c["id"]);
    assert_ne!(c["id"], d["id"]);
}

/// The idempotency TTL of [`short_ttl`].
const SHORT_TTL: Duration = Duration::from_secs(1);

fn short_ttl() -> AppOptions {
    AppOptions {
        idempotency_ttl: SHORT_TTL,
        ..AppOptions::default()
    }
}

/// After the TTL a key is free: the same call creates a new conversation, and a retry within
/// the TTL answers that one. The pruner then deletes the expired keys.
async fn expired_keys_are_free_again(app: TestApp) {
    let mut seen = vec![create_with(&app, "ttl", json!({})).await["id"].clone()];
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the key did not expire, or was never held again, within {DEADLINE:?}"
        );
        let started = std::time::Instant::now();
        let got = create_with(&app, "ttl", json!({})).await;
        if &got["id"] == seen.last().unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        seen.push(got["id"].clone());
        let again = create_with(&app, "ttl", json!({})).await;
        if started.elapsed() < SHORT_TTL {
            assert_eq!(again, got, "the new key holds");
            break;
        }
        // Too slow to tell on a loaded machine: the new key may have expired already.
        if again["id"] != got["id"] {
            seen.push(again["id"].clone());
        }
    }
    assert_eq!(
        app.snapshot().await.len(),
        seen.len(),
        "one conversation per expiry"
    );
    wait_until("the pruner deletes the expired keys", || async {
        key_rows(&app).await == 0
    })
    .await;
}

crate::backend_tests! {
    a_retry_answers_the_first_conversation,
    twenty_at_once_create_one,
    keys_are_per_customer,
    key_length;
    mod auth(auth_options): keys_are_per_customer_with_auth;
    mod ttl(short_ttl): expired_keys_are_free_again;
}
