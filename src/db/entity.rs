//! The `conversations` table as a SeaORM entity. `self` and `peer` are flattened into
//! `self_*` / `peer_*` columns; enum columns hold their stored spellings.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `"agent"`, or `""` when nobody owns the conversation.
    pub owner_type: String,
    /// NULL (or the nil UUID, in older data) when nobody owns the conversation.
    pub owner_id: Option<Uuid>,
    pub account_id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    /// `"message"` or `"line"`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub dialog_id: String,
    pub self_type: String,
    pub self_target: String,
    pub self_target_name: String,
    pub self_name: String,
    pub self_detail: String,
    pub peer_type: String,
    pub peer_target: String,
    pub peer_target_name: String,
    pub peer_name: String,
    pub peer_detail: String,
    pub tm_create: DateTimeUtc,
    /// NULL (or the legacy `9999-01-01` sentinel) until the first update.
    pub tm_update: Option<DateTimeUtc>,
    /// NULL (or the legacy sentinel) unless soft-deleted.
    pub tm_delete: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
