//! Reading only the columns a reader needs ([`Parts`]), decoded by position: a page of 20 rows
//! decoded by column name spends most of its time looking names up and checking the types of
//! columns nobody asked for.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use uuid::Uuid;

use super::entity::{Column, Entity, Model};
use crate::domain::page::OrderField;
use crate::domain::{Part, Parts};

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

/// The columns to read for `parts`, the id first, and the sort key of `order` (a row's
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

/// `SELECT columns FROM conversations`, to which the caller adds its conditions (built as
/// sea-query builds it, without first listing every column as `Entity::find()` does).
pub(super) fn select(columns: &[Column]) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(columns.iter().map(|column| (Entity, *column)))
        .from(Entity);
    select
}

/// A row with the placeholders [`Parts`] documents in every column not read.
fn placeholder() -> Model {
    Model {
        id: Uuid::nil(),
        customer_id: Uuid::nil(),
        owner_type: String::new(),
        owner_id: None,
        account_id: Uuid::nil(),
        name: String::new(),
        detail: String::new(),
        kind: "message".to_owned(),
        dialog_id: String::new(),
        self_type: String::new(),
        self_target: String::new(),
        self_target_name: String::new(),
        self_name: String::new(),
        self_detail: String::new(),
        peer_type: String::new(),
        peer_target: String::new(),
        peer_target_name: String::new(),
        peer_name: String::new(),
        peer_detail: String::new(),
        tm_create: chrono::DateTime::UNIX_EPOCH,
        tm_update: None,
        tm_delete: None,
        version: 0,
    }
}

/// A row read with `columns` (in that order), decoded by position.
pub(super) fn decode(row: &QueryResult, columns: &[Column]) -> Result<Model, DbErr> {
    let mut m = placeholder();
    for (i, column) in columns.iter().enumerate() {
        match column {
            Column::Id => m.id = row.try_get_by_index(i)?,
            Column::CustomerId => m.customer_id = row.try_get_by_index(i)?,
            Column::OwnerType => m.owner_type = row.try_get_by_index(i)?,
            Column::OwnerId => m.owner_id = row.try_get_by_index(i)?,
            Column::AccountId => m.account_id = row.try_get_by_index(i)?,
            Column::Name => m.name = row.try_get_by_index(i)?,
            Column::Detail => m.detail = row.try_get_by_index(i)?,
            Column::Kind => m.kind = row.try_get_by_index(i)?,
            Column::DialogId => m.dialog_id = row.try_get_by_index(i)?,
            Column::SelfType => m.self_type = row.try_get_by_index(i)?,
            Column::SelfTarget => m.self_target = row.try_get_by_index(i)?,
            Column::SelfTargetName => m.self_target_name = row.try_get_by_index(i)?,
            Column::SelfName => m.self_name = row.try_get_by_index(i)?,
            Column::SelfDetail => m.self_detail = row.try_get_by_index(i)?,
            Column::PeerType => m.peer_type = row.try_get_by_index(i)?,
            Column::PeerTarget => m.peer_target = row.try_get_by_index(i)?,
            Column::PeerTargetName => m.peer_target_name = row.try_get_by_index(i)?,
            Column::PeerName => m.peer_name = row.try_get_by_index(i)?,
            Column::PeerDetail => m.peer_detail = row.try_get_by_index(i)?,
            Column::TmCreate => m.tm_create = row.try_get_by_index(i)?,
            Column::TmUpdate => m.tm_update = row.try_get_by_index(i)?,
            Column::TmDelete => m.tm_delete = row.try_get_by_index(i)?,
            Column::Version => m.version = row.try_get_by_index(i)?,
        }
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
