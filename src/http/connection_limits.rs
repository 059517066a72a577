//! The limits of every client connection, as flags.

use std::time::Duration;

/// Limits of every client connection (HTTP and WebSocket). Each flag also reads the environment
/// variable named beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a whole request head (request line and headers) once its
    /// first byte arrived (the first request: once the connection opened); then the connection
    /// is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may sit idle between requests before it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,

    /// Largest request head (request line and headers), in bytes; larger heads get HTTP 431.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 16 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024))]
    pub max_header_bytes: u64,

    /// Most client connections (HTTP and WebSocket) open at once; more wait to be accepted
    /// until one closes. Lowered at start-up to what the open-file limit allows.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Seconds a WebSocket has to send a valid `connection_init`; then it is closed with 4408.
    #[arg(long, env = "WS_INIT_TIMEOUT_SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_init_timeout_secs: u64,

    /// Most subscriptions one WebSocket may hold at once; the next `subscribe` gets an `error`
    /// message with the code `TOO_MANY_SUBSCRIPTIONS`.
    #[arg(long, env = "MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_subscriptions_per_connection: u64,
}

impl ConnectionLimits {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub fn ws_init_timeout(&self) -> Duration {
        Duration::from_secs(self.ws_init_timeout_secs)
    }
}
