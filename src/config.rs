//! Command line and environment configuration. Every flag can also be set through the
//! environment variable named beside it; `--help` lists them all.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

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
}

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Database to use: `sqlite://FILE?mode=rwc` (created if missing), `postgres://…` or
    /// `mysql://…`. The default is a SQLite file in the working directory.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://conversations.db?mode=rwc"
    )]
    pub database_url: String,

    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Browser origins allowed to call the API (CORS), comma-separated, e.g.
    /// `https://app.example.com`. Default: any origin, without credentials.
    #[arg(long = "cors-origin", env = "CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Size of the database connection pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Log filter in `RUST_LOG` syntax (e.g. `info`, `debug,sqlx=warn`).
    #[arg(long, env = "LOG", default_value = "info")]
    pub log: String,
}
