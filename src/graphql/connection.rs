//! `ConversationConnection`: a Relay cursor connection over keyset pages.

use async_graphql::{Context, Object};

use super::context::{scope, store};
use super::types::Conversation;
use crate::db::ConversationStore;
use crate::domain;
use crate::domain::filter::Predicate;
use crate::domain::page::{PageQuery, Position};
use crate::error::ApiError;

/// One conversation in a page, with the cursor that points at it.
pub struct ConversationEdge {
    cursor: String,
    node: domain::Conversation,
}

#[Object]
impl ConversationEdge {
    /// An opaque cursor for `after` / `before`; valid only with the same `orderBy`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The conversation.
    async fn node(&self) -> Conversation {
        Conversation(self.node.clone())
    }
}

/// A page of conversations, as the Relay Cursor Connections spec describes.
pub struct ConversationConnection {
    query: PageQuery,
    edges: Vec<ConversationEdge>,
    /// More rows past the page in the walk's direction.
    has_more: bool,
}

impl ConversationConnection {
    pub fn new(
        query: PageQuery,
        rows: Vec<(Position, domain::Conversation)>,
        has_more: bool,
    ) -> Self {
        let edges = rows
            .into_iter()
            .map(|(pos, node)| ConversationEdge {
                cursor: pos.encode(query.order),
                node,
            })
            .collect();
        Self {
            query,
            edges,
            has_more,
        }
    }

    /// The page's conversations with their cursors.
    pub(super) fn items(&self) -> impl Iterator<Item = (&str, &domain::Conversation)> {
        self.edges.iter().map(|e| (e.cursor.as_str(), &e.node))
    }

    /// Whether rows lie behind `pos` (inclusive) for a walk in direction `forward`.
    async fn any_behind(
        &self,
        store: &ConversationStore,
        scope: &Predicate,
        pos: &Option<Position>,
        forward: bool,
    ) -> Result<bool, ApiError> {
        let Some(pos) = pos else { return Ok(false) };
        Ok(store.any_behind(&self.query, pos, forward, scope).await?)
    }

    /// `pageInfo.hasNextPage`.
    pub(super) async fn has_next_page(
        &self,
        store: &ConversationStore,
        scope: &Predicate,
    ) -> Result<bool, ApiError> {
        if !self.query.from_end {
            return Ok(self.has_more);
        }
        // Walking backwards: the next page exists if anything lies at or after `before`.
        self.any_behind(store, scope, &self.query.before, false)
            .await
    }

    /// `pageInfo.hasPreviousPage`.
    pub(super) async fn has_previous_page(
        &self,
        store: &ConversationStore,
        scope: &Predicate,
    ) -> Result<bool, ApiError> {
        if self.query.from_end {
            return Ok(self.has_more);
        }
        self.any_behind(store, scope, &self.query.after, true).await
    }

    /// `totalCount`.
    pub(super) async fn count(
        &self,
        store: &ConversationStore,
        scope: &Predicate,
    ) -> Result<i64, ApiError> {
        let n = store.count(&self.query.filter, scope).await?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

#[Object]
impl ConversationConnection {
    /// The conversations of this page with their cursors.
    async fn edges(&self) -> &[ConversationEdge] {
        &self.edges
    }

    /// The conversations of this page, without cursors.
    async fn nodes(&self) -> Vec<Conversation> {
        self.edges
            .iter()
            .map(|e| Conversation(e.node.clone()))
            .collect()
    }

    /// Where this page stands in the whole list.
    async fn page_info(&self) -> PageInfo<'_> {
        PageInfo::Conversations(self)
    }

    /// How many conversations match the filter in all pages. Counted only when asked for
    /// (it costs a query of its own).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.count(store(ctx)?, &scope(ctx)?).await?)
    }
}

/// Paging state of a connection.
pub enum PageInfo<'a> {
    /// A page of conversations: computed when asked for.
    Conversations(&'a ConversationConnection),
    /// Known when the page was read.
    Known {
        has_next: bool,
        has_previous: bool,
        start: Option<String>,
        end: Option<String>,
    },
}

#[Object]
impl PageInfo<'_> {
    /// More items follow this page.
    async fn has_next_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        match self {
            PageInfo::Known { has_next, .. } => Ok(*has_next),
            PageInfo::Conversations(conn) => {
                Ok(conn.has_next_page(store(ctx)?, &scope(ctx)?).await?)
            }
        }
    }

    /// More items precede this page.
    async fn has_previous_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        match self {
            PageInfo::Known { has_previous, .. } => Ok(*has_previous),
            PageInfo::Conversations(conn) => {
                Ok(conn.has_previous_page(store(ctx)?, &scope(ctx)?).await?)
            }
        }
    }

    /// The cursor of the first edge, `null` for an empty page.
    async fn start_cursor(&self) -> Option<&str> {
        match self {
            PageInfo::Known { start, .. } => start.as_deref(),
            PageInfo::Conversations(conn) => conn.edges.first().map(|e| e.cursor.as_str()),
        }
    }

    /// The cursor of the last edge, `null` for an empty page (the event log's page: where it
    /// stopped looking, see `ConversationEventConnection.pageInfo`).
    async fn end_cursor(&self) -> Option<&str> {
        match self {
            PageInfo::Known { end, .. } => end.as_deref(),
            PageInfo::Conversations(conn) => conn.edges.last().map(|e| e.cursor.as_str()),
        }
    }
}
