//! The event log: `conversation_events`, one row per committed change of a conversation, and
//! `conversation_event_head`, one row holding the last position handed out.
//!
//! - `id`: insertion order (an identity / auto-increment), used only to order rows that wait
//!   for a position.
//! - `position`: the row's place in the log, dense and in commit order; NULL until it is
//!   given one (PostgreSQL and MySQL/MariaDB: right after the commit, see the server's
//!   `db::events`; SQLite: in the writing transaction). Unique.
//! - `conversation` / `previous`: the conversation after and before the change, in its JSON
//!   form (the source platform's REST shape); `previous` is NULL for a creation.
//! - `customer_id`: the tenant, so that a customer's subscriber reads only its rows.
//!
//! Per backend: PostgreSQL adds a partial index on the rows that wait for a position; MySQL
//! and MariaDB keep those under NULL in the position index (which ends with the primary key);
//! SQLite never has such rows. The JSON columns are `MEDIUMTEXT` on MySQL/MariaDB (a
//! conversation with every text at its longest is over `TEXT`'s 64 KiB once escaped).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_event_log"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ConversationEvents {
    Table,
    Id,
    Position,
    Kind,
    ConversationId,
    CustomerId,
    At,
    Conversation,
    Previous,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConversationEventHead {
    Table,
    Id,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let json = |col: ConversationEvents| {
            let mut def = ColumnDef::new(col);
            match backend {
                DbBackend::MySql => def.custom(Alias::new("MEDIUMTEXT")),
                _ => def.text(),
            };
            def
        };
        let mut at = ColumnDef::new(ConversationEvents::At);
        match backend {
            DbBackend::MySql => at.custom(Alias::new("DATETIME(6)")),
            _ => at.timestamp_with_time_zone(),
        };
        let mut table = Table::create();
        if backend == DbBackend::MySql {
            table.character_set("utf8mb4").collate("utf8mb4_bin");
        }
        manager
            .create_table(
                table
                    .table(ConversationEvents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConversationEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConversationEvents::Position)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ConversationEvents::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConversationEvents::ConversationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConversationEvents::CustomerId)
                            .uuid()
                            .not_null(),
                    )
                    .col(at.not_null())
                    .col(json(ConversationEvents::Conversation).not_null())
                    .col(json(ConversationEvents::Previous).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConversationEventHead::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConversationEventHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConversationEventHead::Position)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        let conn = manager.get_connection();
        let (if_not_exists, insert_head) = match backend {
            // MySQL has no `CREATE INDEX IF NOT EXISTS`; a fresh table has no indexes yet.
            DbBackend::MySql => (
                "",
                "INSERT IGNORE INTO conversation_event_head (id, position) VALUES (1, 0)",
            ),
            _ => (
                "IF NOT EXISTS ",
                "INSERT INTO conversation_event_head (id, position) VALUES (1, 0) \
                 ON CONFLICT DO NOTHING",
            ),
        };
        conn.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX {if_not_exists}idx_conversation_events_position \
             ON conversation_events (position)"
        ))
        .await?;
        conn.execute_unprepared(&format!(
            "CREATE INDEX {if_not_exists}idx_conversation_events_customer \
             ON conversation_events (customer_id, position)"
        ))
        .await?;
        if backend == DbBackend::Postgres {
            conn.execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_conversation_events_pending \
                 ON conversation_events (id) WHERE position IS NULL",
            )
            .await?;
        }
        conn.execute_unprepared(insert_head).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConversationEventHead::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConversationEvents::Table).to_owned())
            .await
    }
}
