//! The `Query` root.

use async_graphql::{Context, Object, ID};

use super::connection::ConversationConnection;
use super::context::{events, limits, scope, selection, store};
use super::counts::{self, ConversationCounts, ConversationGroupBy};
use super::events::{
    after_cursor, feed_error, selection as event_selection, ConversationEventConnection,
    ConversationEventKind,
};
use super::filter::{ConversationFilter, ConversationOrder};
use super::limits::Limits;
use super::node::{self, Node};
use super::scalars::Uuid;
use super::types::Conversation;
use crate::domain::counts::CountsQuery;
use crate::domain::page::{CursorError, Order, PageQuery, Position};
use crate::error::ApiError;

/// Reads.
#[derive(Default)]
pub struct Query;

fn default_order() -> Option<ConversationOrder> {
    Some(ConversationOrder::default())
}

fn cursor(arg: &str, cursor: Option<String>, order: Order) -> Result<Option<Position>, ApiError> {
    cursor
        .map(|c| {
            Position::decode(&c, order).map_err(|e| {
                ApiError::bad_input(
                    arg,
                    match e {
                        CursorError::Malformed => "not a cursor this server made",
                        CursorError::WrongOrder => "the cursor was made for another orderBy",
                    },
                )
            })
        })
        .transpose()
}

fn page_size(arg: &str, value: i32, max: u64) -> Result<u64, ApiError> {
    match u64::try_from(value) {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(ApiError::bad_input(arg, format!("must be at most {max}"))),
        Err(_) => Err(ApiError::bad_input(arg, "must not be negative")),
    }
}

/// The arguments of `conversations`, as given (defaults applied).
pub(super) struct PageArgs {
    pub filter: Option<ConversationFilter>,
    pub include_deleted: Option<bool>,
    pub order_by: Option<ConversationOrder>,
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub search: Option<String>,
}

impl PageArgs {
    /// The page these arguments ask for; errors name the argument at fault.
    pub(super) fn query(self, limits: &Limits) -> Result<PageQuery, ApiError> {
        let order: Order = self.order_by.unwrap_or_default().into();
        let (limit, from_end) = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "last",
                    "give `first` or `last`, not both",
                ))
            }
            (Some(n), None) => (page_size("first", n, limits.max_page_size)?, false),
            (None, Some(n)) => (page_size("last", n, limits.max_page_size)?, true),
            (None, None) => (limits.default_page_size, false),
        };
        let filter = selection(
            self.filter.as_ref(),
            self.search,
            self.include_deleted.unwrap_or(false),
            limits,
        )?;
        Ok(PageQuery {
            filter,
            order,
            after: cursor("after", self.after, order)?,
            before: cursor("before", self.before, order)?,
            limit,
            from_end,
        })
    }
}

/// Reads.
///
/// Consistency: a server with a read replica (`--database-read-url`) answers queries from a
/// PostgreSQL hot standby, which trails the primary by its replay lag (usually milliseconds,
/// more under heavy writes): a query right after a mutation may not show it yet, and two
/// queries may see different moments. A mutation's own answer is always current (it is what
/// the write stored), and subscriptions deliver each change as it commits. To read your own
/// write, use the mutation's answer, or wait for its event. While the standby cannot
/// answer, queries read from the primary. Without a read replica, every query reads the
/// primary.
#[Object]
impl Query {
    /// One conversation by id, deleted or not; `null` if there is none.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: Uuid,
    ) -> async_graphql::Result<Option<Conversation>> {
        let found = store(ctx)?
            .get(id.0, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Conversation))
    }

    /// A page of conversations, newest first unless `orderBy` says otherwise. Paging follows
    /// the Relay Cursor Connections spec: `first`/`after` walk forwards, `last`/`before`
    /// backwards; without either, the first 20. Cursors are keyset positions, so a page deep
    /// in the list costs what the first costs and rows inserted meanwhile never shift a page.
    #[allow(clippy::too_many_arguments)]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which conversations; all when left out.")] filter: Option<
            ConversationFilter,
        >,
        #[graphql(
            desc = "Also list soft-deleted conversations (`null` means false).",
            default_with = "Some(false)"
        )]
        include_deleted: Option<bool>,
        #[graphql(
            desc = "Sort order; ties are broken by id. `null` means the default.",
            default_with = "default_order()"
        )]
        order_by: Option<ConversationOrder>,
        #[graphql(desc = "Page size from the start (after `after`): 0 to 100; default 20.")]
        first: Option<i32>,
        #[graphql(desc = "Cursor: list only conversations after this one.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (before `before`): 0 to 100.")] last: Option<i32>,
        #[graphql(desc = "Cursor: list only conversations before this one.")] before: Option<
            String,
        >,
        #[graphql(desc = "Text to look for, combined with `filter` by AND: 2 to 100 \
                          characters, found as a part of `name`, `detail`, `dialogId`, or the \
                          `target` or `targetName` of `self` or `peer`, ignoring case. A phone \
                          number may be typed with spaces, dashes, dots and parentheses \
                          (`470 329`, `+1 (470) 329-8699`): those are dropped before it is \
                          compared with `dialogId` and the targets.")]
        search: Option<String>,
    ) -> async_graphql::Result<ConversationConnection> {
        let args = PageArgs {
            filter,
            include_deleted,
            order_by,
            first,
            after,
            last,
            before,
            search,
        };
        let query = args.query(limits(ctx)?)?;
        let page = store(ctx)?
            .page(&query, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        Ok(ConversationConnection::new(query, page.rows, page.has_more))
    }

    /// The event log as a page, oldest first, for clients that pull instead of subscribing:
    /// the events `conversationEvents` delivers (same filter, kinds and scope), as a Relay
    /// connection. Pass `pageInfo.endCursor` as the next `after` (it is set even when the
    /// page is empty, so polling never looks at an event twice). Without `after`, the page
    /// starts at the oldest event the log keeps. Events appear here a few milliseconds after
    /// their write commits, in the log's order (with a read replica, once the standby has
    /// replayed them: a page ends where its replay is, and never passes an event it lacks).
    async fn conversation_event_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which conversations (matched before or after the change); all when \
                          left out."
        )]
        filter: Option<ConversationFilter>,
        #[graphql(desc = "Which kinds of event; all when left out.")] kinds: Option<
            Vec<ConversationEventKind>,
        >,
        #[graphql(desc = "Only events after this cursor (`ConversationEvent.cursor` or \
                          `pageInfo.endCursor`); `EVENT_CURSOR_EXPIRED` when the log no longer \
                          holds them.")]
        after: Option<String>,
        #[graphql(desc = "Page size: 0 to 100.", default = 100)] first: Option<i32>,
    ) -> async_graphql::Result<ConversationEventConnection> {
        let limits = limits(ctx)?;
        let first = page_size("first", first.unwrap_or(100), limits.max_page_size)?;
        let selection = event_selection(ctx, filter.as_ref(), kinds).await?;
        let after = after_cursor(after.as_deref())?;
        let page = events(ctx)?
            .page(
                &selection,
                after,
                usize::try_from(first).unwrap_or(usize::MAX),
            )
            .await
            .map_err(feed_error)?;
        Ok(ConversationEventConnection(page))
    }

    /// How many conversations match, in all and by group, in one database statement: the
    /// counts of a dashboard's sidebar (unassigned, mine, per channel, per account) in one
    /// field instead of one `totalCount` each. Only conversations the caller may read are
    /// counted.
    async fn conversation_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which conversations; all when left out.")] filter: Option<
            ConversationFilter,
        >,
        #[graphql(
            desc = "Text to look for, as in `conversations(search:)`; combined with \
                          `filter` by AND."
        )]
        search: Option<String>,
        #[graphql(
            desc = "Also count soft-deleted conversations (`null` means false).",
            default_with = "Some(false)"
        )]
        include_deleted: Option<bool>,
        #[graphql(
            desc = "The fields to group by (repeats are ignored); the first breaks ties \
                    between groups of equal count first. `[]` or `null`: the total alone.",
            default_with = "Some(Vec::new())"
        )]
        group_by: Option<Vec<ConversationGroupBy>>,
    ) -> async_graphql::Result<ConversationCounts> {
        let limits = limits(ctx)?;
        let query = CountsQuery {
            filter: selection(
                filter.as_ref(),
                search,
                include_deleted.unwrap_or(false),
                limits,
            )?,
            group_by: counts::distinct(&group_by.unwrap_or_default()),
            max_groups: limits.max_groups,
        };
        let counts = store(ctx)?
            .counts(&query, &scope(ctx)?)
            .await
            .map_err(ApiError::from)?;
        Ok(ConversationCounts(counts))
    }

    /// An object by its `nodeId` (Relay object identification); `null` when the id is
    /// unknown, malformed, or names an object the caller may not see. Deleted conversations
    /// are found, as by `conversation(id)`.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `nodeId`.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        Ok(node::node(ctx, &id).await?)
    }

    /// Objects by their `nodeId`s, in the order of `ids`: each place holds what `node(id)`
    /// answers for its id, so `null` where that is `null`. At most 100 ids.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`nodeId`s; at most 100, repeats allowed.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        Ok(node::nodes(ctx, &ids).await?)
    }
}
