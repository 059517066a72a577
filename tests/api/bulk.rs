//! `updateConversations`, `deleteConversations`, `restoreConversations`: 1 to 100 distinct ids,
//! all or nothing, answers in the order of `ids`, one event per conversation that changed, the
//! role and tenant rules of the single mutations, and complexity counted per id.

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use serde_json::{json, Value};

use crate::events_support::write_events;
use crate::support::*;
use crate::writes_support::*;

/// The variables of a bulk mutation: `ids`, and a rename for `updateConversations`.
fn bulk_vars(doc: &str, ids: Value) -> Value {
    if doc.contains("$input") {
        json!({ "ids": ids, "input": { "name": "x" } })
    } else {
        json!({ "ids": ids })
    }
}

fn ids_of(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .expect("a list")
        .iter()
        .map(id_of)
        .collect()
}

/// Answers follow `ids`; each changed conversation gets one event, the others none.
async fn answers_follow_ids(app: TestApp) {
    let ids = create_named(&app, "c", 5).await;
    let order = vec![
        ids[3].clone(),
        ids[0].clone(),
        ids[4].clone(),
        ids[1].clone(),
    ];
    let data = app
        .data(
            &bulk_update_doc(),
            json!({ "ids": order, "input": { "name": "assigned" } }),
        )
        .await;
    let updated = root_field(&data);
    assert_eq!(ids_of(&updated), order);
    for c in updated.as_array().unwrap() {
        assert_eq!(
            (c["name"].as_str(), c["version"].as_i64()),
            (Some("assigned"), Some(2))
        );
    }
    app.data(&delete_doc(), json!({ "id": ids[0] })).await;
    let events = log(&app).await.len();

    // ids[0] is deleted already: left as it is, no event; the others are deleted.
    let order = vec![ids[2].clone(), ids[0].clone(), ids[1].clone()];
    let deleted = root_field(&app.data(&bulk_delete_doc(), json!({ "ids": order })).await);
    assert_eq!(ids_of(&deleted), order);
    let versions: Vec<i64> = deleted
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 3, 3]);
    assert!(deleted
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["tmDelete"].is_string()));
    let after = log(&app).await;
    let new: Vec<(&str, &str)> = after[events..]
        .iter()
        .map(|e| (e.kind.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        new,
        vec![("DELETED", ids[2].as_str()), ("DELETED", ids[1].as_str())]
    );

    // Restore: ids[3] is live (no change), the rest come back.
    let order = vec![ids[1].clone(), ids[3].clone(), ids[0].clone()];
    let restored = root_field(&app.data(&bulk_restore_doc(), json!({ "ids": order })).await);
    assert_eq!(ids_of(&restored), order);
    assert!(restored
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["tmDelete"].is_null()));
    assert_eq!(log(&app).await.len(), after.len() + 2);
}

/// 0, 101 and repeated ids are `BAD_USER_INPUT` for each mutation; 100 work.
async fn one_to_a_hundred_distinct_ids(app: TestApp) {
    let ids = write_events(&app, "n", 101, "").await;
    let twice = vec![ids[0].clone(), ids[1].clone(), ids[0].clone()];
    for doc in [bulk_update_doc(), bulk_delete_doc(), bulk_restore_doc()] {
        for bad in [json!([]), json!(ids), json!(twice)] {
            let err = refused_quietly(&app, &doc, bulk_vars(&doc, bad), "BAD_USER_INPUT").await;
            assert_eq!(err["extensions"]["field"], "ids", "{err}");
        }
        let data = app.data(&doc, bulk_vars(&doc, json!(ids[..100]))).await;
        assert_eq!(ids_of(&root_field(&data)), ids[..100].to_vec());
    }
}

/// One unknown id (or, for an update, a deleted one) among good ones: `NOT_FOUND` naming it
/// in lower case, and nothing changes.
async fn one_bad_id_changes_nothing(app: TestApp) {
    let ids = create_named(&app, "c", 3).await;
    let deleted = id_of(&app.create(json!({ "name": "gone" })).await);
    app.data(&delete_doc(), json!({ "id": deleted })).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let with = |bad: &str| {
        vec![
            ids[0].clone(),
            bad.to_uppercase(),
            ids[1].clone(),
            ids[2].clone(),
        ]
    };
    let cases = [
        (bulk_update_doc(), with(&unknown), unknown.clone()),
        (bulk_update_doc(), with(&deleted), deleted.clone()),
        (bulk_delete_doc(), with(&unknown), unknown.clone()),
        (bulk_restore_doc(), with(&unknown), unknown.clone()),
    ];
    for (doc, ids, bad) in cases {
        let err = refused_quietly(&app, &doc, bulk_vars(&doc, json!(ids)), "NOT_FOUND").await;
        assert_eq!(err["extensions"]["id"], json!(bad), "{err}");
    }
}

const SECRET: &[u8] = b"bulk-writes-secret-0123456789";

fn auth_options() -> AppOptions {
    hs256_options(SECRET)
}

/// The single mutations' rules, per id: another customer's id (even from an admin) is
/// `NOT_FOUND` and changes nothing for either customer; an agent reaches only its own and
/// may neither reassign nor delete.
async fn roles_and_tenants(mut app: TestApp) {
    let as_ = |role, customer, agent| bearer_for(SECRET, role, customer, agent);
    app.as_caller(&as_(Role::SuperAdmin, CUST_A, None));
    let a1 = id_of(
        &app.create(json!({ "customerId": CUST_A, "ownerId": AGENT_1 }))
            .await,
    );
    let a2 = id_of(
        &app.create(json!({ "customerId": CUST_A, "ownerId": AGENT_2 }))
            .await,
    );
    let b1 = id_of(
        &app.create(json!({ "customerId": CUST_B, "ownerId": AGENT_1 }))
            .await,
    );
    let rename = |ids: Vec<&String>| json!({ "ids": ids, "input": { "name": "renamed" } });

    app.as_caller(&as_(Role::Admin, CUST_A, None));
    for (doc, vars) in [
        (bulk_update_doc(), rename(vec![&a1, &b1])),
        (bulk_delete_doc(), json!({ "ids": [a1, b1] })),
        (bulk_restore_doc(), json!({ "ids": [b1, a1] })),
    ] {
        let err = refused_quietly(&app, &doc, vars, "NOT_FOUND").await;
        assert_eq!(err["extensions"]["id"], json!(b1));
    }
    let done = app.data(&bulk_update_doc(), rename(vec![&a2, &a1])).await;
    assert_eq!(ids_of(&root_field(&done)), vec![a2.clone(), a1.clone()]);

    app.as_caller(&as_(Role::Agent, CUST_A, Some(AGENT_1)));
    let err = refused_quietly(
        &app,
        &bulk_update_doc(),
        rename(vec![&a1, &a2]),
        "NOT_FOUND",
    )
    .await;
    assert_eq!(err["extensions"]["id"], json!(a2));
    let reassign = json!({ "ids": [a1], "input": { "ownerId": AGENT_2 } });
    refused_quietly(&app, &bulk_update_doc(), reassign, "FORBIDDEN").await;
    for doc in [bulk_delete_doc(), bulk_restore_doc()] {
        refused_quietly(&app, &doc, json!({ "ids": [a1] }), "FORBIDDEN").await;
    }
    let own = json!({ "ids": [a1], "input": { "detail": "mine" } });
    assert_eq!(
        root_field(&app.data(&bulk_update_doc(), own).await)[0]["version"],
        3
    );

    app.as_caller(&as_(Role::Manager, CUST_B, None));
    let deleted = app.data(&bulk_delete_doc(), json!({ "ids": [b1] })).await;
    assert!(root_field(&deleted)[0]["tmDelete"].is_string());
    app.as_caller(&as_(Role::SuperAdmin, CUST_A, None));
    let all = app
        .data(&bulk_restore_doc(), json!({ "ids": [b1, a1, a2] }))
        .await;
    assert_eq!(ids_of(&root_field(&all)), vec![b1, a1, a2]);
}

fn tight_options() -> AppOptions {
    limited(|l| l.max_complexity = 50)
}

/// The complexity limit counts a bulk mutation once per id.
async fn complexity_counts_ids(app: TestApp) {
    let ids = write_events(&app, "n", 30, "").await;
    // 1 + 30 × (id + name) = 61 > 50.
    let doc = "mutation($ids: [UUID!]!) { deleteConversations(ids: $ids) { id name } }";
    app.refused(doc, json!({ "ids": ids }), "QUERY_TOO_COMPLEX")
        .await;
    // 1 + 20 × 2 = 41.
    app.data(doc, json!({ "ids": ids[..20] })).await;
}

crate::backend_tests! {
    answers_follow_ids,
    one_to_a_hundred_distinct_ids,
    one_bad_id_changes_nothing;
    mod auth(auth_options): roles_and_tenants;
    mod tight(tight_options): complexity_counts_ids;
}
