//! `conversation_events` as a SeaORM entity, and its rows as [`Event`]s.

use sea_orm::entity::prelude::*;

use crate::domain::{Conversation, Event, EventKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversation_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// NULL until the row has its place in the log.
    pub position: Option<i64>,
    /// `created`, `updated`, `deleted` or `restored`.
    pub kind: String,
    pub conversation_id: Uuid,
    pub customer_id: Uuid,
    pub at: DateTimeUtc,
    /// The conversation after the change (JSON).
    #[sea_orm(column_type = "Text")]
    pub conversation: String,
    /// The conversation before the change (JSON); NULL for a creation.
    #[sea_orm(column_type = "Text", nullable)]
    pub previous: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

fn corrupt(what: &str, id: i64, detail: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("event row {id}: {what}: {detail}"))
}

fn conversation(json: &str, id: i64) -> Result<Conversation, DbErr> {
    serde_json::from_str(json).map_err(|e| corrupt("unreadable conversation", id, e))
}

impl TryFrom<Model> for Event {
    type Error = DbErr;

    /// A row that has a position, as an event.
    fn try_from(m: Model) -> Result<Self, DbErr> {
        let position = m
            .position
            .and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| corrupt("no position", m.id, "NULL or negative"))?;
        let kind = EventKind::from_stored(&m.kind).ok_or_else(|| corrupt("kind", m.id, &m.kind))?;
        Ok(Event {
            position,
            kind,
            conversation: conversation(&m.conversation, m.id)?,
            previous: m
                .previous
                .as_deref()
                .map(|p| conversation(p, m.id))
                .transpose()?,
            at: m.at,
        })
    }
}
