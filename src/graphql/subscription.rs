//! The `Subscription` root: conversation events from the durable log, resumable.

use std::sync::Arc;

use async_graphql::{Context, Subscription};
use futures_util::stream::{self, Stream};
use tokio::sync::Notify;

use super::context::events;
use super::events::{
    after_cursor, feed_error, selection, ConversationEvent, ConversationEventKind,
};
use super::filter::ConversationFilter;
use crate::events::FeedError;

/// Set on a WebSocket connection: subscriptions that fall behind ask for the connection to be
/// closed.
#[derive(Clone, Default)]
pub struct CloseConnection(pub Arc<Notify>);

/// Live updates.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every committed change to a conversation, in the event log's order: none skipped and
    /// none twice, also while many writers commit at once, on every replica.
    ///
    /// Without `after`, delivery starts with the next event. With `after` (a
    /// `ConversationEvent.cursor`, or `extensions.lastCursor` of a `SUBSCRIBER_TOO_SLOW`
    /// error), the events after it are replayed first, then delivery continues live with no
    /// gap and no duplicate: this is how a client resumes after a disconnect.
    ///
    /// An event is delivered when the `filter` (and the caller's scope) matches the
    /// conversation after the change *or* before it, so a filtered view learns when a row
    /// leaves it (a rename out of a search, a reassignment away). Soft-deleted conversations
    /// are not hidden (a `customerId` filter still delivers DELETED). An agent sees the events
    /// of the conversations it owns, including the one that takes a conversation away from it
    /// (its `conversation` shows the new owner); later events of that conversation are not
    /// delivered to it.
    ///
    /// Errors: `after` older than the log's retention is `EVENT_CURSOR_EXPIRED` (fetch the
    /// list again, then subscribe without `after`); an `after` this server did not make is
    /// `BAD_USER_INPUT`. A subscriber that falls too far behind receives
    /// `SUBSCRIBER_TOO_SLOW` with `extensions.lastCursor` and is disconnected: subscribe again
    /// with `after: lastCursor` to lose nothing.
    async fn conversation_events(
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
        #[graphql(desc = "Replay the events after this cursor first (a \
                          `ConversationEvent.cursor`); without it, start with the next event.")]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ConversationEvent>>> {
        let selection = selection(ctx, filter.as_ref(), kinds).await?;
        let after = after_cursor(after.as_deref())?;
        let close = ctx.data_opt::<CloseConnection>().cloned();
        let feed = events(ctx)?
            .subscribe(selection, after)
            .await
            .map_err(feed_error)?;
        Ok(stream::unfold(Some(feed), move |state| {
            let close = close.clone();
            async move {
                let mut feed = state?;
                match feed.next().await? {
                    Ok(event) => Some((Ok(ConversationEvent(event)), Some(feed))),
                    Err(error) => {
                        if let (FeedError::TooSlow { .. }, Some(close)) = (&error, close) {
                            close.0.notify_one();
                        }
                        Some((Err(feed_error(error).into()), None))
                    }
                }
            }
        }))
    }
}
