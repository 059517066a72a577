//! The writes of the API: create, update, soft delete, restore. Each runs in one transaction
//! that also records its event ([`super::events`]), and answers with the conversation as it is
//! afterwards. A write that changes nothing records nothing.
//!
//! Each write reads the row it changes first, locked (`SELECT … FOR UPDATE`; on SQLite the
//! write transaction holds the database's write lock from the start, see [`super::txn`]), so
//! the event's `previous` is the state the change was applied to.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Value,
};
use uuid::Uuid;

use super::entity::{ActiveModel, Column, Entity};
use super::filter::compile;
use super::store::ConversationStore;
use super::value::{bindable, optional_time, time};
use crate::domain::filter::Predicate;
use crate::domain::{
    now, Body, Change, Conversation, ConversationPatch, EventKind, OwnerPatch, OwnerType,
};

impl ConversationStore {
    /// Stores a new conversation; the store sets id and `tm_create`.
    pub async fn insert(&self, body: Body) -> Result<Conversation, DbErr> {
        let conversation = Conversation::new(Uuid::new_v4(), body, now(), None, None);
        let stmt = Entity::insert(ActiveModel::from(&conversation)).build(self.backend());
        self.insert_with_changes(stmt, &[Change::created(conversation.clone())])
            .await?;
        Ok(conversation)
    }

    /// Applies `patch` to a conversation that exists and is not deleted; `None` otherwise.
    /// An empty patch writes nothing.
    pub async fn update(
        &self,
        id: Uuid,
        patch: ConversationPatch,
        scope: &Predicate,
    ) -> Result<Option<Conversation>, DbErr> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        let Some(before) = locked(&txn, id, scope)
            .await?
            .filter(|c| c.tm_delete.is_none())
        else {
            txn.rollback().await?;
            return Ok(None);
        };
        if patch.is_empty() {
            txn.commit_unchanged().await?;
            return Ok(Some(before));
        }
        let at = now();
        let mut update =
            Entity::update_many().col_expr(Column::TmUpdate, Expr::val(time(at, backend)));
        if let Some(name) = &patch.name {
            update = update.col_expr(Column::Name, Expr::val(name.as_str().to_owned()));
        }
        if let Some(detail) = &patch.detail {
            update = update.col_expr(Column::Detail, Expr::val(detail.as_str().to_owned()));
        }
        let owner = match patch.owner {
            OwnerPatch::Keep => None,
            OwnerPatch::Unassign => Some(None),
            OwnerPatch::Assign(owner) => Some(Some(owner)),
        };
        if let Some(owner) = owner {
            let kind = OwnerType::stored(owner.map(|_| OwnerType::Agent));
            update = update
                .col_expr(Column::OwnerId, Expr::val(Value::Uuid(owner)))
                .col_expr(Column::OwnerType, Expr::val(kind));
        }
        let stmt = update.filter(Column::Id.eq(id)).build(backend);
        txn.execute_raw(bindable(stmt)).await?;
        let after = patch.apply(&before, at);
        let change = Change {
            kind: EventKind::Updated,
            before: Some(before),
            after: after.clone(),
            at,
        };
        self.commit_changes(txn, &[change]).await?;
        Ok(Some(after))
    }

    /// Soft-deletes: sets `tm_delete`. A deleted conversation is returned unchanged; the flag
    /// says whether anything changed.
    pub async fn soft_delete(
        &self,
        id: Uuid,
        scope: &Predicate,
    ) -> Result<Option<(Conversation, bool)>, DbErr> {
        self.set_deleted(id, scope, true).await
    }

    /// Undoes a soft delete: `tm_delete` back to NULL. A live conversation is returned
    /// unchanged; the flag says whether anything changed.
    pub async fn restore(
        &self,
        id: Uuid,
        scope: &Predicate,
    ) -> Result<Option<(Conversation, bool)>, DbErr> {
        self.set_deleted(id, scope, false).await
    }

    async fn set_deleted(
        &self,
        id: Uuid,
        scope: &Predicate,
        deleted: bool,
    ) -> Result<Option<(Conversation, bool)>, DbErr> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        let Some(before) = locked(&txn, id, scope).await? else {
            txn.rollback().await?;
            return Ok(None);
        };
        if before.tm_delete.is_some() == deleted {
            txn.commit_unchanged().await?;
            return Ok(Some((before, false)));
        }
        let at = now();
        let tm_delete = deleted.then_some(at);
        Entity::update_many()
            .col_expr(
                Column::TmDelete,
                Expr::val(optional_time(tm_delete, backend)),
            )
            .filter(Column::Id.eq(id))
            .exec(&*txn)
            .await?;
        let mut after = before.clone();
        after.tm_delete = tm_delete;
        let change = Change {
            kind: if deleted {
                EventKind::Deleted
            } else {
                EventKind::Restored
            },
            before: Some(before),
            after: after.clone(),
            at,
        };
        self.commit_changes(txn, &[change]).await?;
        Ok(Some((after, true)))
    }
}

/// One conversation by id within `scope`, locked for the rest of `txn` (`FOR UPDATE`; SQLite's
/// write transactions hold the whole database).
pub(super) async fn locked(
    txn: &DatabaseTransaction,
    id: Uuid,
    scope: &Predicate,
) -> Result<Option<Conversation>, DbErr> {
    Entity::find_by_id(id)
        .filter(compile(scope, txn.get_database_backend()))
        .lock_exclusive()
        .one(txn)
        .await?
        .map(Conversation::try_from)
        .transpose()
}
