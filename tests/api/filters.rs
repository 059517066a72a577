//! The filter language: every operator, address filters, `isNull`, `and` / `or` / `not`.

use std::collections::HashMap;

use conversation_graphql::db::entity::Model;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

/// Five conversations that differ in every filterable field (`data/filter_operator_rows.ndjson`,
/// and one with the legacy "not yet" sentinel as its `tm_update`, stored as it is).
async fn fixture(app: &TestApp) -> HashMap<String, Uuid> {
    let mut rows = app
        .import_rows(include_str!("data/filter_operator_rows.ndjson"))
        .await;
    let epsilon = Model {
        name: "épsilon".into(),
        kind: "line".into(),
        peer_type: "line".into(),
        peer_target: "Uabc".into(),
        tm_update: Some(sentinel()),
        ..raw_row(at("2022-09-01T00:00:00Z"))
    };
    rows.insert(epsilon.name.clone(), epsilon.id);
    app.insert_raw(epsilon).await;
    rows
}

/// The names matching `filter` (deleted included), sorted.
async fn names(app: &TestApp, filter: Value, include_deleted: bool) -> Vec<String> {
    let data = app
        .data(
            "query($f: ConversationFilter, $inc: Boolean) { conversations(filter: $f, includeDeleted: $inc, first: 100) { totalCount nodes { name } } }",
            json!({ "f": filter, "inc": include_deleted }),
        )
        .await;
    let mut names: Vec<String> = node_names(&data["conversations"]);
    assert_eq!(
        data["conversations"]["totalCount"],
        names.len(),
        "totalCount agrees with the rows"
    );
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const ALL: [&str; 5] = ["alpha", "Beta 50%", "gamma_x", "delta", "épsilon"];

/// Each case of `data/filter_operators.json` is a filter and the names it must match (`"all"`:
/// every row).
async fn every_operator(app: TestApp) {
    let rows = fixture(&app).await;
    let (alpha, gamma) = (rows["alpha"].to_string(), rows["gamma_x"].to_string());
    let mut values = known_values();
    values.extend([("$alpha", alpha.as_str()), ("$gamma", gamma.as_str())]);
    let table: Value = serde_json::from_str(include_str!("data/filter_operators.json"))
        .expect("data/filter_operators.json is JSON");
    for case in table.as_array().expect("a list of cases") {
        let (filter, expected) = (with_values(case[0].clone(), &values), &case[1]);
        let expected: Vec<&str> = match expected.as_array() {
            Some(names) => names.iter().map(|n| n.as_str().unwrap()).collect(),
            None => ALL.to_vec(),
        };
        assert_eq!(
            names(&app, filter.clone(), true).await,
            sorted(&expected),
            "filter {filter}"
        );
    }
}

async fn deleted_rows_are_left_out_by_default(app: TestApp) {
    fixture(&app).await;
    assert_eq!(
        names(&app, json!({ "customerId": { "eq": C2 } }), false).await,
        sorted(&["gamma_x"])
    );
    assert_eq!(
        names(&app, json!({ "tmDelete": { "isNull": false } }), false).await,
        Vec::<String>::new()
    );
}

async fn hostile_strings_are_plain_values(app: TestApp) {
    fixture(&app).await;
    let before = app.snapshot().await;
    for s in [
        "'; DROP TABLE conversations; --",
        "\" OR 1=1 --",
        "%' OR '1'='1",
        "\\",
        "!",
        "ǅ\u{0301}\u{200B}😀",
    ] {
        // Every string filter, every operator.
        for path in [
            &["name"][..],
            &["detail"],
            &["dialogId"],
            &["self", "target"],
            &["self", "targetName"],
            &["self", "name"],
            &["peer", "target"],
            &["peer", "targetName"],
            &["peer", "name"],
        ] {
            for op in [
                "eq",
                "ne",
                "in",
                "notIn",
                "contains",
                "startsWith",
                "endsWith",
            ] {
                let value = if matches!(op, "in" | "notIn") {
                    json!([s])
                } else {
                    json!(s)
                };
                let mut filter = json!({ op: value });
                for key in path.iter().rev() {
                    filter = json!({ *key: filter });
                }
                let got = names(&app, filter.clone(), true).await;
                let negated = op == "ne" || op == "notIn";
                let want = if negated { ALL.len() } else { 0 };
                assert_eq!(got.len(), want, "{filter} matched {got:?}");
            }
        }
    }
    // NUL cannot be stored or compared on every backend: refused as bad input.
    let err = app
        .error(
            "{ conversations(filter: { name: { contains: \"a\\u0000b\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{err}");
    assert_eq!(app.snapshot().await, before);
}

crate::backend_tests!(
    every_operator,
    deleted_rows_are_left_out_by_default,
    hostile_strings_are_plain_values,
);
