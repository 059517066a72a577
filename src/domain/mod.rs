//! Domain types: values that can only hold what the API allows ("parse, don't validate").
//!
//! Nothing here knows about GraphQL or SQL. Parsing failures are [`Invalid`] values that name
//! the offending field relative to the input object (`peer.target`); the API layer prefixes them.

mod address;
mod conversation;
pub mod counts;
mod dialable;
pub mod event;
pub mod filter;
mod kinds;
mod matching;
pub mod page;
mod parts;
mod patch;
mod text;
pub mod time;
mod writes;

pub use address::{Address, AddressType, RawAddress, Target, E164};
pub use conversation::{Body, Conversation, Field, FieldValue, RawBody, Record};
pub use dialable::{phone_form, Dialable, SEPARATORS};
pub use event::{Change, Event, EventCursor, EventKind, EventSelection};
pub use filter::Search;
pub use kinds::{ConversationType, OwnerType};
pub use matching::{fold_case, CaseFolding};
pub use parts::{Part, Parts};
pub use patch::{ConversationPatch, OwnerPatch};
pub use text::{BoundedText, DialogId, LongText, ShortText};
pub use time::{happened, now, parse_duration, NOT_YET_YEAR};
pub use writes::{BulkIds, IdempotencyKey, MAX_BULK, MAX_KEY_CHARS};

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
