//! Storage: connecting, migrating, and every query on `conversations`.
//!
//! This layer speaks domain types ([`crate::domain`]) and SQL (through SeaORM and sea-query);
//! it knows nothing of GraphQL. Nothing outside it touches a pool or writes SQL: health checks
//! ([`ping`]), pool figures ([`pool_stats`]) and PostgreSQL's `LISTEN`/`NOTIFY` ([`notify`])
//! are functions here, and so is the event log ([`events`]).

mod batch;
mod bulk;
mod by_id;
mod casefold;
mod columns;
mod counts;
pub mod entity;
pub mod events;
mod fence;
mod filter;
pub mod idempotency;
mod like;
mod many;
pub mod notify;
mod order;
mod read_pool;
mod search;
mod sqlite;
mod store;
mod txn;
mod value;
mod walk;
mod write;

pub use fence::CommitFence;
pub use read_pool::{ReadPool, ReadPoolReport};
pub use store::{BatchOutcome, ConversationStore, OnExisting, Page, StoreError};
pub use write::{Action, WriteError};

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

impl PoolSettings {
    /// The pool a command-line tool (`import`, `export`, `migrate`) uses: small, patient, and
    /// without a statement timeout (a batch may take longer than a request may).
    pub fn for_tool(schema: Option<String>) -> Self {
        Self {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(30),
            schema,
            statement_timeout: None,
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database: {0}")]
    Connect(#[source] DbErr),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] DbErr),
}

/// Opens the pool. SQLite gets WAL, `synchronous=NORMAL`, a busy timeout (readers never wait
/// for the writer, concurrent writers queue instead of failing) and `cg_lower`.
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    Database::connect(options(url, settings)).await
}

/// Opens a [`ReadPool`] on a hot standby, with the same settings as the primary's pool. The
/// pool connects lazily, so an unreachable standby is not an error here: the first check
/// (made before this returns) marks it down, and queries read from the primary until a later
/// check finds it answering. The URL must be of the primary's backend.
pub async fn open_read_pool(
    url: &str,
    settings: &PoolSettings,
    retry: Duration,
) -> Result<ReadPool, DbErr> {
    let mut opts = options(url, settings);
    opts.connect_lazy(true);
    let pool = ReadPool::new(Database::connect(opts).await?, retry);
    pool.check().await;
    Ok(pool)
}

/// How [`connect`] opens a pool.
fn options(url: &str, settings: &PoolSettings) -> ConnectOptions {
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
        })
        .map_sqlx_sqlite_pool_opts(sqlite::with_functions);
    if let Some(timeout) = settings.statement_timeout {
        opts.statement_timeout(timeout)
            .map_sqlx_mysql_pool_opts(move |pool| mysql_statement_timeout(pool, timeout));
    }
    if let Some(schema) = &settings.schema {
        opts.set_schema_search_path(schema.clone());
    }
    opts
}

/// Opens the pool and applies every pending migration. Migrations run without the statement
/// timeout (building an index over a large table takes longer than a request may): where the
/// pool has one (PostgreSQL, MySQL), on a connection of their own.
pub async fn open(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection, OpenError> {
    let conn = connect(url, settings).await.map_err(OpenError::Connect)?;
    let timed =
        settings.statement_timeout.is_some() && conn.get_database_backend() != DbBackend::Sqlite;
    if timed {
        let tool = connect(url, &PoolSettings::for_tool(settings.schema.clone()))
            .await
            .map_err(OpenError::Connect)?;
        let migrated = migrate(&tool).await;
        let _ = tool.close().await;
        migrated.map_err(OpenError::Migrate)?;
    } else {
        migrate(&conn).await.map_err(OpenError::Migrate)?;
    }
    Ok(conn)
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

/// A pool's connections right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// How many connections the pool holds, and how many of them are idle.
pub fn pool_stats(db: &DatabaseConnection) -> PoolStats {
    macro_rules! stats {
        ($pool:expr) => {{
            let p = $pool;
            PoolStats {
                open: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            }
        }};
    }
    match db.get_database_backend() {
        DbBackend::Postgres => stats!(db.get_postgres_connection_pool()),
        DbBackend::MySql => stats!(db.get_mysql_connection_pool()),
        _ => stats!(db.get_sqlite_connection_pool()),
    }
}

/// Rows a pruning statement deletes at most, so that none holds its locks for long.
pub const PRUNE_BATCH: u64 = 1000;

/// Runs `prune(PRUNE_BATCH)` (which deletes at most that many rows and says how many it
/// deleted) until a batch deletes fewer, pausing 10 ms between batches; returns the total.
pub async fn prune_in_batches<F, Fut, E>(mut prune: F) -> Result<u64, E>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<u64, E>>,
{
    let mut total = 0;
    loop {
        let n = prune(PRUNE_BATCH).await?;
        total += n;
        if n < PRUNE_BATCH {
            return Ok(total);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Every row `select` finds on `db`, each converted from its model.
pub(crate) async fn all_as<E, T, C>(select: sea_orm::Select<E>, db: &C) -> Result<Vec<T>, DbErr>
where
    E: sea_orm::EntityTrait,
    T: TryFrom<E::Model, Error = DbErr>,
    C: sea_orm::ConnectionTrait,
{
    select.all(db).await?.into_iter().map(T::try_from).collect()
}
