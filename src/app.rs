//! Wiring: the options of the HTTP app, building its state and router, and running the
//! server (graceful shutdown on SIGINT/SIGTERM).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use axum::Router;
use sea_orm::DatabaseConnection;

use crate::auth::Verifier;
use crate::config::{self, ServeConfig};
use crate::db::{self, ConversationStore, OpenError, PoolSettings, ReadPool};
use crate::events::{EventBus, EventSettings};
use crate::graphql::{self, Limits};
use crate::http::serve::ConnectionLimits;
use crate::http::{self, CorsOrigins, WsLimits};
use crate::idempotency::{self, IdempotencyOptions};
use crate::metrics::Metrics;

pub use crate::http::AppState;

/// Options of the HTTP app beyond the database. [`Default`] gives the flags' defaults.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub cors: CorsOrigins,
    pub limits: Limits,
    pub max_body_bytes: usize,
    pub auth: Option<Verifier>,
    pub max_batch: usize,
    pub request_timeout: Duration,
    /// PostgreSQL `NOTIFY` channel shared by the replicas.
    pub events_channel: String,
    /// Events a subscriber may fall behind before it is dropped.
    pub event_buffer: usize,
    /// How often the event tailer and sequencer look without being woken.
    pub event_poll_interval: Duration,
    /// How long the event log keeps events.
    pub event_retention: Duration,
    /// Deliver events through NATS JetStream (`--event-bus`); `None`: from the database.
    pub event_bus: Option<crate::events::nats::NatsSettings>,
    /// How long one WebSocket write may take before the connection is dropped.
    pub ws_send_timeout: Duration,
    /// How long `createConversation` remembers an idempotency key.
    pub idempotency_ttl: Duration,
    /// Deadlines and bounds of every client connection.
    pub connection: ConnectionLimits,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self::from_config(&config::defaults(), None, CorsOrigins::Any)
    }
}

impl AppOptions {
    /// The options `config` asks for, with a verifier and CORS origins already made.
    fn from_config(config: &ServeConfig, auth: Option<Verifier>, cors: CorsOrigins) -> Self {
        let secs = |s: u64| Duration::from_secs(s.max(1));
        Self {
            cors,
            limits: config.limits.clone(),
            max_body_bytes: config.max_body_bytes,
            auth,
            max_batch: config.max_batch,
            request_timeout: secs(config.request_timeout_secs),
            events_channel: config.events_channel(),
            event_buffer: config.events.event_buffer,
            event_poll_interval: config
                .events
                .event_poll_interval
                .max(Duration::from_millis(1)),
            event_retention: config.events.event_retention,
            event_bus: config.event_bus(),
            ws_send_timeout: secs(config.ws_send_timeout_secs),
            idempotency_ttl: config.idempotency.idempotency_ttl,
            connection: config.connection,
        }
    }
}

/// The router over a migrated database.
pub fn router(db: DatabaseConnection, options: &AppOptions) -> Router {
    build(db, options).0
}

/// The router and the state behind it.
pub fn build(db: DatabaseConnection, options: &AppOptions) -> (Router, AppState) {
    build_with_read_pool(db, None, options)
}

/// [`build`], with queries reading from `read` while it answers (its health checked in the
/// background).
pub fn build_with_read_pool(
    db: DatabaseConnection,
    read: Option<ReadPool>,
    options: &AppOptions,
) -> (Router, AppState) {
    let mut store = ConversationStore::new(db);
    if let Some(read) = read {
        read.spawn_health_checks();
        store = store.with_read_pool(read);
    }
    let metrics = Arc::new(Metrics::new(store.read_pool().is_some()));
    let events = EventBus::start(
        &store,
        &EventSettings {
            channel: options.events_channel.clone(),
            buffer: options.event_buffer,
            poll_interval: options.event_poll_interval,
            retention: options.event_retention,
            bus: options.event_bus.clone(),
        },
    );
    let limits = Arc::new(options.limits.clone());
    idempotency::spawn_pruner(store.clone(), options.idempotency_ttl);
    let keys = IdempotencyOptions {
        idempotency_ttl: options.idempotency_ttl,
    };
    let state = AppState::new(http::Shared {
        api: graphql::build(store.clone(), events.clone(), limits, keys),
        store,
        events,
        auth: options.auth.clone().map(Arc::new),
        max_batch: options.max_batch,
        request_timeout: options.request_timeout,
        ws_send_timeout: options.ws_send_timeout,
        ws_limits: WsLimits {
            max_message_bytes: options.max_body_bytes,
            init_timeout: options.connection.ws_init_timeout(),
            max_subscriptions: usize::try_from(options.connection.max_subscriptions_per_connection)
                .unwrap_or(usize::MAX),
        },
        metrics,
    });
    let router = http::router(state.clone(), &options.cors, options.max_body_bytes);
    (router, state)
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid --cors-origin {0:?}")]
    CorsOrigin(String),
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, #[source] std::io::Error),
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    #[error("cannot read --jwt-public-key {0}: {1}")]
    KeyFile(std::path::PathBuf, #[source] std::io::Error),
    #[error("unusable JWT key: {0}")]
    Key(#[from] crate::auth::KeyError),
    #[error(
        "refusing to serve without authentication on {0}, which is not a loopback address: \
         set --jwt-secret or --jwt-public-key, or pass --allow-unauthenticated"
    )]
    Unauthenticated(SocketAddr),
    #[error(
        "--database-read-url must be a standby of --database-url's backend (PostgreSQL or \
         MySQL/MariaDB; SQLite has no replicas)"
    )]
    ReadUrl,
}

/// Opens and migrates the configured database with the server's pool.
pub async fn open_database(config: &ServeConfig) -> Result<DatabaseConnection, StartError> {
    Ok(db::open(&config.database_url, &pool_settings(config)).await?)
}

/// Opens the read pool on `--database-read-url`, if there is one (an unreachable standby is
/// not an error: queries read from the primary until it answers).
pub async fn open_read_pool(config: &ServeConfig) -> Result<Option<ReadPool>, StartError> {
    let options = &config.read_pool;
    check_read_url(config)?;
    let Some(url) = &options.database_read_url else {
        return Ok(None);
    };
    let settings = PoolSettings {
        acquire_timeout: options.database_read_timeout.max(Duration::from_millis(1)),
        ..pool_settings(config)
    };
    let read = db::open_read_pool(url, &settings, options.database_read_retry)
        .await
        .map_err(|e| StartError::Database(OpenError::Connect(e)))?;
    let state = if read.is_up() { "up" } else { "down" };
    tracing::info!(
        state,
        "read pool: queries read from the standby while it answers"
    );
    Ok(Some(read))
}

/// `--database-read-url`, if set, is of `--database-url`'s backend, and not SQLite.
fn check_read_url(config: &ServeConfig) -> Result<(), StartError> {
    let Some(url) = &config.read_pool.database_read_url else {
        return Ok(());
    };
    let scheme = |u: &str| {
        u.split(':')
            .next()
            .unwrap_or_default()
            .replace("postgresql", "postgres")
    };
    if scheme(url) != scheme(&config.database_url) || scheme(url) == "sqlite" {
        return Err(StartError::ReadUrl);
    }
    Ok(())
}

/// The server's pool: its size, statement timeout and schema.
fn pool_settings(config: &ServeConfig) -> PoolSettings {
    let sqlite = config.database_url.starts_with("sqlite:");
    PoolSettings {
        max_connections: config
            .db_max_connections
            .unwrap_or(if sqlite { 4 } else { 16 }),
        statement_timeout: Some(Duration::from_secs(config.request_timeout_secs.max(1))),
        schema: config.db_schema.clone(),
        ..PoolSettings::default()
    }
}

/// The token verifier the configuration asks for, if any.
pub fn verifier(config: &ServeConfig) -> Result<Option<Verifier>, StartError> {
    let verifier = if let Some(secret) = &config.jwt_secret {
        Verifier::hs256(secret.as_bytes())?
    } else if let Some(path) = &config.jwt_public_key {
        let pem = std::fs::read(path).map_err(|e| StartError::KeyFile(path.clone(), e))?;
        Verifier::public_key_pem(&pem)?
    } else {
        return Ok(None);
    };
    Ok(Some(verifier.with_max_lifetime(config.max_token_lifetime)))
}

fn app_options(config: &ServeConfig) -> Result<AppOptions, StartError> {
    let cors = if config.cors_origins.is_empty() || config.cors_origins.iter().any(|o| o == "*") {
        CorsOrigins::Any
    } else {
        CorsOrigins::List(
            config
                .cors_origins
                .iter()
                .map(|o| HeaderValue::from_str(o).map_err(|_| StartError::CorsOrigin(o.clone())))
                .collect::<Result<_, _>>()?,
        )
    };
    check_read_url(config)?;
    let auth = verifier(config)?;
    if auth.is_none() {
        if !config.listen.ip().is_loopback() && !config.allow_unauthenticated {
            return Err(StartError::Unauthenticated(config.listen));
        }
        tracing::warn!(
            "no --jwt-secret or --jwt-public-key: serving WITHOUT authentication; every caller \
             can read and write every customer's conversations"
        );
    }
    Ok(AppOptions::from_config(config, auth, cors))
}

/// Runs the server until SIGINT or SIGTERM, then lets in-flight requests finish.
pub async fn serve(config: ServeConfig) -> Result<(), StartError> {
    let options = app_options(&config)?;
    let conn = open_database(&config).await?;
    let read = open_read_pool(&config).await?;
    let backend = db::backend_name(&conn);
    let (app, state) = build_with_read_pool(conn.clone(), read.clone(), &options);
    let listener =
        http::serve::bind(config.listen).map_err(|e| StartError::Listen(config.listen, e))?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(%addr, backend, "GraphiQL: http://{addr}/graphql");
    // On SIGINT/SIGTERM: stop accepting, let in-flight requests finish, but wait at most the
    // grace period (subscription sockets would otherwise hold the process forever).
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    };
    let server = http::serve::serve(listener, app, options.connection, signal);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {}
        () = deadline => tracing::warn!(?grace, "connections still open after the grace period; closing them"),
    }
    state.events.stop().await;
    tracing::info!("shutting down: closing the database pool");
    let _ = conn.close().await;
    if let Some(read) = read {
        let _ = read.connection().close_by_ref().await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}
