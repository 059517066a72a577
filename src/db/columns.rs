//! Reading only the columns a reader needs ([`Parts`]), decoded by position: a page of 20 rows
//! decoded by column name spends most of its time looking names up and converting columns
//! nobody asked for.
//!
//! A column that no [`Part`] names is read only by whole-row reads ([`Parts::ALL`] takes
//! `Entity::find()`), so a new column needs no line here to be read correctly.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, ModelTrait, QueryResult, Value};

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

/// `SELECT columns FROM conversations`, to which the caller adds its conditions.
pub(super) fn select(columns: &[Column]) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(columns.iter().map(|column| (Entity, *column)))
        .from(Entity);
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

/// A row read with `columns` (in that order), decoded by position into the types of the
/// model's own fields.
fn decode(row: &QueryResult, columns: &[Column]) -> Result<Model, DbErr> {
    let mut m = placeholder();
    for (i, column) in columns.iter().copied().enumerate() {
        let value = match m.get(column) {
            Value::Uuid(_) => Value::Uuid(row.try_get_by_index(i)?),
            Value::String(_) => Value::String(row.try_get_by_index(i)?),
            Value::ChronoDateTimeUtc(_) => Value::ChronoDateTimeUtc(row.try_get_by_index(i)?),
            Value::Int(_) => Value::Int(row.try_get_by_index(i)?),
            other => {
                return Err(DbErr::Custom(format!(
                    "no positional decoding for {column:?} ({other:?})"
                )))
            }
        };
        m.try_set(column, value)?;
    }
    Ok(m)
}

/// The rows of `select`, which reads `columns` (see [`select`]).
pub(super) async fn all<C: ConnectionTrait>(
    db: &C,
    select: &SelectStatement,
    columns: &[Column],
) -> Result<Vec<Model>, DbErr> {
    let statement = db.get_database_backend().build(select);
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| decode(row, columns))
        .collect()
}
