//! The conversation, in one shape: what a client chooses ([`Body`], checked from a
//! [`RawBody`]), what the server adds ([`Conversation`]), its fields as the filter language
//! names them ([`Field`]), and its JSON form, the source platform's REST shape (snake_case,
//! `self`/`peer` objects, `tm_*` times), which events, exports and imports all use.
//!
//! `version` counts the changes: 1 at create, one more for every update, delete and restore
//! (a write that changes nothing leaves it). A record without one (data from before it
//! existed, the source platform's exports) is at version 1.
//!
//! Adding a field to a conversation means adding it here (struct, raw input, record, JSON,
//! [`Conversation::value`]) and in the layers that show or store it; nothing else maps a
//! conversation field by field.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::address::{Address, AddressType, RawAddress, Target};
use super::kinds::{ConversationType, OwnerType};
use super::text::{DialogId, LongText, ShortText};
use super::time::{format, happened, parse_record_time};
use super::Invalid;

/// What a client chooses about a conversation, every part valid. Its JSON form (in field
/// order) is what the idempotency digest is taken of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Body {
    /// The customer (tenant) it belongs to.
    pub customer_id: Uuid,
    /// The owning agent, if any (the owner type is then `agent`). Never the nil UUID.
    pub owner_id: Option<Uuid>,
    pub account_id: Uuid,
    pub name: ShortText,
    pub detail: LongText,
    #[serde(rename = "type")]
    pub kind: ConversationType,
    pub dialog_id: DialogId,
    #[serde(rename = "self")]
    pub self_address: Address,
    pub peer: Address,
}

/// The parts of a [`Body`] as a client or a record gave them, not yet checked.
#[derive(Debug, Clone)]
pub struct RawBody {
    pub customer_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub account_id: Uuid,
    pub name: String,
    pub detail: String,
    pub kind: ConversationType,
    pub dialog_id: String,
    pub self_address: RawAddress,
    pub peer: RawAddress,
}

impl RawBody {
    /// Checks every part; an error names the field in the API's spelling (`peer.target`).
    pub fn parse(self) -> Result<Body, Invalid> {
        Ok(Body {
            customer_id: self.customer_id,
            owner_id: self.owner_id.filter(|id| !id.is_nil()),
            account_id: self.account_id,
            name: ShortText::parse("name", self.name)?,
            detail: LongText::parse("detail", self.detail)?,
            kind: self.kind,
            dialog_id: DialogId::parse("dialogId", self.dialog_id)?,
            self_address: self.self_address.parse().map_err(|e| e.within("self"))?,
            peer: self.peer.parse().map_err(|e| e.within("peer"))?,
        })
    }
}

/// A stored conversation, with "not yet" already normalised: no sentinel timestamps, no nil
/// owner ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: Uuid,
    pub body: Body,
    /// 1 at create, +1 on every change.
    pub version: i32,
    pub tm_create: DateTime<Utc>,
    pub tm_update: Option<DateTime<Utc>>,
    pub tm_delete: Option<DateTime<Utc>>,
}

impl Conversation {
    /// `body` as a stored conversation at version 1: "not yet" sentinels in the times are
    /// read as `None`.
    pub fn new(
        id: Uuid,
        body: Body,
        tm_create: DateTime<Utc>,
        tm_update: Option<DateTime<Utc>>,
        tm_delete: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id,
            body,
            version: 1,
            tm_create,
            tm_update: happened(tm_update),
            tm_delete: happened(tm_delete),
        }
    }

    /// The owner type, which follows the owner id.
    pub fn owner_type(&self) -> Option<OwnerType> {
        self.body.owner_id.map(|_| OwnerType::Agent)
    }
}

/// A filterable field of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    // Ids.
    Id,
    CustomerId,
    OwnerId,
    AccountId,
    // Enums.
    OwnerType,
    Type,
    SelfType,
    PeerType,
    // Text.
    Name,
    Detail,
    DialogId,
    SelfTarget,
    SelfTargetName,
    SelfName,
    PeerTarget,
    PeerTargetName,
    PeerName,
    // Times.
    TmCreate,
    TmUpdate,
    TmDelete,
}

/// A field's value on one conversation, with "null" explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Uuid(Option<Uuid>),
    Text(&'a str),
    Time(Option<DateTime<Utc>>),
    Type(ConversationType),
    AddressType(AddressType),
    OwnerType(Option<OwnerType>),
}

impl Conversation {
    /// The value of `field`.
    pub fn value(&self, field: Field) -> FieldValue<'_> {
        use FieldValue::{Text, Time};
        let b = &self.body;
        match field {
            Field::Id => FieldValue::Uuid(Some(self.id)),
            Field::CustomerId => FieldValue::Uuid(Some(b.customer_id)),
            Field::OwnerId => FieldValue::Uuid(b.owner_id),
            Field::AccountId => FieldValue::Uuid(Some(b.account_id)),
            Field::OwnerType => FieldValue::OwnerType(self.owner_type()),
            Field::Type => FieldValue::Type(b.kind),
            Field::SelfType => FieldValue::AddressType(b.self_address.kind),
            Field::PeerType => FieldValue::AddressType(b.peer.kind),
            Field::Name => Text(&b.name),
            Field::Detail => Text(&b.detail),
            Field::DialogId => Text(&b.dialog_id),
            Field::SelfTarget => Text(b.self_address.target.as_str()),
            Field::SelfTargetName => Text(&b.self_address.target_name),
            Field::SelfName => Text(&b.self_address.name),
            Field::PeerTarget => Text(b.peer.target.as_str()),
            Field::PeerTargetName => Text(&b.peer.target_name),
            Field::PeerName => Text(&b.peer.name),
            Field::TmCreate => Time(Some(self.tm_create)),
            Field::TmUpdate => Time(self.tm_update),
            Field::TmDelete => Time(self.tm_delete),
        }
    }
}

/// The JSON form (field order as in the source platform's REST API): times in
/// [`format`]'s form, `null` for "not yet"; `owner_type` `""` and `owner_id` `null` for no
/// owner; `version` last (the source platform has none).
impl Serialize for Conversation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = &self.body;
        let mut out = s.serialize_struct("Conversation", 15)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("customer_id", &b.customer_id)?;
        out.serialize_field("owner_type", OwnerType::stored(self.owner_type()))?;
        out.serialize_field("owner_id", &b.owner_id)?;
        out.serialize_field("account_id", &b.account_id)?;
        out.serialize_field("name", &b.name)?;
        out.serialize_field("detail", &b.detail)?;
        out.serialize_field("type", &b.kind)?;
        out.serialize_field("dialog_id", &b.dialog_id)?;
        out.serialize_field("self", &b.self_address)?;
        out.serialize_field("peer", &b.peer)?;
        out.serialize_field("tm_create", &format(&self.tm_create))?;
        out.serialize_field("tm_update", &self.tm_update.as_ref().map(format))?;
        out.serialize_field("tm_delete", &self.tm_delete.as_ref().map(format))?;
        out.serialize_field("version", &self.version)?;
        out.end()
    }
}

/// The JSON form as read: every field leniently typed, so that [`Record::parse`] can name
/// what is wrong with it. `""`, `null` and missing mean the same for strings.
#[derive(Debug, Deserialize)]
pub struct Record {
    id: Option<Uuid>,
    customer_id: Option<Uuid>,
    #[serde(default)]
    owner_type: Option<String>,
    #[serde(default)]
    owner_id: Option<String>,
    account_id: Option<Uuid>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dialog_id: Option<String>,
    #[serde(rename = "self")]
    self_address: Option<RecordAddress>,
    peer: Option<RecordAddress>,
    #[serde(default)]
    tm_create: Option<String>,
    #[serde(default)]
    tm_update: Option<String>,
    #[serde(default)]
    tm_delete: Option<String>,
    /// Missing or `null`: 1.
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct RecordAddress {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    target_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl RecordAddress {
    fn raw(self) -> Result<RawAddress, Invalid> {
        let kind = self.kind.unwrap_or_default();
        Ok(RawAddress {
            kind: AddressType::from_stored(&kind)
                .ok_or_else(|| Invalid::new("type", format!("`{kind}` is not an address type")))?,
            target: self.target.unwrap_or_default(),
            target_name: self.target_name.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            detail: self.detail.unwrap_or_default(),
        })
    }
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, Invalid> {
    value.ok_or_else(|| Invalid::new(field, "is required"))
}

fn record_time(field: &str, text: Option<String>) -> Result<Option<DateTime<Utc>>, Invalid> {
    text.map_or(Ok(None), |t| {
        parse_record_time(&t).map_err(|m| Invalid::new(field, m))
    })
}

impl Record {
    /// The conversation the record describes, checked with the API's rules (field names in
    /// the API's spelling: `peer.targetName`); its id and times are kept.
    pub fn parse(self) -> Result<Conversation, Invalid> {
        let owner_id = match self.owner_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                Uuid::try_parse(s)
                    .map_err(|_| Invalid::new("ownerId", format!("`{s}` is not a UUID")))?,
            ),
        };
        match self.owner_type.as_deref() {
            None | Some("") | Some("agent") => {}
            Some(other) => {
                return Err(Invalid::new(
                    "ownerType",
                    format!("`{other}` is not an owner type (`agent` or empty)"),
                ))
            }
        }
        let kind_text = required("type", self.kind)?;
        let kind = ConversationType::from_stored(&kind_text).ok_or_else(|| {
            Invalid::new(
                "type",
                format!("`{kind_text}` is not a conversation type (`message` or `line`)"),
            )
        })?;
        let address = |field: &str, a: Option<RecordAddress>| {
            required(field, a)?.raw().map_err(|e| e.within(field))
        };
        let body = RawBody {
            customer_id: required("customerId", self.customer_id)?,
            owner_id,
            account_id: required("accountId", self.account_id)?,
            name: self.name.unwrap_or_default(),
            detail: self.detail.unwrap_or_default(),
            kind,
            dialog_id: self.dialog_id.unwrap_or_default(),
            self_address: address("self", self.self_address)?,
            peer: address("peer", self.peer)?,
        }
        .parse()?;
        let tm_create = record_time("tmCreate", self.tm_create)?
            .ok_or_else(|| Invalid::new("tmCreate", "is required and must be a real time"))?;
        let version = match self.version {
            None => 1,
            Some(v) => i32::try_from(v).ok().filter(|v| *v >= 1).ok_or_else(|| {
                Invalid::new(
                    "version",
                    format!("must be from 1 to {}, not {v}", i32::MAX),
                )
            })?,
        };
        Ok(Conversation {
            version,
            ..Conversation::new(
                required("id", self.id)?,
                body,
                tm_create,
                record_time("tmUpdate", self.tm_update)?,
                record_time("tmDelete", self.tm_delete)?,
            )
        })
    }

    /// The conversation as this server wrote it (events): trusted, so texts are not
    /// re-checked (a row written around the server must not make its events unreadable).
    fn trusted(self) -> Result<Conversation, Invalid> {
        let text = |v: Option<String>| v.unwrap_or_default();
        let address = |field: &str, a: Option<RecordAddress>| -> Result<Address, Invalid> {
            let raw = required(field, a)?.raw().map_err(|e| e.within(field))?;
            Ok(Address {
                kind: raw.kind,
                target: Target::from_stored(raw.target),
                target_name: ShortText::from_stored(raw.target_name),
                name: ShortText::from_stored(raw.name),
                detail: ShortText::from_stored(raw.detail),
            })
        };
        let kind_text = required("type", self.kind)?;
        let body = Body {
            customer_id: required("customerId", self.customer_id)?,
            owner_id: self
                .owner_id
                .and_then(|s| Uuid::try_parse(&s).ok())
                .filter(|u| !u.is_nil()),
            account_id: required("accountId", self.account_id)?,
            name: ShortText::from_stored(text(self.name)),
            detail: LongText::from_stored(text(self.detail)),
            kind: ConversationType::from_stored(&kind_text)
                .ok_or_else(|| Invalid::new("type", "unknown conversation type"))?,
            dialog_id: DialogId::from_stored(text(self.dialog_id)),
            self_address: address("self", self.self_address)?,
            peer: address("peer", self.peer)?,
        };
        let version = self
            .version
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(1);
        Ok(Conversation {
            version,
            ..Conversation::new(
                required("id", self.id)?,
                body,
                required("tmCreate", record_time("tmCreate", self.tm_create)?)?,
                record_time("tmUpdate", self.tm_update)?,
                record_time("tmDelete", self.tm_delete)?,
            )
        })
    }
}

/// Reads the JSON form this server writes (events).
impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Record::deserialize(d)?
            .trusted()
            .map_err(serde::de::Error::custom)
    }
}
