//! The `conversations` table as a SeaORM entity, and the one mapping between its rows and the
//! domain's [`Conversation`]. `self` and `peer` are flattened into `self_*` / `peer_*` columns;
//! enum columns hold their stored spellings.

use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

use crate::domain::{
    happened, Address, AddressType, Body, Conversation, ConversationType, DialogId, Field,
    LongText, OwnerType, ShortText, Target,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
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
    /// 1 at create, +1 on every change.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The column a filterable field is stored in.
pub(super) fn column(field: Field) -> Column {
    match field {
        Field::Id => Column::Id,
        Field::CustomerId => Column::CustomerId,
        Field::OwnerType => Column::OwnerType,
        Field::OwnerId => Column::OwnerId,
        Field::AccountId => Column::AccountId,
        Field::Name => Column::Name,
        Field::Detail => Column::Detail,
        Field::Type => Column::Kind,
        Field::DialogId => Column::DialogId,
        Field::SelfType => Column::SelfType,
        Field::SelfTarget => Column::SelfTarget,
        Field::SelfTargetName => Column::SelfTargetName,
        Field::SelfName => Column::SelfName,
        Field::PeerType => Column::PeerType,
        Field::PeerTarget => Column::PeerTarget,
        Field::PeerTargetName => Column::PeerTargetName,
        Field::PeerName => Column::PeerName,
        Field::TmCreate => Column::TmCreate,
        Field::TmUpdate => Column::TmUpdate,
        Field::TmDelete => Column::TmDelete,
    }
}

fn address_type(stored: &str) -> Result<AddressType, DbErr> {
    AddressType::from_stored(stored)
        .ok_or_else(|| DbErr::Custom(format!("unknown address type {stored:?} in a stored row")))
}

fn stored_address(
    kind: &str,
    target: String,
    target_name: String,
    name: String,
    detail: String,
) -> Result<Address, DbErr> {
    Ok(Address {
        kind: address_type(kind)?,
        target: Target::from_stored(target),
        target_name: ShortText::from_stored(target_name),
        name: ShortText::from_stored(name),
        detail: ShortText::from_stored(detail),
    })
}

impl TryFrom<Model> for Conversation {
    type Error = DbErr;

    /// A stored row as the domain sees it: sentinels and nil owners read as "none".
    fn try_from(m: Model) -> Result<Self, DbErr> {
        let kind = ConversationType::from_stored(&m.kind)
            .ok_or_else(|| DbErr::Custom(format!("unknown conversation type {:?}", m.kind)))?;
        let body = Body {
            customer_id: m.customer_id,
            owner_id: m.owner_id.filter(|o| !o.is_nil()),
            account_id: m.account_id,
            name: ShortText::from_stored(m.name),
            detail: LongText::from_stored(m.detail),
            kind,
            dialog_id: DialogId::from_stored(m.dialog_id),
            self_address: stored_address(
                &m.self_type,
                m.self_target,
                m.self_target_name,
                m.self_name,
                m.self_detail,
            )?,
            peer: stored_address(
                &m.peer_type,
                m.peer_target,
                m.peer_target_name,
                m.peer_name,
                m.peer_detail,
            )?,
        };
        Ok(Conversation {
            id: m.id,
            body,
            version: m.version,
            tm_create: m.tm_create,
            tm_update: happened(m.tm_update),
            tm_delete: happened(m.tm_delete),
        })
    }
}

impl From<&Conversation> for ActiveModel {
    fn from(c: &Conversation) -> Self {
        let b = &c.body;
        let text = |t: &str| Set(t.to_owned());
        ActiveModel {
            id: Set(c.id),
            customer_id: Set(b.customer_id),
            owner_type: text(OwnerType::stored(c.owner_type())),
            owner_id: Set(b.owner_id),
            account_id: Set(b.account_id),
            name: text(&b.name),
            detail: text(&b.detail),
            kind: text(b.kind.as_str()),
            dialog_id: text(&b.dialog_id),
            self_type: text(b.self_address.kind.as_str()),
            self_target: text(b.self_address.target.as_str()),
            self_target_name: text(&b.self_address.target_name),
            self_name: text(&b.self_address.name),
            self_detail: text(&b.self_address.detail),
            peer_type: text(b.peer.kind.as_str()),
            peer_target: text(b.peer.target.as_str()),
            peer_target_name: text(&b.peer.target_name),
            peer_name: text(&b.peer.name),
            peer_detail: text(&b.peer.detail),
            tm_create: Set(c.tm_create),
            tm_update: Set(c.tm_update),
            tm_delete: Set(c.tm_delete),
            version: Set(c.version),
        }
    }
}
