//! Output types: `Conversation`, `Address` and their enums.

use async_graphql::{Enum, InputObject, MaybeUndefined, Object, ID};

use super::scalars::{DateTime, Uuid};
use crate::domain::{self, ConversationPatch, Invalid, OwnerPatch};

/// The channel a conversation runs on.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::ConversationType")]
pub enum ConversationType {
    /// SMS/MMS messaging (stored as `message`).
    Message,
    /// The LINE messaging platform (stored as `line`).
    Line,
}

/// What kind of endpoint an address names, and so what its `target` holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::AddressType")]
pub enum AddressType {
    /// No type (stored `""`); `target` may be anything, even empty.
    None,
    /// A phone number; `target` is E.164 (`+14703298699`).
    Tel,
    /// An email address; `target` is `local@domain.tld`.
    Email,
    /// A SIP address; `target` is `user@domain`.
    Sip,
    /// A LINE user or chatroom id (non-empty).
    Line,
    /// A WhatsApp number; `target` is E.164.
    Whatsapp,
    /// An agent; `target` is the agent's UUID.
    Agent,
    /// A conference; `target` is its UUID.
    Conference,
    /// An extension; `target` is its UUID.
    Extension,
    /// A web chat; `target` is its UUID.
    Webchat,
    /// A web session; `target` is its UUID.
    WebSession,
    /// An AI agent; `target` is its UUID.
    Ai,
    /// A team of AI agents; `target` is its UUID.
    AiTeam,
}

/// Who owns a conversation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::OwnerType")]
pub enum OwnerType {
    /// An agent (stored as `agent`); `ownerId` is the agent's id.
    Agent,
}

/// One party of a conversation: where messages go to or come from.
pub struct Address(pub domain::Address);

#[Object]
impl Address {
    /// What kind of endpoint `target` is.
    #[graphql(name = "type")]
    async fn kind(&self) -> AddressType {
        self.0.kind.into()
    }

    /// The endpoint itself, normalised for its type: E.164 for `TEL` and `WHATSAPP`
    /// (`+14703298699`), a lower-case UUID for agent-like types.
    async fn target(&self) -> &str {
        self.0.target.as_str()
    }

    /// A display name of the target (may be empty).
    async fn target_name(&self) -> &str {
        &self.0.target_name
    }

    /// A name for this address (may be empty).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Free-form detail (may be empty).
    async fn detail(&self) -> &str {
        &self.0.detail
    }
}

/// A conversation between a customer's agent (`self`) and a remote party (`peer`) over SMS/MMS
/// or LINE. Deletion is soft: a deleted conversation has `tmDelete` set and is left out of
/// lists unless `includeDeleted` is true.
pub struct Conversation(pub domain::Conversation);

#[Object]
impl Conversation {
    /// The conversation's unique id.
    async fn id(&self) -> Uuid {
        Uuid(self.0.id)
    }

    /// Globally unique and opaque; stable for the conversation's life. Relay identifies,
    /// caches and refetches objects by it (`node(id:)`); `id` stays the conversation's UUID.
    pub(super) async fn node_id(&self) -> ID {
        super::node_id::conversation_node_id(self.0.id)
    }

    /// The customer (tenant) the conversation belongs to.
    async fn customer_id(&self) -> Uuid {
        Uuid(self.0.body.customer_id)
    }

    /// The kind of owner; `null` when nobody owns the conversation.
    async fn owner_type(&self) -> Option<OwnerType> {
        self.0.owner_type().map(OwnerType::from)
    }

    /// The owner's id (an agent's); `null` when nobody owns the conversation.
    async fn owner_id(&self) -> Option<Uuid> {
        self.0.body.owner_id.map(Uuid)
    }

    /// The messaging account the conversation runs through.
    async fn account_id(&self) -> Uuid {
        Uuid(self.0.body.account_id)
    }

    /// A human-readable name, e.g. "Customer Support #1234" (may be empty).
    async fn name(&self) -> &str {
        &self.0.body.name
    }

    /// More description or context (may be empty).
    async fn detail(&self) -> &str {
        &self.0.body.detail
    }

    /// The channel: `MESSAGE` (SMS/MMS) or `LINE`.
    #[graphql(name = "type")]
    async fn kind(&self) -> ConversationType {
        self.0.body.kind.into()
    }

    /// The channel's dialog id, e.g. a phone number or a LINE chatroom id.
    async fn dialog_id(&self) -> &str {
        &self.0.body.dialog_id
    }

    /// The local party (the customer's side).
    #[graphql(name = "self")]
    async fn self_address(&self) -> Address {
        Address(self.0.body.self_address.clone())
    }

    /// The remote party.
    async fn peer(&self) -> Address {
        Address(self.0.body.peer.clone())
    }

    /// When the conversation was created.
    async fn tm_create(&self) -> DateTime {
        self.0.tm_create.into()
    }

    /// When it was last updated; `null` until the first update.
    async fn tm_update(&self) -> Option<DateTime> {
        self.0.tm_update.map(DateTime)
    }

    /// When it was soft-deleted; `null` unless it is deleted.
    async fn tm_delete(&self) -> Option<DateTime> {
        self.0.tm_delete.map(DateTime)
    }

    /// How many times it was written: 1 at create, one more for every update, delete and
    /// restore (a write that changes nothing leaves it). Pass it back as `ifVersion` to
    /// change the conversation only if nobody else has since.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// An address to store. `target` is checked against `type` (E.164 for `TEL`/`WHATSAPP`, an
/// email address for `EMAIL`, `user@domain` for `SIP`, a UUID for agent-like types, non-empty
/// for `LINE`, anything for `NONE`); every string is at most 255 characters.
#[derive(InputObject, Debug, Clone)]
pub struct AddressInput {
    /// What kind of endpoint `target` is.
    #[graphql(name = "type")]
    pub kind: AddressType,
    /// The endpoint. Phone numbers may be formatted (`+1 (470) 329-8699`); they are stored
    /// compact (`+14703298699`).
    pub target: String,
    /// A display name of the target.
    #[graphql(default_with = "Some(String::new())")]
    pub target_name: Option<String>,
    /// A name for the address.
    #[graphql(default_with = "Some(String::new())")]
    pub name: Option<String>,
    /// Free-form detail.
    #[graphql(default_with = "Some(String::new())")]
    pub detail: Option<String>,
}

impl From<AddressInput> for domain::RawAddress {
    fn from(a: AddressInput) -> Self {
        domain::RawAddress {
            kind: a.kind.into(),
            target: a.target,
            target_name: a.target_name.unwrap_or_default(),
            name: a.name.unwrap_or_default(),
            detail: a.detail.unwrap_or_default(),
        }
    }
}

/// A new conversation. The server sets `id`, `tmCreate`, `tmUpdate` and `tmDelete`.
#[derive(InputObject, Debug, Clone)]
pub struct CreateConversationInput {
    /// The customer it belongs to.
    pub customer_id: Uuid,
    /// The owning agent; when set, `ownerType` is `AGENT`.
    pub owner_id: Option<Uuid>,
    /// The messaging account.
    pub account_id: Uuid,
    /// At most 255 characters.
    #[graphql(default_with = "Some(String::new())")]
    pub name: Option<String>,
    /// At most 4096 characters.
    #[graphql(default_with = "Some(String::new())")]
    pub detail: Option<String>,
    /// The channel.
    #[graphql(name = "type")]
    pub kind: ConversationType,
    /// The channel's dialog id: 1 to 255 characters.
    pub dialog_id: String,
    /// The local party.
    #[graphql(name = "self")]
    pub self_address: AddressInput,
    /// The remote party.
    pub peer: AddressInput,
}

impl CreateConversationInput {
    /// The checked conversation; errors name the field (`peer.target`).
    pub fn parse(self) -> Result<domain::Body, Invalid> {
        domain::RawBody {
            customer_id: self.customer_id.0,
            owner_id: self.owner_id.map(|u| u.0),
            account_id: self.account_id.0,
            name: self.name.unwrap_or_default(),
            detail: self.detail.unwrap_or_default(),
            kind: self.kind.into(),
            dialog_id: self.dialog_id,
            self_address: self.self_address.into(),
            peer: self.peer.into(),
        }
        .parse()
    }
}

/// A change to a conversation. A field left out (or `null`, for `name` and `detail`) is
/// unchanged; `ownerId: null` unassigns (`ownerType` becomes null too).
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateConversationInput {
    /// The new name: at most 255 characters.
    pub name: Option<String>,
    /// The new detail: at most 4096 characters.
    pub detail: Option<String>,
    /// The new owning agent; `null` to unassign.
    pub owner_id: MaybeUndefined<Uuid>,
}

impl UpdateConversationInput {
    /// The checked change.
    pub fn parse(self) -> Result<ConversationPatch, Invalid> {
        let owner = match self.owner_id {
            MaybeUndefined::Undefined => OwnerPatch::Keep,
            MaybeUndefined::Null => OwnerPatch::Unassign,
            MaybeUndefined::Value(u) => OwnerPatch::Assign(u.0),
        };
        ConversationPatch::parse(self.name, self.detail, owner)
    }
}
