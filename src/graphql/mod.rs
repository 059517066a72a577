//! The GraphQL API: schema, types, resolvers. Resolvers turn arguments into domain values and
//! call the [`ConversationStore`]; they never build SQL.

mod connection;
mod filter;
mod guard;
pub mod limits;
mod mutation;
mod node;
mod query;
mod scalars;
mod subscription;
mod types;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::{Context, Schema};

use crate::auth::Access;
use crate::db::ConversationStore;
use crate::domain::filter::Predicate;
use crate::error::ApiError;
use crate::events::EventBus;
use filter::{longest_list, ConversationFilter};

pub use guard::{check as guard_check, is_query_only, OperationName, ViaGet, STATUS_EXTENSION};
pub use mutation::Mutation;
pub use query::Query;
pub use scalars::format_datetime;
pub use subscription::{CloseConnection, Subscription};

/// The schema type served by this crate.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Limits on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `first` / `last` above this is a `BAD_USER_INPUT` error.
    pub max_page_size: u64,
    /// The page size when neither `first` nor `last` is given.
    pub default_page_size: u64,
    /// How deep `and` / `or` / `not` may nest in a filter.
    pub max_filter_depth: usize,
    /// The longest `in` / `notIn` list.
    pub max_in_list: usize,
    /// Query depth (fields inside fields; introspection not counted).
    pub max_depth: usize,
    /// Query complexity: each field costs 1, a list of conversations costs its page size
    /// times what one conversation selects.
    pub max_complexity: usize,
    /// Aliased fields per request.
    pub max_aliases: usize,
    /// Top-level fields per request.
    pub max_root_fields: usize,
    /// Hide `__schema` / `__type` (the SDL stays in `schema.graphql`).
    pub disable_introspection: bool,
    /// How many automatic persisted queries each replica remembers (LRU).
    pub persisted_queries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_page_size: 100,
            default_page_size: 20,
            max_filter_depth: 5,
            max_in_list: 100,
            max_depth: 10,
            max_complexity: 10_000,
            max_aliases: 30,
            max_root_fields: 10,
            disable_introspection: false,
            persisted_queries: 1000,
        }
    }
}

/// The schemas served: the same types and data, with and without extensions.
#[derive(Clone)]
pub struct Schemas {
    /// No extensions: ordinary HTTP requests, checked by the handler before they run.
    pub fast: AppSchema,
    /// As `fast`, without validation: for queries whose document already passed it (the
    /// schema never changes while the process runs; variables are still coerced).
    pub prevalidated: AppSchema,
    /// Automatic persisted queries and the request guard: WebSocket subscriptions and
    /// requests that carry `extensions.persistedQuery`.
    pub guarded: AppSchema,
}

/// Builds the schemas around a store and an event bus. Each request (or WebSocket
/// connection) must carry its [`Access`] as data.
pub fn build_schemas(store: ConversationStore, events: EventBus, limits: Limits) -> Schemas {
    let build = || {
        let mut builder = Schema::build(Query, Mutation, Subscription)
            .limit_complexity(limits.max_complexity)
            .data(store.clone())
            .data(events.clone())
            .data(limits.clone());
        if limits.disable_introspection {
            builder = builder.disable_introspection();
        }
        builder
    };
    Schemas {
        fast: build().finish(),
        prevalidated: build()
            .validation_mode(async_graphql::ValidationMode::Fast)
            .finish(),
        guarded: build()
            // Persisted queries resolve first, so the guard sees the real document.
            .extension(ApolloPersistedQueries::new(LruCacheStorage::new(
                limits.persisted_queries,
            )))
            .extension(guard::Guard)
            .finish(),
    }
}

/// The SDL of the schema, as served (`schema.graphql` holds exactly this).
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}

pub(crate) fn store<'c>(ctx: &Context<'c>) -> Result<&'c ConversationStore, ApiError> {
    ctx.data::<ConversationStore>()
        .map_err(|_| ApiError::internal("schema built without a ConversationStore"))
}

pub(crate) fn limits<'c>(ctx: &Context<'c>) -> Result<&'c Limits, ApiError> {
    ctx.data::<Limits>()
        .map_err(|_| ApiError::internal("schema built without Limits"))
}

pub(crate) fn access<'c>(ctx: &Context<'c>) -> Result<&'c Access, ApiError> {
    ctx.data::<Access>()
        .map_err(|_| ApiError::internal("request executed without an Access"))
}

/// The rows the caller may see and touch.
pub(crate) fn scope(ctx: &Context<'_>) -> Result<Predicate, ApiError> {
    Ok(access(ctx)?.scope())
}

/// A filter argument as a predicate, refused when it nests too deep, has too long an `in`
/// list, or holds a NUL character.
pub(crate) fn checked_filter(
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
    if longest_list(&predicate) > limits.max_in_list {
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

pub(crate) fn events<'c>(ctx: &Context<'c>) -> Result<&'c EventBus, ApiError> {
    ctx.data::<EventBus>()
        .map_err(|_| ApiError::internal("schema built without an EventBus"))
}
