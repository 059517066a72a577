//! Relay object identification: the `Node` interface, `nodeId`, and `node` / `nodes`.
//!
//! A `nodeId` is base64url (no padding) of `<type name>:<uuid>`, e.g. `Conversation:bdc9…`.
//! Clients treat it as opaque. Only the exact form this server makes is accepted: anything
//! else (garbage, another encoding of the same UUID, an unknown type) reads as no object, and
//! so does an object outside the caller's scope, so an id reveals nothing about rows the
//! caller may not see.

use std::collections::HashMap;

use async_graphql::{Context, Interface, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use uuid::Uuid;

use super::context::{scope, store};
use super::types::Conversation;
use crate::error::ApiError;

/// The most ids one `nodes` call takes.
pub const MAX_NODES: usize = 100;

const CONVERSATION: &str = "Conversation";

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

/// The `nodeId` of the conversation with this id.
pub fn conversation_node_id(id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{CONVERSATION}:{}", id.hyphenated())))
}

/// The conversation id a `nodeId` names, if it is one this server made.
fn decode(node_id: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(node_id).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (kind, id) = text.split_once(':')?;
    if kind != CONVERSATION {
        return None;
    }
    let id = Uuid::try_parse(id).ok()?;
    // One object, one id: other spellings of the same UUID are not ids of it.
    (conversation_node_id(id).0 == node_id).then_some(id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip_and_nothing_else_decodes() {
        let id = Uuid::new_v4();
        let node_id = conversation_node_id(id);
        assert_eq!(decode(&node_id), Some(id));
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&node_id.0).unwrap()).unwrap();
        assert_eq!(raw, format!("Conversation:{id}"));
        let upper =
            URL_SAFE_NO_PAD.encode(format!("Conversation:{}", id.to_string().to_uppercase()));
        let padded = base64::engine::general_purpose::URL_SAFE.encode(raw.as_bytes());
        for bad in [
            String::new(),
            "garbage".into(),
            id.to_string(),
            upper,
            padded,
            URL_SAFE_NO_PAD.encode(format!("Account:{id}")),
            URL_SAFE_NO_PAD.encode("Conversation:not-a-uuid"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':']),
        ] {
            assert_eq!(decode(&bad), None, "{bad:?}");
        }
    }
}
