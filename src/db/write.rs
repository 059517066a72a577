//! The writes of the API: create, update, soft delete, restore. Each runs in one transaction
//! and answers with the conversation as it is afterwards.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait, TransactionTrait,
    Value,
};
use uuid::Uuid;

use super::entity::{ActiveModel, Column, Entity};
use super::filter::compile;
use super::store::{find, ConversationStore};
use super::value::{bindable, optional_time, time};
use crate::domain::filter::Predicate;
use crate::domain::{now, Body, Conversation, ConversationPatch, OwnerPatch, OwnerType};

impl ConversationStore {
    /// Stores a new conversation; the store sets id and `tm_create`.
    pub async fn insert(&self, body: Body) -> Result<Conversation, DbErr> {
        let conversation = Conversation::new(Uuid::new_v4(), body, now(), None, None);
        let stmt = Entity::insert(ActiveModel::from(&conversation)).build(self.backend());
        self.db.execute_raw(bindable(stmt)).await?;
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
        let txn = self.db.begin().await?;
        if patch.is_empty() {
            let found = find(&txn, id, scope)
                .await?
                .filter(|c| c.tm_delete.is_none());
            txn.commit().await?;
            return Ok(found);
        }
        let mut update =
            Entity::update_many().col_expr(Column::TmUpdate, Expr::val(time(now(), backend)));
        if let Some(name) = patch.name {
            update = update.col_expr(Column::Name, Expr::val(name.into_inner()));
        }
        if let Some(detail) = patch.detail {
            update = update.col_expr(Column::Detail, Expr::val(detail.into_inner()));
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
        let stmt = update
            .filter(Column::Id.eq(id))
            .filter(compile(scope, backend))
            .filter(compile(&Predicate::live(), backend))
            .build(backend);
        // Rows matched, not changed, on every backend (sqlx asks MySQL for CLIENT_FOUND_ROWS).
        let result = txn.execute_raw(bindable(stmt)).await?;
        if result.rows_affected() == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        let updated = find(&txn, id, scope).await?;
        txn.commit().await?;
        Ok(updated)
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
        // Write first (one conditional UPDATE), read after: a transaction that reads and then
        // writes fails at once on SQLite when another writer got in between.
        let backend = self.backend();
        let txn = self.db.begin().await?;
        let at = deleted.then(now);
        let is_live = Predicate::live();
        let not_yet = if deleted {
            is_live
        } else {
            Predicate::Not(Box::new(is_live))
        };
        let changed = Entity::update_many()
            .col_expr(Column::TmDelete, Expr::val(optional_time(at, backend)))
            .filter(Column::Id.eq(id))
            .filter(compile(scope, backend))
            .filter(compile(&not_yet, backend))
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        let found = find(&txn, id, scope).await?;
        txn.commit().await?;
        Ok(found.map(|c| (c, changed)))
    }
}
