//! Command line and environment configuration. Every flag can also be set through the
//! environment variable named beside it; `--help` lists them all.

use std::net::SocketAddr;

use clap::{Args, FromArgMatches, Parser, Subcommand};

use crate::events::EventOptions;
use crate::graphql::Limits;
use crate::idempotency::IdempotencyOptions;

/// The defaults of a group of flags, as clap's attributes give them (the one place they are
/// written); the environment is not read.
pub fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults").no_binary_name(true))
        .mut_args(|arg| arg.env(None::<&'static str>));
    let matches = command
        .try_get_matches_from(std::iter::empty::<String>())
        .expect("every flag has a default");
    T::from_arg_matches(&matches).expect("defaults parse")
}

/// `Default` for groups of flags: their defaults as clap's attributes give them ([`defaults`]).
macro_rules! default_from_flags {
    ($($flags:ty),+ $(,)?) => {$(
        impl Default for $flags {
            /// The flags' defaults (the environment is not read).
            fn default() -> Self {
                defaults()
            }
        }
    )+};
}

default_from_flags!(
    EventOptions,
    Limits,
    IdempotencyOptions,
    crate::http::serve::ConnectionLimits,
);

#[derive(Debug, Parser)]
#[command(
    name = "conversation-graphql",
    version,
    about = "GraphQL server for customer-support conversations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (what happens with no subcommand).
    Serve,
    /// Print the GraphQL schema (SDL) to standard output and exit.
    PrintSchema,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint an HS256 token with the configured `--jwt-secret`, e.g. to paste into GraphiQL's
    /// headers as `{"Authorization": "Bearer <token>"}`.
    Token(TokenArgs),
    /// Import conversations from the source platform's JSON: a JSON array, an object with a
    /// `result` array (the REST list response), or NDJSON. Ids and timestamps are kept; an id
    /// that is already stored is skipped (or replaced with `--upsert`).
    Import(ImportArgs),
    /// Export conversations as NDJSON in the same shape (RFC 3339 times, `null` for "not yet").
    Export(ExportArgs),
}

/// What to import and how.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file to read; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// Replace a stored conversation that has a record's id (default: skip the record).
    #[arg(long, env = "IMPORT_UPSERT")]
    pub upsert: bool,
    /// Skip bad records (each is reported) instead of stopping at the first batch with one.
    #[arg(long, env = "IMPORT_KEEP_GOING")]
    pub keep_going: bool,
    /// Also record an event for every conversation the import creates or changes (CREATED,
    /// or UPDATED/DELETED/RESTORED with `previous` for a replaced one), so subscribers and
    /// the event log see them. Off by default: an import of history is not news.
    #[arg(long, env = "IMPORT_WITH_EVENTS")]
    pub with_events: bool,
    /// Records per transaction: a batch with a bad record writes nothing.
    #[arg(long, env = "IMPORT_BATCH_SIZE", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: u64,
}

/// What to export.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Soft-deleted conversations too.
    #[arg(long)]
    pub include_deleted: bool,
    /// The file to write (replaced if it exists); standard output when left out or `-`.
    #[arg(value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

/// Claims of a minted token.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The customer the token is for.
    #[arg(long)]
    pub customer_id: uuid::Uuid,
    /// `superadmin`, `admin`, `manager` or `agent`.
    #[arg(long, value_parser = ["superadmin", "admin", "manager", "agent"])]
    pub role: String,
    /// The agent's id (required for `--role agent`).
    #[arg(long)]
    pub agent_id: Option<uuid::Uuid>,
    /// How long the token is valid: `90s`, `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = crate::domain::parse_duration)]
    pub ttl: std::time::Duration,
}

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Database to use: `sqlite://FILE?mode=rwc` (created if missing), `postgres://…` or
    /// `mysql://…`. The default is a SQLite file in the working directory.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://conversations.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Browser origins allowed to call the API (CORS), comma-separated, e.g.
    /// `https://app.example.com`. Default: any origin, without credentials.
    #[arg(long = "cors-origin", env = "CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// PostgreSQL schema to keep the tables in (its `search_path`); default: the database's.
    #[arg(long, env = "DB_SCHEMA")]
    pub db_schema: Option<String>,

    /// The event log and its delivery (channel, buffer, polling, retention).
    #[command(flatten)]
    pub events: EventOptions,

    /// Seconds one WebSocket write may take; a client that stops reading is disconnected.
    #[arg(long, env = "WS_SEND_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_send_timeout_secs: u64,

    /// A hot standby that queries read from (writes stay on `--database-url`).
    #[command(flatten)]
    pub read_pool: ReadPoolOptions,

    /// Size of the database connection pool. Default: 16 on PostgreSQL and MySQL, 4 on SQLite
    /// (one writer at a time, and each connection is a thread with its own page cache).
    #[arg(long, env = "DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,

    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// HS256 secret that signs bearer tokens (at least 16 bytes). Set this or
    /// `--jwt-public-key` to require authentication.
    #[arg(
        long,
        env = "JWT_SECRET",
        hide_env_values = true,
        conflicts_with = "jwt_public_key"
    )]
    pub jwt_secret: Option<String>,

    /// PEM file with the RSA (RS256) or P-256 (ES256) public key that verifies bearer tokens.
    #[arg(long, env = "JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<std::path::PathBuf>,

    /// Refuse tokens whose `exp` is further ahead than this (`90s`, `30m`, `1h`, `7d`), so a
    /// leaked long-lived token is useless. Default: no limit.
    #[arg(long, env = "MAX_TOKEN_LIFETIME", value_parser = crate::domain::parse_duration)]
    pub max_token_lifetime: Option<std::time::Duration>,

    /// Serve without authentication on a non-loopback address (without a key the server
    /// refuses to, and on loopback it warns).
    #[arg(long, env = "ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,

    /// Limits on queries (depth, complexity, page sizes, filters, …).
    #[command(flatten)]
    pub limits: Limits,

    /// Idempotency keys of `createConversation` (how long they are kept).
    #[command(flatten)]
    pub idempotency: IdempotencyOptions,

    /// Most operations in one batched request (a JSON array); 0 turns batching off.
    #[arg(long, env = "MAX_BATCH", default_value_t = 0)]
    pub max_batch: usize,

    /// Seconds a request may run; then it is cancelled, database statement included. A
    /// mutation whose transaction began to commit is never cancelled: its answer is waited for.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// Seconds in-flight requests (and open subscriptions) get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// Log lines as `pretty` text or `json` (one object a line, for log collectors).
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty", value_parser = ["pretty", "json"])]
    pub log_format: String,

    /// Deadlines and bounds of client connections.
    #[command(flatten)]
    pub connection: crate::http::serve::ConnectionLimits,

    /// Log filter in `RUST_LOG` syntax (e.g. `info`, `debug,sqlx=warn`).
    #[arg(long, env = "LOG", default_value = "info", global = true)]
    pub log: String,
}

impl ServeConfig {
    /// The NATS bus of `--event-bus`, with the stream `--event-bus-stream` or one named after
    /// the schema; `None` without `--event-bus`.
    pub fn event_bus(&self) -> Option<crate::events::nats::NatsSettings> {
        let url = self.events.event_bus.clone()?;
        let stream = self.per_schema(&self.events.event_bus_stream);
        Some(crate::events::nats::NatsSettings {
            url,
            stream,
            max_age: self.events.event_bus_max_age,
        })
    }

    /// The PostgreSQL `NOTIFY` channel: `--events-channel`, or one named after the schema.
    pub fn events_channel(&self) -> String {
        self.per_schema(&self.events.events_channel)
    }

    /// `given`, or else `conversation_events`, with `_<schema>` under `--db-schema` (so that
    /// schemas of one database do not share a channel or a stream).
    fn per_schema(&self, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| match &self.db_schema {
            Some(schema) => format!("conversation_events_{schema}"),
            None => "conversation_events".into(),
        })
    }
}

/// Queries from a read replica: a PostgreSQL hot standby of `--database-url`.
#[derive(Debug, Clone, Args)]
pub struct ReadPoolOptions {
    /// A hot standby of `--database-url` (e.g. `postgres://…` of a `pg_basebackup -R` copy)
    /// that queries (`conversation`, `conversations`, `conversationCounts`, `node`, `nodes`,
    /// `conversationEventLog`) read from; mutations, their answers, subscriptions and
    /// migrations use the primary. While the standby cannot answer, queries read from the
    /// primary. It gets a pool of its own of `--db-max-connections`. Default: none, every
    /// query reads from the primary.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,

    /// How often the read pool's health is checked: a standby that stopped answering is tried
    /// again this often (`500ms`, `5s`).
    #[arg(long, env = "DATABASE_READ_RETRY", default_value = "5s", value_parser = crate::domain::parse_duration)]
    pub database_read_retry: std::time::Duration,

    /// How long a query waits for a connection of the read pool (connecting included) before
    /// it reads from the primary instead; the read pool then counts as down until a check
    /// finds it answering.
    #[arg(long, env = "DATABASE_READ_TIMEOUT", default_value = "1s", value_parser = crate::domain::parse_duration)]
    pub database_read_timeout: std::time::Duration,
}
