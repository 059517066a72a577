//! The writes of the API: create, update, soft delete, restore, one conversation or many
//! ([`super::bulk`]), and the create with an idempotency key ([`super::idempotency`]). Each
//! runs in one transaction that also records its events ([`super::events`]), and answers with
//! the conversations as they are afterwards. A write that changes nothing records nothing and
//! leaves `version` alone.
//!
//! Each write reads the rows it changes first, locked (`SELECT … FOR UPDATE`; on SQLite the
//! write transaction holds the database's write lock from the start, see [`super::txn`]), so
//! an `ifVersion` is compared with the version the change is applied to (no other write can
//! come between), and each event's `previous` is the state the change was applied to.
//!
//! The API's writes mark the request's [`CommitFence`] right before `COMMIT`: up to there the
//! request timeout may cancel them; from there on their answer is always waited for.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryTrait};
use uuid::Uuid;

use super::entity::{ActiveModel, Entity};
use super::events::record;
use super::fence::CommitFence;
use super::store::ConversationStore;
use super::txn::WriteTxn;
use crate::domain::{now, Body, Change, Conversation, ConversationPatch};

/// Why a write of the API wrote nothing.
#[derive(Debug)]
pub enum WriteError {
    /// No such conversation within the scope (for an update: or it is deleted).
    NotFound(Uuid),
    /// `ifVersion` is not the stored version.
    Stale {
        id: Uuid,
        current: i32,
    },
    /// The idempotency key was used with another input.
    KeyReused,
    /// The operation was cancelled at its deadline before this write's commit; the
    /// transaction was rolled back.
    Cancelled,
    Db(DbErr),
}

impl From<DbErr> for WriteError {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

/// What a write does to each conversation it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Change name, detail or owner (a deleted conversation is not found).
    Update(ConversationPatch),
    /// Soft delete (a deleted conversation is left as it is).
    Delete,
    /// Undo a soft delete (a live conversation is left as it is).
    Restore,
}

impl ConversationStore {
    /// Commits a transaction whose changes and events are written (`changed`: it recorded
    /// some), unless the operation was cancelled: then it rolls back.
    pub(super) async fn commit_fenced(
        &self,
        txn: WriteTxn,
        changed: bool,
        fence: &CommitFence,
    ) -> Result<(), WriteError> {
        if !changed {
            // Nothing to keep: a no-op never needs the fence.
            txn.commit_unchanged().await?;
            return Ok(());
        }
        if !fence.enter_commit() {
            txn.rollback().await?;
            return Err(WriteError::Cancelled);
        }
        txn.commit_recorded().await?;
        self.log.committed();
        Ok(())
    }

    /// Stores a new conversation (version 1); the store sets id and `tm_create`.
    pub async fn insert(
        &self,
        body: Body,
        fence: &CommitFence,
    ) -> Result<Conversation, WriteError> {
        let conversation = Conversation::new(Uuid::new_v4(), body, now(), None, None);
        let stmt = Entity::insert(ActiveModel::from(&conversation)).build(self.backend());
        // The insert may be sent with its COMMIT (one batch or one procedure call).
        if !fence.enter_commit() {
            return Err(WriteError::Cancelled);
        }
        self.insert_with_changes(stmt, &[Change::created(conversation.clone())])
            .await?;
        Ok(conversation)
    }
}

/// Inserts `conversation` and records its CREATED event, in `txn`.
pub(super) async fn insert_in(
    txn: &DatabaseTransaction,
    conversation: &Conversation,
) -> Result<(), DbErr> {
    let stmt = Entity::insert(ActiveModel::from(conversation)).build(txn.get_database_backend());
    record(txn, Some(stmt), &[Change::created(conversation.clone())]).await
}
