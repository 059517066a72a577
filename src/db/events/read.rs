//! Reading the log, its bounds, and pruning it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Statement,
};
use uuid::Uuid;

use super::entity::{Column, Entity};
use super::EventLog;
use crate::domain::{Event, EventKind};

/// What [`EventLog::read_after`] found.
#[derive(Debug, Default)]
pub struct Run {
    /// Consecutive events from the one right after the position asked for.
    pub events: Vec<Event>,
    /// The run stopped at a position that is not visible while later ones are: a sequencing
    /// transaction this snapshot does not see yet, or (below [`Bounds::oldest`]) pruned.
    pub gap: bool,
}

/// The positions the log holds: `oldest ..= head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The oldest position still kept; `head + 1` when retention pruned everything.
    pub oldest: u64,
    /// The last position given out (0: none yet).
    pub head: u64,
}

fn position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

impl EventLog {
    /// Up to `limit` events at positions `after + 1, after + 2, …` with none missing: the run
    /// ends before the first position that is not visible. This is the read for anyone who
    /// must not skip an event (each replica's tailer; a relay to another system): call it
    /// again with the last position it returned.
    pub async fn read_after(&self, after: u64, limit: u64) -> Result<Run, DbErr> {
        let rows = Entity::find()
            .filter(Column::Position.gt(position(after)))
            .order_by_asc(Column::Position)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut run = Run::default();
        for (expect, row) in (after + 1..).zip(rows) {
            if row.position.and_then(|p| u64::try_from(p).ok()) != Some(expect) {
                run.gap = true;
                break;
            }
            run.events.push(Event::try_from(row)?);
        }
        Ok(run)
    }

    /// The events at positions in `(after, upto]`, oldest first, at most `limit`, only of
    /// `customer` and of `kinds` when given. `upto` must be a position a reader of
    /// [`EventLog::read_after`] reached, so that no position below it is still invisible.
    pub async fn read_range(
        &self,
        after: u64,
        upto: u64,
        limit: u64,
        customer: Option<Uuid>,
        kinds: Option<&[EventKind]>,
    ) -> Result<Vec<Event>, DbErr> {
        if upto <= after || limit == 0 {
            return Ok(Vec::new());
        }
        let select = Entity::find()
            .filter(Column::Position.gt(position(after)))
            .filter(Column::Position.lte(position(upto)))
            .apply_if(customer, |q, customer| {
                q.filter(Column::CustomerId.eq(customer))
            })
            .apply_if(kinds, |q, kinds| {
                q.filter(Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
            })
            .order_by_asc(Column::Position)
            .limit(limit);
        crate::db::all_as(select, &self.db).await
    }

    /// The positions the log holds now.
    pub async fn bounds(&self) -> Result<Bounds, DbErr> {
        let backend = self.backend();
        let head: i64 = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT position FROM conversation_event_head WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("conversation_event_head has no row".into()))?
            .try_get_by_index(0)?;
        let oldest: Option<i64> = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MIN(position) FROM conversation_events",
            ))
            .await?
            .map(|row| row.try_get_by_index::<Option<i64>>(0))
            .transpose()?
            .flatten();
        let head = u64::try_from(head).unwrap_or(0);
        Ok(Bounds {
            oldest: oldest
                .and_then(|p| u64::try_from(p).ok())
                .unwrap_or(head + 1),
            head,
        })
    }

    /// Deletes up to `batch` of the oldest events, stopping at the first one at or after
    /// `older_than` (so the log stays one contiguous range). Returns how many it deleted; call
    /// it again until it deletes none.
    pub async fn prune(&self, older_than: DateTime<Utc>, batch: u64) -> Result<u64, DbErr> {
        let oldest: Vec<(Option<i64>, DateTime<Utc>)> = Entity::find()
            .select_only()
            .column(Column::Position)
            .column(Column::At)
            .filter(Column::Position.is_not_null())
            .order_by_asc(Column::Position)
            .limit(batch)
            .into_tuple()
            .all(&self.db)
            .await?;
        let Some(cut) = oldest
            .iter()
            .take_while(|(_, at)| *at < older_than)
            .filter_map(|(p, _)| *p)
            .last()
        else {
            return Ok(0);
        };
        let txn = super::sequence::begin(self).await?;
        let deleted = Entity::delete_many()
            .filter(Column::Position.lte(cut))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        if deleted > 0 {
            tracing::debug!(deleted, "pruned the event log");
        }
        Ok(deleted)
    }
}
