//! The `Mutation` root. Every mutation checks the caller's role, then validates its whole
//! input, before writing anything. The store records each change's event in the same
//! transaction as the change ([`crate::db::events`]); nothing is published from here.

use async_graphql::{Context, Object};

use super::context::{access, scope, store};
use super::scalars::Uuid;
use super::types::{Conversation, CreateConversationInput, UpdateConversationInput};
use crate::domain;
use crate::error::ApiError;

/// Writes.
#[derive(Default)]
pub struct Mutation;

/// The answer of delete/restore: `NOT_FOUND`, or the conversation (changed or not).
fn answer(found: Option<(domain::Conversation, bool)>) -> async_graphql::Result<Conversation> {
    let (conversation, _changed) = found.ok_or_else(|| ApiError::not_found("conversation"))?;
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
        let body = input.parse().map_err(|e| ApiError::invalid("input", e))?;
        let created = store(ctx)?.insert(body).await.map_err(ApiError::from)?;
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
        access(ctx)?
            .may_update(!input.owner_id.is_undefined())
            .map_err(|d| ApiError::forbidden(d.0))?;
        let patch = input.parse().map_err(|e| ApiError::invalid("input", e))?;
        let updated = store(ctx)?
            .update(id.0, patch, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
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
        answer(found)
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
        answer(found)
    }
}
