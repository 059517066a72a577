//! Write transactions: every write of conversations runs in one, which records the write's
//! events before it commits ([`super::events`]), and wakes the event log after.
//!
//! On SQLite a write transaction is `BEGIN IMMEDIATE` (it takes the database's write lock at
//! once: a deferred transaction that reads first fails when another writer commits in
//! between), and an insert is one batch of statements from `BEGIN` to `COMMIT`
//! ([`ConversationStore::insert_with_changes`]), so that the write lock is held only while the
//! database runs it, not across round trips. (Making a process's writers also take turns
//! through an in-process lock was measured: it cut `createConversation`'s rate by a third.)

use std::ops::Deref;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, Value,
};

use super::events::{numbered_batch, record};
use super::store::ConversationStore;
use super::value::bindable;
use crate::domain::Change;

/// A write transaction.
pub(super) struct WriteTxn {
    txn: DatabaseTransaction,
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    /// Ends the transaction without writing anything (nothing was changed, or nothing found).
    pub(super) async fn commit_unchanged(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub(super) async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }

    /// Commits a transaction whose changes and events are already written (the caller wakes
    /// the event log).
    pub(super) async fn commit_recorded(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

/// The columns of `conversations` in the order `cg_create_conversation` (a MySQL/MariaDB
/// procedure of the event log's migration) takes them.
const PROCEDURE_COLUMNS: &str = "`id`, `customer_id`, `owner_type`, `owner_id`, `account_id`, \
    `name`, `detail`, `type`, `dialog_id`, `self_type`, `self_target`, `self_target_name`, \
    `self_name`, `self_detail`, `peer_type`, `peer_target`, `peer_target_name`, `peer_name`, \
    `peer_detail`, `tm_create`, `tm_update`, `tm_delete`, `version`";

/// MySQL/MariaDB: `insert` (of one whole conversation) and its one CREATED event as a call of
/// `cg_create_conversation`: one round trip instead of four. `None` when it is not that shape
/// (the columns differ from the procedure's, or other changes), and the caller uses a
/// transaction.
fn mysql_call(insert: &Statement, changes: &[Change]) -> Option<Result<Statement, DbErr>> {
    let [change] = changes else { return None };
    let columns = insert.sql.split_once('(')?.1.split_once(')')?.0;
    if change.kind != crate::domain::EventKind::Created
        || !insert.sql.starts_with("INSERT INTO `conversations`")
        || columns != PROCEDURE_COLUMNS
    {
        return None;
    }
    let json = match serde_json::to_string(&change.after) {
        Ok(j) => j,
        Err(e) => return Some(Err(DbErr::Custom(format!("cannot encode an event: {e}")))),
    };
    let mut values = insert.values.clone().map(|v| v.0).unwrap_or_default();
    values.extend([
        Value::from(change.kind.as_str()),
        Value::ChronoDateTimeUtc(Some(change.at)),
        Value::from(json),
    ]);
    let marks = vec!["?"; values.len()].join(", ");
    Some(Ok(Statement::from_sql_and_values(
        DbBackend::MySql,
        format!("CALL cg_create_conversation({marks})"),
        values,
    )))
}

impl ConversationStore {
    /// Runs `insert` (one statement that only inserts) and records `changes`, atomically.
    /// On SQLite all of it is one batch, `BEGIN; insert; numbering; rows; COMMIT`, sent in one
    /// round trip (if it fails half-way, it is rolled back on its connection at once: see
    /// `sqlite`); on MySQL/MariaDB one call of a procedure; elsewhere a transaction.
    pub(super) async fn insert_with_changes(
        &self,
        insert: Statement,
        changes: &[Change],
    ) -> Result<(), DbErr> {
        let call = match self.backend() {
            DbBackend::Sqlite => return self.sqlite_insert(insert, changes).await,
            DbBackend::MySql => mysql_call(&insert, changes),
            _ => None,
        };
        match call {
            Some(call) => {
                self.db.execute_raw(bindable(call?)).await?;
                self.log.committed();
                Ok(())
            }
            None => {
                let txn = self.begin_write().await?;
                self.commit_with(txn, Some(insert), changes).await
            }
        }
    }

    /// SQLite: `BEGIN IMMEDIATE; insert; numbering; rows; COMMIT` as one batch.
    async fn sqlite_insert(&self, insert: Statement, changes: &[Change]) -> Result<(), DbErr> {
        if let Some(batch) = numbered_batch(Some(insert), changes)? {
            let sql = format!("BEGIN IMMEDIATE;\n{};\nCOMMIT", batch.sql);
            let values = batch.values.map(|v| v.0).unwrap_or_default();
            let batch = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
            super::sqlite::run_batch(self.db.get_sqlite_connection_pool(), batch).await?;
        }
        if !changes.is_empty() {
            self.log.committed();
        }
        Ok(())
    }

    /// Begins a transaction that will read, then write (on SQLite `BEGIN IMMEDIATE`).
    pub(super) async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(WriteTxn {
                txn: self.db.begin().await?,
            });
        }
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(WriteTxn { txn })
    }

    /// Records `changes` as events in `txn`, commits, and wakes the event log. Every write
    /// that changed something ends here (a bulk write passes one change per conversation).
    pub(super) async fn commit_changes(
        &self,
        txn: WriteTxn,
        changes: &[Change],
    ) -> Result<(), DbErr> {
        self.commit_with(txn, None, changes).await
    }

    /// As [`ConversationStore::commit_changes`], running `lead` (the write itself, one
    /// statement) first, in the same round trip where the backend allows it.
    pub(super) async fn commit_with(
        &self,
        txn: WriteTxn,
        lead: Option<Statement>,
        changes: &[Change],
    ) -> Result<(), DbErr> {
        record(&txn.txn, lead, changes).await?;
        txn.txn.commit().await?;
        if !changes.is_empty() {
            self.log.committed();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, EntityTrait, QueryTrait};

    use super::*;
    use crate::db::entity::{ActiveModel, Entity};
    use crate::domain::Conversation;

    #[test]
    fn a_create_is_one_procedure_call_on_mysql() {
        let c: Conversation = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::new_v4(), "customer_id": uuid::Uuid::new_v4(),
            "account_id": uuid::Uuid::new_v4(), "type": "message", "dialog_id": "+1",
            "tm_create": "2022-06-23T05:05:40.950834Z",
            "self": { "type": "tel", "target": "+14703298699" },
            "peer": { "type": "tel", "target": "+673802" },
        }))
        .unwrap();
        let insert = Entity::insert(ActiveModel::from(&c)).build(DbBackend::MySql);
        let call = mysql_call(&insert, &[Change::created(c)])
            .expect("the procedure's shape")
            .unwrap();
        assert!(call.sql.starts_with("CALL cg_create_conversation(?, ?"));
        assert_eq!(call.values.unwrap().0.len(), 26);
    }
}
