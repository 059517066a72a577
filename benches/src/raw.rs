//! The baseline: plain axum handlers running the same `ConversationStore` queries as the
//! GraphQL resolvers and answering JSON, with no GraphQL at all.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use conversation_graphql::db::ConversationStore;
use conversation_graphql::domain::filter::{Field, Predicate, Scalar};
use conversation_graphql::domain::page::{Order, PageQuery};
use conversation_graphql::domain::time::format as format_datetime;
use conversation_graphql::domain::{Address, Conversation};
use serde_json::{json, Value};
use uuid::Uuid;

fn address(a: &Address) -> Value {
    json!({
        "type": a.kind.as_str(),
        "target": a.target.as_str(),
        "targetName": a.target_name.as_str(),
        "name": a.name.as_str(),
        "detail": a.detail.as_str(),
    })
}

/// The same fields the GraphQL benchmark documents select.
pub fn conversation(c: &Conversation) -> Value {
    let b = &c.body;
    json!({
        "id": c.id,
        "customerId": b.customer_id,
        "ownerId": b.owner_id,
        "name": b.name.as_str(),
        "type": b.kind.as_str(),
        "dialogId": b.dialog_id.as_str(),
        "self": address(&b.self_address),
        "peer": address(&b.peer),
        "tmCreate": format_datetime(&c.tm_create),
        "tmUpdate": c.tm_update.as_ref().map(format_datetime),
    })
}

async fn one(
    State(store): State<ConversationStore>,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, StatusCode> {
    let found = store
        .get(id, &Predicate::All)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(
        json!({ "conversation": found.as_ref().map(conversation) }),
    ))
}

#[derive(serde::Deserialize)]
struct ListParams {
    customer_id: Uuid,
    first: u64,
}

async fn list(
    State(store): State<ConversationStore>,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, StatusCode> {
    let query = PageQuery {
        filter: Predicate::And(vec![
            Predicate::Eq(Field::CustomerId, Scalar::Uuid(p.customer_id)),
            Predicate::IsNull(Field::TmDelete, true),
        ]),
        order: Order::NEWEST_FIRST,
        after: None,
        before: None,
        limit: p.first.min(100),
        from_end: false,
    };
    let page = store
        .page(&query, &Predicate::All)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let nodes: Vec<Value> = page.rows.iter().map(|(_, c)| conversation(c)).collect();
    Ok(Json(
        json!({ "nodes": nodes, "hasNextPage": page.has_more }),
    ))
}

pub fn router(store: ConversationStore) -> Router {
    Router::new()
        .route("/raw/conversation/{id}", get(one))
        .route("/raw/conversations", get(list))
        .with_state(store)
}
