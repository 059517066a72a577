//! Two server processes on one PostgreSQL schema: a write through one reaches subscribers on
//! the other. PostgreSQL only (`TEST_POSTGRES_URL`).

use conversation_graphql::auth::Role;
use conversation_graphql::db::{self, PoolSettings};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::support::*;

const SECRET: &str = "replica-secret-0123456789abcdef";

fn bearer(role: Role, customer: &str) -> String {
    bearer_for(SECRET.as_bytes(), role, customer, None)
}

/// A server process on `app`'s schema (already migrated).
fn replica(app: &TestApp) -> ServerProcess {
    let server = Backend::Postgres.server_url().expect("configured");
    let schema = app.db_name.as_deref().expect("a schema");
    let args = [
        "--database-url",
        &server,
        "--db-schema",
        schema,
        "--log",
        "info",
    ];
    ServerProcess::start(&args, &[("JWT_SECRET", SECRET)])
}

/// Runs a mutation through `addr` as a superadmin; returns its one root field.
async fn mutate(addr: std::net::SocketAddr, query: &str, vars: Value) -> Value {
    let body = json!({ "query": query, "variables": vars });
    let auth = bearer(Role::SuperAdmin, CUST_A);
    let (status, body) = http_post(addr, &body, Some(&auth)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    root_field(&body["data"])
}

async fn writes_on_one_replica_reach_subscribers_on_another(app: TestApp) {
    let a = replica(&app);
    let b = replica(&app);

    // On B: everything in customer A; LINE conversations' updates only; and customer B.
    let mut all = WsClient::init(
        b.addr,
        json!({ "Authorization": bearer(Role::Admin, CUST_A) }),
    )
    .await;
    all.subscribe("1", EVENTS, json!({})).await;
    let narrow_caller = json!({ "Authorization": bearer(Role::SuperAdmin, CUST_A) });
    let mut narrow = WsClient::init(b.addr, narrow_caller).await;
    let line_updates = json!({ "f": { "type": { "eq": "LINE" } }, "k": ["UPDATED"] });
    narrow.subscribe("1", EVENTS, line_updates).await;
    let mut other = WsClient::init(
        b.addr,
        json!({ "Authorization": bearer(Role::Admin, CUST_B) }),
    )
    .await;
    other.subscribe("1", EVENTS, json!({})).await;
    b.wait_for_subscribers(3).await;
    b.wait_for_log("event listener started").await;

    // Writes through A. Each expected event is the next one on its socket, so nothing
    // unexpected came before it.
    let c = mutate(
        a.addr,
        CREATE,
        create_vars(json!({ "customerId": CUST_A, "name": "from A" })),
    )
    .await;
    let e = all.expect_event("CREATED", &c["id"]).await;
    assert_eq!(e["conversation"]["name"], "from A");
    assert_eq!(e["conversation"]["customerId"], CUST_A);
    let line =
        create_vars(json!({ "customerId": CUST_A, "type": "LINE", "detail": "€".repeat(4096) }));
    let line = mutate(a.addr, CREATE, line).await;
    all.expect_event("CREATED", &line["id"]).await;

    let rename =
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }";
    mutate(a.addr, rename, json!({ "id": c["id"] })).await;
    let e = all.expect_event("UPDATED", &c["id"]).await;
    assert_eq!(e["conversation"]["name"], "renamed");
    // The 4096-character detail is over NOTIFY's limit: the event still arrives, read back.
    // It is the first `narrow` sees: neither the creates nor the rename of a MESSAGE reached it.
    mutate(a.addr, rename, json!({ "id": line["id"] })).await;
    all.expect_event("UPDATED", &line["id"]).await;
    narrow.expect_event("UPDATED", &line["id"]).await;

    mutate(a.addr, DELETE, json!({ "id": c["id"] })).await;
    let e = all.expect_event("DELETED", &c["id"]).await;
    assert!(e["conversation"]["tmDelete"].is_string());
    mutate(a.addr, RESTORE, json!({ "id": c["id"] })).await;
    all.expect_event("RESTORED", &c["id"]).await;

    // Tenant scoping: customer B's subscriber saw none of that (its first event is its own),
    // and customer A's does not see it.
    let theirs = mutate(a.addr, CREATE, create_vars(json!({ "customerId": CUST_B }))).await;
    other.expect_event("CREATED", &theirs["id"]).await;

    // The listener survives losing its connection: kill the LISTEN backends, then write again.
    let admin = db::connect(&app.url, &PoolSettings::default())
        .await
        .unwrap();
    let schema = app.db_name.as_deref().unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%{schema}%'"
        ))
        .await
        .unwrap();
    let _ = admin.close().await;
    b.wait_for_log("reconnected").await;
    a.wait_for_log("reconnected").await;
    let after = mutate(a.addr, CREATE, create_vars(json!({ "customerId": CUST_A }))).await;
    all.expect_event("CREATED", &after["id"]).await;
}

crate::backend_tests! {
    postgres: writes_on_one_replica_reach_subscribers_on_another;
}
