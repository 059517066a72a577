//! Two server processes on one PostgreSQL: a write through one reaches subscribers on the
//! other. Runs when `TEST_POSTGRES_URL` is set.

use std::time::{Duration, Instant};

use conversation_graphql::auth::Role;
use conversation_graphql::db::{self, PoolSettings};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::subscriptions::EVENTS;
use crate::support::*;
use crate::ws_client::WsClient;

const SECRET: &str = "replica-secret-0123456789abcdef";
const CUST_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const CUST_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn bearer(role: Role, customer: &str) -> String {
    bearer_for(SECRET.as_bytes(), role, customer, None)
}

/// A fresh schema, dropped at the end.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    async fn create(url: &str) -> Schema {
        let name = format!("r_{}", uuid::Uuid::new_v4().simple());
        admin_execute(url, &format!("CREATE SCHEMA {name}")).await;
        Schema {
            url: url.to_owned(),
            name,
        }
    }

    async fn drop_now(self) {
        admin_execute(
            &self.url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        )
        .await;
    }
}

fn replica(url: &str, schema: &str) -> ServerProcess {
    ServerProcess::start(
        &[
            "--database-url",
            url,
            "--db-schema",
            schema,
            "--log",
            "info",
        ],
        &[("JWT_SECRET", SECRET)],
    )
}

async fn mutate(addr: std::net::SocketAddr, query: &str, vars: Value) -> Value {
    let (status, body) = http_post(
        addr,
        &json!({ "query": query, "variables": vars }),
        Some(&bearer(Role::SuperAdmin, CUST_A)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

async fn next(client: &mut WsClient, kind: &str, id: &Value) -> Value {
    let started = Instant::now();
    let p = client
        .next_event(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no {kind}"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "across replicas within 1 s"
    );
    let e = p["data"]["conversationEvents"].clone();
    assert_eq!(e["kind"], kind, "{p}");
    assert_eq!(&e["conversation"]["id"], id, "{p}");
    e
}

async fn quiet(client: &mut WsClient) {
    if let Some(p) = client.next_event(Duration::from_millis(400)).await {
        panic!("unexpected event {p}");
    }
}

const CREATE: &str =
    "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }";

fn input(patch: Value) -> Value {
    let mut i = default_input();
    merge(&mut i, patch);
    json!({ "input": i })
}

#[tokio::test]
async fn writes_on_one_replica_reach_subscribers_on_another() {
    let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
        eprintln!("TEST_POSTGRES_URL not set: skipped");
        return;
    };
    let schema = Schema::create(&url).await;
    let a = replica(&url, &schema.name);
    let b = replica(&url, &schema.name); // migrations already applied by A

    // On B: everything in customer A; LINE conversations' updates only; and customer B.
    let mut all = WsClient::init(
        b.addr,
        json!({ "Authorization": bearer(Role::Admin, CUST_A) }),
    )
    .await;
    all.subscribe("1", EVENTS, json!({})).await;
    let mut narrow = WsClient::init(
        b.addr,
        json!({ "Authorization": bearer(Role::SuperAdmin, CUST_A) }),
    )
    .await;
    narrow
        .subscribe(
            "1",
            EVENTS,
            json!({ "f": { "type": { "eq": "LINE" } }, "k": ["UPDATED"] }),
        )
        .await;
    let mut other = WsClient::init(
        b.addr,
        json!({ "Authorization": bearer(Role::Admin, CUST_B) }),
    )
    .await;
    other.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Writes through A.
    let c = mutate(
        a.addr,
        CREATE,
        input(json!({ "customerId": CUST_A, "name": "from A" })),
    )
    .await;
    let e = next(&mut all, "CREATED", &c["id"]).await;
    assert_eq!(e["conversation"]["name"], "from A");
    assert_eq!(e["conversation"]["customerId"], CUST_A);
    let line = mutate(
        a.addr,
        CREATE,
        input(json!({ "customerId": CUST_A, "type": "LINE", "detail": "€".repeat(4096) })),
    )
    .await;
    next(&mut all, "CREATED", &line["id"]).await;
    quiet(&mut narrow).await; // a create, not an update

    let rename =
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }";
    mutate(a.addr, rename, json!({ "id": c["id"] })).await;
    let e = next(&mut all, "UPDATED", &c["id"]).await;
    assert_eq!(e["conversation"]["name"], "renamed");
    quiet(&mut narrow).await; // not LINE
                              // The 4096-character detail is over NOTIFY's limit: the event still arrives, read back.
    mutate(a.addr, rename, json!({ "id": line["id"] })).await;
    next(&mut all, "UPDATED", &line["id"]).await;
    next(&mut narrow, "UPDATED", &line["id"]).await;

    mutate(
        a.addr,
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    let e = next(&mut all, "DELETED", &c["id"]).await;
    assert!(e["conversation"]["tmDelete"].is_string());
    mutate(
        a.addr,
        "mutation($id: UUID!) { restoreConversation(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    next(&mut all, "RESTORED", &c["id"]).await;

    // Tenant scoping: customer B's subscriber saw none of that, but sees its own.
    quiet(&mut other).await;
    let theirs = mutate(a.addr, CREATE, input(json!({ "customerId": CUST_B }))).await;
    next(&mut other, "CREATED", &theirs["id"]).await;
    quiet(&mut all).await;

    // The listener survives losing its connection: kill B's LISTEN backend, then write again.
    let admin = db::connect(&url, &PoolSettings::default()).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%{}%'",
            schema.name
        ))
        .await
        .unwrap();
    let _ = admin.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(b.logged("reconnected") && a.logged("reconnected")) {
        assert!(
            Instant::now() < deadline,
            "both listeners log their reconnection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = mutate(a.addr, CREATE, input(json!({ "customerId": CUST_A }))).await;
    next(&mut all, "CREATED", &after["id"]).await;

    drop((a, b));
    schema.drop_now().await;
}
