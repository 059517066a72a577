//! conversation-graphql: a GraphQL server for customer-support conversations.
//!
//! Layers, each in its own module:
//! - [`config`]: command line and environment;
//! - [`domain`]: validated values (addresses, E.164 numbers, the filter language);
//! - [`db`]: entities, migrations and every query;
//! - [`graphql`]: the schema and resolvers;
//! - [`http`]: the router, GraphQL over HTTP, GraphiQL, health;
//! - [`idempotency`]: how long idempotency keys are kept, and their pruner;
//! - [`transfer`]: import and export in the source platform's JSON shape;
//! - [`error`]: the one error type and its codes;
//! - [`app`]: wiring and running.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod transfer;
