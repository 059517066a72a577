//! The GraphQL API: schema, types, resolvers, and the [`Executor`] that runs operations.
//! Resolvers turn arguments into domain values and call the [`ConversationStore`]; they never
//! build SQL.

mod cache;
mod compiled;
mod connection;
mod context;
mod counts;
mod error_list;
mod events;
pub mod executor;
mod filter;
mod guard;
pub mod limits;
mod mutation;
mod node;
mod node_id;
mod order;
mod query;
mod scalars;
mod subscription;
mod types;

use std::sync::Arc;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::Schema;

use crate::db::ConversationStore;
use crate::events::EventBus;
use crate::idempotency::IdempotencyOptions;

pub use executor::{Executor, Operation, Outcome, Persisted};
pub use guard::OperationName;
pub use limits::Limits;
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::{CloseConnection, Subscription};

/// The schema type served by this crate.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// What the transports need: the executor for requests, and the schema that serves
/// WebSocket subscriptions (with automatic persisted queries and the guard as extensions).
#[derive(Clone)]
pub struct Api {
    pub executor: Executor,
    pub subscriptions: AppSchema,
}

/// Builds the API around a store and an event bus. Each request (or WebSocket connection)
/// must carry its [`crate::auth::Access`] as data.
pub fn build(
    store: ConversationStore,
    events: EventBus,
    limits: Arc<Limits>,
    keys: IdempotencyOptions,
) -> Api {
    let build = || {
        let mut builder = Schema::build(Query, Mutation, Subscription)
            .data(store.clone())
            .data(events.clone())
            .data(limits.clone())
            .data(keys.clone());
        if limits.disable_introspection {
            builder = builder.disable_introspection();
        }
        builder
    };
    let schemas = executor::Schemas {
        checked: build().finish(),
        prevalidated: build()
            .validation_mode(async_graphql::ValidationMode::Fast)
            .finish(),
    };
    Api {
        executor: Executor::new(schemas, store.clone(), limits.clone()),
        subscriptions: build()
            // Persisted queries resolve first, so the guard sees the real document.
            .extension(ApolloPersistedQueries::new(LruCacheStorage::new(
                limits.persisted_queries.max(1),
            )))
            .extension(guard::Guard)
            .finish(),
    }
}

/// The SDL of the schema, as served (`schema.graphql` holds exactly this).
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}
