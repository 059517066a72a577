//! `search` on `conversations` and `conversationCounts`: every field it covers, case, phone
//! numbers as typed, combination with `filter`, its length limits, and rows written around
//! the server (plain SQL) found as well.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::support::*;

const LIST: &str = "query($s: String, $f: ConversationFilter, $d: Boolean) {
  conversations(search: $s, filter: $f, includeDeleted: $d, first: 100) { totalCount nodes { name } }
}";

const COUNT: &str = "query($s: String, $f: ConversationFilter) {
  conversationCounts(search: $s, filter: $f, groupBy: [TYPE]) { total groups { count type } }
}";

/// Rows whose searched fields each hold a word of their own, and fields search leaves alone.
async fn fixture(app: &TestApp) {
    let mut rows = Vec::new();

    let mut r = raw_row(at("2024-01-01T00:00:00Z"));
    r.name = "Refund for Mr Tanaka".into();
    r.detail = "Parcel arrived DAMAGED, wants money back".into();
    r.dialog_id = "+1 (470) 329-8699".into();
    r.self_target = "+14705550100".into();
    r.self_target_name = "Front Desk".into();
    r.self_name = "hiddenselfname".into();
    r.self_detail = "hiddenselfdetail".into();
    r.peer_target = "+14703298699".into();
    r.peer_target_name = "Kenji Tanaka".into();
    r.peer_name = "hiddenpeername".into();
    rows.push(r);

    let mut r = raw_row(at("2024-01-02T00:00:00Z"));
    r.name = "Billing question".into();
    r.detail = "Invoice 2024-0815 is wrong".into();
    r.kind = "line".into();
    r.dialog_id = "C-room-42".into();
    r.self_type = "line".into();
    r.self_target = "U-desk-01".into();
    r.self_target_name = "LINE Official".into();
    r.peer_type = "line".into();
    r.peer_target = "U-123-456".into();
    r.peer_target_name = "Yuki".into();
    rows.push(r);

    let mut r = raw_row(at("2024-01-03T00:00:00Z"));
    r.name = "Été à Paris".into();
    r.detail = "İstanbul trip, 300 \u{212A} oven".into();
    r.dialog_id = "alice.smith@example.com".into();
    r.self_type = "email".into();
    r.self_target = "desk@example.com".into();
    r.peer_type = "sip".into();
    r.peer_target = "alice.smith@example.com".into();
    r.peer_target_name = "Alice Smith".into();
    rows.push(r);

    let mut r = raw_row(at("2024-01-04T00:00:00Z"));
    r.name = "Deleted refund".into();
    r.tm_delete = Some(at("2024-02-01T00:00:00Z"));
    rows.push(r);

    for row in rows {
        app.insert_raw(row).await;
    }
}

async fn found(app: &TestApp, search: &str, filter: Value) -> Vec<String> {
    let data = app.data(LIST, json!({ "s": search, "f": filter })).await;
    let mut names: Vec<String> = node_names(&data["conversations"]);
    assert_eq!(data["conversations"]["totalCount"], names.len());
    // The same search counted.
    let counted = app.data(COUNT, json!({ "s": search, "f": filter })).await;
    assert_eq!(
        counted["conversationCounts"]["total"],
        names.len(),
        "conversationCounts(search: {search:?}) agrees with the list"
    );
    names.sort();
    names
}

const TANAKA: &str = "Refund for Mr Tanaka";
const BILLING: &str = "Billing question";
const PARIS: &str = "Été à Paris";

async fn every_searched_field(app: TestApp) {
    fixture(&app).await;
    let cases: &[(&str, &[&str])] = &[
        // name, detail, dialogId, self.target, self.targetName, peer.target, peer.targetName
        ("tanaka", &[TANAKA]),
        ("damaged", &[TANAKA]),
        ("room-4", &[BILLING]),
        ("desk-0", &[BILLING]),
        ("front desk", &[TANAKA]),
        ("123-45", &[BILLING]),
        ("kenji", &[TANAKA]),
        ("official", &[BILLING]),
        ("smith@", &[PARIS]),
        ("desk@exa", &[PARIS]),
        // Case is ignored, for all of Unicode.
        ("REFUND", &[TANAKA]),
        ("été À", &[PARIS]),
        ("ista", &[PARIS]),
        ("0 k oven", &[PARIS]),
        ("ALICE", &[PARIS]),
        // Fields that are not searched.
        ("hiddenselfname", &[]),
        ("hiddenselfdetail", &[]),
        ("hiddenpeername", &[]),
        // `%` and `_` are literal.
        ("%%", &[]),
        ("a_b", &[]),
        ("no such text", &[]),
    ];
    for (search, want) in cases {
        assert_eq!(
            found(&app, search, Value::Null).await,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "search {search:?}"
        );
    }
    // Deleted conversations only with includeDeleted.
    let data = app.data(LIST, json!({ "s": "refund", "d": true })).await;
    assert_eq!(data["conversations"]["totalCount"], 2);
}

async fn phone_numbers_as_typed(app: TestApp) {
    fixture(&app).await;
    let cases: &[(&str, &[&str])] = &[
        // dialogId stored as typed, "+1 (470) 329-8699"; peer.target stored as E.164.
        ("+1 (470) 329-8699", &[TANAKA]),
        ("+14703298699", &[TANAKA]),
        ("470 329", &[TANAKA]),
        ("470-329-86", &[TANAKA]),
        ("(470) 555", &[TANAKA]),
        ("3298699", &[TANAKA]),
        // A number in text fields is compared as given: "2024-0815" in Billing's detail.
        ("2024-0815", &[BILLING]),
        ("20240815", &[]),
        // Dashes in a LINE id: found as given, and as digits.
        ("U-123-456", &[BILLING]),
        ("123 456", &[BILLING]),
        ("U123456", &[]),
    ];
    for (search, want) in cases {
        assert_eq!(
            found(&app, search, Value::Null).await,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "search {search:?}"
        );
    }
}

/// The string filters of `dialogId`, `self.target` and `peer.target` with numbers as typed;
/// LINE ids (letters) compared as given.
async fn phone_numbers_in_string_filters(app: TestApp) {
    fixture(&app).await;
    let cases: Vec<(Value, &[&str])> = vec![
        // dialogId stored as typed: "+1 (470) 329-8699".
        (json!({ "dialogId": { "eq": "+14703298699" } }), &[TANAKA]),
        (
            json!({ "dialogId": { "eq": "+1 470-329-8699" } }),
            &[TANAKA],
        ),
        (
            json!({ "dialogId": { "in": ["(470) 329 8699", "+1.470.329.8699"] } }),
            &[TANAKA],
        ),
        (
            json!({ "dialogId": { "startsWith": "+1 (470" } }),
            &[TANAKA],
        ),
        (json!({ "dialogId": { "contains": "329 86" } }), &[TANAKA]),
        (
            json!({ "dialogId": { "ne": "+14703298699" } }),
            &[BILLING, PARIS],
        ),
        // peer.target stored as E.164: "+14703298699".
        (
            json!({ "peer": { "target": { "eq": "+1 (470) 329-8699" } } }),
            &[TANAKA],
        ),
        (
            json!({ "peer": { "target": { "in": ["+1 470 329 8699", "U-123-456"] } } }),
            &[BILLING, TANAKA],
        ),
        (
            json!({ "peer": { "target": { "startsWith": "+1 470" } } }),
            &[TANAKA],
        ),
        (
            json!({ "peer": { "target": { "contains": "470 329" } } }),
            &[TANAKA],
        ),
        (
            json!({ "peer": { "target": { "endsWith": "86-99" } } }),
            &[TANAKA],
        ),
        (
            json!({ "self": { "target": { "contains": "(470) 555" } } }),
            &[TANAKA],
        ),
        (
            json!({ "self": { "target": { "notIn": ["+1 470 555 0100"] } } }),
            &[BILLING, PARIS],
        ),
        // LINE ids: letters, so compared as given, dashes and all.
        (
            json!({ "peer": { "target": { "eq": "U-123-456" } } }),
            &[BILLING],
        ),
        (json!({ "peer": { "target": { "eq": "U123456" } } }), &[]),
        (
            json!({ "peer": { "target": { "startsWith": "u-123" } } }),
            &[BILLING],
        ),
        (json!({ "dialogId": { "contains": "room-4" } }), &[BILLING]),
        (json!({ "dialogId": { "contains": "room4" } }), &[]),
        // Other fields are not dialable: "2024-0815" as given.
        (json!({ "detail": { "contains": "2024-0815" } }), &[BILLING]),
        (json!({ "detail": { "contains": "20240815" } }), &[]),
    ];
    for (filter, want) in cases {
        let data = app.data(LIST, json!({ "f": filter })).await;
        let mut got: Vec<String> = node_names(&data["conversations"]);
        got.sort();
        assert_eq!(got, want.to_vec(), "{filter}");
    }
}

async fn search_and_filter(app: TestApp) {
    fixture(&app).await;
    let line = json!({ "type": { "eq": "LINE" } });
    assert_eq!(
        found(&app, "desk", Value::Null).await,
        vec![BILLING, TANAKA, PARIS]
    );
    assert_eq!(found(&app, "desk", line.clone()).await, vec![BILLING]);
    assert_eq!(found(&app, "tanaka", line).await, Vec::<String>::new());
    let counted = app
        .data(
            COUNT,
            json!({ "s": "desk", "f": { "type": { "eq": "MESSAGE" } } }),
        )
        .await;
    assert_eq!(
        counted["conversationCounts"],
        json!({ "total": 2, "groups": [{ "count": 2, "type": "MESSAGE" }] })
    );
}

async fn search_length_limits(app: TestApp) {
    fixture(&app).await;
    let bad = ["", "x", &"y".repeat(101), "a\u{0}"];
    for search in bad {
        for query in [LIST, COUNT] {
            let e = app.error(query, json!({ "s": search })).await;
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{search:?}: {e}");
            assert_eq!(e["extensions"]["field"], "search", "{e}");
        }
    }
    // 2 and 100 characters (not bytes) are fine.
    assert_eq!(found(&app, "té", Value::Null).await, vec![PARIS]);
    assert_eq!(
        found(&app, &"é".repeat(100), Value::Null).await,
        Vec::<String>::new()
    );
    // `null` is no search.
    let data = app.data(LIST, json!({ "s": null })).await;
    assert_eq!(data["conversations"]["totalCount"], 3);
}

/// Rows written, changed and removed with plain SQL are searched as they are now: what
/// search needs is kept by the database itself.
async fn rows_written_around_the_server(app: TestApp) {
    fixture(&app).await;
    app.db
        .execute_unprepared(
            "UPDATE conversations SET name = 'Renamed by hand', dialog_id = '0812.345.678' \
             WHERE name = 'Billing question'",
        )
        .await
        .unwrap();
    assert_eq!(
        found(&app, "billing", Value::Null).await,
        Vec::<String>::new()
    );
    assert_eq!(
        found(&app, "by hand", Value::Null).await,
        vec!["Renamed by hand"]
    );
    assert_eq!(
        found(&app, "345 678", Value::Null).await,
        vec!["Renamed by hand"]
    );
    let by_phone = app
        .data(
            LIST,
            json!({ "f": { "dialogId": { "eq": "0812 345 678" } } }),
        )
        .await;
    assert_eq!(
        by_phone["conversations"]["nodes"],
        json!([{ "name": "Renamed by hand" }])
    );
    app.db
        .execute_unprepared("DELETE FROM conversations WHERE name = 'Renamed by hand'")
        .await
        .unwrap();
    assert_eq!(
        found(&app, "by hand", Value::Null).await,
        Vec::<String>::new()
    );
    // An import writes through the same table: created through the API here.
    app.create(json!({ "name": "Via the API", "dialogId": "+66 2 123 4567" }))
        .await;
    assert_eq!(found(&app, "21234", Value::Null).await, vec!["Via the API"]);
}

/// A word on more rows than a page narrows to by candidates (SQLite reads them newest first
/// then), next to a rare one: both pages right, newest first, with their totals.
async fn common_and_rare_words(app: TestApp) {
    let rows: Vec<_> = (0..5100)
        .map(|i| {
            let mut r = raw_row(at("2024-01-01T00:00:00Z") + chrono::Duration::seconds(i));
            r.name = if i == 17 {
                "rare word".into()
            } else {
                format!("common word {i}")
            };
            r
        })
        .collect();
    conversation_graphql::db::ConversationStore::new(app.db.clone())
        .insert_models(&rows, false)
        .await
        .unwrap();
    let data = app
        .data(
            "{ conversations(search: \"COMMON\", first: 3) { totalCount nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversations"],
        json!({ "totalCount": 5099, "nodes": [
            { "name": "common word 5099" }, { "name": "common word 5098" }, { "name": "common word 5097" }
        ] })
    );
    // Paging on: the next page, which knows there is one before it.
    let page = "query($after: String) { conversations(search: \"common\", first: 2, after: $after) { nodes { name } pageInfo { endCursor hasPreviousPage } } }";
    let first = app.data(page, json!({})).await;
    let cursor = first["conversations"]["pageInfo"]["endCursor"].clone();
    let next = app.data(page, json!({ "after": cursor })).await;
    assert_eq!(
        next["conversations"],
        json!({ "nodes": [{ "name": "common word 5097" }, { "name": "common word 5096" }],
                "pageInfo": { "endCursor": next["conversations"]["pageInfo"]["endCursor"], "hasPreviousPage": true } })
    );
    let data = app
        .data(
            "{ conversations(search: \"rare\", first: 3) { totalCount nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversations"],
        json!({ "totalCount": 1, "nodes": [{ "name": "rare word" }] })
    );
}

crate::backend_tests! {
    common_and_rare_words,
    every_searched_field,
    phone_numbers_as_typed,
    phone_numbers_in_string_filters,
    search_and_filter,
    search_length_limits,
    rows_written_around_the_server,
}
