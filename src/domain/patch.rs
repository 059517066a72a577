//! A change to a conversation: what `updateConversation` may touch.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::conversation::Conversation;
use super::text::{LongText, ShortText};
use super::Invalid;

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationPatch {
    pub name: Option<ShortText>,
    pub detail: Option<LongText>,
    pub owner: OwnerPatch,
}

impl ConversationPatch {
    /// Checks the parts; assigning the nil UUID unassigns.
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
            name: name.map(|n| ShortText::parse("name", n)).transpose()?,
            detail: detail.map(|d| LongText::parse("detail", d)).transpose()?,
            owner,
        })
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.detail.is_none() && self.owner == OwnerPatch::Keep
    }

    /// Whether the patch touches the owner (agents may not).
    pub fn changes_owner(&self) -> bool {
        self.owner != OwnerPatch::Keep
    }

    /// `before` with the patch applied, `tmUpdate` set to `at` and the version one more: what
    /// the database holds after the `UPDATE` the store makes of it.
    pub fn apply(&self, before: &Conversation, at: DateTime<Utc>) -> Conversation {
        let mut after = before.clone();
        if let Some(name) = &self.name {
            after.body.name = name.clone();
        }
        if let Some(detail) = &self.detail {
            after.body.detail = detail.clone();
        }
        match self.owner {
            OwnerPatch::Keep => {}
            OwnerPatch::Unassign => after.body.owner_id = None,
            OwnerPatch::Assign(owner) => after.body.owner_id = Some(owner),
        }
        after.tm_update = Some(at);
        after.version = before.version.saturating_add(1);
        after
    }
}
