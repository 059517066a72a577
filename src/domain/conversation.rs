//! The conversation: what is read, what may be created, what may be changed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::address::{Address, AddressType};
use super::text::{BoundedText, DialogId};
use super::Invalid;

/// The channel a conversation runs on. Stored as `message` / `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationType {
    Message,
    Line,
}

impl ConversationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Line => "line",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "message" => Some(Self::Message),
            "line" => Some(Self::Line),
            _ => None,
        }
    }
}

/// A conversation as read from storage, with "not yet" already normalised: no sentinel
/// timestamps, no nil owner ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The owning agent, if any (the owner type is then `agent`).
    pub owner_id: Option<Uuid>,
    pub account_id: Uuid,
    pub name: String,
    pub detail: String,
    pub kind: ConversationType,
    pub dialog_id: String,
    pub self_address: Address,
    pub peer: Address,
    pub tm_create: DateTime<Utc>,
    pub tm_update: Option<DateTime<Utc>>,
    pub tm_delete: Option<DateTime<Utc>>,
}

/// Unvalidated parts of a new conversation, as a client sent them.
#[derive(Debug, Clone)]
pub struct NewConversationInput {
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

/// Unvalidated address parts.
#[derive(Debug, Clone)]
pub struct RawAddress {
    pub kind: AddressType,
    pub target: String,
    pub target_name: String,
    pub name: String,
    pub detail: String,
}

impl RawAddress {
    fn parse(self, field: &str) -> Result<Address, Invalid> {
        Address::parse(
            self.kind,
            self.target,
            self.target_name,
            self.name,
            self.detail,
        )
        .map_err(|e| e.within(field))
    }
}

/// A new conversation whose every field is valid. The server adds id and timestamps.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub customer_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub account_id: Uuid,
    pub name: String,
    pub detail: String,
    pub kind: ConversationType,
    pub dialog_id: String,
    pub self_address: Address,
    pub peer: Address,
}

impl NewConversation {
    pub fn parse(input: NewConversationInput) -> Result<Self, Invalid> {
        Ok(Self {
            customer_id: input.customer_id,
            owner_id: input.owner_id.filter(|id| !id.is_nil()),
            account_id: input.account_id,
            name: BoundedText::<255>::parse("name", input.name)?.into_inner(),
            detail: BoundedText::<4096>::parse("detail", input.detail)?.into_inner(),
            kind: input.kind,
            dialog_id: DialogId::parse("dialogId", input.dialog_id)?.into_inner(),
            self_address: input.self_address.parse("self")?,
            peer: input.peer.parse("peer")?,
        })
    }

    /// The stored conversation this becomes, with its identity and timestamps (the store's
    /// for a new one; the source's for an imported one). "Not yet" sentinels are read as
    /// `None` (see [`super::happened`]).
    pub fn into_conversation(
        self,
        id: Uuid,
        tm_create: DateTime<Utc>,
        tm_update: Option<DateTime<Utc>>,
        tm_delete: Option<DateTime<Utc>>,
    ) -> Conversation {
        Conversation {
            id,
            customer_id: self.customer_id,
            owner_id: self.owner_id,
            account_id: self.account_id,
            name: self.name,
            detail: self.detail,
            kind: self.kind,
            dialog_id: self.dialog_id,
            self_address: self.self_address,
            peer: self.peer,
            tm_create,
            tm_update: super::happened(tm_update),
            tm_delete: super::happened(tm_delete),
        }
    }
}

/// What happens to the owner in an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnerPatch {
    /// Left out: unchanged.
    #[default]
    Keep,
    /// Explicit null: nobody owns it.
    Unassign,
    /// This agent owns it.
    Assign(Uuid),
}

/// A validated change: `None` / [`OwnerPatch::Keep`] leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ConversationPatch {
    pub name: Option<String>,
    pub detail: Option<String>,
    pub owner: OwnerPatch,
}

impl ConversationPatch {
    pub fn parse(
        name: Option<String>,
        detail: Option<String>,
        owner: OwnerPatch,
    ) -> Result<Self, Invalid> {
        let owner = match owner {
            OwnerPatch::Assign(id) if id.is_nil() => OwnerPatch::Unassign,
            other => other,
        };
        Ok(Self {
            name: name
                .map(|n| BoundedText::<255>::parse("name", n).map(BoundedText::into_inner))
                .transpose()?,
            detail: detail
                .map(|d| BoundedText::<4096>::parse("detail", d).map(BoundedText::into_inner))
                .transpose()?,
            owner,
        })
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.detail.is_none() && self.owner == OwnerPatch::Keep
    }
}
