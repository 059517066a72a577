//! Output types: `Conversation`, `Address` and their enums.

use async_graphql::{Enum, Object, ID};

use super::scalars::{DateTime, Uuid};
use crate::domain;

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
        &self.0.target
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
        super::node::conversation_node_id(self.0.id)
    }

    /// The customer (tenant) the conversation belongs to.
    async fn customer_id(&self) -> Uuid {
        Uuid(self.0.customer_id)
    }

    /// The kind of owner; `null` when nobody owns the conversation.
    async fn owner_type(&self) -> Option<OwnerType> {
        self.0.owner_id.map(|_| OwnerType::Agent)
    }

    /// The owner's id (an agent's); `null` when nobody owns the conversation.
    async fn owner_id(&self) -> Option<Uuid> {
        self.0.owner_id.map(Uuid)
    }

    /// The messaging account the conversation runs through.
    async fn account_id(&self) -> Uuid {
        Uuid(self.0.account_id)
    }

    /// A human-readable name, e.g. "Customer Support #1234" (may be empty).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// More description or context (may be empty).
    async fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The channel: `MESSAGE` (SMS/MMS) or `LINE`.
    #[graphql(name = "type")]
    async fn kind(&self) -> ConversationType {
        self.0.kind.into()
    }

    /// The channel's dialog id, e.g. a phone number or a LINE chatroom id.
    async fn dialog_id(&self) -> &str {
        &self.0.dialog_id
    }

    /// The local party (the customer's side).
    #[graphql(name = "self")]
    async fn self_address(&self) -> Address {
        Address(self.0.self_address.clone())
    }

    /// The remote party.
    async fn peer(&self) -> Address {
        Address(self.0.peer.clone())
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
}
