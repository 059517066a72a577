//! Recording changes in the writing transaction.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryTrait, Statement};

use super::entity::{ActiveModel, Entity};
use crate::db::value::bindable;
use crate::domain::{Change, Conversation};

/// Rows per multi-row `INSERT` (8 columns: far under every backend's parameter limit).
const ROWS_PER_INSERT: usize = 500;

fn json(c: &Conversation) -> Result<String, DbErr> {
    serde_json::to_string(c).map_err(|e| DbErr::Custom(format!("cannot encode an event: {e}")))
}

/// Records one event row per change, in `txn`: call it in the transaction that makes the
/// changes, after them and before `COMMIT`, then tell the log ([`super::EventLog::committed`]).
/// On PostgreSQL and MySQL/MariaDB the rows wait for a position; on SQLite (whose writing
/// transaction holds the database's write lock) they are numbered here, from the head.
pub(crate) async fn record<C: ConnectionTrait>(txn: &C, changes: &[Change]) -> Result<(), DbErr> {
    if changes.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let mut next = match backend {
        DbBackend::Sqlite => Some(take_positions(txn, changes.len()).await?),
        _ => None,
    };
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        let position = match next.as_mut() {
            Some(p) => {
                *p += 1;
                Set(Some(*p))
            }
            None => Set(None),
        };
        rows.push(ActiveModel {
            id: NotSet,
            position,
            kind: Set(change.kind.as_str().to_owned()),
            conversation_id: Set(change.after.id),
            customer_id: Set(change.after.body.customer_id),
            at: Set(change.at),
            conversation: Set(json(&change.after)?),
            previous: Set(change.before.as_ref().map(json).transpose()?),
        });
    }
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_INSERT));
        let stmt = Entity::insert_many(std::mem::replace(&mut rows, rest)).build(backend);
        txn.execute_raw(bindable(stmt)).await?;
    }
    Ok(())
}

/// SQLite: moves the head by `n`; returns the position before the first one taken.
async fn take_positions<C: ConnectionTrait>(txn: &C, n: usize) -> Result<i64, DbErr> {
    let n = i64::try_from(n).map_err(|_| DbErr::Custom("too many events".into()))?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "UPDATE conversation_event_head SET position = position + ? WHERE id = 1 \
             RETURNING position",
            [n.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("conversation_event_head has no row".into()))?;
    let head: i64 = row.try_get_by_index(0)?;
    Ok(head - n)
}
