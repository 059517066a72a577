//! The leanest baseline: plain axum handlers that give the same answer as the GraphQL
//! documents of the `lean` benchmark, byte for byte (`{"data": …}`), by a hand-written
//! `SELECT` of only the six columns those documents ask for, decoded by position and written
//! straight to JSON, on the same sqlx pool the server's SeaORM connection holds. Nothing here
//! goes through SeaORM, the domain types, GraphQL or `serde_json::Value`.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use conversation_graphql::domain::page::{Order, Position, SortKey};
use conversation_graphql::domain::time::format as format_datetime;
use sea_orm::sqlx::{self, PgPool, Row, SqlitePool};
use sea_orm::{DatabaseConnection, DbBackend};
use uuid::Uuid;

/// The fields both lean documents select.
pub const FIELDS: &str = "id customerId type name tmCreate peer { target }";

const ONE_PG: &str =
    "SELECT id, customer_id, type, name, tm_create, peer_target FROM conversations WHERE id = $1";
const LIST_PG: &str = "SELECT id, customer_id, type, name, tm_create, peer_target \
     FROM conversations WHERE customer_id = $1 AND tm_delete IS NULL \
     ORDER BY tm_create DESC, id DESC LIMIT $2";
const ONE_SQLITE: &str =
    "SELECT id, customer_id, type, name, tm_create, peer_target FROM conversations WHERE id = ?";
const LIST_SQLITE: &str = "SELECT id, customer_id, type, name, tm_create, peer_target \
     FROM conversations WHERE customer_id = ? AND tm_delete IS NULL \
     ORDER BY tm_create DESC, id DESC LIMIT ?";

/// The pool, by backend.
#[derive(Clone)]
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// One row of the six columns.
struct Row6 {
    id: Uuid,
    customer_id: Uuid,
    kind: String,
    name: String,
    tm_create: DateTime<Utc>,
    peer_target: String,
}

macro_rules! row6 {
    ($row:expr) => {{
        let r = $row;
        Row6 {
            id: r.try_get(0)?,
            customer_id: r.try_get(1)?,
            kind: r.try_get(2)?,
            name: r.try_get(3)?,
            tm_create: r.try_get(4)?,
            peer_target: r.try_get(5)?,
        }
    }};
}

impl Pool {
    async fn one(&self, id: Uuid) -> Result<Option<Row6>, sqlx::Error> {
        Ok(match self {
            Pool::Postgres(p) => match sqlx::query(ONE_PG).bind(id).fetch_optional(p).await? {
                Some(r) => Some(row6!(&r)),
                None => None,
            },
            Pool::Sqlite(p) => match sqlx::query(ONE_SQLITE).bind(id).fetch_optional(p).await? {
                Some(r) => Some(row6!(&r)),
                None => None,
            },
        })
    }

    async fn list(&self, customer: Uuid, limit: i64) -> Result<Vec<Row6>, sqlx::Error> {
        // The same statement on either pool (their row types differ).
        macro_rules! list_on {
            ($pool:expr, $sql:expr) => {{
                let rows = sqlx::query($sql)
                    .bind(customer)
                    .bind(limit)
                    .fetch_all($pool)
                    .await?;
                rows.iter().map(|r| Ok(row6!(r))).collect()
            }};
        }
        match self {
            Pool::Postgres(p) => list_on!(p, LIST_PG),
            Pool::Sqlite(p) => list_on!(p, LIST_SQLITE),
        }
    }
}

/// `s` as a JSON string.
fn string(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

fn uuid(out: &mut Vec<u8>, u: &Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        u.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

fn node(out: &mut Vec<u8>, r: &Row6) {
    out.extend_from_slice(b"{\"id\":");
    uuid(out, &r.id);
    out.extend_from_slice(b",\"customerId\":");
    uuid(out, &r.customer_id);
    out.extend_from_slice(b",\"type\":");
    out.extend_from_slice(match r.kind.as_str() {
        "message" => b"\"MESSAGE\"",
        _ => b"\"LINE\"",
    });
    out.extend_from_slice(b",\"name\":");
    string(out, &r.name);
    out.extend_from_slice(b",\"tmCreate\":\"");
    out.extend_from_slice(format_datetime(&r.tm_create).as_bytes());
    out.extend_from_slice(b"\",\"peer\":{\"target\":");
    string(out, &r.peer_target);
    out.extend_from_slice(b"}}");
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn failed(e: sqlx::Error) -> StatusCode {
    eprintln!("lean: {e}");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn one(State(pool): State<Pool>, Path(id): Path<Uuid>) -> Result<Response, StatusCode> {
    let row = pool.one(id).await.map_err(failed)?;
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"data\":{\"conversation\":");
    match &row {
        Some(r) => node(&mut out, r),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}}");
    Ok(json(out))
}

#[derive(serde::Deserialize)]
struct ListParams {
    customer_id: Uuid,
    first: i64,
}

async fn list(
    State(pool): State<Pool>,
    Query(p): Query<ListParams>,
) -> Result<Response, StatusCode> {
    let first = p.first.clamp(0, 100);
    let rows = pool.list(p.customer_id, first + 1).await.map_err(failed)?;
    let has_next = rows.len() as i64 > first;
    let page = &rows[..rows.len().min(first as usize)];
    let mut out = Vec::with_capacity(256 + 300 * page.len());
    out.extend_from_slice(b"{\"data\":{\"conversations\":{\"edges\":[");
    let mut end = None;
    for (i, r) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let cursor = Position {
            key: SortKey::Time(r.tm_create),
            id: r.id,
        }
        .encode(Order::NEWEST_FIRST);
        out.extend_from_slice(b"{\"cursor\":\"");
        out.extend_from_slice(cursor.as_bytes());
        out.extend_from_slice(b"\",\"node\":");
        node(&mut out, r);
        out.push(b'}');
        end = Some(cursor);
    }
    out.extend_from_slice(b"],\"pageInfo\":{\"hasNextPage\":");
    out.extend_from_slice(if has_next { b"true" } else { b"false" });
    out.extend_from_slice(b",\"endCursor\":");
    match end {
        Some(c) => {
            out.push(b'"');
            out.extend_from_slice(c.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}}}}");
    Ok(json(out))
}

pub fn router(db: &DatabaseConnection) -> Router {
    let pool = match db.get_database_backend() {
        DbBackend::Postgres => Pool::Postgres(db.get_postgres_connection_pool().clone()),
        _ => Pool::Sqlite(db.get_sqlite_connection_pool().clone()),
    };
    Router::new()
        .route("/lean/conversation/{id}", get(one))
        .route("/lean/conversations", get(list))
        .with_state(pool)
}

/// The GraphQL documents whose answers the handlers above give.
pub fn one_document() -> String {
    format!("query($id: UUID!) {{ conversation(id: $id) {{ {FIELDS} }} }}")
}

pub fn list_document() -> String {
    format!(
        "query($c: UUID!) {{ conversations(filter: {{ customerId: {{ eq: $c }} }}, first: 20) \
         {{ edges {{ cursor node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}
