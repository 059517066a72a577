//! The `Mutation` root. Every mutation checks the caller's role, then validates its whole
//! input, before writing anything. The store records each change's event in the same
//! transaction as the change ([`crate::db::events`]); nothing is published from here.
//!
//! Writes are safe to retry and to race: `ifVersion` makes a change conditional on the
//! version the caller saw, `idempotencyKey` makes a create happen once, and the bulk forms
//! change up to [`MAX_BULK`] conversations all or nothing.

use async_graphql::{Context, Object};

use super::context::{access, fence, idempotency, scope, store};
use super::scalars::Uuid;
use super::types::{Conversation, CreateConversationInput, UpdateConversationInput};
use crate::db::{Action, CommitFence, WriteError};
use crate::domain::{BulkIds, IdempotencyKey, MAX_BULK};
use crate::error::ApiError;

/// Writes.
#[derive(Default)]
pub struct Mutation;

/// The error a client sees for a write the store refused.
fn refused(error: WriteError, fence: &CommitFence) -> ApiError {
    match error {
        WriteError::NotFound(id) => ApiError::not_found("conversation").with("id", id.to_string()),
        WriteError::Stale { id, current } => ApiError::conflict(format!(
            "conversation {id} is at version {current}, not at ifVersion"
        ))
        .with("id", id.to_string())
        .with("currentVersion", current),
        WriteError::KeyReused => ApiError::conflict(
            "this idempotencyKey was used with a different input; use a new key for a new \
             conversation",
        )
        .with("field", "idempotencyKey"),
        WriteError::Cancelled => ApiError::timed_out(fence.timeout().as_secs()),
        WriteError::Db(e) => ApiError::from(e),
    }
}

/// The checked ids of a bulk mutation.
fn bulk_ids(ids: Vec<Uuid>) -> Result<BulkIds, ApiError> {
    BulkIds::parse(ids.into_iter().map(|u| u.0).collect()).map_err(|e| ApiError::invalid("ids", e))
}

impl Mutation {
    /// Runs `action` on `ids` for the caller; answers in the order of `ids`.
    async fn change(
        ctx: &Context<'_>,
        ids: &[uuid::Uuid],
        action: Action,
        if_version: Option<i32>,
    ) -> async_graphql::Result<Vec<Conversation>> {
        let fence = fence(ctx);
        let changed = store(ctx)?
            .change_many(ids, &action, if_version, &scope(ctx)?, &fence)
            .await
            .map_err(|e| refused(e, &fence))?;
        Ok(changed.into_iter().map(Conversation).collect())
    }

    async fn change_one(
        ctx: &Context<'_>,
        id: Uuid,
        action: Action,
        if_version: Option<i32>,
    ) -> async_graphql::Result<Conversation> {
        let mut changed = Self::change(ctx, &[id.0], action, if_version).await?;
        changed
            .pop()
            .ok_or_else(|| ApiError::internal("a write of one id answered none").into())
    }

    fn checked_update(
        ctx: &Context<'_>,
        input: UpdateConversationInput,
    ) -> async_graphql::Result<Action> {
        access(ctx)?
            .may_update(!input.owner_id.is_undefined())
            .map_err(|d| ApiError::forbidden(d.0))?;
        let patch = input.parse().map_err(|e| ApiError::invalid("input", e))?;
        Ok(Action::Update(patch))
    }

    fn may_delete(ctx: &Context<'_>) -> async_graphql::Result<()> {
        access(ctx)?
            .may_delete()
            .map_err(|d| ApiError::forbidden(d.0).into())
    }
}

/// Writes. Each runs on the primary database and answers with what it stored: current even
/// when queries read from a replica that has not replayed the write yet.
#[Object]
impl Mutation {
    /// Creates a conversation (at `version` 1) and returns it. With an `idempotencyKey`, a
    /// retry is safe: the same key with the same input returns the conversation the first
    /// call created, as it is now, and writes nothing; with another input it is `CONFLICT`.
    async fn create_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new conversation.")] input: CreateConversationInput,
        #[graphql(
            desc = "Makes the call safe to retry: 1 to 255 characters, chosen by the client \
                    (a UUID is a good choice), kept per customer for the server's \
                    `--idempotency-ttl` (24 h by default). Two calls with one key, even at the \
                    same time, create one conversation."
        )]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Conversation> {
        access(ctx)?
            .may_create(input.customer_id.0)
            .map_err(|d| ApiError::forbidden(d.0))?;
        let key = idempotency_key
            .map(IdempotencyKey::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("idempotencyKey", e))?;
        let body = input.parse().map_err(|e| ApiError::invalid("input", e))?;
        let fence = fence(ctx);
        let store = store(ctx)?;
        let created = match key {
            None => store.insert(body, &fence).await,
            Some(key) => {
                let ttl = idempotency(ctx)?.idempotency_ttl;
                store
                    .insert_once(body, &key, ttl, &scope(ctx)?, &fence)
                    .await
            }
        };
        Ok(Conversation(created.map_err(|e| refused(e, &fence))?))
    }

    /// Changes name, detail or owner, sets `tmUpdate` and adds one to `version`. `NOT_FOUND`
    /// if the conversation does not exist or is deleted. An input with nothing in it changes
    /// nothing (not even `version`).
    async fn update_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to change.")] id: Uuid,
        #[graphql(desc = "What to change.")] input: UpdateConversationInput,
        #[graphql(
            desc = "Change only if the conversation is still at this `version`; otherwise \
                    `CONFLICT` with `extensions.currentVersion`, and nothing changes."
        )]
        if_version: Option<i32>,
    ) -> async_graphql::Result<Conversation> {
        let action = Self::checked_update(ctx, input)?;
        Self::change_one(ctx, id, action, if_version).await
    }

    /// Soft delete: sets `tmDelete` and adds one to `version`. Deleting a deleted
    /// conversation returns it unchanged.
    async fn delete_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to delete.")] id: Uuid,
        #[graphql(
            desc = "Delete only if the conversation is still at this `version`; otherwise \
                    `CONFLICT` with `extensions.currentVersion`, and nothing changes."
        )]
        if_version: Option<i32>,
    ) -> async_graphql::Result<Conversation> {
        Self::may_delete(ctx)?;
        Self::change_one(ctx, id, Action::Delete, if_version).await
    }

    /// Undo a soft delete: `tmDelete` back to null, and one more `version`. Restoring a live
    /// conversation returns it unchanged.
    async fn restore_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation to restore.")] id: Uuid,
        #[graphql(
            desc = "Restore only if the conversation is still at this `version`; otherwise \
                    `CONFLICT` with `extensions.currentVersion`, and nothing changes."
        )]
        if_version: Option<i32>,
    ) -> async_graphql::Result<Conversation> {
        Self::may_delete(ctx)?;
        Self::change_one(ctx, id, Action::Restore, if_version).await
    }

    /// `updateConversation` on up to 100 conversations at once, all or nothing: if any id is
    /// unknown, out of reach or deleted, it is `NOT_FOUND` with `extensions.id` and nothing
    /// changes. Answers in the order of `ids`.
    async fn update_conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversations to change: 1 to 100 distinct ids.")] ids: Vec<Uuid>,
        #[graphql(desc = "What to change, the same for each.")] input: UpdateConversationInput,
    ) -> async_graphql::Result<Vec<Conversation>> {
        let action = Self::checked_update(ctx, input)?;
        let ids = bulk_ids(ids)?;
        Self::change(ctx, ids.as_slice(), action, None).await
    }

    /// `deleteConversation` on up to 100 conversations at once, all or nothing: if any id is
    /// unknown or out of reach, it is `NOT_FOUND` with `extensions.id` and nothing changes.
    /// Deleted ones are left as they are. Answers in the order of `ids`.
    async fn delete_conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversations to delete: 1 to 100 distinct ids.")] ids: Vec<Uuid>,
    ) -> async_graphql::Result<Vec<Conversation>> {
        Self::may_delete(ctx)?;
        let ids = bulk_ids(ids)?;
        Self::change(ctx, ids.as_slice(), Action::Delete, None).await
    }

    /// `restoreConversation` on up to 100 conversations at once, all or nothing: if any id is
    /// unknown or out of reach, it is `NOT_FOUND` with `extensions.id` and nothing changes.
    /// Live ones are left as they are. Answers in the order of `ids`.
    async fn restore_conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversations to restore: 1 to 100 distinct ids.")] ids: Vec<Uuid>,
    ) -> async_graphql::Result<Vec<Conversation>> {
        Self::may_delete(ctx)?;
        let ids = bulk_ids(ids)?;
        Self::change(ctx, ids.as_slice(), Action::Restore, None).await
    }
}

const _: () = assert!(MAX_BULK == 100, "the descriptions above say 100");
