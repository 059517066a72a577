//! Relay paging with keyset cursors, and every order.

use chrono::Duration;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const PAGE: &str =
    "query($first: Int, $after: String, $last: Int, $before: String, $order: ConversationOrder) {
  conversations(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

struct Row {
    id: Uuid,
    tm_create: chrono::DateTime<chrono::Utc>,
    tm_update: Option<chrono::DateTime<chrono::Utc>>,
    name: String,
}

/// 30 rows: 12 share one `tmCreate`, names repeat, some never updated, one legacy sentinel.
async fn seed(app: &TestApp) -> Vec<Row> {
    let base = at("2024-01-01T00:00:00.123456Z");
    let mut rows = Vec::new();
    for i in 0..30 {
        let mut row = raw_row(if i < 12 {
            base
        } else {
            base + Duration::seconds(i)
        });
        row.name = format!("n{}", i % 7);
        row.tm_update = match i % 3 {
            0 => None,
            1 => Some(base + Duration::minutes(i % 5)),
            _ => Some(base + Duration::minutes(i)),
        };
        if i == 29 {
            row.tm_update = Some(sentinel());
        }
        rows.push(Row {
            id: row.id,
            tm_create: row.tm_create,
            tm_update: row.tm_update,
            name: row.name.clone(),
        });
        app.insert_raw(row).await;
    }
    rows
}

fn expected(rows: &[Row], field: &str, direction: &str) -> Vec<String> {
    let far = at("9000-01-01T00:00:00Z");
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let key = match field {
            "TM_CREATE" => a.tm_create.cmp(&b.tm_create),
            "TM_UPDATE" => {
                // Never updated sorts as the far future (the sentinel as itself).
                let ka = a.tm_update.unwrap_or(far);
                let kb = b.tm_update.unwrap_or(far);
                ka.cmp(&kb)
            }
            _ => a.name.as_bytes().cmp(b.name.as_bytes()),
        };
        key.then(a.id.cmp(&b.id))
    });
    if direction == "DESC" {
        sorted.reverse();
    }
    sorted.iter().map(|r| r.id.to_string()).collect()
}

async fn page(app: &TestApp, vars: Value) -> Value {
    app.data(PAGE, vars).await["conversations"].clone()
}

/// Walks every page forwards with `first`, then backwards with `last`.
async fn walk(app: &TestApp, order: &Value, size: usize) -> (Vec<String>, Vec<String>) {
    (
        walk_one_way(app, order, size, true).await,
        walk_one_way(app, order, size, false).await,
    )
}

/// Every id, in order, page by page: forwards (`first`/`after`) or backwards (`last`/`before`).
async fn walk_one_way(app: &TestApp, order: &Value, size: usize, forwards: bool) -> Vec<String> {
    let (take, from, cursor, more, earlier) = if forwards {
        (
            "first",
            "after",
            "endCursor",
            "hasNextPage",
            "hasPreviousPage",
        )
    } else {
        (
            "last",
            "before",
            "startCursor",
            "hasPreviousPage",
            "hasNextPage",
        )
    };
    let mut all = Vec::new();
    let mut at = Value::Null;
    for pages in 1..100 {
        let p = page(app, json!({ take: size, from: at, "order": order })).await;
        let chunk = ids(&p);
        if forwards {
            all.extend(chunk);
        } else {
            all.splice(0..0, chunk);
        }
        assert_eq!(p["pageInfo"][earlier], json!(pages > 1), "{p}");
        if p["pageInfo"][more] == json!(false) {
            return all;
        }
        at = p["pageInfo"][cursor].clone();
    }
    panic!("paging does not end");
}

async fn every_order_pages_without_loss_or_repeat(app: TestApp) {
    let rows = seed(&app).await;
    for field in ["TM_CREATE", "TM_UPDATE", "NAME"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let want = expected(&rows, field, direction);
            let (forward, backward) = walk(&app, &order, 7).await;
            assert_eq!(forward, want, "forward {field} {direction}");
            assert_eq!(backward, want, "backward {field} {direction}");
        }
    }
}

async fn default_order_is_newest_first_and_page_is_20(app: TestApp) {
    let rows = seed(&app).await;
    let p = app
        .data(
            "{ conversations { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await["conversations"]
        .clone();
    let want = expected(&rows, "TM_CREATE", "DESC");
    assert_eq!(ids(&p), want[..20].to_vec());
    assert_eq!(p["pageInfo"]["hasNextPage"], true);
}

async fn first_zero_and_window_between_cursors(app: TestApp) {
    let rows = seed(&app).await;
    let want = expected(&rows, "TM_CREATE", "DESC");
    let p = page(&app, json!({ "first": 0 })).await;
    assert_eq!(ids(&p), Vec::<String>::new());
    assert_eq!(p["pageInfo"]["startCursor"], json!(null));
    assert_eq!(p["pageInfo"]["hasNextPage"], true);

    // after the 3rd and before the 10th: rows 4..=9.
    let all = page(&app, json!({ "first": 30 })).await;
    let cursors: Vec<Value> = all["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].clone())
        .collect();
    let p = page(
        &app,
        json!({ "first": 100, "after": cursors[2], "before": cursors[9] }),
    )
    .await;
    assert_eq!(ids(&p), want[3..9].to_vec());
    let p = page(
        &app,
        json!({ "last": 2, "after": cursors[2], "before": cursors[9] }),
    )
    .await;
    assert_eq!(ids(&p), want[7..9].to_vec());
}

async fn inserts_never_shift_a_page(app: TestApp) {
    seed(&app).await;
    let first = page(&app, json!({ "first": 5 })).await;
    let second_before = page(
        &app,
        json!({ "first": 5, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    // A new conversation is the newest: it must not push rows onto page 2.
    app.create(json!({})).await;
    let second_after = page(
        &app,
        json!({ "first": 5, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&second_before), ids(&second_after));
}

async fn bad_cursors_and_sizes_are_bad_input(app: TestApp) {
    seed(&app).await;
    let p = page(&app, json!({ "first": 1 })).await;
    let cursor = p["pageInfo"]["endCursor"].clone();
    let cases = [
        (json!({ "after": "garbage" }), "after"),
        (json!({ "before": "Zm9vfGJhcnxiYXo" }), "before"),
        (
            json!({ "after": cursor, "order": { "field": "NAME", "direction": "DESC" } }),
            "after",
        ),
        (
            json!({ "after": cursor, "order": { "field": "TM_CREATE", "direction": "ASC" } }),
            "after",
        ),
        (json!({ "first": 101 }), "first"),
        (json!({ "last": 101 }), "last"),
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 1, "last": 1 }), "last"),
    ];
    for (vars, field) in cases {
        let err = app.error(PAGE, vars.clone()).await;
        assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{vars}: {err}");
        assert_eq!(err["extensions"]["field"], field, "{vars}: {err}");
    }
    // 100 is allowed.
    let p = page(&app, json!({ "first": 100 })).await;
    assert_eq!(ids(&p).len(), 30);
}

async fn total_count_ignores_cursors(app: TestApp) {
    seed(&app).await;
    let p = app
        .data(
            "{ conversations(first: 3) { totalCount pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(p["conversations"]["totalCount"], 30);
    let q = app
        .data(
            "query($a: String) { conversations(first: 3, after: $a) { totalCount } }",
            json!({ "a": p["conversations"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(q["conversations"]["totalCount"], 30);
}

crate::backend_tests!(
    every_order_pages_without_loss_or_repeat,
    default_order_is_newest_first_and_page_is_20,
    first_zero_and_window_between_cursors,
    inserts_never_shift_a_page,
    bad_cursors_and_sizes_are_bad_input,
    total_count_ignores_cursors,
);
