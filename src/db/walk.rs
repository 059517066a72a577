//! MySQL/MariaDB: a page of a search, which no index narrows there.
//!
//! Left to itself the optimizer walks the page's order index and tests every row: a common
//! word fills the page within a few hundred rows, but a rare one (a phone number) makes it
//! visit the whole table in index order, one random read per row (a minute for a million
//! rows that do not fit in the buffer pool). So a page is read in two steps:
//! 1. the newest [`NEWEST`] rows of the page's walk without the search (their boundary found
//!    on the order index, then those rows tested): enough for a common word;
//! 2. when those hold less than a page, the whole query again, told not to walk the order index
//!    (`IGNORE INDEX FOR ORDER BY`): one sequential read of the table, then a sort.

use sea_orm::sea_query::extension::mysql::{IndexHintScope, MySqlSelectStatementExt};
use sea_orm::sea_query::{Alias, ExprTrait};
use sea_orm::{
    Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
};

use super::entity::{Entity, Model};
use super::filter::compile;
use super::order::{beyond, key_expr, key_value, position, sql_order};
use crate::domain::filter::Predicate;
use crate::domain::page::{OrderField, PageQuery};

/// How many of the newest rows the first step tests.
const NEWEST: u64 = 5000;

/// `filter` without its search, when the search is one of the conditions it ANDs (as the API
/// builds it); `None` otherwise.
fn without_search(filter: &Predicate) -> Option<Predicate> {
    match filter {
        Predicate::Search(_) => Some(Predicate::All),
        Predicate::And(parts) if parts.iter().any(|p| matches!(p, Predicate::Search(_))) => {
            let rest: Vec<Predicate> = parts
                .iter()
                .filter(|p| !matches!(p, Predicate::Search(_)))
                .cloned()
                .collect();
            (!rest.iter().any(Predicate::any_search)).then(|| Predicate::all_of(rest))
        }
        _ => None,
    }
}

/// The rows of `filter` in the page's walk (cursors applied), `limit` of them.
fn walk(query: &PageQuery, filter: &Predicate, scope: &Predicate, limit: u64) -> Select<Entity> {
    let backend = sea_orm::DbBackend::MySql;
    let forward = !query.from_end;
    let mut cond = Condition::all()
        .add(compile(scope, backend))
        .add(compile(filter, backend));
    if let Some(after) = &query.after {
        cond = cond.add(beyond(query.order, after, true, backend));
    }
    if let Some(before) = &query.before {
        cond = cond.add(beyond(query.order, before, false, backend));
    }
    let dir = sql_order(query.order, forward);
    Entity::find()
        .filter(cond)
        .order_by(key_expr(query.order.field, backend), dir.clone())
        .order_by(super::entity::Column::Id, dir)
        .limit(limit)
}

/// The index a walk in `field`'s order would take.
fn order_index(field: OrderField) -> Option<&'static str> {
    match field {
        OrderField::TmCreate => Some("idx_conversations_created"),
        OrderField::Name => Some("idx_conversations_name"),
        // Sorted without an index on MySQL/MariaDB already.
        OrderField::TmUpdate => None,
    }
}

/// The rows of a page of `query` (one more than its limit when there are more), read as the
/// module says; `None` when `query` has no search this can take apart.
pub(super) async fn search_page<C: ConnectionTrait>(
    db: &C,
    query: &PageQuery,
    scope: &Predicate,
) -> Result<Option<Vec<Model>>, DbErr> {
    let Some(rest) = without_search(&query.filter) else {
        return Ok(None);
    };
    let forward = !query.from_end;
    let wanted = query.limit + 1;
    let boundary = walk(query, &rest, scope, 1)
        .offset(NEWEST - 1)
        .one(db)
        .await?;
    let Some(boundary) = boundary else {
        // At most NEWEST rows to test: the walk is short.
        return walk(query, &query.filter, scope, wanted)
            .all(db)
            .await
            .map(Some);
    };
    let backend = sea_orm::DbBackend::MySql;
    let last = position(query.order.field, &boundary);
    // Up to the boundary: a plain range on the order key (which the optimizer reads off the
    // index; it cannot from the negation alone), then exactly.
    let key = key_expr(query.order.field, backend);
    let bound = key_value(&last.key, backend);
    let range = match sql_order(query.order, forward) {
        sea_orm::Order::Desc => key.gte(bound),
        _ => key.lte(bound),
    };
    let newest = walk(query, &query.filter, scope, wanted)
        .filter(range)
        .filter(beyond(query.order, &last, forward, backend).not())
        .all(db)
        .await?;
    if newest.len() as u64 >= wanted {
        return Ok(Some(newest));
    }
    let mut all = walk(query, &query.filter, scope, wanted);
    if let Some(index) = order_index(query.order.field) {
        QueryTrait::query(&mut all).ignore_index(Alias::new(index), IndexHintScope::OrderBy);
    }
    all.all(db).await.map(Some)
}
