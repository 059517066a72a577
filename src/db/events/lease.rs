//! The relay lease (`conversation_event_relay`): which replica moves the log into NATS
//! JetStream (`--event-bus`). One row; a replica holds the lease while `expires_at` (its own
//! clock, in milliseconds) lies ahead and renews it well before then; any replica takes it
//! once it has passed. The row also keeps `relayed`, the last position the relay knows the
//! stream stored, for a relay that finds the stream empty.
//!
//! Holding the lease is what keeps the database's event reads at one relay, not what keeps
//! the stream right: a relay publishes each event with its position as the message id and
//! only after the message it last stored, so two relays that overlap for a moment (clocks
//! apart, a holder paused past its lease) store nothing twice and nothing out of order.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use super::EventLog;

fn stmt(backend: DbBackend, postgres: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => postgres.to_owned(),
        // `$1`, `$2`, … in the order they appear become `?`.
        _ => {
            let mut out = String::with_capacity(postgres.len());
            let mut chars = postgres.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

/// What taking or renewing the lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The last position a relay recorded as stored in the stream.
    pub relayed: u64,
}

impl EventLog {
    /// Takes the relay lease for `holder` until `now_ms + ttl_ms`, or renews it, recording
    /// `relayed` when given. `None` when another holder's lease has not expired.
    pub async fn claim_relay(
        &self,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
        relayed: Option<u64>,
    ) -> Result<Option<Lease>, DbErr> {
        let backend = self.backend();
        // A first holder starts from the head: what was logged before any relay is not news.
        let update = stmt(
            backend,
            "UPDATE conversation_event_relay SET holder = $1, expires_at = $2, \
             relayed = COALESCE($3, relayed, \
               (SELECT position FROM conversation_event_head WHERE id = 1)) \
             WHERE id = 1 AND (holder = $4 OR holder IS NULL OR expires_at < $5)",
            vec![
                holder.into(),
                now_ms.saturating_add(ttl_ms).into(),
                Value::BigInt(relayed.map(position)),
                holder.into(),
                now_ms.into(),
            ],
        );
        if self.db.execute_raw(update).await?.rows_affected() == 0 {
            return Ok(None);
        }
        if let Some(relayed) = relayed {
            return Ok(Some(Lease { relayed }));
        }
        let row = self
            .db
            .query_one_raw(stmt(
                backend,
                "SELECT relayed, holder FROM conversation_event_relay WHERE id = 1",
                vec![],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("conversation_event_relay has no row".into()))?;
        let now_holder: Option<String> = row.try_get_by_index(1)?;
        if now_holder.as_deref() != Some(holder) {
            return Ok(None);
        }
        let relayed: Option<i64> = row.try_get_by_index(0)?;
        Ok(Some(Lease {
            relayed: relayed.and_then(|p| u64::try_from(p).ok()).unwrap_or(0),
        }))
    }

    /// Gives the lease up (a stopping holder), so another replica takes it at once.
    pub async fn release_relay(&self, holder: &str, relayed: Option<u64>) -> Result<(), DbErr> {
        let update = stmt(
            self.backend(),
            "UPDATE conversation_event_relay SET expires_at = 0, relayed = COALESCE($1, relayed) \
             WHERE id = 1 AND holder = $2",
            vec![Value::BigInt(relayed.map(position)), holder.into()],
        );
        self.db.execute_raw(update).await?;
        Ok(())
    }
}
