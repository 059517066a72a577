//! `conversationCounts`: exact counts per group and per pair of groups on a known data set,
//! deleted rows, the unassigned group, ordering, truncation, and tenant scoping.

use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::Role;
use conversation_graphql::graphql::Limits;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const SECRET: &[u8] = b"counts-secret-0123456789-abcdef";
const C2: &str = "c2c2c2c2-0000-4000-8000-000000000002";
/// Owners, in the order their ids sort: A3 < A2 < A1.
const A1: &str = AGENT;
const A2: &str = "11111111-0000-4000-8000-00000000a002";
const A3: &str = "0aaaaaaa-0000-4000-8000-00000000a003";
const B1: &str = "b1b1b1b1-0000-4000-8000-00000000b001";
const ACC2: &str = "acc20000-0000-4000-8000-000000000002";
const ACC3: &str = "acc30000-0000-4000-8000-000000000003";

fn options() -> AppOptions {
    hs256_options(SECRET)
}

fn superadmin() -> String {
    bearer_for(SECRET, Role::SuperAdmin, CUSTOMER, None)
}

/// A row of the data set: customer, type, owner (`None`: NULL, `Some("nil")`: the nil UUID
/// of older data), account, self and peer types, deleted.
struct Spec {
    customer: &'static str,
    line: bool,
    owner: Option<&'static str>,
    account: &'static str,
    peer_type: &'static str,
    deleted: Deleted,
}

#[derive(Clone, Copy)]
enum Deleted {
    No,
    Yes,
    /// The legacy "not yet" sentinel: live.
    Sentinel,
}

/// Customer `CUSTOMER`, live: 8 (6 MESSAGE, 2 LINE; A1 4, unassigned 2 (one NULL, one nil),
/// A3 1, A2 1; ACCOUNT 5, ACC2 3; peer TEL 4, LINE 2, WHATSAPP 1, EMAIL 1), plus 2 deleted
/// (a MESSAGE of A2 on ACCOUNT, an unassigned LINE on ACC2). Customer C2: 2 live.
async fn data_set(app: &TestApp) {
    use Deleted::*;
    let spec = |customer, line, owner, account, peer_type, deleted| Spec {
        customer,
        line,
        owner,
        account,
        peer_type,
        deleted,
    };
    let specs = [
        spec(CUSTOMER, false, Some(A1), ACCOUNT, "tel", No),
        spec(CUSTOMER, false, Some(A1), ACCOUNT, "tel", No),
        spec(CUSTOMER, false, Some(A2), ACC2, "whatsapp", No),
        spec(CUSTOMER, true, Some(A1), ACC2, "line", No),
        spec(CUSTOMER, true, None, ACCOUNT, "line", No),
        spec(CUSTOMER, false, Some("nil"), ACCOUNT, "tel", No),
        spec(CUSTOMER, false, Some(A2), ACCOUNT, "tel", Yes),
        spec(CUSTOMER, true, None, ACC2, "line", Yes),
        spec(CUSTOMER, false, Some(A1), ACCOUNT, "tel", Sentinel),
        spec(CUSTOMER, false, Some(A3), ACC2, "email", No),
        spec(C2, false, Some(B1), ACC3, "tel", No),
        spec(C2, true, None, ACC3, "line", No),
    ];
    for (i, s) in specs.iter().enumerate() {
        let mut row = raw_row(at("2024-01-01T00:00:00Z") + chrono::Duration::seconds(i as i64));
        row.customer_id = s.customer.parse().unwrap();
        match s.owner {
            None => {
                row.owner_type = String::new();
                row.owner_id = None;
            }
            Some("nil") => {
                row.owner_type = String::new();
                row.owner_id = Some(Uuid::nil());
            }
            Some(o) => row.owner_id = Some(o.parse().unwrap()),
        }
        row.account_id = s.account.parse().unwrap();
        if s.line {
            row.kind = "line".into();
            row.dialog_id = format!("U{i}");
            row.self_type = "line".into();
            row.self_target = "Uself".into();
        }
        row.peer_type = s.peer_type.into();
        row.peer_target = match s.peer_type {
            "line" => format!("Upeer{i}"),
            "email" => "x@example.com".into(),
            _ => "+673802".into(),
        };
        row.tm_delete = match s.deleted {
            Deleted::No => None,
            Deleted::Yes => Some(at("2024-02-01T00:00:00Z")),
            Deleted::Sentinel => Some(sentinel()),
        };
        app.insert_raw(row).await;
    }
}

const COUNTS: &str =
    "query($f: ConversationFilter, $s: String, $d: Boolean, $g: [ConversationGroupBy!]) {
  conversationCounts(filter: $f, search: $s, includeDeleted: $d, groupBy: $g) {
    total truncated groups { count type ownerId accountId selfType peerType }
  }
}";

async fn counts(app: &TestApp, vars: Value) -> Value {
    app.data(COUNTS, vars).await["conversationCounts"].clone()
}

/// The groups as (count, the set fields in the order given) rows, for compact comparisons.
fn rows(counts: &Value, fields: &[&str]) -> Vec<Value> {
    counts["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut row = vec![g["count"].clone()];
            row.extend(fields.iter().map(|f| g[*f].clone()));
            // The fields not grouped by are null.
            for other in ["type", "ownerId", "accountId", "selfType", "peerType"] {
                if !fields.contains(&other) {
                    assert_eq!(g[other], Value::Null, "{other} is not grouped by: {g}");
                }
            }
            Value::Array(row)
        })
        .collect()
}

fn customer() -> Value {
    json!({ "customerId": { "eq": CUSTOMER } })
}

async fn exact_counts_per_group(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let by = |g: Value| json!({ "f": customer(), "g": g });

    let c = counts(&app, by(json!([]))).await;
    assert_eq!(c, json!({ "total": 8, "truncated": false, "groups": [] }));
    let c = counts(&app, json!({ "f": customer() })).await;
    assert_eq!(c["total"], 8, "groupBy left out: the total alone");
    assert_eq!(c["groups"], json!([]));

    // (groupBy, the group's key field, the expected [count, key] rows in order)
    let cases = [
        ("TYPE", "type", json!([[6, "MESSAGE"], [2, "LINE"]])),
        // Unassigned (NULL and the legacy nil UUID alike) is one group with ownerId null;
        // ties are ordered by the owner: unassigned first, then ids in their text order
        // (A3 < A2).
        (
            "OWNER_ID",
            "ownerId",
            json!([[4, A1], [2, null], [1, A3], [1, A2]]),
        ),
        ("ACCOUNT_ID", "accountId", json!([[5, ACCOUNT], [3, ACC2]])),
        ("SELF_TYPE", "selfType", json!([[6, "TEL"], [2, "LINE"]])),
        // Equal counts follow the schema's order of AddressType: TEL, EMAIL, ..., WHATSAPP.
        (
            "PEER_TYPE",
            "peerType",
            json!([[4, "TEL"], [2, "LINE"], [1, "EMAIL"], [1, "WHATSAPP"]]),
        ),
    ];
    for (group, key, expected) in cases {
        let c = counts(&app, by(json!([group]))).await;
        assert_eq!(c["total"], 8, "{group}");
        assert_eq!(c["truncated"], false, "{group}");
        assert_eq!(Value::from(rows(&c, &[key])), expected, "{group}");
    }
}

async fn exact_counts_per_pair_of_groups(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let c = counts(&app, json!({ "f": customer(), "g": ["TYPE", "OWNER_ID"] })).await;
    assert_eq!(c["total"], 8);
    assert_eq!(
        rows(&c, &["type", "ownerId"]),
        vec![
            json!([3, "MESSAGE", A1]),
            json!([1, "MESSAGE", null]),
            json!([1, "MESSAGE", A3]),
            json!([1, "MESSAGE", A2]),
            json!([1, "LINE", null]),
            json!([1, "LINE", A1]),
        ]
    );
    // The same pairs; ties broken by the owner first now. Repeats are ignored.
    let c = counts(
        &app,
        json!({ "f": customer(), "g": ["OWNER_ID", "TYPE", "OWNER_ID"] }),
    )
    .await;
    assert_eq!(
        rows(&c, &["ownerId", "type"]),
        vec![
            json!([3, A1, "MESSAGE"]),
            json!([1, null, "MESSAGE"]),
            json!([1, null, "LINE"]),
            json!([1, A3, "MESSAGE"]),
            json!([1, A2, "MESSAGE"]),
            json!([1, A1, "LINE"]),
        ]
    );
    let c = counts(
        &app,
        json!({ "f": customer(), "g": ["ACCOUNT_ID", "PEER_TYPE"] }),
    )
    .await;
    assert_eq!(
        rows(&c, &["accountId", "peerType"]),
        vec![
            json!([4, ACCOUNT, "TEL"]),
            json!([1, ACCOUNT, "LINE"]),
            json!([1, ACC2, "EMAIL"]),
            json!([1, ACC2, "LINE"]),
            json!([1, ACC2, "WHATSAPP"]),
        ]
    );
    // Every pair's counts add up to the total.
    let sum: i64 = c["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 8);
}

async fn deleted_rows_and_filters(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let c = counts(
        &app,
        json!({ "f": customer(), "d": true, "g": ["TYPE", "OWNER_ID"] }),
    )
    .await;
    assert_eq!(c["total"], 10);
    assert_eq!(
        rows(&c, &["type", "ownerId"]),
        vec![
            json!([3, "MESSAGE", A1]),
            json!([2, "MESSAGE", A2]),
            json!([2, "LINE", null]),
            json!([1, "MESSAGE", null]),
            json!([1, "MESSAGE", A3]),
            json!([1, "LINE", A1]),
        ]
    );
    // `null` for includeDeleted means false; a filter on tmDelete still works with it.
    let c = counts(&app, json!({ "f": customer(), "d": null })).await;
    assert_eq!(c["total"], 8);
    let c = counts(
        &app,
        json!({ "f": { "tmDelete": { "isNull": false } }, "d": true, "g": ["TYPE"] }),
    )
    .await;
    assert_eq!(
        rows(&c, &["type"]),
        vec![json!([1, "MESSAGE"]), json!([1, "LINE"])]
    );
    // The unassigned, by filter: NULL and nil owners alike.
    let c = counts(
        &app,
        json!({ "f": { "and": [customer(), { "ownerId": { "isNull": true } }] } }),
    )
    .await;
    assert_eq!(c["total"], 2);
    // Every customer (a superadmin's scope): 8 + 2.
    let c = counts(&app, json!({ "g": ["TYPE"] })).await;
    assert_eq!(c["total"], 10);
    assert_eq!(
        rows(&c, &["type"]),
        vec![json!([7, "MESSAGE"]), json!([3, "LINE"])]
    );
    // Nothing matches: total 0, no groups.
    let c = counts(
        &app,
        json!({ "f": { "name": { "eq": "no such name" } }, "g": ["TYPE"] }),
    )
    .await;
    assert_eq!(c, json!({ "total": 0, "truncated": false, "groups": [] }));
}

async fn tenant_scoping(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;

    // An admin of CUSTOMER counts its own conversations only, and 0 of another customer's.
    app.as_caller(&bearer_for(SECRET, Role::Admin, CUSTOMER, None));
    let c = counts(&app, json!({ "g": ["TYPE"] })).await;
    assert_eq!(c["total"], 8);
    let c = counts(
        &app,
        json!({ "f": { "customerId": { "eq": C2 } }, "g": ["TYPE", "OWNER_ID"] }),
    )
    .await;
    assert_eq!(c, json!({ "total": 0, "truncated": false, "groups": [] }));

    // An agent's counts cover only the conversations it owns.
    app.as_caller(&bearer_for(SECRET, Role::Agent, CUSTOMER, Some(A1)));
    let c = counts(&app, json!({ "g": ["TYPE", "OWNER_ID"] })).await;
    assert_eq!(c["total"], 4);
    assert_eq!(
        rows(&c, &["type", "ownerId"]),
        vec![json!([3, "MESSAGE", A1]), json!([1, "LINE", A1])]
    );
    let c = counts(&app, json!({ "f": { "ownerId": { "isNull": true } } })).await;
    assert_eq!(c["total"], 0, "an agent does not see the unassigned");

    // Without a token: refused like every other query.
    app.token = None;
    let body = app.gql(COUNTS, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
}

async fn bad_arguments(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let e = app.error(COUNTS, json!({ "g": ["COLOR"] })).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
    for search in ["x", &"y".repeat(101)] {
        let e = app.error(COUNTS, json!({ "s": search })).await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
        assert_eq!(e["extensions"]["field"], "search", "{e}");
    }
    let e = app
        .error(COUNTS, json!({ "f": { "name": { "eq": "a\u{0}b" } } }))
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
}

crate::backend_tests! {
    mod tokens(options): exact_counts_per_group,
        exact_counts_per_pair_of_groups,
        deleted_rows_and_filters,
        tenant_scoping,
        bad_arguments;
    mod truncation(small_max_groups): truncates_past_max_groups;
    mod complexity(low_complexity): groups_weigh_in_the_complexity_limit;
}

/// `--max-complexity 1000`.
fn low_complexity() -> AppOptions {
    options_with(|l| l.max_complexity = 1000)
}

/// [`options`] with the limits as `set` changes them.
fn options_with(set: impl FnOnce(&mut Limits)) -> AppOptions {
    let mut options = options();
    set(&mut options.limits);
    options
}

/// `groups` weigh their selection times the groups they may return: 1000 (`--max-groups`)
/// with an id in `groupBy`, 2 with `[TYPE]`.
async fn groups_weigh_in_the_complexity_limit(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let query = |group_by: &str| {
        format!(
            "{{ conversationCounts(groupBy: {group_by}) {{ total groups {{ count ownerId }} }} }}"
        )
    };
    let body = app.gql(&query("[OWNER_ID]"), json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{body}"
    );
    let data = app.data(&query("[TYPE]"), json!({})).await;
    assert_eq!(data["conversationCounts"]["total"], 10);
    let data = app.data(&query("[]"), json!({})).await;
    assert_eq!(data["conversationCounts"]["groups"], json!([]));
}

/// `--max-groups 2`.
fn small_max_groups() -> AppOptions {
    options_with(|l| l.max_groups = 2)
}

/// The largest two groups, and `truncated`.
async fn truncates_past_max_groups(mut app: TestApp) {
    app.as_caller(&superadmin());
    data_set(&app).await;
    let c = counts(&app, json!({ "f": customer(), "g": ["OWNER_ID"] })).await;
    assert_eq!(c["total"], 8, "the total counts every conversation");
    assert_eq!(c["truncated"], true);
    assert_eq!(
        rows(&c, &["ownerId"]),
        vec![json!([4, A1]), json!([2, null])]
    );
    let c = counts(&app, json!({ "f": customer(), "g": ["TYPE"] })).await;
    assert_eq!(c["truncated"], false, "exactly max-groups groups");
    assert_eq!(c["groups"].as_array().unwrap().len(), 2);
    let c = counts(&app, json!({ "f": customer() })).await;
    assert_eq!(c["truncated"], false);
}
