//! What resolvers take from the request context: the store, the event bus, the limits, the
//! caller. A missing piece is an internal error (the schema was built wrong), never a panic.

use std::sync::Arc;

use async_graphql::Context;

use super::filter::ConversationFilter;
use super::limits::Limits;
use crate::auth::Access;
use crate::db::{CommitFence, ConversationStore};
use crate::domain::filter::Predicate;
use crate::domain::Search;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::idempotency::IdempotencyOptions;

fn data<'c, T: Send + Sync + 'static>(ctx: &Context<'c>, what: &str) -> Result<&'c T, ApiError> {
    ctx.data::<T>()
        .map_err(|_| ApiError::internal(format!("no {what} in the GraphQL context")))
}

pub(super) fn store<'c>(ctx: &Context<'c>) -> Result<&'c ConversationStore, ApiError> {
    data(ctx, "ConversationStore")
}

pub(super) fn events<'c>(ctx: &Context<'c>) -> Result<&'c EventBus, ApiError> {
    data(ctx, "EventBus")
}

pub(super) fn limits<'c>(ctx: &Context<'c>) -> Result<&'c Limits, ApiError> {
    data::<Arc<Limits>>(ctx, "Limits").map(Arc::as_ref)
}

pub(super) fn idempotency<'c>(ctx: &Context<'c>) -> Result<&'c IdempotencyOptions, ApiError> {
    data(ctx, "IdempotencyOptions")
}

/// The operation's commit fence (see [`CommitFence`]); an operation run without a deadline
/// (over WebSocket) gets one nobody expires.
pub(super) fn fence(ctx: &Context<'_>) -> Arc<CommitFence> {
    ctx.data_opt::<Arc<CommitFence>>()
        .cloned()
        .unwrap_or_default()
}

pub(super) fn access<'c>(ctx: &Context<'c>) -> Result<&'c Access, ApiError> {
    data(ctx, "Access")
}

/// The rows the caller may see and touch.
pub(super) fn scope(ctx: &Context<'_>) -> Result<Predicate, ApiError> {
    Ok(access(ctx)?.scope())
}

/// A filter argument as a predicate, refused when it nests too deep, has too long an `in`
/// list, or holds a NUL character.
pub(super) fn checked_filter(
    filter: Option<&ConversationFilter>,
    limits: &Limits,
) -> Result<Predicate, ApiError> {
    let Some(filter) = filter else {
        return Ok(Predicate::All);
    };
    let predicate = filter.to_predicate();
    if predicate.depth() > limits.max_filter_depth {
        return Err(ApiError::bad_input(
            "filter",
            format!(
                "nests and/or/not more than {} levels deep",
                limits.max_filter_depth
            ),
        ));
    }
    if predicate.longest_list() > limits.max_in_list {
        return Err(ApiError::bad_input(
            "filter",
            format!("an in/notIn list is longer than {}", limits.max_in_list),
        ));
    }
    if predicate.any_text(&|s| s.contains('\0')) {
        return Err(ApiError::bad_input(
            "filter",
            "strings must not contain NUL characters",
        ));
    }
    Ok(predicate)
}

/// What a list or a count reads: the filter, AND the search when given, AND live rows unless
/// deleted ones are included. Errors name the argument (`filter`, `search`).
pub(super) fn selection(
    filter: Option<&ConversationFilter>,
    search: Option<String>,
    include_deleted: bool,
    limits: &Limits,
) -> Result<Predicate, ApiError> {
    let mut parts = vec![checked_filter(filter, limits)?];
    if let Some(text) = search {
        let search = Search::parse(text).map_err(|e| ApiError::invalid("search", e))?;
        parts.push(Predicate::Search(search));
    }
    if !include_deleted {
        parts.push(Predicate::live());
    }
    Ok(Predicate::all_of(parts))
}
