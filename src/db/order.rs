//! Keyset ordering: sort keys, `ORDER BY`, and "beyond this position" conditions.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{DbBackend, Value};

use super::entity::{Column, Model};
use super::filter::not_yet_threshold;
use super::value::time;
use crate::domain::page::{Direction, Order, OrderField, Position, SortKey};

/// `orderBy: TM_UPDATE` sorts on `tm_update` with NULL read as the far future. The text must
/// equal the expression of the `idx_conversations_updated` index (see the migration) so the
/// index serves the sort.
fn tm_update_key_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "COALESCE(tm_update, TIMESTAMPTZ '9000-01-01 00:00:00+00')",
        DbBackend::Sqlite => "COALESCE(tm_update, '9000-01-01T00:00:00+00:00')",
        _ => "COALESCE(tm_update, CAST('9000-01-01 00:00:00' AS DATETIME(6)))",
    }
}

/// The SQL expression a field sorts on.
pub(super) fn key_expr(field: OrderField, backend: DbBackend) -> Expr {
    match field {
        OrderField::TmCreate => Expr::col(Column::TmCreate),
        // Code point order everywhere: PostgreSQL's column collation may be a locale.
        OrderField::Name if backend == DbBackend::Postgres => Expr::cust("(name COLLATE \"C\")"),
        OrderField::Name => Expr::col(Column::Name),
        OrderField::TmUpdate => Expr::cust(tm_update_key_sql(backend)),
    }
}

/// Where a stored row stands in `field`'s order (from the raw row, so that a legacy sentinel
/// keeps the key the database sorts it by).
pub(super) fn position(field: OrderField, row: &Model) -> Position {
    let key = match field {
        OrderField::TmCreate => SortKey::Time(row.tm_create),
        OrderField::TmUpdate => SortKey::Time(row.tm_update.unwrap_or_else(not_yet_threshold)),
        OrderField::Name => SortKey::Text(row.name.clone()),
    };
    Position { key, id: row.id }
}

pub(super) fn key_value(key: &SortKey, backend: DbBackend) -> Value {
    match key {
        SortKey::Time(t) => time(*t, backend),
        SortKey::Text(s) => Value::from(s.clone()),
    }
}

/// The rows strictly after `pos` when walking `order` forwards (`forward == true`), or strictly
/// before it (`forward == false`). Ties on the key are broken by id, in the same direction.
pub(super) fn beyond(order: Order, pos: &Position, forward: bool, backend: DbBackend) -> Expr {
    let greater = (order.direction == Direction::Asc) == forward;
    let key = key_expr(order.field, backend);
    let id = Expr::col(Column::Id);
    let (kv, iv) = (key_value(&pos.key, backend), Value::Uuid(Some(pos.id)));
    match backend {
        // Row values: one range scan on the (key, id) index.
        DbBackend::Postgres | DbBackend::Sqlite => {
            let left = Expr::tuple([key, id]);
            let right = Expr::tuple([Expr::val(kv), Expr::val(iv)]);
            if greater {
                left.gt(right)
            } else {
                left.lt(right)
            }
        }
        _ => {
            let (k_beyond, i_beyond) = if greater {
                (key.clone().gt(kv.clone()), id.gt(iv))
            } else {
                (key.clone().lt(kv.clone()), id.lt(iv))
            };
            k_beyond.or(key.eq(kv).and(i_beyond))
        }
    }
}

/// The sort direction of the SQL query for a walk over `order`.
pub(super) fn sql_order(order: Order, forward: bool) -> sea_orm::Order {
    match (order.direction == Direction::Asc) == forward {
        true => sea_orm::Order::Asc,
        false => sea_orm::Order::Desc,
    }
}
