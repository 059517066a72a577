//! Sequencing: giving committed rows their positions, one transaction at a time (see the
//! module docs of [`super`] for why this cannot skip or repeat).

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel, Statement,
    TransactionTrait, Value,
};

use super::EventLog;

fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// Begins a transaction for the log's own bookkeeping (sequencing, pruning): `READ COMMITTED`
/// on MySQL/MariaDB, so that its reads see the latest commits and it takes no gap locks (at
/// `REPEATABLE READ` a scan of the rows whose position is NULL locks the gap new such rows go
/// into, and writers would wait for the sequencer's commit).
pub(super) async fn begin(log: &EventLog) -> Result<DatabaseTransaction, DbErr> {
    match log.backend() {
        DbBackend::MySql => {
            log.db
                .begin_with_config(
                    Some(IsolationLevel::ReadCommitted),
                    Some(AccessMode::ReadWrite),
                )
                .await
        }
        _ => log.db.begin().await,
    }
}

impl EventLog {
    /// Whether committed rows wait for a position (a cheap look without locks).
    pub async fn has_pending(&self) -> Result<bool, DbErr> {
        if self.numbered_at_commit() {
            return Ok(false);
        }
        let backend = self.backend();
        let found = self
            .db
            .query_one_raw(stmt(
                backend,
                "SELECT 1 FROM conversation_events WHERE position IS NULL LIMIT 1",
                vec![],
            ))
            .await?;
        Ok(found.is_some())
    }

    /// Gives up to [`super::SEQUENCE_BATCH`] waiting rows their positions, in one
    /// transaction; on PostgreSQL it also sends `NOTIFY notify_channel, '<head>'` from inside
    /// it. Returns how many rows it numbered (0: none waited). Wakes this process's tailer.
    pub async fn sequence(&self, notify_channel: Option<&str>) -> Result<u64, DbErr> {
        if self.numbered_at_commit() {
            return Ok(0);
        }
        let backend = self.backend();
        let txn = begin(self).await?;
        // The head row's lock: one sequencing transaction at a time, on every replica.
        let head_sql = "SELECT position FROM conversation_event_head WHERE id = 1 FOR UPDATE";
        let head: i64 = txn
            .query_one_raw(stmt(backend, head_sql, vec![]))
            .await?
            .ok_or_else(|| DbErr::Custom("conversation_event_head has no row".into()))?
            .try_get_by_index(0)?;
        let limit = i64::try_from(super::SEQUENCE_BATCH).unwrap_or(i64::MAX);
        let pending_sql = match backend {
            DbBackend::Postgres => {
                "SELECT id FROM conversation_events WHERE position IS NULL ORDER BY id LIMIT $1"
            }
            _ => "SELECT id FROM conversation_events WHERE position IS NULL ORDER BY id LIMIT ?",
        };
        let mut ids = Vec::new();
        for row in txn
            .query_all_raw(stmt(backend, pending_sql, vec![limit.into()]))
            .await?
        {
            ids.push(row.try_get_by_index::<i64>(0)?);
        }
        if ids.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        let n = ids.len() as i64;
        let numbered = number(&txn, backend, head, &ids).await?;
        if numbered != n as u64 {
            txn.rollback().await?;
            return Err(DbErr::Custom(format!(
                "sequencing numbered {numbered} of {n} waiting events; rolled back"
            )));
        }
        let new_head = head + n;
        let set_head = match backend {
            DbBackend::Postgres => "UPDATE conversation_event_head SET position = $1 WHERE id = 1",
            _ => "UPDATE conversation_event_head SET position = ? WHERE id = 1",
        };
        txn.execute_raw(stmt(backend, set_head, vec![new_head.into()]))
            .await?;
        if let (DbBackend::Postgres, Some(channel)) = (backend, notify_channel) {
            txn.execute_raw(stmt(
                backend,
                "SELECT pg_notify($1, $2)",
                vec![channel.into(), new_head.to_string().into()],
            ))
            .await?;
        }
        txn.commit().await?;
        self.poke();
        Ok(n as u64)
    }
}

/// Sets `position = head + k` on the k-th of `ids` (from 1), only where it is still NULL;
/// returns how many rows it set.
async fn number(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    head: i64,
    ids: &[i64],
) -> Result<u64, DbErr> {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let (sql, values): (&str, Vec<Value>) = match backend {
        DbBackend::Postgres => (
            "UPDATE conversation_events AS e SET position = $1 + u.ord \
             FROM unnest(string_to_array($2, ',')::bigint[]) WITH ORDINALITY AS u(id, ord) \
             WHERE e.id = u.id AND e.position IS NULL",
            vec![head.into(), list.into()],
        ),
        _ => (
            "UPDATE conversation_events e \
             JOIN JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, eid BIGINT PATH '$')) u \
             ON e.id = u.eid SET e.position = ? + u.ord WHERE e.position IS NULL",
            vec![format!("[{list}]").into(), head.into()],
        ),
    };
    Ok(txn
        .execute_raw(stmt(backend, sql, values))
        .await?
        .rows_affected())
}
