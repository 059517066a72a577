//! Recording changes in the writing transaction.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryTrait, Statement, Value};

use super::entity::{ActiveModel, Entity};
use crate::db::value::bindable;
use crate::domain::{Change, Conversation};

/// Rows per multi-row `INSERT` (8 columns: far under every backend's parameter limit).
const ROWS_PER_INSERT: usize = 500;

fn json(c: &Conversation) -> Result<String, DbErr> {
    serde_json::to_string(c).map_err(|e| DbErr::Custom(format!("cannot encode an event: {e}")))
}

/// Runs `lead` (the write itself, when it is one statement) and records one event row per
/// change, in `txn`: call it in the transaction that makes the changes, after them and just
/// before `COMMIT`, then tell the log ([`super::EventLog::committed`]).
///
/// On PostgreSQL and MySQL/MariaDB the rows wait for a position. On SQLite (whose writing
/// transaction holds the database's write lock) they are numbered here, from the head, and
/// `lead`, the head's move and the rows go to the database as one batch of statements
/// ([`numbered_batch`]): one round trip to its thread while the lock is held, instead of three.
pub(crate) async fn record<C: ConnectionTrait>(
    txn: &C,
    lead: Option<Statement>,
    changes: &[Change],
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Sqlite {
        return match numbered_batch(lead, changes)? {
            Some(batch) => txn.execute_raw(batch).await.map(|_| ()),
            None => Ok(()),
        };
    }
    if let Some(lead) = lead {
        txn.execute_raw(bindable(lead)).await?;
    }
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        rows.push(ActiveModel {
            id: NotSet,
            position: Set(None),
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

/// SQLite: `lead`, then the head moved by `n`, then the `n` rows at the positions it moved
/// over (read back from the head in the same batch), as one list of statements separated by
/// `;` (none after the last); `None` when there is nothing to run. It must run inside a write
/// transaction.
pub(crate) fn numbered_batch(
    lead: Option<Statement>,
    changes: &[Change],
) -> Result<Option<Statement>, DbErr> {
    let (mut statements, mut values) = match lead {
        Some(lead) => (vec![lead.sql], lead.values.map(|v| v.0).unwrap_or_default()),
        None => (Vec::new(), Vec::new()),
    };
    if !changes.is_empty() {
        let n = changes.len();
        statements.push(format!(
            "UPDATE conversation_event_head SET position = position + {n} WHERE id = 1"
        ));
        let mut insert = String::from(
            "INSERT INTO conversation_events \
             (position, kind, conversation_id, customer_id, at, conversation, previous) VALUES ",
        );
        for (i, change) in changes.iter().enumerate() {
            if i > 0 {
                insert.push_str(", ");
            }
            // The k-th row (from 0) takes head - (n - 1 - k).
            insert.push_str(&format!(
                "((SELECT position FROM conversation_event_head WHERE id = 1) - {}, \
                 ?, ?, ?, ?, ?, ?)",
                n - 1 - i
            ));
            values.extend([
                Value::from(change.kind.as_str()),
                Value::Uuid(Some(change.after.id)),
                Value::Uuid(Some(change.after.body.customer_id)),
                Value::ChronoDateTimeUtc(Some(change.at)),
                Value::from(json(&change.after)?),
                Value::String(change.before.as_ref().map(json).transpose()?),
            ]);
        }
        statements.push(insert);
    }
    if statements.is_empty() {
        return Ok(None);
    }
    Ok(Some(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        statements.join(";\n"),
        values,
    )))
}
