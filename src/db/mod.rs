//! Storage: connecting, migrating, and every query on `conversations`.
//!
//! This layer speaks domain types ([`crate::domain`]) and SQL (through SeaORM and sea-query);
//! it knows nothing of GraphQL.

pub mod entity;
mod filter;
mod order;
mod store;

pub use store::{ConversationStore, Page, StoreError};

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL: the `search_path` of every connection (tests use one schema each).
    pub schema: Option<String>,
    /// PostgreSQL: the server cancels any statement running longer (`statement_timeout`).
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            schema: None,
            statement_timeout: None,
        }
    }
}

/// Opens the pool. SQLite gets WAL, `synchronous=NORMAL` and a busy timeout, so readers never
/// wait for the writer and concurrent writers queue instead of failing.
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    if let Some(timeout) = settings.statement_timeout {
        opts.statement_timeout(timeout);
    }
    if let Some(schema) = &settings.schema {
        opts.set_schema_search_path(schema.clone());
    }
    Database::connect(opts).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// The backend's name for logs (`sqlite`, `postgres`, `mysql`).
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::MySql => "mysql",
        _ => "sqlite",
    }
}
