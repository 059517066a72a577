//! PostgreSQL `LISTEN`/`NOTIFY`, for telling other replicas that something happened (the
//! event log's sequencer sends its `NOTIFY` inside its own transaction, see
//! [`super::events`]). Other backends have no such channel: [`Listener::connect`] answers
//! `None` there.

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

/// Whether the database has `LISTEN`/`NOTIFY` (PostgreSQL).
pub fn available(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// One connection that `LISTEN`s on a channel.
pub struct Listener {
    inner: PgListener,
}

/// What [`Listener::recv`] got.
#[derive(Debug)]
pub enum Received {
    /// A notification's payload.
    Payload(String),
    /// The connection was lost; notifications sent meanwhile are gone. Connect again.
    Lost,
}

impl Listener {
    /// A listener on `channel`, or `None` when the database is not PostgreSQL.
    pub async fn connect(db: &DatabaseConnection, channel: &str) -> Result<Option<Self>, DbErr> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let err = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("LISTEN failed: {e}"));
        let mut inner = PgListener::connect_with(db.get_postgres_connection_pool())
            .await
            .map_err(err)?;
        // A lost connection is reported to the caller (who reconnects), not hidden inside sqlx.
        inner.ignore_pool_close_event(false);
        inner.listen(channel).await.map_err(err)?;
        Ok(Some(Self { inner }))
    }

    /// The next notification.
    pub async fn recv(&mut self) -> Received {
        match self.inner.try_recv().await {
            Ok(Some(n)) => Received::Payload(n.payload().to_owned()),
            Ok(None) | Err(_) => Received::Lost,
        }
    }
}

/// True once the pool has been closed (the server is stopping).
pub fn is_closed(db: &DatabaseConnection) -> bool {
    match db.get_database_backend() {
        DbBackend::Postgres => db.get_postgres_connection_pool().is_closed(),
        DbBackend::MySql => db.get_mysql_connection_pool().is_closed(),
        _ => db.get_sqlite_connection_pool().is_closed(),
    }
}
