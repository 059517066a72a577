//! Safe writes: `conversations.version`, and `idempotency_keys`.
//!
//! - `version`: 1 at create, +1 on every change; every existing row starts at 1 (a constant
//!   default: PostgreSQL 11+, MariaDB 10.3+ and MySQL 8.0.12+ add it without rewriting the
//!   table).
//! - `idempotency_keys`: one row per (customer, key) of `createConversation`, holding the
//!   SHA-256 of the key (64 hex characters: the same under every collation and a fixed size to
//!   index), the digest of the input it was used with, the conversation it created, and when.
//!   The primary key is what makes two concurrent calls with one key create one conversation;
//!   `created_at` is indexed for the pruning of expired keys.

use sea_orm_migration::prelude::*;

use crate::shared::{create_index, new_table, timestamp, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_safe_writes"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    CustomerId,
    KeyHash,
    Digest,
    ConversationId,
    CreatedAt,
}

const CREATED_INDEX: &str = "idx_idempotency_keys_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !manager.has_column("conversations", "version").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Conversations::Table)
                        .add_column(
                            ColumnDef::new(Conversations::Version)
                                .integer()
                                .not_null()
                                .default(1),
                        )
                        .to_owned(),
                )
                .await?;
        }
        let hex = |col: IdempotencyKeys| ColumnDef::new(col).char_len(64).not_null().to_owned();
        manager
            .create_table(
                new_table(IdempotencyKeys::Table, backend, "ascii", "ascii_bin")
                    .col(uuid(IdempotencyKeys::CustomerId))
                    .col(hex(IdempotencyKeys::KeyHash))
                    .col(hex(IdempotencyKeys::Digest))
                    .col(uuid(IdempotencyKeys::ConversationId))
                    .col(timestamp(IdempotencyKeys::CreatedAt, backend).not_null())
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::CustomerId)
                            .col(IdempotencyKeys::KeyHash),
                    )
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        create_index(
            conn,
            false,
            CREATED_INDEX,
            "idempotency_keys",
            "(created_at)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::Version)
                    .to_owned(),
            )
            .await
    }
}
