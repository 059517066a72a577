//! Black-box tests: the real router, real GraphQL documents, a fresh database per test, on
//! every configured backend (see `support`). Its own runner: `support::runner`.

mod support;

mod auth;
mod bulk;
mod commit_deadline;
mod compiled;
mod connections;
mod counts;
mod crud;
mod event_bus;
mod event_log;
mod event_replicas;
mod events_support;
mod filter_agreement;
mod filters;
mod http;
mod idempotency;
mod limits;
mod node;
mod paging;
mod persisted;
mod process;
mod read_replica;
mod replicas;
mod request_hygiene;
mod schema;
mod search;
mod storage;
mod subscriptions;
mod tokens;
mod transfer;
mod validation;
mod versions;
mod writes_support;
mod ws_limits;

fn main() {
    support::runner::run(
        [
            auth::trials(),
            bulk::trials(),
            commit_deadline::trials(),
            compiled::trials(),
            connections::trials(),
            counts::trials(),
            crud::trials(),
            event_bus::trials(),
            event_log::trials(),
            event_replicas::trials(),
            filter_agreement::trials(),
            filters::trials(),
            http::trials(),
            idempotency::trials(),
            limits::trials(),
            node::trials(),
            paging::trials(),
            persisted::trials(),
            process::trials(),
            read_replica::trials(),
            replicas::trials(),
            request_hygiene::trials(),
            schema::trials(),
            search::trials(),
            storage::trials(),
            subscriptions::trials(),
            tokens::trials(),
            transfer::trials(),
            validation::trials(),
            versions::trials(),
            ws_limits::trials(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}
