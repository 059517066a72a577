//! Create, read, update, soft delete and restore.

use serde_json::json;

use crate::support::*;

async fn create_returns_what_was_stored(app: TestApp) {
    let created = app
        .create(json!({ "self": { "target": "+1 (470) 329-8699", "name": "me" } }))
        .await;
    assert_eq!(created["customerId"], CUSTOMER);
    assert_eq!(created["accountId"], ACCOUNT);
    assert_eq!(created["ownerType"], "AGENT");
    assert_eq!(created["ownerId"], AGENT);
    assert_eq!(created["type"], "MESSAGE");
    assert_eq!(created["dialogId"], "+673802");
    assert_eq!(created["self"]["type"], "TEL");
    assert_eq!(
        created["self"]["target"], "+14703298699",
        "E.164 is stored compact"
    );
    assert_eq!(created["self"]["name"], "me");
    assert_eq!(created["self"]["targetName"], "", "defaults to empty");
    assert_eq!(created["tmUpdate"], json!(null));
    assert_eq!(created["tmDelete"], json!(null));
    assert_api_time(&created["tmCreate"]);

    let read = app
        .data(
            &format!("query($id: UUID!) {{ conversation(id: $id) {{ {FIELDS} }} }}"),
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(
        read["conversation"], created,
        "read back equals what create returned"
    );
}

async fn create_without_owner_has_null_owner(app: TestApp) {
    let created = app.create(json!({ "ownerId": null })).await;
    assert_eq!(created["ownerId"], json!(null));
    assert_eq!(created["ownerType"], json!(null));
    let row = &app.snapshot().await[0];
    assert_eq!(row.owner_type, "");
    assert_eq!(row.owner_id, None);
}

async fn unknown_id_is_null(app: TestApp) {
    let data = app
        .data(
            "query($id: UUID!) { conversation(id: $id) { id } }",
            json!({ "id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(data["conversation"], json!(null));
}

const UPDATE: &str = "mutation($id: UUID!, $input: UpdateConversationInput!) { \
    updateConversation(id: $id, input: $input) { id name detail ownerId ownerType tmUpdate tmCreate } }";

async fn update_changes_only_given_fields(app: TestApp) {
    let created = app.create(json!({})).await;
    let id = &created["id"];
    let updated = app
        .data(UPDATE, json!({ "id": id, "input": { "name": "renamed" } }))
        .await["updateConversation"]
        .clone();
    assert_eq!(updated["name"], "renamed");
    assert_eq!(
        updated["detail"], "conversation detail",
        "left out: unchanged"
    );
    assert_eq!(updated["ownerId"], AGENT, "left out: unchanged");
    assert!(
        updated["tmUpdate"].is_string(),
        "tmUpdate is set by an update"
    );
    assert!(updated["tmUpdate"].as_str() >= updated["tmCreate"].as_str());

    // ownerId: null unassigns, and ownerType follows.
    let unassigned = app
        .data(UPDATE, json!({ "id": id, "input": { "ownerId": null } }))
        .await["updateConversation"]
        .clone();
    assert_eq!(unassigned["ownerId"], json!(null));
    assert_eq!(unassigned["ownerType"], json!(null));
    assert_eq!(unassigned["name"], "renamed");

    let other = uuid::Uuid::new_v4().to_string();
    let assigned = app
        .data(
            UPDATE,
            json!({ "id": id, "input": { "ownerId": other, "detail": "d2" } }),
        )
        .await["updateConversation"]
        .clone();
    assert_eq!(assigned["ownerId"], other);
    assert_eq!(assigned["ownerType"], "AGENT");
    assert_eq!(assigned["detail"], "d2");
}

async fn update_of_missing_or_deleted_is_not_found(app: TestApp) {
    let err = app
        .error(
            UPDATE,
            json!({ "id": uuid::Uuid::new_v4(), "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND");

    let created = app.create(json!({})).await;
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": created["id"] }),
    )
    .await;
    let before = app.snapshot().await;
    let err = app
        .error(
            UPDATE,
            json!({ "id": created["id"], "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND");
    // An empty update of a deleted conversation is NOT_FOUND too.
    let err = app
        .error(UPDATE, json!({ "id": created["id"], "input": {} }))
        .await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND");
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

const DELETE: &str =
    "mutation($id: UUID!) { deleteConversation(id: $id) { id tmDelete tmUpdate name } }";
const RESTORE: &str = "mutation($id: UUID!) { restoreConversation(id: $id) { id tmDelete } }";
const LIST_IDS: &str =
    "query($inc: Boolean) { conversations(includeDeleted: $inc) { edges { node { id } } } }";

async fn soft_delete_twice_and_restore(app: TestApp) {
    let keep = app.create(json!({ "name": "keep" })).await;
    let gone = app.create(json!({ "name": "gone" })).await;

    let deleted = app.data(DELETE, json!({ "id": gone["id"] })).await["deleteConversation"].clone();
    let tm_delete = deleted["tmDelete"].clone();
    assert!(tm_delete.is_string(), "tmDelete set: {deleted}");
    assert_eq!(
        deleted["tmUpdate"],
        json!(null),
        "deleting is not an update"
    );

    // Deleting again returns it unchanged.
    let again = app.data(DELETE, json!({ "id": gone["id"] })).await["deleteConversation"].clone();
    assert_eq!(again["tmDelete"], tm_delete, "idempotent");

    // Lists leave it out unless includeDeleted.
    let live = app.data(LIST_IDS, json!({})).await;
    assert_eq!(
        ids(&live["conversations"]),
        vec![keep["id"].as_str().unwrap()]
    );
    let all = app.data(LIST_IDS, json!({ "inc": true })).await;
    assert_eq!(ids(&all["conversations"]).len(), 2);
    // ... but conversation(id) still finds it.
    let one = app
        .data(
            "query($id: UUID!) { conversation(id: $id) { tmDelete } }",
            json!({ "id": gone["id"] }),
        )
        .await;
    assert_eq!(one["conversation"]["tmDelete"], tm_delete);

    let restored =
        app.data(RESTORE, json!({ "id": gone["id"] })).await["restoreConversation"].clone();
    assert_eq!(restored["tmDelete"], json!(null));
    let live = app.data(LIST_IDS, json!({})).await;
    assert_eq!(ids(&live["conversations"]).len(), 2);
    // Restoring a live one returns it unchanged.
    let again = app.data(RESTORE, json!({ "id": gone["id"] })).await["restoreConversation"].clone();
    assert_eq!(again["tmDelete"], json!(null));
}

async fn delete_and_restore_unknown_are_not_found(app: TestApp) {
    app.create(json!({})).await;
    let before = app.snapshot().await;
    for doc in [DELETE, RESTORE] {
        let err = app.error(doc, json!({ "id": uuid::Uuid::new_v4() })).await;
        assert_eq!(err["extensions"]["code"], "NOT_FOUND", "{doc}");
    }
    assert_eq!(app.snapshot().await, before);
}

async fn legacy_sentinel_reads_as_null(app: TestApp) {
    let row = legacy_row(at("2022-06-23T05:05:40.950834Z"));
    let id = row.id;
    app.insert_raw(row).await;
    let data = app
        .data(
            &format!("query($id: UUID!) {{ conversation(id: $id) {{ {FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    let c = &data["conversation"];
    assert_eq!(c["tmCreate"], "2022-06-23T05:05:40.950834Z");
    assert_eq!(c["tmUpdate"], json!(null));
    assert_eq!(c["tmDelete"], json!(null));
    assert_eq!(c["ownerId"], json!(null), "nil UUID reads as no owner");
    // Not deleted: it is listed, and matches isNull filters.
    let unset = json!({ "tmDelete": { "isNull": true }, "tmUpdate": { "isNull": true }, "ownerId": { "isNull": true } });
    assert_eq!(app.count(unset, false).await, 1);
    let set = json!({ "or": [{ "tmDelete": { "isNull": false } }, { "tmUpdate": { "gt": "2000-01-01T00:00:00Z" } }] });
    assert_eq!(app.count(set, true).await, 0, "the sentinel is not a time");
    // It can be updated (it is not deleted).
    let updated = app
        .data(UPDATE, json!({ "id": id, "input": { "name": "n" } }))
        .await;
    assert!(updated["updateConversation"]["tmUpdate"].is_string());
}

crate::backend_tests!(
    create_returns_what_was_stored,
    create_without_owner_has_null_owner,
    unknown_id_is_null,
    update_changes_only_given_fields,
    update_of_missing_or_deleted_is_not_found,
    soft_delete_twice_and_restore,
    delete_and_restore_unknown_are_not_found,
    legacy_sentinel_reads_as_null,
    concurrent_writes_all_succeed,
);

/// Concurrent writes never fail with "database is locked": each waits its turn.
async fn concurrent_writes_all_succeed(app: TestApp) {
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(app.create(json!({})).await["id"].clone());
    }
    for doc in [
        "mutation($id: UUID!) { deleteConversation(id: $id) { tmDelete } }",
        "mutation($id: UUID!) { restoreConversation(id: $id) { tmDelete } }",
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"x\" }) { name } }",
    ] {
        let runs = ids.iter().map(|id| app.gql(doc, json!({ "id": id })));
        for body in futures_util::future::join_all(runs).await {
            assert!(body.get("errors").is_none(), "{doc}: {body}");
        }
    }
    let creates = (0..12).map(|_| app.create(json!({})));
    assert_eq!(futures_util::future::join_all(creates).await.len(), 12);
}
