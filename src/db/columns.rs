//! Reading only the columns a reader needs ([`Parts`]), decoded by position: a page of 20 rows
//! decoded by column name spends most of its time looking names up and converting columns
//! nobody asked for.
//!
//! A column that no [`Part`] names is read only by whole-row reads ([`Parts::ALL`] takes
//! `Entity::find()`), so a new column needs no line here to be read correctly.

use std::any::Any;
use std::sync::Arc;

use sea_orm::sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder, Values,
};
use sea_orm::sqlx::{self, AssertSqlSafe, Row};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ModelTrait, RuntimeErr, Value,
};
use sea_query_sqlx::SqlxValues;

use super::entity::{Column, Entity, Model};
use crate::domain::page::OrderField;
use crate::domain::{ConversationType, Part, Parts};

/// The column of each part.
const PARTS: [(Part, Column); 21] = [
    (Part::CustomerId, Column::CustomerId),
    (Part::Owner, Column::OwnerId),
    (Part::AccountId, Column::AccountId),
    (Part::Name, Column::Name),
    (Part::Detail, Column::Detail),
    (Part::Kind, Column::Kind),
    (Part::DialogId, Column::DialogId),
    (Part::SelfType, Column::SelfType),
    (Part::SelfTarget, Column::SelfTarget),
    (Part::SelfTargetName, Column::SelfTargetName),
    (Part::SelfName, Column::SelfName),
    (Part::SelfDetail, Column::SelfDetail),
    (Part::PeerType, Column::PeerType),
    (Part::PeerTarget, Column::PeerTarget),
    (Part::PeerTargetName, Column::PeerTargetName),
    (Part::PeerName, Column::PeerName),
    (Part::PeerDetail, Column::PeerDetail),
    (Part::TmCreate, Column::TmCreate),
    (Part::TmUpdate, Column::TmUpdate),
    (Part::TmDelete, Column::TmDelete),
    (Part::Version, Column::Version),
];

/// The columns to read for `parts`, the id first, then the sort key of `order` (a row's
/// position is computed from the stored row).
pub(super) fn columns(parts: Parts, order: Option<OrderField>) -> Vec<Column> {
    let key = order.map(|field| match field {
        OrderField::TmCreate => Part::TmCreate,
        OrderField::TmUpdate => Part::TmUpdate,
        OrderField::Name => Part::Name,
    });
    let mut out = Vec::with_capacity(PARTS.len() + 1);
    out.push(Column::Id);
    out.extend(
        PARTS
            .iter()
            .filter(|(part, _)| parts.has(*part) || key == Some(*part))
            .map(|(_, column)| *column),
    );
    out
}

/// `SELECT columns FROM conversations`, to which the caller adds its conditions (one table:
/// its columns need no table name, which halves the quoting sea-query does).
pub(super) fn select(columns: &[Column]) -> SelectStatement {
    let mut select = Query::select();
    select.columns(columns.iter().copied()).from(Entity);
    select
}

/// A row with the placeholders [`Parts`] documents in every column not read (the defaults,
/// and a type the domain reads).
fn placeholder() -> Model {
    Model {
        kind: ConversationType::Message.as_str().to_owned(),
        ..Model::default()
    }
}

/// A driver error as SeaORM reports one.
fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// One column of a row into the model's field: straight into the field for the columns
/// [`Parts`] names, through the model's [`Value`]s for any other.
macro_rules! set_field {
    ($m:expr, $row:expr, $i:expr, $column:expr) => {
        match $column {
            Column::Id => $m.id = $row.try_get($i).map_err(query_err)?,
            Column::CustomerId => $m.customer_id = $row.try_get($i).map_err(query_err)?,
            Column::OwnerId => $m.owner_id = $row.try_get($i).map_err(query_err)?,
            Column::AccountId => $m.account_id = $row.try_get($i).map_err(query_err)?,
            Column::Name => $m.name = $row.try_get($i).map_err(query_err)?,
            Column::Detail => $m.detail = $row.try_get($i).map_err(query_err)?,
            Column::Kind => $m.kind = $row.try_get($i).map_err(query_err)?,
            Column::DialogId => $m.dialog_id = $row.try_get($i).map_err(query_err)?,
            Column::SelfType => $m.self_type = $row.try_get($i).map_err(query_err)?,
            Column::SelfTarget => $m.self_target = $row.try_get($i).map_err(query_err)?,
            Column::SelfTargetName => $m.self_target_name = $row.try_get($i).map_err(query_err)?,
            Column::SelfName => $m.self_name = $row.try_get($i).map_err(query_err)?,
            Column::SelfDetail => $m.self_detail = $row.try_get($i).map_err(query_err)?,
            Column::PeerType => $m.peer_type = $row.try_get($i).map_err(query_err)?,
            Column::PeerTarget => $m.peer_target = $row.try_get($i).map_err(query_err)?,
            Column::PeerTargetName => $m.peer_target_name = $row.try_get($i).map_err(query_err)?,
            Column::PeerName => $m.peer_name = $row.try_get($i).map_err(query_err)?,
            Column::PeerDetail => $m.peer_detail = $row.try_get($i).map_err(query_err)?,
            Column::TmCreate => $m.tm_create = $row.try_get($i).map_err(query_err)?,
            Column::TmUpdate => $m.tm_update = $row.try_get($i).map_err(query_err)?,
            Column::TmDelete => $m.tm_delete = $row.try_get($i).map_err(query_err)?,
            Column::Version => $m.version = $row.try_get($i).map_err(query_err)?,
            column => {
                let value = match $m.get(column) {
                    Value::Uuid(_) => Value::Uuid($row.try_get($i).map_err(query_err)?),
                    Value::String(_) => Value::String($row.try_get($i).map_err(query_err)?),
                    Value::ChronoDateTimeUtc(_) => {
                        Value::ChronoDateTimeUtc($row.try_get($i).map_err(query_err)?)
                    }
                    Value::Int(_) => Value::Int($row.try_get($i).map_err(query_err)?),
                    other => {
                        return Err(DbErr::Custom(format!(
                            "no positional decoding for {column:?} ({other:?})"
                        )))
                    }
                };
                $m.try_set(column, value)?;
            }
        }
    };
}

/// Rows read with `columns` (in that order), decoded by position into the model's fields.
macro_rules! decode {
    ($rows:expr, $columns:expr) => {
        $rows
            .iter()
            .map(|row| {
                let mut m = placeholder();
                for (i, column) in $columns.iter().copied().enumerate() {
                    set_field!(m, row, i, column);
                }
                Ok(m)
            })
            .collect::<Result<Vec<Model>, DbErr>>()
    };
}

/// How many rows a read takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Take {
    /// At most one (a primary-key lookup: no `LIMIT`).
    One,
    /// At most this many (`LIMIT n`).
    Upto(u64),
}

/// A statement's text and values, run on one backend's pool.
macro_rules! run_on {
    ($sql:expr, $values:expr, $pool:expr, $take:expr, $columns:expr) => {{
        let query = sqlx::query_with(AssertSqlSafe($sql), SqlxValues($values));
        match $take {
            Take::One => match query.fetch_optional($pool).await {
                Ok(row) => decode!(row, $columns),
                Err(e) => Err(query_err(e)),
            },
            Take::Upto(_) => match query.fetch_all($pool).await {
                Ok(rows) => decode!(rows, $columns),
                Err(e) => Err(query_err(e)),
            },
        }
    }};
}

/// `db` as a pool, which [`all`] reads from; `None` for a transaction, whose caller reads
/// whole rows through SeaORM instead.
pub(super) fn pool<C: ConnectionTrait + 'static>(db: &C) -> Option<&DatabaseConnection> {
    (db as &dyn Any).downcast_ref::<DatabaseConnection>()
}

/// The rows of `select`, which reads `columns` (see [`select`]), run on the pool's own driver
/// (SeaORM's generic path costs as much again as the read itself).
///
/// The limit is written into the statement's text rather than bound: SQLite (built with STAT4)
/// prepares a statement again on every run whose bound `LIMIT` may steer its plan, and a
/// handful of page sizes are a handful of cached statements.
pub(super) async fn all(
    db: &DatabaseConnection,
    select: &SelectStatement,
    columns: &[Column],
    take: Take,
) -> Result<Vec<Model>, DbErr> {
    let (mut sql, values) = build(select, db.get_database_backend());
    if let Take::Upto(n) = take {
        use std::fmt::Write as _;
        let _ = write!(sql, " LIMIT {n}");
    }
    run(db, Arc::from(sql), values, columns, take).await
}

/// `select`'s text and values for `backend`.
pub(super) fn build(select: &SelectStatement, backend: DbBackend) -> (String, Values) {
    match backend {
        DbBackend::Postgres => select.build(PostgresQueryBuilder),
        DbBackend::Sqlite => select.build(SqliteQueryBuilder),
        _ => select.build(MysqlQueryBuilder),
    }
}

/// Runs a built statement that reads `columns` (its text already holds any `LIMIT`).
pub(super) async fn run(
    db: &DatabaseConnection,
    sql: Arc<str>,
    values: Values,
    columns: &[Column],
    take: Take,
) -> Result<Vec<Model>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => run_on!(
            sql,
            values,
            db.get_postgres_connection_pool(),
            take,
            columns
        ),
        DbBackend::Sqlite => run_on!(sql, values, db.get_sqlite_connection_pool(), take, columns),
        _ => run_on!(sql, values, db.get_mysql_connection_pool(), take, columns),
    }
}
