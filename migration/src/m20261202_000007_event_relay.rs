//! `conversation_event_relay`: one row, the lease of the replica that relays the event log into
//! NATS JetStream (`--event-bus`, see the server's `events::nats`).
//!
//! - `holder`: the replica holding the lease (a random id per process), NULL before the first;
//! - `expires_at`: when the lease ends unless renewed, in milliseconds since the Unix epoch by
//!   the holder's clock; another replica takes it over once that has passed;
//! - `relayed`: the last log position the relay knows JetStream has stored (written with each
//!   renewal), where a relay starts when the stream has no message to tell it. NULL until a
//!   relay first takes the lease, which sets it to the log's head then.
//!
//! The table exists on every backend; only servers started with `--event-bus` use it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::shared::{big_integer, new_table, single_row_id};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000007_event_relay"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ConversationEventRelay {
    Table,
    Id,
    Holder,
    ExpiresAt,
    Relayed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                new_table(ConversationEventRelay::Table, backend, "ascii", "ascii_bin")
                    .col(single_row_id(ConversationEventRelay::Id))
                    .col(
                        ColumnDef::new(ConversationEventRelay::Holder)
                            .string_len(64)
                            .null(),
                    )
                    .col(
                        big_integer(ConversationEventRelay::ExpiresAt)
                            .not_null()
                            .default(0),
                    )
                    .col(big_integer(ConversationEventRelay::Relayed).null())
                    .to_owned(),
            )
            .await?;
        let insert = match backend {
            DbBackend::MySql => "INSERT IGNORE INTO conversation_event_relay (id) VALUES (1)",
            _ => "INSERT INTO conversation_event_relay (id) VALUES (1) ON CONFLICT DO NOTHING",
        };
        manager.get_connection().execute_unprepared(insert).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(ConversationEventRelay::Table)
                    .to_owned(),
            )
            .await
    }
}
