//! Events: what happened to a conversation, as the event log keeps it.
//!
//! A [`Change`] is what a write records in its own transaction; once the log has given it a
//! position it is an [`Event`]. An [`EventCursor`] names a position ("everything up to here
//! was seen") as opaque text; an [`EventSelection`] says which events a subscriber gets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::conversation::Conversation;
use super::filter::{Field, Predicate};
use super::matching::CaseFolding;

/// What happened to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
    Restored,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [Self::Created, Self::Updated, Self::Deleted, Self::Restored];

    /// The stored spelling: `created`, `updated`, `deleted`, `restored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Restored => "restored",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A change about to be committed, recorded in the transaction that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: EventKind,
    /// The conversation before the change; `None` for a creation.
    pub before: Option<Conversation>,
    /// The conversation after the change.
    pub after: Conversation,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl Change {
    /// A new conversation, at its `tm_create`.
    pub fn created(after: Conversation) -> Self {
        Self {
            kind: EventKind::Created,
            before: None,
            at: after.tm_create,
            after,
        }
    }

    /// The change that turns `before` into `after` (a replacing import): `None` when they are
    /// equal; DELETED or RESTORED when the soft delete flips, UPDATED otherwise.
    pub fn between(before: Conversation, after: Conversation, at: DateTime<Utc>) -> Option<Self> {
        if before == after {
            return None;
        }
        let kind = match (before.tm_delete.is_some(), after.tm_delete.is_some()) {
            (false, true) => EventKind::Deleted,
            (true, false) => EventKind::Restored,
            _ => EventKind::Updated,
        };
        Some(Self {
            kind,
            before: Some(before),
            after,
            at,
        })
    }
}

/// An event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its place in the log: dense, in commit order, from 1.
    pub position: u64,
    pub kind: EventKind,
    /// As it is after the change.
    pub conversation: Conversation,
    /// As it was before the change; `None` for CREATED.
    pub previous: Option<Conversation>,
    pub at: DateTime<Utc>,
}

impl Event {
    /// The cursor that resumes right after this event.
    pub fn cursor(&self) -> EventCursor {
        EventCursor(self.position)
    }
}

/// Which events a reader gets: those of `kinds` (all when `None`) whose conversation, after
/// or before the change, matches both the caller's `scope` and the `filter` (text folded as
/// the database folds it, so that the filter picks what it picks in a list).
#[derive(Debug, Clone)]
pub struct EventSelection {
    pub scope: Predicate,
    pub filter: Predicate,
    pub kinds: Option<Vec<EventKind>>,
    pub folding: CaseFolding,
}

impl EventSelection {
    /// Every event.
    pub fn all() -> Self {
        Self {
            scope: Predicate::All,
            filter: Predicate::All,
            kinds: None,
            folding: CaseFolding::default(),
        }
    }

    pub fn matches(&self, event: &Event) -> bool {
        let seen = |c: &Conversation| {
            self.scope.matches(c, &self.folding) && self.filter.matches(c, &self.folding)
        };
        self.kinds
            .as_ref()
            .is_none_or(|ks| ks.contains(&event.kind))
            && (seen(&event.conversation) || event.previous.as_ref().is_some_and(seen))
    }

    /// The one customer every selected event belongs to, when the scope or the filter pins
    /// it (a conversation keeps its customer through every change the API makes).
    pub fn customer(&self) -> Option<Uuid> {
        self.scope
            .required_uuid(Field::CustomerId)
            .or_else(|| self.filter.required_uuid(Field::CustomerId))
    }
}

/// A place in the log: "every event up to this position was seen". Its text is opaque to
/// clients; it names the position in the database every replica shares, so it is valid on
/// every replica and after restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventCursor(pub u64);

/// Not a cursor this server made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedCursor;

const CURSOR_TAG: &str = "e1:";

impl EventCursor {
    /// base64url of `e1:<position>`.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{}", self.0))
    }

    /// Reads a cursor made by [`EventCursor::encode`], and nothing else.
    pub fn decode(text: &str) -> Result<Self, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| MalformedCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| MalformedCursor)?;
        let digits = text.strip_prefix(CURSOR_TAG).ok_or(MalformedCursor)?;
        let position: u64 = digits.parse().map_err(|_| MalformedCursor)?;
        // One spelling per position (no `+`, no leading zeros), and within the BIGINT range.
        if position.to_string() != digits || i64::try_from(position).is_err() {
            return Err(MalformedCursor);
        }
        Ok(Self(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for p in [0, 1, 42, i64::MAX as u64] {
            assert_eq!(
                EventCursor::decode(&EventCursor(p).encode()),
                Ok(EventCursor(p))
            );
        }
        let refuse = |raw: &str| URL_SAFE_NO_PAD.encode(raw);
        for bad in [
            "garbage!".to_owned(),
            String::new(),
            refuse("e1:"),
            refuse("e1:-1"),
            refuse("e1:+1"),
            refuse("e1:01"),
            refuse("e1:1 "),
            refuse("e2:1"),
            refuse(&format!("e1:{}", u64::MAX)),
        ] {
            assert_eq!(EventCursor::decode(&bad), Err(MalformedCursor), "{bad}");
        }
    }

    #[test]
    fn kinds_have_one_stored_spelling() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_stored(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::from_stored("CREATED"), None);
    }
}
