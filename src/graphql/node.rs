//! Relay object identification: the `Node` interface, `nodeId`, and `node` / `nodes`.
//!
//! A `nodeId` ([`super::node_id`]) is base64url (no padding) of `<type name>:<uuid>`, e.g. `Conversation:bdc9…`.
//! Clients treat it as opaque. Only the exact form this server makes is accepted: anything
//! else (garbage, another encoding of the same UUID, an unknown type) reads as no object, and
//! so does an object outside the caller's scope, so an id reveals nothing about rows the
//! caller may not see.

use std::collections::HashMap;

use async_graphql::{Context, Interface, ID};
use uuid::Uuid;

use super::context::{scope, store};
use super::node_id::decode;
use super::types::Conversation;
use crate::error::ApiError;

use super::limits::MAX_NODES;

/// An object with a global id: Relay refetches and normalises objects by `nodeId`.
#[derive(Interface)]
#[graphql(field(
    name = "node_id",
    ty = "ID",
    desc = "Globally unique and opaque; stable for the object's life."
))]
pub enum Node {
    Conversation(Conversation),
}

/// `node(id)`.
pub async fn node(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>, ApiError> {
    let Some(uuid) = decode(id) else {
        return Ok(None);
    };
    let found = store(ctx)?.get(uuid, &scope(ctx)?).await?;
    Ok(found.map(|c| Node::Conversation(Conversation(c))))
}

/// `nodes(ids)`: one read for all of them, answered in the order of `ids`.
pub async fn nodes(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Node>>, ApiError> {
    if ids.len() > MAX_NODES {
        return Err(ApiError::bad_input(
            "ids",
            format!("at most {MAX_NODES} ids, got {}", ids.len()),
        ));
    }
    let wanted: Vec<Option<Uuid>> = ids.iter().map(|id| decode(id)).collect();
    let mut lookup: Vec<Uuid> = wanted.iter().flatten().copied().collect();
    lookup.sort_unstable();
    lookup.dedup();
    let found: HashMap<Uuid, _> = if lookup.is_empty() {
        HashMap::new()
    } else {
        store(ctx)?
            .get_many(&lookup, &scope(ctx)?)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    Ok(wanted
        .into_iter()
        .map(|id| {
            id.and_then(|id| found.get(&id))
                .map(|c| Node::Conversation(Conversation(c.clone())))
        })
        .collect())
}
