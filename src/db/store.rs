//! [`ConversationStore`]: every read and write of conversations.
//!
//! Each method takes a `scope`: a predicate every row it reads or writes must also match (the
//! caller's tenant). A row outside the scope is treated exactly like a row that does not exist.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    DbErr, EntityTrait, IntoActiveModel, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, TransactionTrait, Value,
};
use uuid::Uuid;

use super::entity::{self, Column, Entity, Model};
use super::filter::compile;
use super::order::{beyond, key_expr, position, sql_order};
use super::value::{bindable, optional_time, time};
use crate::domain::filter::{Field, PageQuery, Position, Predicate};
use crate::domain::{
    happened, now, Address, AddressType, Conversation, ConversationPatch, ConversationType,
    NewConversation, OwnerPatch,
};

/// Errors of this layer are SeaORM's; a row the domain cannot read is `DbErr::Custom`.
pub use sea_orm::DbErr as StoreError;

/// One page of rows with their positions.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<(Position, Conversation)>,
    /// More rows lie past the page in the direction of the walk.
    pub has_more: bool,
}

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

/// Reads and writes conversations on one pool.
#[derive(Clone, Debug)]
pub struct ConversationStore {
    db: DatabaseConnection,
}

fn not_deleted(backend: DbBackend) -> Condition {
    compile(&Predicate::IsNull(Field::TmDelete, true), backend)
}

impl ConversationStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// One conversation by id, deleted or not.
    pub async fn get(&self, id: Uuid, scope: &Predicate) -> Result<Option<Conversation>, DbErr> {
        find(&self.db, id, scope).await
    }

    /// A page of `query`, walking forwards or (for `last`) backwards.
    pub async fn page(&self, query: &PageQuery, scope: &Predicate) -> Result<Page, DbErr> {
        let backend = self.db.get_database_backend();
        let forward = !query.from_end;
        let mut cond = Condition::all()
            .add(compile(scope, backend))
            .add(compile(&query.filter, backend));
        if let Some(after) = &query.after {
            cond = cond.add(beyond(query.order, after, true, backend));
        }
        if let Some(before) = &query.before {
            cond = cond.add(beyond(query.order, before, false, backend));
        }
        let dir = sql_order(query.order, forward);
        let models = Entity::find()
            .filter(cond)
            .order_by(key_expr(query.order.field, backend), dir.clone())
            .order_by(Column::Id, dir)
            .limit(query.limit + 1)
            .all(&self.db)
            .await?;
        let has_more = models.len() as u64 > query.limit;
        let mut rows = models
            .into_iter()
            .take(query.limit as usize)
            .map(|m| Ok((position(query.order.field, &m), to_domain(m)?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        if !forward {
            rows.reverse();
        }
        Ok(Page { rows, has_more })
    }

    /// Whether any row of `filter` lies at `pos` or behind it, seen from a walk in `forward`
    /// direction: answers `hasPreviousPage` after `after`, and `hasNextPage` before `before`.
    pub async fn any_behind(
        &self,
        query: &PageQuery,
        pos: &Position,
        forward: bool,
        scope: &Predicate,
    ) -> Result<bool, DbErr> {
        let backend = self.db.get_database_backend();
        let cond = Condition::all()
            .add(compile(scope, backend))
            .add(compile(&query.filter, backend))
            .add(beyond(query.order, pos, forward, backend).not());
        let found = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(cond)
            .limit(1)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// How many rows match `filter` (cursors aside).
    pub async fn count(&self, filter: &Predicate, scope: &Predicate) -> Result<u64, DbErr> {
        let backend = self.db.get_database_backend();
        Entity::find()
            .filter(compile(scope, backend))
            .filter(compile(filter, backend))
            .count(&self.db)
            .await
    }

    /// Stores a new conversation; the store sets id and `tm_create`.
    pub async fn insert(&self, new: NewConversation) -> Result<Conversation, DbErr> {
        let conversation = new.into_conversation(Uuid::new_v4(), now(), None, None);
        let stmt = Entity::insert(to_active(&conversation)).build(self.backend());
        self.db.execute_raw(bindable(stmt)).await?;
        Ok(conversation)
    }

    /// Which of `ids` are stored, deleted or not (and whatever the scope: this is for tools
    /// such as the import, which act for every customer).
    pub async fn existing_ids(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, DbErr> {
        existing_ids(&self.db, ids).await
    }

    /// Writes complete conversations (ids and timestamps as given) in one transaction, with
    /// multi-row `INSERT`s. A row whose id is already stored is skipped or replaced, as
    /// `on_existing` says. The ids in `rows` must be distinct.
    pub async fn import_batch(
        &self,
        rows: &[Conversation],
        on_existing: OnExisting,
    ) -> Result<BatchOutcome, DbErr> {
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let txn = self.db.begin().await?;
        if self.backend() == DbBackend::Postgres {
            // The id lookup is a prepared statement; after five runs PostgreSQL may keep a
            // generic plan made while the table was still small (a sequential scan), and an
            // import into an empty table then slows down with every batch (100,000 records:
            // 78 s instead of 7). Plan each lookup for the table as it is (PostgreSQL 12+).
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
                .await?;
        }
        let existing = existing_ids(&txn, &ids).await?;
        let stored = existing.len() as u64;
        let outcome = match on_existing {
            OnExisting::Skip => {
                let fresh: Vec<&Conversation> =
                    rows.iter().filter(|c| !existing.contains(&c.id)).collect();
                insert_chunked(&txn, &fresh, false).await?;
                BatchOutcome {
                    inserted: fresh.len() as u64,
                    skipped: stored,
                    ..BatchOutcome::default()
                }
            }
            OnExisting::Replace => {
                let all: Vec<&Conversation> = rows.iter().collect();
                insert_chunked(&txn, &all, true).await?;
                BatchOutcome {
                    inserted: rows.len() as u64 - stored,
                    replaced: stored,
                    ..BatchOutcome::default()
                }
            }
        };
        txn.commit().await?;
        Ok(outcome)
    }

    /// Stores rows exactly as given, legacy sentinels and nil owners included, in one
    /// transaction (for tests and tools that reproduce older data).
    pub async fn insert_models(&self, rows: &[Model]) -> Result<(), DbErr> {
        let backend = self.backend();
        let txn = self.db.begin().await?;
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
        txn.commit().await
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
        let mut query = Entity::find();
        if let Some(after) = after {
            query = query.filter(Column::Id.gt(after));
        }
        if !include_deleted {
            query = query.filter(not_deleted(backend));
        }
        query
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies `patch` to a conversation that exists and is not deleted; `None` otherwise.
    /// An empty patch writes nothing.
    pub async fn update(
        &self,
        id: Uuid,
        patch: ConversationPatch,
        scope: &Predicate,
    ) -> Result<Option<Conversation>, DbErr> {
        let backend = self.db.get_database_backend();
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
            update = update.col_expr(Column::Name, Expr::val(name));
        }
        if let Some(detail) = patch.detail {
            update = update.col_expr(Column::Detail, Expr::val(detail));
        }
        match patch.owner {
            OwnerPatch::Keep => {}
            OwnerPatch::Unassign => {
                update = update
                    .col_expr(Column::OwnerId, Expr::val(Value::Uuid(None)))
                    .col_expr(Column::OwnerType, Expr::val(""));
            }
            OwnerPatch::Assign(owner) => {
                update = update
                    .col_expr(Column::OwnerId, Expr::val(owner))
                    .col_expr(Column::OwnerType, Expr::val("agent"));
            }
        }
        let stmt = update
            .filter(Column::Id.eq(id))
            .filter(compile(scope, backend))
            .filter(not_deleted(backend))
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

    /// Soft-deletes: sets `tm_delete`. A deleted conversation is returned unchanged.
    pub async fn soft_delete(
        &self,
        id: Uuid,
        scope: &Predicate,
    ) -> Result<Option<(Conversation, bool)>, DbErr> {
        self.set_deleted(id, scope, true).await
    }

    /// Undoes a soft delete: `tm_delete` back to NULL. A live conversation is returned unchanged.
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
        let changed = Entity::update_many()
            .col_expr(Column::TmDelete, Expr::val(optional_time(at, backend)))
            .filter(Column::Id.eq(id))
            .filter(compile(scope, backend))
            .filter(compile(
                &Predicate::IsNull(Field::TmDelete, deleted),
                backend,
            ))
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        let found = find(&txn, id, scope).await?;
        txn.commit().await?;
        Ok(found.map(|c| (c, changed)))
    }
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
    let texts = [
        &c.name,
        &c.detail,
        &c.dialog_id,
        &c.self_address.target,
        &c.self_address.target_name,
        &c.self_address.name,
        &c.self_address.detail,
        &c.peer.target,
        &c.peer.target_name,
        &c.peer.name,
        &c.peer.detail,
    ];
    texts.iter().map(|t| t.len()).sum::<usize>() + 200
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
        let mut insert = Entity::insert_many(rows[start..end].iter().map(|c| to_active(c)));
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

async fn find<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    scope: &Predicate,
) -> Result<Option<Conversation>, DbErr> {
    Entity::find_by_id(id)
        .filter(compile(scope, db.get_database_backend()))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

fn address_type(stored: &str) -> Result<AddressType, DbErr> {
    AddressType::from_stored(stored)
        .ok_or_else(|| DbErr::Custom(format!("unknown address type {stored:?} in a stored row")))
}

/// A stored row as the domain sees it: sentinels and nil owners read as "none".
pub(super) fn to_domain(m: Model) -> Result<Conversation, DbErr> {
    let kind = ConversationType::from_stored(&m.kind)
        .ok_or_else(|| DbErr::Custom(format!("unknown conversation type {:?}", m.kind)))?;
    Ok(Conversation {
        id: m.id,
        customer_id: m.customer_id,
        owner_id: m.owner_id.filter(|o| !o.is_nil()),
        account_id: m.account_id,
        kind,
        self_address: Address {
            kind: address_type(&m.self_type)?,
            target: m.self_target,
            target_name: m.self_target_name,
            name: m.self_name,
            detail: m.self_detail,
        },
        peer: Address {
            kind: address_type(&m.peer_type)?,
            target: m.peer_target,
            target_name: m.peer_target_name,
            name: m.peer_name,
            detail: m.peer_detail,
        },
        name: m.name,
        detail: m.detail,
        dialog_id: m.dialog_id,
        tm_create: m.tm_create,
        tm_update: happened(m.tm_update),
        tm_delete: happened(m.tm_delete),
    })
}

fn to_active(c: &Conversation) -> entity::ActiveModel {
    entity::ActiveModel {
        id: Set(c.id),
        customer_id: Set(c.customer_id),
        owner_type: Set(if c.owner_id.is_some() { "agent" } else { "" }.to_owned()),
        owner_id: Set(c.owner_id),
        account_id: Set(c.account_id),
        name: Set(c.name.clone()),
        detail: Set(c.detail.clone()),
        kind: Set(c.kind.as_str().to_owned()),
        dialog_id: Set(c.dialog_id.clone()),
        self_type: Set(c.self_address.kind.as_str().to_owned()),
        self_target: Set(c.self_address.target.clone()),
        self_target_name: Set(c.self_address.target_name.clone()),
        self_name: Set(c.self_address.name.clone()),
        self_detail: Set(c.self_address.detail.clone()),
        peer_type: Set(c.peer.kind.as_str().to_owned()),
        peer_target: Set(c.peer.target.clone()),
        peer_target_name: Set(c.peer.target_name.clone()),
        peer_name: Set(c.peer.name.clone()),
        peer_detail: Set(c.peer.detail.clone()),
        tm_create: Set(c.tm_create),
        tm_update: Set(c.tm_update),
        tm_delete: Set(c.tm_delete),
    }
}
