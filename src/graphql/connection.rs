//! `ConversationConnection`: a Relay cursor connection over keyset pages.

use async_graphql::{Context, Object};

use super::context::{scope, store};
use super::types::Conversation;
use crate::domain;
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
        let n = store(ctx)?
            .count(&self.query.filter, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
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

impl PageInfo<'_> {
    /// Whether rows lie behind `pos` (inclusive) for a walk in direction `forward`.
    async fn any_behind(
        ctx: &Context<'_>,
        conn: &ConversationConnection,
        pos: &Option<Position>,
        forward: bool,
    ) -> async_graphql::Result<bool> {
        let Some(pos) = pos else { return Ok(false) };
        Ok(store(ctx)?
            .any_behind(&conn.query, pos, forward, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?)
    }
}

#[Object]
impl PageInfo<'_> {
    /// More items follow this page.
    async fn has_next_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let conn = match self {
            PageInfo::Known { has_next, .. } => return Ok(*has_next),
            PageInfo::Conversations(conn) => conn,
        };
        let q = &conn.query;
        if !q.from_end {
            return Ok(conn.has_more);
        }
        // Walking backwards: the next page exists if anything lies at or after `before`.
        Self::any_behind(ctx, conn, &q.before, false).await
    }

    /// More items precede this page.
    async fn has_previous_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let conn = match self {
            PageInfo::Known { has_previous, .. } => return Ok(*has_previous),
            PageInfo::Conversations(conn) => conn,
        };
        let q = &conn.query;
        if q.from_end {
            return Ok(conn.has_more);
        }
        Self::any_behind(ctx, conn, &q.after, true).await
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
