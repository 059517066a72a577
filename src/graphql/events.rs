//! Event types (`ConversationEvent`, the log's connection) and what the event fields share:
//! reading `after`, building the selection, and the errors of the event log.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object};

use super::connection::PageInfo;
use super::context::{access, checked_filter, limits, store};
use super::filter::ConversationFilter;
use super::scalars::DateTime;
use super::types::Conversation;
use crate::domain::{Event, EventCursor, EventSelection};
use crate::error::ApiError;
use crate::events::{CursorProblem, FeedError, LogPage};

/// What happened to the conversation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::EventKind")]
pub enum ConversationEventKind {
    /// It was created.
    Created,
    /// Its name, detail or owner changed.
    Updated,
    /// It was soft-deleted.
    Deleted,
    /// A soft delete was undone.
    Restored,
}

/// A committed change to a conversation, from the event log.
pub struct ConversationEvent(pub Arc<Event>);

#[Object]
impl ConversationEvent {
    /// Position in the event log; pass it as `after` to resume right after this event.
    /// Opaque; valid on every replica and after restarts, for as long as the log keeps
    /// events (`--event-retention`).
    async fn cursor(&self) -> String {
        self.0.cursor().encode()
    }

    /// What happened.
    async fn kind(&self) -> ConversationEventKind {
        self.0.kind.into()
    }

    /// The conversation as it is after the change.
    async fn conversation(&self) -> Conversation {
        Conversation(self.0.conversation.clone())
    }

    /// As it was before the change; null for CREATED. A DELETED event has `previous.tmDelete`
    /// null and `conversation.tmDelete` set.
    async fn previous(&self) -> Option<Conversation> {
        self.0.previous.clone().map(Conversation)
    }

    /// When the change was made.
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
}

/// One event of a log page, with its cursor.
pub struct ConversationEventEdge(Arc<Event>);

#[Object]
impl ConversationEventEdge {
    /// The event's cursor (the same as `node.cursor`).
    async fn cursor(&self) -> String {
        self.0.cursor().encode()
    }

    /// The event.
    async fn node(&self) -> ConversationEvent {
        ConversationEvent(self.0.clone())
    }
}

/// A page of the event log, oldest first (Relay Cursor Connections).
pub struct ConversationEventConnection(pub LogPage);

impl ConversationEventConnection {
    /// Each event of the page, wrapped.
    fn each<T>(&self, wrap: impl FnMut(Arc<Event>) -> T) -> Vec<T> {
        self.0.events.iter().cloned().map(wrap).collect()
    }
}

#[Object]
impl ConversationEventConnection {
    /// The events of this page with their cursors.
    async fn edges(&self) -> Vec<ConversationEventEdge> {
        self.each(ConversationEventEdge)
    }

    /// The events of this page.
    async fn nodes(&self) -> Vec<ConversationEvent> {
        self.each(ConversationEvent)
    }

    /// `endCursor` is where this page stopped looking: pass it as `after` for the next page
    /// (it may lie past the last edge, when later events did not match the filter, and it is
    /// set even when the page is empty). `hasNextPage`: the log holds events after
    /// `endCursor` this page did not look at (they may not match). `hasPreviousPage` is
    /// always false.
    async fn page_info(&self) -> PageInfo<'_> {
        PageInfo::Known {
            has_next: self.0.has_next,
            has_previous: false,
            start: self.0.events.first().map(|e| e.cursor().encode()),
            end: Some(self.0.end.encode()),
        }
    }
}

/// Reads an `after` argument.
pub(super) fn after_cursor(after: Option<&str>) -> Result<Option<EventCursor>, ApiError> {
    after
        .map(|text| {
            EventCursor::decode(text)
                .map_err(|_| ApiError::bad_input("after", "not an event cursor this server made"))
        })
        .transpose()
}

/// The events the caller may see that `filter` and `kinds` pick.
pub(super) async fn selection(
    ctx: &Context<'_>,
    filter: Option<&ConversationFilter>,
    kinds: Option<Vec<ConversationEventKind>>,
) -> Result<EventSelection, ApiError> {
    Ok(EventSelection {
        scope: access(ctx)?.scope(),
        filter: checked_filter(filter, limits(ctx)?)?,
        kinds: kinds.map(|ks| ks.into_iter().map(Into::into).collect()),
        folding: store(ctx)?.case_folding().await.map_err(ApiError::from)?,
    })
}

/// The client-visible error of the event log.
pub(super) fn feed_error(error: FeedError) -> ApiError {
    match error {
        FeedError::Cursor(CursorProblem::Expired) => ApiError::cursor_expired(
            "the event log no longer holds the events after this cursor (they are older than \
             its retention): fetch the list again, then subscribe without `after`",
        ),
        FeedError::Cursor(CursorProblem::Unknown) => ApiError::bad_input(
            "after",
            "no event has this cursor's position: it was not made by this event log",
        ),
        FeedError::TooSlow { last, missed } => {
            ApiError::too_slow(missed).with("lastCursor", last.encode())
        }
        FeedError::Database(e) => ApiError::from(e),
    }
}
