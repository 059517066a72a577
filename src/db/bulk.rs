//! Changing conversations by id, one or many, all or nothing: the core of update, delete and
//! restore ([`super::write`]) and of their bulk forms.
//!
//! One transaction locks every named row (in id order, so two bulk writes never wait for each
//! other in a circle), checks them all, changes those the action changes with one `UPDATE`,
//! and records one event per changed conversation. Any row that is missing (or out of scope,
//! or deleted for an update) or at another version than `ifVersion` rolls it all back.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Value,
};
use uuid::Uuid;

use super::entity::{Column, Entity};
use super::events::record;
use super::fence::CommitFence;
use super::filter::compile;
use super::store::ConversationStore;
use super::value::{optional_time, time};
use super::write::{Action, WriteError};
use crate::domain::filter::Predicate;
use crate::domain::{now, Change, Conversation, EventKind, OwnerPatch, OwnerType};

impl Action {
    /// Whether the action changes `c` (a no-op leaves it, version included).
    fn changes(&self, c: &Conversation) -> bool {
        match self {
            Action::Update(patch) => !patch.is_empty(),
            Action::Delete => c.tm_delete.is_none(),
            Action::Restore => c.tm_delete.is_some(),
        }
    }

    /// `c` after the action, at `at`.
    fn apply(&self, c: &Conversation, at: chrono::DateTime<chrono::Utc>) -> Conversation {
        let mut after = match self {
            Action::Update(patch) => return patch.apply(c, at),
            Action::Delete | Action::Restore => c.clone(),
        };
        after.tm_delete = (*self == Action::Delete).then_some(at);
        after.version = c.version.saturating_add(1);
        after
    }

    fn kind(&self) -> EventKind {
        match self {
            Action::Update(_) => EventKind::Updated,
            Action::Delete => EventKind::Deleted,
            Action::Restore => EventKind::Restored,
        }
    }
}

impl ConversationStore {
    /// Applies `action` to every conversation of `ids` (distinct) within `scope`, in one
    /// transaction; answers them as they are afterwards, in the order of `ids`. With
    /// `if_version`, every one must be at that version.
    pub async fn change_many(
        &self,
        ids: &[Uuid],
        action: &Action,
        if_version: Option<i32>,
        scope: &Predicate,
        fence: &CommitFence,
    ) -> Result<Vec<Conversation>, WriteError> {
        let txn = self.begin_write().await?;
        match prepare(&txn, ids, action, if_version, scope).await {
            Ok((answers, changed)) => {
                self.commit_fenced(txn, changed, fence).await?;
                Ok(answers)
            }
            Err(e) => {
                txn.rollback().await?;
                Err(e)
            }
        }
    }
}

/// Locks, checks and changes the rows, and records the events; returns the answers and
/// whether anything changed.
async fn prepare(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    action: &Action,
    if_version: Option<i32>,
    scope: &Predicate,
) -> Result<(Vec<Conversation>, bool), WriteError> {
    let mut found = locked_many(txn, ids, scope).await?;
    let mut before = Vec::with_capacity(ids.len());
    for id in ids {
        let c = found
            .remove(id)
            .filter(|c| !matches!(action, Action::Update(_)) || c.tm_delete.is_none())
            .ok_or(WriteError::NotFound(*id))?;
        if if_version.is_some_and(|v| v != c.version) {
            return Err(WriteError::Stale {
                id: *id,
                current: c.version,
            });
        }
        before.push(c);
    }
    let at = now();
    let mut answers = Vec::with_capacity(before.len());
    let mut changes = Vec::new();
    for c in before {
        if action.changes(&c) {
            let after = action.apply(&c, at);
            answers.push(after.clone());
            changes.push(Change {
                kind: action.kind(),
                before: Some(c),
                after,
                at,
            });
        } else {
            answers.push(c);
        }
    }
    if changes.is_empty() {
        return Ok((answers, false));
    }
    let changed: Vec<Uuid> = changes.iter().map(|c| c.after.id).collect();
    let updated = apply(txn, &changed, action, at).await?;
    if updated != changed.len() as u64 {
        return Err(DbErr::Custom(format!(
            "a bulk write changed {updated} of {} locked rows",
            changed.len()
        ))
        .into());
    }
    record(txn, None, &changes).await?;
    Ok((answers, true))
}

/// One `UPDATE` of every row of `ids` (locked, and all changed by `action`): the action's
/// columns, and `version + 1`. Returns how many rows it changed.
async fn apply(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    action: &Action,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    let mut update = Entity::update_many().col_expr(
        Column::Version,
        Expr::col(Column::Version).add(Expr::val(1)),
    );
    match action {
        Action::Update(patch) => {
            update = update.col_expr(Column::TmUpdate, Expr::val(time(at, backend)));
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
        }
        Action::Delete | Action::Restore => {
            let tm_delete = (*action == Action::Delete).then_some(at);
            update = update.col_expr(
                Column::TmDelete,
                Expr::val(optional_time(tm_delete, backend)),
            );
        }
    }
    let stmt = update
        .filter(Column::Id.is_in(ids.iter().copied()))
        .build(backend);
    Ok(txn.execute_raw(stmt).await?.rows_affected())
}

/// The conversations of `ids` within `scope`, locked for the rest of `txn` in id order
/// (`FOR UPDATE`; SQLite's write transactions hold the whole database).
async fn locked_many(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    scope: &Predicate,
) -> Result<HashMap<Uuid, Conversation>, DbErr> {
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(compile(scope, txn.get_database_backend()))
        .order_by_asc(Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?
        .into_iter()
        .map(|m| Conversation::try_from(m).map(|c| (c.id, c)))
        .collect()
}
