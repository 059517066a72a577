//! Database migrations for conversation-graphql.
//!
//! The server runs every pending migration at start (see `db::connect_and_migrate`); they can
//! also be run on their own with `conversation-graphql migrate`.

pub use sea_orm_migration::prelude::*;

mod shared;

mod m20261126_000001_create_conversations;
mod m20261126_000002_cover_tm_delete;
mod m20261126_000003_target_indexes;
mod m20261201_000004_dashboard_reads;
mod m20261201_000005_safe_writes;
mod m20261201_000006_event_log;
mod m20261202_000007_event_relay;

/// The SQL expressions the dashboard-reads indexes are built on, for queries that must write
/// them the same way for the indexes to serve them.
pub mod dashboard {
    pub use super::m20261201_000004_dashboard_reads::{
        phone_form, search_digits, search_document, sqlite_search_text, DIALABLE_COLUMNS,
        DIGIT_GRAM, DIGIT_GRAMS_FUNCTION, SEARCHED_COLUMNS,
    };
}

/// All migrations, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_conversations::Migration),
            Box::new(m20261126_000002_cover_tm_delete::Migration),
            Box::new(m20261126_000003_target_indexes::Migration),
            Box::new(m20261201_000004_dashboard_reads::Migration),
            Box::new(m20261201_000005_safe_writes::Migration),
            Box::new(m20261201_000006_event_log::Migration),
            Box::new(m20261202_000007_event_relay::Migration),
        ]
    }
}
