//! Batch writes and reads for tools: the import (many complete conversations per
//! transaction, multi-row `INSERT`s) and the export (the whole table in id order).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel, Iterable,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::entity::{ActiveModel, Column, Entity, Model};
use super::filter::compile;
use super::store::ConversationStore;
use super::value::bindable;
use crate::domain::filter::Predicate;
use crate::domain::{now, Change, Conversation};

/// What a batch import does with a record whose id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Leave the stored row as it is.
    Skip,
    /// Overwrite every column of the stored row with the record.
    Replace,
}

/// What [`ConversationStore::import_batch`] did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// New rows.
    pub inserted: u64,
    /// Stored rows overwritten ([`OnExisting::Replace`]).
    pub replaced: u64,
    /// Stored rows left alone ([`OnExisting::Skip`]).
    pub skipped: u64,
}

/// Rows per multi-row `INSERT`. With 22 columns a row that is 22,000 bound parameters, under
/// every backend's limit (SQLite 32,766; PostgreSQL and MySQL 65,535).
const ROWS_PER_INSERT: usize = 1000;

/// Rough bytes of values per `INSERT`: MySQL refuses a packet over `max_allowed_packet`
/// (16 MiB by default), and rows with long texts can approach that well before 1,000 rows.
const BYTES_PER_INSERT: usize = 4 << 20;

/// Ids per `IN (...)` list when looking up which ids exist.
const IDS_PER_LOOKUP: usize = 1000;

impl ConversationStore {
    /// Which of `ids` are stored, deleted or not (and whatever the scope: this is for tools
    /// such as the import, which act for every customer).
    pub async fn existing_ids(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, DbErr> {
        existing_ids(&self.db, ids).await
    }

    /// Writes complete conversations (ids and timestamps as given) in one transaction, with
    /// multi-row `INSERT`s. A row whose id is already stored is skipped or replaced, as
    /// `on_existing` says. The ids in `rows` must be distinct. `with_events`: the transaction
    /// also records an event for every conversation it creates or changes (a replaced row
    /// equal to the record is no change).
    pub async fn import_batch(
        &self,
        rows: &[Conversation],
        on_existing: OnExisting,
        with_events: bool,
    ) -> Result<BatchOutcome, DbErr> {
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let txn = self.begin_write().await?;
        if self.backend() == DbBackend::Postgres {
            // The id lookup is a prepared statement; after five runs PostgreSQL may keep a
            // generic plan made while the table was still small (a sequential scan), and an
            // import into an empty table then slows down with every batch (100,000 records:
            // 78 s instead of 7). Plan each lookup for the table as it is (PostgreSQL 12+).
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
                .await?;
        }
        let existing = existing_ids(&*txn, &ids).await?;
        let stored = existing.len() as u64;
        let changes = if with_events {
            changes(&*txn, rows, &existing, on_existing).await?
        } else {
            Vec::new()
        };
        let outcome = match on_existing {
            OnExisting::Skip => {
                let fresh: Vec<&Conversation> =
                    rows.iter().filter(|c| !existing.contains(&c.id)).collect();
                insert_chunked(&*txn, &fresh, false).await?;
                BatchOutcome {
                    inserted: fresh.len() as u64,
                    skipped: stored,
                    ..BatchOutcome::default()
                }
            }
            OnExisting::Replace => {
                let all: Vec<&Conversation> = rows.iter().collect();
                insert_chunked(&*txn, &all, true).await?;
                BatchOutcome {
                    inserted: rows.len() as u64 - stored,
                    replaced: stored,
                    ..BatchOutcome::default()
                }
            }
        };
        self.commit_changes(txn, &changes).await?;
        Ok(outcome)
    }

    /// Stores rows exactly as given, legacy sentinels and nil owners included, in one
    /// transaction (for tests and tools that reproduce older data). `with_events`: also
    /// records a CREATED event for each, with the conversation as the API reads the row.
    pub async fn insert_models(&self, rows: &[Model], with_events: bool) -> Result<(), DbErr> {
        let backend = self.backend();
        let changes = if with_events {
            rows.iter()
                .map(|m| Ok(Change::created(Conversation::try_from(m.clone())?)))
                .collect::<Result<Vec<_>, DbErr>>()?
        } else {
            Vec::new()
        };
        let txn = self.begin_write().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let stmt = Entity::insert_many(
                chunk
                    .iter()
                    .cloned()
                    .map(IntoActiveModel::into_active_model),
            )
            .build(backend);
            txn.execute_raw(bindable(stmt)).await?;
        }
        self.commit_changes(txn, &changes).await
    }

    /// Up to `limit` conversations with ids after `after`, in id order, every customer's:
    /// the export walks the table with it.
    pub async fn scan(
        &self,
        after: Option<Uuid>,
        limit: u64,
        include_deleted: bool,
    ) -> Result<Vec<Conversation>, DbErr> {
        let backend = self.backend();
        let select = Entity::find()
            .apply_if(after, |q, after| q.filter(Column::Id.gt(after)))
            .apply_if((!include_deleted).then(Predicate::live), |q, live| {
                q.filter(compile(&live, backend))
            })
            .order_by_asc(Column::Id)
            .limit(limit);
        crate::db::all_as(select, &self.db).await
    }
}

/// The events of an import batch: CREATED for each new row, and for each replaced one the
/// change from the stored row (none when equal).
async fn changes<C: ConnectionTrait>(
    db: &C,
    rows: &[Conversation],
    existing: &HashSet<Uuid>,
    on_existing: OnExisting,
) -> Result<Vec<Change>, DbErr> {
    let at = now();
    let mut stored: HashMap<Uuid, Conversation> = HashMap::new();
    if on_existing == OnExisting::Replace && !existing.is_empty() {
        let ids: Vec<Uuid> = existing.iter().copied().collect();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            for m in Entity::find()
                .filter(Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?
            {
                let c = Conversation::try_from(m)?;
                stored.insert(c.id, c);
            }
        }
    }
    let mut changes = Vec::new();
    for row in rows {
        if !existing.contains(&row.id) {
            changes.push(Change {
                at,
                ..Change::created(row.clone())
            });
        } else if let Some(before) = stored.remove(&row.id) {
            changes.extend(Change::between(before, row.clone(), at));
        }
    }
    Ok(changes)
}

async fn existing_ids<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<HashSet<Uuid>, DbErr> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let stored = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<Uuid>()
            .all(db)
            .await?;
        found.extend(stored);
    }
    Ok(found)
}

/// Rough size of a row's values, for [`BYTES_PER_INSERT`].
fn approx_bytes(c: &Conversation) -> usize {
    let b = &c.body;
    let address = |a: &crate::domain::Address| {
        a.target.as_str().len() + a.target_name.len() + a.name.len() + a.detail.len()
    };
    b.name.len()
        + b.detail.len()
        + b.dialog_id.len()
        + address(&b.self_address)
        + address(&b.peer)
        + 200
}

/// Multi-row `INSERT`s of `rows`, at most [`ROWS_PER_INSERT`] rows and about
/// [`BYTES_PER_INSERT`] bytes each. `replace`: a stored id is overwritten (`ON CONFLICT DO
/// UPDATE`, MySQL's `ON DUPLICATE KEY UPDATE`).
async fn insert_chunked<C: ConnectionTrait>(
    db: &C,
    rows: &[&Conversation],
    replace: bool,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < rows.len() && end - start < ROWS_PER_INSERT {
            bytes += approx_bytes(rows[end]);
            if end > start && bytes > BYTES_PER_INSERT {
                break;
            }
            end += 1;
        }
        let mut insert =
            Entity::insert_many(rows[start..end].iter().map(|c| ActiveModel::from(*c)));
        if replace {
            insert = insert.on_conflict(
                OnConflict::column(Column::Id)
                    .update_columns(Column::iter().filter(|c| !matches!(c, Column::Id)))
                    .to_owned(),
            );
        }
        db.execute_raw(bindable(insert.build(backend))).await?;
        start = end;
    }
    Ok(())
}
