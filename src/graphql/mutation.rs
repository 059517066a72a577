//! The `Mutation` root. Every mutation validates its whole input before writing anything.

use async_graphql::{Context, InputObject, MaybeUndefined, Object};

use super::scalars::Uuid;
use super::types::{AddressType, Conversation, ConversationType};
use super::{access, events, scope, store};
use crate::domain::{self, ConversationPatch, NewConversation, NewConversationInput, OwnerPatch};
use crate::error::ApiError;
use crate::events::{Event, EventKind};

/// An address to store. `target` is checked against `type` (E.164 for `TEL`/`WHATSAPP`, an
/// email address for `EMAIL`, `user@domain` for `SIP`, a UUID for agent-like types, non-empty
/// for `LINE`, anything for `NONE`); every string is at most 255 characters.
#[derive(InputObject, Debug, Clone)]
pub struct AddressInput {
    /// What kind of endpoint `target` is.
    #[graphql(name = "type")]
    pub kind: AddressType,
    /// The endpoint. Phone numbers may be formatted (`+1 (470) 329-8699`); they are stored
    /// compact (`+14703298699`).
    pub target: String,
    /// A display name of the target.
    #[graphql(default_with = "Some(String::new())")]
    pub target_name: Option<String>,
    /// A name for the address.
    #[graphql(default_with = "Some(String::new())")]
    pub name: Option<String>,
    /// Free-form detail.
    #[graphql(default_with = "Some(String::new())")]
    pub detail: Option<String>,
}

impl From<AddressInput> for domain::RawAddress {
    fn from(a: AddressInput) -> Self {
        domain::RawAddress {
            kind: a.kind.into(),
            target: a.target,
            target_name: a.target_name.unwrap_or_default(),
            name: a.name.unwrap_or_default(),
            detail: a.detail.unwrap_or_default(),
        }
    }
}

/// A new conversation. The server sets `id`, `tmCreate`, `tmUpdate` and `tmDelete`.
#[derive(InputObject, Debug, Clone)]
pub struct CreateConversationInput {
    /// The customer it belongs to.
    pub customer_id: Uuid,
    /// The owning agent; when set, `ownerType` is `AGENT`.
    pub owner_id: Option<Uuid>,
    /// The messaging account.
    pub account_id: Uuid,
    /// At most 255 characters.
    #[graphql(default_with = "Some(String::new())")]
    pub name: Option<String>,
    /// At most 4096 characters.
    #[graphql(default_with = "Some(String::new())")]
    pub detail: Option<String>,
    /// The channel.
    #[graphql(name = "type")]
    pub kind: ConversationType,
    /// The channel's dialog id: 1 to 255 characters.
    pub dialog_id: String,
    /// The local party.
    #[graphql(name = "self")]
    pub self_address: AddressInput,
    /// The remote party.
    pub peer: AddressInput,
}

/// A change to a conversation. A field left out (or `null`, for `name` and `detail`) is
/// unchanged; `ownerId: null` unassigns (`ownerType` becomes null too).
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateConversationInput {
    /// The new name: at most 255 characters.
    pub name: Option<String>,
    /// The new detail: at most 4096 characters.
    pub detail: Option<String>,
    /// The new owning agent; `null` to unassign.
    pub owner_id: MaybeUndefined<Uuid>,
}

/// Writes.
#[derive(Default)]
pub struct Mutation;

/// The answer of delete/restore: `NOT_FOUND`, or the conversation, with an event when it
/// changed.
async fn published(
    ctx: &Context<'_>,
    found: Option<(domain::Conversation, bool)>,
    kind: EventKind,
) -> async_graphql::Result<Conversation> {
    let (conversation, changed) = found.ok_or_else(|| ApiError::not_found("conversation"))?;
    if changed {
        events(ctx)?
            .publish(Event::now(kind, conversation.clone()))
            .await;
    }
    Ok(Conversation(conversation))
}

#[Object]
impl Mutation {
    /// Creates a conversation and returns it.
    async fn create_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new conversation.")] input: CreateConversationInput,
    ) -> async_graphql::Result<Conversation> {
        access(ctx)?
            .may_create(input.customer_id.0)
            .map_err(|d| ApiError::forbidden(d.0))?;
        let new = NewConversation::parse(NewConversationInput {
            customer_id: input.customer_id.0,
            owner_id: input.owner_id.map(|u| u.0),
            account_id: input.account_id.0,
            name: input.name.unwrap_or_default(),
            detail: input.detail.unwrap_or_default(),
            kind: input.kind.into(),
            dialog_id: input.dialog_id,
            self_address: input.self_address.into(),
            peer: input.peer.into(),
        })
        .map_err(|e| ApiError::invalid("input", e))?;
        let created = store(ctx)?.insert(new).await.map_err(ApiError::from)?;
        events(ctx)?
            .publish(Event::now(EventKind::Created, created.clone()))
            .await;
        Ok(Conversation(created))
    }

    /// Changes name, detail or owner and sets `tmUpdate`. `NOT_FOUND` if the conversation
    /// does not exist or is deleted. An input with nothing in it changes nothing.
    async fn update_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to change.")] id: Uuid,
        #[graphql(desc = "What to change.")] input: UpdateConversationInput,
    ) -> async_graphql::Result<Conversation> {
        let owner = match input.owner_id {
            MaybeUndefined::Undefined => OwnerPatch::Keep,
            MaybeUndefined::Null => OwnerPatch::Unassign,
            MaybeUndefined::Value(u) => OwnerPatch::Assign(u.0),
        };
        access(ctx)?
            .may_update(owner != OwnerPatch::Keep)
            .map_err(|d| ApiError::forbidden(d.0))?;
        let patch = ConversationPatch::parse(input.name, input.detail, owner)
            .map_err(|e| ApiError::invalid("input", e))?;
        let changed = !patch.is_empty();
        let updated = store(ctx)?
            .update(id.0, patch, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        if changed {
            events(ctx)?
                .publish(Event::now(EventKind::Updated, updated.clone()))
                .await;
        }
        Ok(Conversation(updated))
    }

    /// Soft delete: sets `tmDelete`. Deleting a deleted conversation returns it unchanged.
    async fn delete_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to delete.")] id: Uuid,
    ) -> async_graphql::Result<Conversation> {
        access(ctx)?
            .may_delete()
            .map_err(|d| ApiError::forbidden(d.0))?;
        let found = store(ctx)?
            .soft_delete(id.0, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        published(ctx, found, EventKind::Deleted).await
    }

    /// Undo a soft delete: `tmDelete` back to null. Restoring a live conversation returns it
    /// unchanged.
    async fn restore_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to restore.")] id: Uuid,
    ) -> async_graphql::Result<Conversation> {
        access(ctx)?
            .may_delete()
            .map_err(|d| ApiError::forbidden(d.0))?;
        let found = store(ctx)?
            .restore(id.0, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        published(ctx, found, EventKind::Restored).await
    }
}
