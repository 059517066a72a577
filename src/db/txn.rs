//! Write transactions: every write of conversations runs in one, which records the write's
//! events before it commits ([`super::events`]), and wakes the event log after.
//!
//! On SQLite a write transaction is `BEGIN IMMEDIATE` (it takes the database's write lock at
//! once: a deferred transaction that reads first fails when another writer commits in
//! between), and an insert is one batch of statements from `BEGIN` to `COMMIT`
//! ([`ConversationStore::insert_with_changes`]). The writers of one process also take turns
//! through an in-process gate. SQLite allows one writer at a time anyway; without the gate, writers
//! that find the lock taken back off in its busy handler's sleeps (1, 2, 5, … ms) instead of
//! starting the moment it is free.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::{
    DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::events::{numbered_batch, record};
use super::store::ConversationStore;
use crate::domain::Change;

/// This process's turn to write (SQLite), shared by the clones of a store.
pub(super) type WriteGate = Arc<Mutex<()>>;

/// A write transaction (and, on SQLite, this process's turn to write until it ends).
pub(super) struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
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
}

impl ConversationStore {
    /// Runs `insert` (one statement that only inserts) and records `changes`, atomically.
    /// On SQLite all of it is one batch, `BEGIN; insert; numbering; rows; COMMIT`, sent in one
    /// round trip during this process's turn to write (if it fails half-way, it is rolled back
    /// on its connection at once: see `sqlite`); elsewhere a transaction.
    pub(super) async fn insert_with_changes(
        &self,
        insert: Statement,
        changes: &[Change],
    ) -> Result<(), DbErr> {
        if self.backend() != DbBackend::Sqlite {
            let txn = self.begin_write().await?;
            return self.commit_with(txn, Some(insert), changes).await;
        }
        let turn = self.gate.lock().await;
        if let Some(batch) = numbered_batch(Some(insert), changes)? {
            let sql = format!("BEGIN IMMEDIATE;\n{};\nCOMMIT", batch.sql);
            let values = batch.values.map(|v| v.0).unwrap_or_default();
            let batch = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
            super::sqlite::run_batch(self.db.get_sqlite_connection_pool(), batch).await?;
        }
        drop(turn);
        if !changes.is_empty() {
            self.log.committed();
        }
        Ok(())
    }

    /// Begins a transaction that will read, then write (on SQLite: this process's turn to
    /// write, then `BEGIN IMMEDIATE`).
    pub(super) async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(WriteTxn {
                txn: self.db.begin().await?,
                _turn: None,
            });
        }
        let turn = self.gate.clone().lock_owned().await;
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(WriteTxn {
            txn,
            _turn: Some(turn),
        })
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
