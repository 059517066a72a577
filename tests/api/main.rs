//! Black-box tests: the real router, real GraphQL documents, a fresh database per test, on
//! every configured backend (see `support`).

mod support;

mod auth;
mod connections;
mod crud;
mod filters;
mod http;
mod limits;
mod paging;
mod persisted;
mod process;
mod replicas;
mod schema;
mod storage;
mod subscriptions;
mod tokens;
mod transfer;
mod validation;
mod ws_client;
mod ws_limits;
