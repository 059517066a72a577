//! Black-box tests: the real router, real GraphQL documents, a fresh database per test, on
//! every configured backend (see `support`).

mod support;

mod auth;
mod counts;
mod crud;
mod filters;
mod http;
mod limits;
mod node;
mod paging;
mod persisted;
mod process;
mod replicas;
mod schema;
mod search;
mod storage;
mod subscriptions;
mod transfer;
mod validation;
mod ws_client;
