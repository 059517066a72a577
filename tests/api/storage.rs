//! What each backend must store and answer alike: times to the microsecond and past 2038, the
//! legacy sentinel as itself, code point order and exact equality of names, case folding, and
//! the server-side statement timeout.

use std::time::Duration;

use conversation_graphql::db::{self, PoolSettings};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::support::*;

async fn times_keep_microseconds_and_the_sentinel_is_stored_as_is(app: TestApp) {
    let mut row = raw_row(at("2022-06-23T05:05:40.950834Z"));
    // Past the end of MySQL's TIMESTAMP range (2038): must not become NULL.
    row.tm_update = Some(at("2040-01-01T00:00:00.000001Z"));
    row.tm_delete = Some(sentinel());
    let mut early = raw_row(at("1001-02-03T04:05:06.999999Z"));
    early.tm_update = Some(at("1969-12-31T23:59:59.123456Z"));
    app.insert_raw(row.clone()).await;
    app.insert_raw(early.clone()).await;

    let mut want = vec![row.clone(), early.clone()];
    want.sort_by_key(|r| r.id);
    assert_eq!(app.snapshot().await, want, "stored exactly as given");

    let c = app
        .data(
            "query($id: UUID!) { conversation(id: $id) { tmCreate tmUpdate tmDelete } }",
            json!({ "id": row.id }),
        )
        .await;
    assert_eq!(
        c["conversation"],
        json!({ "tmCreate": "2022-06-23T05:05:40.950834Z",
                "tmUpdate": "2040-01-01T00:00:00.000001Z", "tmDelete": null })
    );
    // Comparisons see the exact microsecond, and the sentinel is never a time.
    for (filter, want) in [
        (
            json!({ "tmCreate": { "eq": "2022-06-23T05:05:40.950834Z" } }),
            1,
        ),
        (
            json!({ "tmCreate": { "gt": "2022-06-23T05:05:40.950834Z" } }),
            0,
        ),
        (json!({ "tmUpdate": { "gt": "2039-12-31T23:59:59Z" } }), 1),
        (json!({ "tmUpdate": { "lt": "1970-01-01T00:00:00Z" } }), 1),
        (json!({ "tmCreate": { "lt": "1001-02-03T04:05:07Z" } }), 1),
        (
            json!({ "tmCreate": { "gte": "1001-02-03T04:05:06.999999Z" } }),
            2,
        ),
        (
            json!({ "tmCreate": { "eq": "1001-02-03T04:05:06.999999Z" } }),
            1,
        ),
        (json!({ "tmDelete": { "isNull": true } }), 2),
        (json!({ "tmDelete": { "gt": "2000-01-01T00:00:00Z" } }), 0),
    ] {
        assert_eq!(app.count(filter.clone(), true).await, want, "{filter}");
    }
}

async fn names_sort_by_code_point_and_compare_exactly(app: TestApp) {
    let names = ["b", "a ", "B", "a", "é", "z", "😀", "Ä", "a\t", "ß", "A"];
    for name in names {
        app.create(json!({ "name": name })).await;
    }
    let mut want: Vec<&str> = names.to_vec();
    want.sort(); // Rust compares strings by their UTF-8 bytes: code point order.
    for (direction, expected) in [
        ("ASC", want.clone()),
        ("DESC", want.iter().rev().copied().collect::<Vec<_>>()),
    ] {
        let data = app
            .data(
                &format!("{{ conversations(first: 20, orderBy: {{ field: NAME, direction: {direction} }}) {{ nodes {{ name }} }} }}"),
                json!({}),
            )
            .await;
        let got: Vec<&str> = data["conversations"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "{direction}");
    }
    // Equality is exact: no padding, no case or accent folding.
    for (eq, matches) in [("a", 1), ("a ", 1), ("A", 1), ("e", 0), ("ss", 0)] {
        let filter = json!({ "name": { "eq": eq } });
        assert_eq!(app.count(filter, false).await, matches, "eq {eq:?}");
    }
    // `in` too, and a trailing space is part of the value for `startsWith`/`endsWith`.
    let filter = json!({ "name": { "in": ["a", "z"] } });
    assert_eq!(app.count(filter, false).await, 2);
    let data = app
        .data(
            "{ conversations(filter: { name: { endsWith: \" \" } }) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["conversations"]["nodes"], json!([{ "name": "a " }]));
}

async fn contains_ignores_case_beyond_ascii_where_the_backend_can(app: TestApp) {
    app.create(json!({ "name": "ÄRGER mit Éclair" })).await;
    app.create(json!({ "name": "plain ASCII Name" })).await;
    let count = |needle: &str| app.count(json!({ "name": { "contains": needle } }), false);
    assert_eq!(count("ascii name").await, 1);
    assert_eq!(count("MIT").await, 1);
    if app.backend != Backend::Sqlite {
        // SQLite's LOWER folds ASCII only (see the README).
        assert_eq!(count("ärger").await, 1);
        assert_eq!(count("éCLAIR").await, 1);
    }
}

/// The server itself stops a statement that runs past the timeout (SQLite has no server: there
/// the request timeout drops the statement, see `limits`).
async fn the_server_cancels_statements_past_the_timeout(app: TestApp) {
    let sleep = match app.backend {
        Backend::Sqlite => return,
        Backend::Postgres => "SELECT pg_sleep(5)",
        Backend::MySql => "SELECT SLEEP(5)",
    };
    let settings = PoolSettings {
        max_connections: 2,
        statement_timeout: Some(Duration::from_millis(500)),
        ..PoolSettings::default()
    };
    let timed = db::connect(&app.url, &settings).await.expect("connect");
    let result = timed.execute_unprepared(sleep).await;
    assert!(result.is_err(), "{sleep} was not cancelled: {result:?}");

    // A write waiting on a row lock is cancelled too (a hang fails at the deadline).
    app.create(json!({})).await;
    let blocker = app.db.begin().await.unwrap();
    blocker
        .execute_unprepared("UPDATE conversations SET detail = 'blocker'")
        .await
        .unwrap();
    let waiting = timed.execute_unprepared("UPDATE conversations SET name = 'late'");
    let result = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("the waiting update ends");
    assert!(result.is_err(), "the waiting update was not cancelled");
    blocker.rollback().await.unwrap();
    let _ = timed.close().await;
}

crate::backend_tests!(
    times_keep_microseconds_and_the_sentinel_is_stored_as_is,
    names_sort_by_code_point_and_compare_exactly,
    contains_ignores_case_beyond_ascii_where_the_backend_can,
    the_server_cancels_statements_past_the_timeout,
);
