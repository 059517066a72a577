//! The filter language: every operator, address filters, `isNull`, `and` / `or` / `not`.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const C2: &str = "11111111-2222-3333-4444-555555555555";
const A2: &str = "99999999-8888-7777-6666-555555555555";

/// Five conversations that differ in every filterable field.
async fn fixture(app: &TestApp) -> Vec<(String, Uuid)> {
    let mut rows = Vec::new();

    let mut alpha = raw_row(at("2022-01-01T00:00:00Z"));
    alpha.name = "alpha".into();
    alpha.dialog_id = "+111".into();
    alpha.peer_name = "Bob".into();
    alpha.tm_update = Some(at("2022-02-01T00:00:00Z"));
    rows.push(alpha);

    let mut beta = raw_row(at("2022-03-01T00:00:00Z"));
    beta.name = "Beta 50%".into();
    beta.detail = "Needs FOLLOW-UP".into();
    beta.owner_type = String::new();
    beta.owner_id = None;
    beta.kind = "line".into();
    beta.dialog_id = "U123".into();
    beta.self_type = "line".into();
    beta.self_target = "Uself".into();
    beta.peer_type = "line".into();
    beta.peer_target = "Upeer".into();
    beta.peer_target_name = "Peer Name".into();
    rows.push(beta);

    let mut gamma = raw_row(at("2022-05-01T00:00:00Z"));
    gamma.name = "gamma_x".into();
    gamma.customer_id = C2.parse().unwrap();
    gamma.owner_id = Some(A2.parse().unwrap());
    gamma.peer_type = "email".into();
    gamma.peer_target = "x@y.com".into();
    gamma.peer_name = "Carol".into();
    gamma.tm_update = Some(at("2022-06-01T00:00:00Z"));
    rows.push(gamma);

    let mut delta = raw_row(at("2022-07-01T00:00:00Z"));
    delta.name = "delta".into();
    delta.customer_id = C2.parse().unwrap();
    delta.peer_type = "whatsapp".into();
    delta.peer_target = "+15550001111".into();
    delta.tm_delete = Some(at("2022-08-01T00:00:00Z"));
    rows.push(delta);

    let mut epsilon = raw_row(at("2022-09-01T00:00:00Z"));
    epsilon.name = "épsilon".into();
    epsilon.kind = "line".into();
    epsilon.peer_type = "line".into();
    epsilon.peer_target = "Uabc".into();
    epsilon.tm_update = Some(sentinel());
    rows.push(epsilon);

    let mut out = Vec::new();
    for row in rows {
        out.push((row.name.clone(), row.id));
        app.insert_raw(row).await;
    }
    out
}

/// The names matching `filter` (deleted included), sorted.
async fn names(app: &TestApp, filter: Value, include_deleted: bool) -> Vec<String> {
    let data = app
        .data(
            "query($f: ConversationFilter, $inc: Boolean) { conversations(filter: $f, includeDeleted: $inc, first: 100) { totalCount nodes { name } } }",
            json!({ "f": filter, "inc": include_deleted }),
        )
        .await;
    let mut names: Vec<String> = data["conversations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
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

async fn every_operator(app: TestApp) {
    let rows = fixture(&app).await;
    let id = |n: &str| {
        rows.iter()
            .find(|(name, _)| name == n)
            .unwrap()
            .1
            .to_string()
    };
    let (alpha, gamma) = (id("alpha"), id("gamma_x"));

    let cases: Vec<(Value, Vec<&str>)> = vec![
        // UUID operators
        (json!({ "id": { "eq": alpha } }), vec!["alpha"]),
        (
            json!({ "id": { "ne": alpha } }),
            vec!["Beta 50%", "gamma_x", "delta", "épsilon"],
        ),
        (
            json!({ "id": { "in": [alpha, gamma] } }),
            vec!["alpha", "gamma_x"],
        ),
        (json!({ "id": { "in": [] } }), vec![]),
        (
            json!({ "id": { "notIn": [alpha] } }),
            vec!["Beta 50%", "gamma_x", "delta", "épsilon"],
        ),
        (json!({ "id": { "isNull": true } }), vec![]),
        (json!({ "id": { "isNull": false } }), ALL.to_vec()),
        (
            json!({ "customerId": { "eq": C2 } }),
            vec!["gamma_x", "delta"],
        ),
        (json!({ "accountId": { "eq": ACCOUNT } }), ALL.to_vec()),
        // nullable UUID: ne / notIn match the unowned one too
        (
            json!({ "ownerId": { "eq": AGENT } }),
            vec!["alpha", "delta", "épsilon"],
        ),
        (
            json!({ "ownerId": { "ne": AGENT } }),
            vec!["Beta 50%", "gamma_x"],
        ),
        (
            json!({ "ownerId": { "notIn": [AGENT] } }),
            vec!["Beta 50%", "gamma_x"],
        ),
        (
            json!({ "ownerId": { "in": [AGENT, A2] } }),
            vec!["alpha", "gamma_x", "delta", "épsilon"],
        ),
        (json!({ "ownerId": { "isNull": true } }), vec!["Beta 50%"]),
        (
            json!({ "ownerId": { "isNull": false } }),
            vec!["alpha", "gamma_x", "delta", "épsilon"],
        ),
        // owner type
        (
            json!({ "ownerType": { "eq": "AGENT" } }),
            vec!["alpha", "gamma_x", "delta", "épsilon"],
        ),
        (
            json!({ "ownerType": { "in": ["AGENT"] } }),
            vec!["alpha", "gamma_x", "delta", "épsilon"],
        ),
        (json!({ "ownerType": { "isNull": true } }), vec!["Beta 50%"]),
        // strings: exact operators
        (json!({ "name": { "eq": "alpha" } }), vec!["alpha"]),
        (json!({ "name": { "eq": "ALPHA" } }), vec![]),
        (
            json!({ "name": { "ne": "alpha" } }),
            vec!["Beta 50%", "gamma_x", "delta", "épsilon"],
        ),
        (
            json!({ "name": { "in": ["alpha", "delta"] } }),
            vec!["alpha", "delta"],
        ),
        (
            json!({ "name": { "notIn": ["alpha", "delta"] } }),
            vec!["Beta 50%", "gamma_x", "épsilon"],
        ),
        // strings: case-insensitive matches, % and _ literal
        (json!({ "name": { "contains": "ETA" } }), vec!["Beta 50%"]),
        (json!({ "name": { "contains": "50%" } }), vec!["Beta 50%"]),
        (json!({ "name": { "contains": "%" } }), vec!["Beta 50%"]),
        (json!({ "name": { "contains": "_" } }), vec!["gamma_x"]),
        (json!({ "name": { "contains": "a_x" } }), vec!["gamma_x"]),
        (json!({ "name": { "contains": "a%x" } }), vec![]),
        (json!({ "name": { "startsWith": "GAM" } }), vec!["gamma_x"]),
        (json!({ "name": { "endsWith": "TA" } }), vec!["delta"]),
        (json!({ "name": { "contains": "" } }), ALL.to_vec()),
        (
            json!({ "detail": { "contains": "follow-up" } }),
            vec!["Beta 50%"],
        ),
        (
            json!({ "dialogId": { "startsWith": "u1" } }),
            vec!["Beta 50%"],
        ),
        // conversation type
        (
            json!({ "type": { "eq": "LINE" } }),
            vec!["Beta 50%", "épsilon"],
        ),
        (
            json!({ "type": { "in": ["MESSAGE"] } }),
            vec!["alpha", "gamma_x", "delta"],
        ),
        // addresses
        (
            json!({ "self": { "type": { "eq": "LINE" } } }),
            vec!["Beta 50%"],
        ),
        (
            json!({ "self": { "target": { "eq": "+14703298699" } } }),
            vec!["alpha", "gamma_x", "delta", "épsilon"],
        ),
        (
            json!({ "peer": { "target": { "eq": "+673802" } } }),
            vec!["alpha"],
        ),
        (
            json!({ "peer": { "name": { "contains": "car" } } }),
            vec!["gamma_x"],
        ),
        (
            json!({ "peer": { "targetName": { "eq": "Peer Name" } } }),
            vec!["Beta 50%"],
        ),
        (
            json!({ "peer": { "type": { "in": ["EMAIL", "WHATSAPP"] } } }),
            vec!["gamma_x", "delta"],
        ),
        (
            json!({ "peer": { "type": { "eq": "LINE" }, "target": { "startsWith": "uA" } } }),
            vec!["épsilon"],
        ),
        // timestamps
        (
            json!({ "tmCreate": { "eq": "2022-03-01T00:00:00Z" } }),
            vec!["Beta 50%"],
        ),
        (
            json!({ "tmCreate": { "eq": "2022-03-01T09:00:00+09:00" } }),
            vec!["Beta 50%"],
        ),
        (
            json!({ "tmCreate": { "gt": "2022-05-01T00:00:00Z" } }),
            vec!["delta", "épsilon"],
        ),
        (
            json!({ "tmCreate": { "gte": "2022-05-01T00:00:00Z" } }),
            vec!["gamma_x", "delta", "épsilon"],
        ),
        (
            json!({ "tmCreate": { "lt": "2022-03-01T00:00:00Z" } }),
            vec!["alpha"],
        ),
        (
            json!({ "tmCreate": { "lte": "2022-03-01T00:00:00Z" } }),
            vec!["alpha", "Beta 50%"],
        ),
        (
            json!({ "tmCreate": { "gt": "2022-02-01T00:00:00Z", "lt": "2022-08-01T00:00:00Z" } }),
            vec!["Beta 50%", "gamma_x", "delta"],
        ),
        (json!({ "tmCreate": { "isNull": false } }), ALL.to_vec()),
        (
            json!({ "tmUpdate": { "isNull": true } }),
            vec!["Beta 50%", "delta", "épsilon"],
        ),
        (
            json!({ "tmUpdate": { "gt": "2022-01-15T00:00:00Z" } }),
            vec!["alpha", "gamma_x"],
        ),
        (
            json!({ "tmUpdate": { "lte": "9999-12-31T00:00:00Z" } }),
            vec!["alpha", "gamma_x"],
        ),
        (json!({ "tmDelete": { "isNull": false } }), vec!["delta"]),
        (
            json!({ "tmDelete": { "lt": "2030-01-01T00:00:00Z" } }),
            vec!["delta"],
        ),
        // combinators
        (
            json!({ "and": [{ "name": { "startsWith": "a" } }, { "type": { "eq": "MESSAGE" } }] }),
            vec!["alpha"],
        ),
        (
            json!({ "or": [{ "name": { "eq": "alpha" } }, { "name": { "eq": "delta" } }] }),
            vec!["alpha", "delta"],
        ),
        (
            json!({ "not": { "type": { "eq": "LINE" } } }),
            vec!["alpha", "gamma_x", "delta"],
        ),
        (
            json!({ "not": { "ownerId": { "eq": AGENT } } }),
            vec!["Beta 50%", "gamma_x"],
        ),
        (
            json!({ "not": { "tmUpdate": { "gt": "2022-01-15T00:00:00Z" } } }),
            vec!["Beta 50%", "delta", "épsilon"],
        ),
        (
            json!({ "not": { "not": { "name": { "eq": "alpha" } } } }),
            vec!["alpha"],
        ),
        (
            json!({ "or": [
                { "and": [{ "customerId": { "eq": C2 } }, { "not": { "tmDelete": { "isNull": false } } }] },
                { "name": { "contains": "ps" } }
            ] }),
            vec!["gamma_x", "épsilon"],
        ),
        (
            json!({ "type": { "eq": "LINE" }, "name": { "contains": "beta" } }),
            vec!["Beta 50%"],
        ),
        (json!({ "or": [] }), vec![]),
        (json!({ "and": [] }), ALL.to_vec()),
        (json!({}), ALL.to_vec()),
        (json!({ "name": {} }), ALL.to_vec()),
        (json!({ "self": {} }), ALL.to_vec()),
    ];
    for (filter, expected) in cases {
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
