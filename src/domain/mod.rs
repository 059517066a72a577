//! Domain types: values that can only hold what the API allows ("parse, don't validate").
//!
//! Nothing here knows about GraphQL or SQL. Parsing failures are [`Invalid`] values that name
//! the offending field relative to the input object (`peer.target`); the API layer prefixes them.

mod address;
mod conversation;
pub mod filter;
mod text;

pub use address::{Address, AddressType, E164};
pub use conversation::{
    Conversation, ConversationPatch, ConversationType, NewConversation, NewConversationInput,
    OwnerPatch, RawAddress,
};
pub use text::{BoundedText, DialogId};

use chrono::{DateTime, Datelike, SubsecRound, Utc};

/// A value that failed to parse: which field, and why (a sentence for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same failure, one level deeper: `target` inside `peer` becomes `peer.target`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for Invalid {}

/// The first year that means "has not happened yet". The source platform writes "not yet" as
/// `9999-01-01 00:00:00.000000`; anything from this year on is read as `None`.
pub const NOT_YET_YEAR: i32 = 9000;

/// Reads a stored or imported timestamp: the legacy far-future sentinel becomes `None`.
pub fn happened(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.filter(|t| t.year() < NOT_YET_YEAR)
}

/// The current time at the precision every backend keeps (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
