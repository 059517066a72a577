//! Reading only the columns a reader needs ([`Parts`]), decoded by position: a page of 20 rows
//! decoded by column name spends most of its time looking names up and converting columns
//! nobody asked for.
//!
//! A column that no [`Part`] names is read only by whole-row reads ([`Parts::ALL`] takes
//! `Entity::find()`), so a new column needs no line here to be read correctly.

use std::any::Any;
use std::sync::Arc;

use sea_orm::sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder,
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

/// Rows read with `columns` (in that order), decoded by position into the types of the
/// model's own fields.
macro_rules! decode {
    ($rows:expr, $columns:expr) => {
        $rows
            .iter()
            .map(|row| {
                let mut m = placeholder();
                for (i, column) in $columns.iter().copied().enumerate() {
                    let value = match m.get(column) {
                        Value::Uuid(_) => Value::Uuid(row.try_get(i).map_err(query_err)?),
                        Value::String(_) => Value::String(row.try_get(i).map_err(query_err)?),
                        Value::ChronoDateTimeUtc(_) => {
                            Value::ChronoDateTimeUtc(row.try_get(i).map_err(query_err)?)
                        }
                        Value::Int(_) => Value::Int(row.try_get(i).map_err(query_err)?),
                        other => {
                            return Err(DbErr::Custom(format!(
                                "no positional decoding for {column:?} ({other:?})"
                            )))
                        }
                    };
                    m.try_set(column, value)?;
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

/// [`all`] on one backend's pool.
macro_rules! run_on {
    ($select:expr, $builder:expr, $pool:expr, $take:expr, $columns:expr) => {{
        let (mut sql, values) = $select.build($builder);
        match $take {
            Take::One => match sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
                .fetch_optional($pool)
                .await
            {
                Ok(row) => decode!(row, $columns),
                Err(e) => Err(query_err(e)),
            },
            Take::Upto(n) => {
                use std::fmt::Write as _;
                let _ = write!(sql, " LIMIT {n}");
                match sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
                    .fetch_all($pool)
                    .await
                {
                    Ok(rows) => decode!(rows, $columns),
                    Err(e) => Err(query_err(e)),
                }
            }
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
    match db.get_database_backend() {
        DbBackend::Postgres => run_on!(
            select,
            PostgresQueryBuilder,
            db.get_postgres_connection_pool(),
            take,
            columns
        ),
        DbBackend::Sqlite => run_on!(
            select,
            SqliteQueryBuilder,
            db.get_sqlite_connection_pool(),
            take,
            columns
        ),
        _ => run_on!(
            select,
            MysqlQueryBuilder,
            db.get_mysql_connection_pool(),
            take,
            columns
        ),
    }
}
