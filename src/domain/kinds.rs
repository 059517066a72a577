//! The enumerations of a conversation, each with its stored (and source platform's) spelling.

use serde::{Serialize, Serializer};

/// The channel a conversation runs on. Stored as `message` / `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversationType {
    Message,
    Line,
}

impl ConversationType {
    pub const ALL: [ConversationType; 2] = [Self::Message, Self::Line];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Line => "line",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl Serialize for ConversationType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who owns a conversation. Stored as `agent`, or `""` when nobody does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerType {
    Agent,
}

impl OwnerType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
        }
    }

    /// The stored spelling of an optional owner type (`""` for none).
    pub fn stored(owner: Option<Self>) -> &'static str {
        owner.map_or("", Self::as_str)
    }
}
