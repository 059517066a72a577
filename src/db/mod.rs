//! Storage: connecting, migrating, and every query on `conversations`.
//!
//! This layer speaks domain types ([`crate::domain`]) and SQL (through SeaORM and sea-query);
//! it knows nothing of GraphQL.

pub mod entity;
mod filter;
mod many;
mod order;
mod store;
mod value;

pub use store::{BatchOutcome, ConversationStore, OnExisting, Page, StoreError};

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::mysql::MySql;
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{AssertSqlSafe, Executor};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL: the `search_path` of every connection (tests use one schema each).
    pub schema: Option<String>,
    /// The server cancels any statement running longer: PostgreSQL's `statement_timeout`,
    /// MariaDB's `max_statement_time` (MySQL's `max_execution_time`, which covers `SELECT`s
    /// only). SQLite has none: there the request timeout drops the statement.
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
        opts.statement_timeout(timeout)
            .map_sqlx_mysql_pool_opts(move |pool| mysql_statement_timeout(pool, timeout));
    }
    if let Some(schema) = &settings.schema {
        opts.set_schema_search_path(schema.clone());
    }
    Database::connect(opts).await
}

/// Sets the statement timeout of every new MySQL/MariaDB connection (SeaORM sets it for
/// PostgreSQL only).
fn mysql_statement_timeout(pool: PoolOptions<MySql>, timeout: Duration) -> PoolOptions<MySql> {
    pool.after_connect(move |conn, _meta| {
        Box::pin(async move {
            let mariadb = format!(
                "SET SESSION max_statement_time = {:.3}",
                timeout.as_secs_f64()
            );
            if conn.execute(AssertSqlSafe(mariadb)).await.is_err() {
                // MySQL has no max_statement_time; its max_execution_time is in milliseconds.
                let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
                conn.execute(AssertSqlSafe(mysql)).await?;
            }
            Ok(())
        })
    })
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
