//! `version` and `ifVersion`: 1 at create, +1 on every change, nothing on a no-op; a stale
//! `ifVersion` is `CONFLICT` with `extensions.currentVersion` and changes nothing.

use conversation_graphql::db::entity;
use sea_orm::{ActiveValue::NotSet, EntityTrait, IntoActiveModel};
use serde_json::{json, Value};

use crate::support::*;
use crate::writes_support::*;

fn field(data: &Value) -> Value {
    root_field(data)
}

/// Every kind of write, in a row: the version after each, and the events they record.
async fn version_arithmetic(app: TestApp) {
    let c = app.create(json!({})).await;
    let id = id_of(&c);
    let version = |data: Value| field(&data)["version"].as_i64().unwrap();
    let first = app
        .data(
            "query($id: UUID!) { conversation(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(first["conversation"]["version"], 1, "1 at create");

    let steps: Vec<(String, Value, i64)> = vec![
        (
            update_doc(),
            json!({ "id": id, "input": { "name": "a" } }),
            2,
        ),
        (update_doc(), json!({ "id": id, "input": {} }), 2), // empty input: no-op
        (delete_doc(), json!({ "id": id }), 3),
        (delete_doc(), json!({ "id": id }), 3), // repeated delete: no-op
        (restore_doc(), json!({ "id": id }), 4),
        (restore_doc(), json!({ "id": id }), 4), // restore of a live one: no-op
        (
            update_doc(),
            json!({ "id": id, "input": { "name": "b" }, "v": 4 }),
            5,
        ),
        (delete_doc(), json!({ "id": id, "v": 5 }), 6),
        (restore_doc(), json!({ "id": id, "v": 6 }), 7),
        (
            bulk_update_doc(),
            json!({ "ids": [id], "input": { "detail": "d" } }),
            8,
        ),
        (bulk_update_doc(), json!({ "ids": [id], "input": {} }), 8),
        (bulk_delete_doc(), json!({ "ids": [id] }), 9),
        (bulk_delete_doc(), json!({ "ids": [id] }), 9),
        (bulk_restore_doc(), json!({ "ids": [id] }), 10),
        (bulk_restore_doc(), json!({ "ids": [id] }), 10),
    ];
    for (doc, vars, want) in steps {
        let before = app.snapshot().await;
        let data = app.data(&doc, vars.clone()).await;
        let got = match field(&data) {
            Value::Array(items) => items[0]["version"].as_i64().unwrap(),
            _ => version(data),
        };
        assert_eq!(got, want, "{doc} with {vars}");
        let after = app.snapshot().await;
        assert_eq!(after[0].version as i64, want, "stored");
        if before[0].version as i64 == want {
            assert_eq!(after, before, "a no-op changes nothing: {doc} with {vars}");
        }
    }
    let got: Vec<(String, i64, Option<i64>)> = log(&app)
        .await
        .into_iter()
        .map(|e| (e.kind, e.version, e.previous))
        .collect();
    let kinds = [
        "CREATED", "UPDATED", "DELETED", "RESTORED", "UPDATED", "DELETED", "RESTORED", "UPDATED",
        "DELETED", "RESTORED",
    ];
    let want: Vec<(String, i64, Option<i64>)> = kinds
        .iter()
        .zip(1..)
        .map(|(k, v)| (k.to_string(), v, (v > 1).then_some(v - 1)))
        .collect();
    assert_eq!(got, want, "one event per change, none for a no-op");
}

/// A stale `ifVersion` on each mutation: `CONFLICT`, `currentVersion` an Int, the row
/// byte-equal, no event. The right one then works.
async fn stale_if_version_changes_nothing(app: TestApp) {
    let id = id_of(&app.create(json!({})).await);
    app.data(
        &update_doc(),
        json!({ "id": id, "input": { "name": "v2" } }),
    )
    .await;
    let cases = [
        (
            update_doc(),
            json!({ "id": id, "input": { "name": "lost" }, "v": 1 }),
        ),
        (update_doc(), json!({ "id": id, "input": {}, "v": 3 })),
        (delete_doc(), json!({ "id": id, "v": 1 })),
        (restore_doc(), json!({ "id": id, "v": 0 })),
    ];
    for (doc, vars) in &cases {
        let err = refused_quietly(&app, doc, vars.clone(), "CONFLICT").await;
        assert_eq!(err["extensions"]["currentVersion"], json!(2), "{err}");
        assert!(
            err["extensions"]["currentVersion"].is_i64(),
            "an Int: {err}"
        );
        assert_eq!(err["extensions"]["id"], json!(id));
    }
    // Deleted: a stale restore and a stale repeated delete are refused too.
    app.data(&delete_doc(), json!({ "id": id, "v": 2 })).await;
    for (doc, vars) in [
        (restore_doc(), json!({ "id": id, "v": 2 })),
        (delete_doc(), json!({ "id": id, "v": 2 })),
    ] {
        let err = refused_quietly(&app, &doc, vars, "CONFLICT").await;
        assert_eq!(err["extensions"]["currentVersion"], json!(3));
    }
    let restored = app.data(&restore_doc(), json!({ "id": id, "v": 3 })).await;
    assert_eq!(field(&restored)["version"], 4);
}

/// `ifVersion` on an unknown id is `NOT_FOUND`, and so is an update of a deleted one.
async fn if_version_on_missing_is_not_found(app: TestApp) {
    let unknown = uuid::Uuid::new_v4().to_string();
    for (doc, vars) in [
        (
            update_doc(),
            json!({ "id": unknown, "input": { "name": "x" }, "v": 1 }),
        ),
        (delete_doc(), json!({ "id": unknown, "v": 1 })),
        (restore_doc(), json!({ "id": unknown, "v": 1 })),
    ] {
        let err = refused_quietly(&app, &doc, vars, "NOT_FOUND").await;
        assert_eq!(err["extensions"]["id"], json!(unknown));
    }
    let id = id_of(&app.create(json!({})).await);
    app.data(&delete_doc(), json!({ "id": id })).await;
    refused_quietly(
        &app,
        &update_doc(),
        json!({ "id": id, "input": { "name": "x" }, "v": 2 }),
        "NOT_FOUND",
    )
    .await;
}

/// Two editors who both saw version 1: exactly one change lands, the other is told the
/// version it lost to.
async fn racing_editors_one_wins(app: TestApp) {
    let id = id_of(&app.create(json!({})).await);
    let doc = update_doc();
    let edit =
        |name: &'static str| app.gql(&doc, json!({ "id": id, "input": { "name": name }, "v": 1 }));
    let (a, b) = tokio::join!(edit("alice"), edit("bob"));
    let (won, lost) = if a.get("errors").is_none() {
        (a, b)
    } else {
        (b, a)
    };
    assert!(won.get("errors").is_none(), "{won}");
    assert_eq!(
        lost["errors"][0]["extensions"]["code"], "CONFLICT",
        "{lost}"
    );
    assert_eq!(lost["errors"][0]["extensions"]["currentVersion"], 2);
    let name = won["data"]["updateConversation"]["name"].clone();
    let stored = app.snapshot().await;
    assert_eq!(json!(stored[0].name), name);
    assert_eq!(stored[0].version, 2);
    assert_eq!(log(&app).await.len(), 2, "CREATED and the one UPDATED");
}

/// Rows from before the column (no version written) and imported records without one read
/// as version 1.
async fn existing_rows_start_at_one(app: TestApp) {
    let row = raw_row(at("2022-06-23T05:05:40.950834Z"));
    let id = row.id;
    let active = entity::ActiveModel {
        version: NotSet,
        ..row.into_active_model()
    };
    entity::Entity::insert(active)
        .exec_without_returning(&app.db)
        .await
        .expect("an insert that leaves version to the column default");
    let ids = app
        .import_rows(r#"{"name": "imported", "tm_create": "2022-06-23T05:05:40Z"}"#)
        .await;
    for id in [id, ids["imported"]] {
        let data = app
            .data(
                "query($id: UUID!) { conversation(id: $id) { version } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["conversation"]["version"], 1);
    }
    let data = app
        .data(
            &update_doc(),
            json!({ "id": id, "input": { "name": "n" }, "v": 1 }),
        )
        .await;
    assert_eq!(field(&data)["version"], 2);
}

crate::backend_tests! {
    version_arithmetic,
    stale_if_version_changes_nothing,
    if_version_on_missing_is_not_found,
    racing_editors_one_wins,
    existing_rows_start_at_one;
}
