//! [`ConversationStore`]: every read of conversations (writes are in `write`, batch import and
//! export in `batch`).
//!
//! The reads of queries go to the read pool when there is one ([`super::ReadPool`]: a hot
//! standby, with the primary answering while it cannot); what a write reads, and the answer it
//! returns, come from the primary.
//!
//! Each method takes a `scope`: a predicate every row it reads or writes must also match (the
//! caller's tenant). A row outside the scope is treated exactly like a row that does not exist.

use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::OnceCell;
use uuid::Uuid;

use super::columns::{self, Take};
use super::entity::{Column, Entity};
use super::events::EventLog;
use super::filter::{compile, compile_with};
use super::order::{beyond, key_expr, position, sql_order};
use super::read_pool::ReadPool;
use super::search::narrowing_for_a_page;
use crate::domain::filter::Predicate;
use crate::domain::page::{PageQuery, Position};
use crate::domain::{CaseFolding, Conversation, Parts};

pub use super::batch::{BatchOutcome, OnExisting};

/// Errors of this layer are SeaORM's; a row the domain cannot read is `DbErr::Custom`.
pub use sea_orm::DbErr as StoreError;

/// One page of rows with their positions.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<(Position, Conversation)>,
    /// More rows lie past the page in the direction of the walk.
    pub has_more: bool,
}

/// Reads and writes conversations; every write records its events in the log.
#[derive(Clone, Debug)]
pub struct ConversationStore {
    /// The primary: every write, and every read without a read pool.
    pub(super) db: DatabaseConnection,
    /// Where queries read from while it answers.
    read: Option<ReadPool>,
    pub(super) log: EventLog,
    /// How the database lower-cases text, asked once.
    folding: Arc<OnceCell<CaseFolding>>,
}

impl ConversationStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            log: EventLog::new(db.clone()),
            db,
            read: None,
            folding: Arc::default(),
        }
    }

    /// This store with queries reading from `read` (writes stay on the primary).
    pub fn with_read_pool(self, read: ReadPool) -> Self {
        Self {
            log: self.log.with_read_pool(read.clone()),
            read: Some(read),
            ..self
        }
    }

    /// The read pool, if queries have one.
    pub fn read_pool(&self) -> Option<&ReadPool> {
        self.read.as_ref()
    }

    /// `run` on the read pool, or on the primary when there is none or it cannot answer.
    pub(super) async fn reading<T, F, Fut>(&self, run: F) -> Result<T, DbErr>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        match &self.read {
            Some(read) => read.read(&self.db, run).await,
            None => run(self.db.clone()).await,
        }
    }

    /// The event log the writes of this store record into.
    pub fn events(&self) -> &EventLog {
        &self.log
    }

    /// How this database lower-cases text (for evaluating filters in memory exactly as SQL
    /// does); asked on first use.
    pub async fn case_folding(&self) -> Result<CaseFolding, DbErr> {
        self.folding
            .get_or_try_init(|| super::casefold::calibrate(&self.db))
            .await
            .cloned()
    }

    /// The primary's pool (for the database layer's own functions: `db::ping`,
    /// `db::pool_stats`, …).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// True once the pool has been closed (the server is stopping).
    pub fn is_closed(&self) -> bool {
        super::notify::is_closed(&self.db)
    }

    pub(super) fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// One conversation by id, deleted or not.
    pub async fn get(&self, id: Uuid, scope: &Predicate) -> Result<Option<Conversation>, DbErr> {
        self.get_parts(id, scope, Parts::ALL).await
    }

    /// As [`get`](Self::get), reading only `parts` (see [`Parts`]).
    pub async fn get_parts(
        &self,
        id: Uuid,
        scope: &Predicate,
        parts: Parts,
    ) -> Result<Option<Conversation>, DbErr> {
        self.reading(|db| async move { find_parts(&db, id, scope, parts).await })
            .await
    }

    /// A page of `query`, walking forwards or (for `last`) backwards. A search on SQLite is
    /// narrowed by a lookup of its own first ([`narrowing_for_a_page`]); both read one
    /// snapshot.
    pub async fn page(&self, query: &PageQuery, scope: &Predicate) -> Result<Page, DbErr> {
        self.page_parts(query, scope, Parts::ALL).await
    }

    /// As [`page`](Self::page), reading only `parts` of each row (see [`Parts`]).
    pub async fn page_parts(
        &self,
        query: &PageQuery,
        scope: &Predicate,
        parts: Parts,
    ) -> Result<Page, DbErr> {
        let snapshot = needs_a_snapshot(self.backend(), &query.filter);
        self.reading(|db| async move {
            if !snapshot {
                return page(&db, query, scope, parts).await;
            }
            let txn = db.begin().await?;
            let page = page(&txn, query, scope, parts).await?;
            txn.commit().await?;
            Ok(page)
        })
        .await
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
        let snapshot = needs_a_snapshot(self.backend(), &query.filter);
        self.reading(|db| async move {
            if !snapshot {
                return any_behind(&db, query, pos, forward, scope).await;
            }
            let txn = db.begin().await?;
            let found = any_behind(&txn, query, pos, forward, scope).await?;
            txn.commit().await?;
            Ok(found)
        })
        .await
    }

    /// How many rows match `filter` (cursors aside).
    pub async fn count(&self, filter: &Predicate, scope: &Predicate) -> Result<u64, DbErr> {
        let backend = self.backend();
        let (scope, filter) = (compile(scope, backend), compile(filter, backend));
        self.reading(|db| {
            let query = Entity::find().filter(scope.clone()).filter(filter.clone());
            async move { query.count(&db).await }
        })
        .await
    }
}

/// Whether reading a page of `filter` takes more than one statement (a search on SQLite).
fn needs_a_snapshot(backend: DbBackend, filter: &Predicate) -> bool {
    backend == DbBackend::Sqlite && filter.any_search()
}

async fn page<C: ConnectionTrait + 'static>(
    db: &C,
    query: &PageQuery,
    scope: &Predicate,
    parts: Parts,
) -> Result<Page, DbErr> {
    let backend = db.get_database_backend();
    let forward = !query.from_end;
    let narrowing = narrowing_for_a_page(db, &query.filter).await?;
    let mut cond = Condition::all()
        .add(compile(scope, backend))
        .add(compile_with(&query.filter, backend, &narrowing));
    if let Some(after) = &query.after {
        cond = cond.add(beyond(query.order, after, true, backend));
    }
    if let Some(before) = &query.before {
        cond = cond.add(beyond(query.order, before, false, backend));
    }
    let dir = sql_order(query.order, forward);
    let searched = match backend {
        DbBackend::MySql if query.filter.any_search() => {
            super::walk::search_page(db, query, scope).await?
        }
        _ => None,
    };
    let models = match searched {
        Some(models) => models,
        None => match columns::pool(db).filter(|_| parts != Parts::ALL) {
            Some(pool) => {
                let columns = columns::columns(parts, Some(query.order.field));
                let mut select = columns::select(&columns);
                select
                    .cond_where(cond)
                    .order_by_expr(key_expr(query.order.field, backend), dir.clone())
                    .order_by(Column::Id, dir);
                columns::all(pool, &select, &columns, Take::Upto(query.limit + 1)).await?
            }
            None => {
                Entity::find()
                    .filter(cond)
                    .order_by(key_expr(query.order.field, backend), dir.clone())
                    .order_by(Column::Id, dir)
                    .limit(query.limit + 1)
                    .all(db)
                    .await?
            }
        },
    };
    let has_more = models.len() as u64 > query.limit;
    let mut rows = models
        .into_iter()
        .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
        .map(|m| Ok((position(query.order.field, &m), Conversation::try_from(m)?)))
        .collect::<Result<Vec<_>, DbErr>>()?;
    if !forward {
        rows.reverse();
    }
    Ok(Page { rows, has_more })
}

async fn any_behind<C: ConnectionTrait>(
    db: &C,
    query: &PageQuery,
    pos: &Position,
    forward: bool,
    scope: &Predicate,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let narrowing = narrowing_for_a_page(db, &query.filter).await?;
    let cond = Condition::all()
        .add(compile(scope, backend))
        .add(compile_with(&query.filter, backend, &narrowing))
        .add(beyond(query.order, pos, forward, backend).not());
    let found = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(cond)
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// One conversation by id within `scope`, on any connection (a transaction included).
pub(super) async fn find<C: ConnectionTrait + 'static>(
    db: &C,
    id: Uuid,
    scope: &Predicate,
) -> Result<Option<Conversation>, DbErr> {
    find_parts(db, id, scope, Parts::ALL).await
}

/// As [`find`], reading only `parts` (a whole row for [`Parts::ALL`]).
async fn find_parts<C: ConnectionTrait + 'static>(
    db: &C,
    id: Uuid,
    scope: &Predicate,
    parts: Parts,
) -> Result<Option<Conversation>, DbErr> {
    let model = match columns::pool(db).filter(|_| parts != Parts::ALL) {
        Some(pool) => super::by_id::find(pool, id, scope, parts).await?,
        None => {
            let scope = compile(scope, db.get_database_backend());
            Entity::find_by_id(id).filter(scope).one(db).await?
        }
    };
    model.map(Conversation::try_from).transpose()
}
