//! The `Subscription` root: live conversation events.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Subscription};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, Notify};

use super::context::{access, checked_filter, events, limits, store};
use super::filter::ConversationFilter;
use super::scalars::DateTime;
use super::types::Conversation;
use crate::error::ApiError;
use crate::events::{Event, EventKind};

/// What happened to the conversation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::events::EventKind")]
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

/// A change to a conversation, delivered after the write committed.
pub struct ConversationEvent(Arc<Event>);

#[Object]
impl ConversationEvent {
    /// What happened.
    async fn kind(&self) -> ConversationEventKind {
        self.0.kind.into()
    }

    /// The conversation as it is after the change.
    async fn conversation(&self) -> Conversation {
        Conversation(self.0.conversation.clone())
    }

    /// When it happened.
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
}

/// Set on a WebSocket connection: subscriptions that fall behind ask for the connection to be
/// closed.
#[derive(Clone, Default)]
pub struct CloseConnection(pub Arc<Notify>);

/// Live updates.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Conversation events as they happen, filtered like `conversations` (the filter applies
    /// to the conversation after the change) and by kind. A subscriber sees only what it could
    /// query. One that falls too far behind receives an error and is disconnected.
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which conversations; all when left out.")] filter: Option<
            ConversationFilter,
        >,
        #[graphql(desc = "Which kinds of event; all when left out.")] kinds: Option<
            Vec<ConversationEventKind>,
        >,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ConversationEvent>>> {
        let scope = access(ctx)?.scope();
        let filter = checked_filter(filter.as_ref(), limits(ctx)?)?;
        let kinds: Option<Vec<EventKind>> =
            kinds.map(|ks| ks.into_iter().map(EventKind::from).collect());
        let bus = events(ctx)?;
        let folding = store(ctx)?.case_folding().await.map_err(ApiError::from)?;
        let close = ctx.data_opt::<CloseConnection>().cloned();
        let receiver = bus.subscribe();

        let wanted = move |event: &Event| {
            kinds.as_ref().is_none_or(|ks| ks.contains(&event.kind))
                && scope.matches(&event.conversation, &folding)
                && filter.matches(&event.conversation, &folding)
        };
        Ok(stream::unfold(Some(receiver), move |state| {
            let wanted = wanted.clone();
            let close = close.clone();
            async move {
                let mut receiver = state?;
                loop {
                    match receiver.recv().await {
                        Ok(event) if wanted(&event) => {
                            return Some((Ok(ConversationEvent(event)), Some(receiver)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            if let Some(close) = close {
                                close.0.notify_one();
                            }
                            let err: async_graphql::Error = ApiError::too_slow(missed).into();
                            return Some((Err(err), None));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
