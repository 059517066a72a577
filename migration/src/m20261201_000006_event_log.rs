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
//!
//! MySQL/MariaDB also get `cg_create_conversation`, a procedure that inserts a conversation and
//! its CREATED event in one transaction, so that a create costs one round trip instead of
//! four (`BEGIN`, two `INSERT`s, `COMMIT`). Its parameters are the columns of
//! `conversations` in table order (`version`, added by the migration before this one, last),
//! then the event's kind, time and JSON.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::shared::{big_integer, create_index, new_table, single_row_id, timestamp, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_event_log"
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

/// MySQL/MariaDB: a conversation and its CREATED event in one transaction, in one call.
const CREATE_PROCEDURE: &str = "
CREATE PROCEDURE cg_create_conversation(
  IN p_id BINARY(16), IN p_customer_id BINARY(16),
  IN p_owner_type VARCHAR(32) CHARACTER SET utf8mb4, IN p_owner_id BINARY(16),
  IN p_account_id BINARY(16), IN p_name VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_detail TEXT CHARACTER SET utf8mb4, IN p_type VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_dialog_id VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_self_type VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_self_target VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_self_target_name VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_self_name VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_self_detail VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_peer_type VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_peer_target VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_peer_target_name VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_peer_name VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_peer_detail VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_tm_create DATETIME(6), IN p_tm_update DATETIME(6), IN p_tm_delete DATETIME(6),
  IN p_version INT,
  IN e_kind VARCHAR(16) CHARACTER SET utf8mb4, IN e_at DATETIME(6),
  IN e_conversation MEDIUMTEXT CHARACTER SET utf8mb4)
MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  INSERT INTO conversations (id, customer_id, owner_type, owner_id, account_id, name, detail,
    type, dialog_id, self_type, self_target, self_target_name, self_name, self_detail,
    peer_type, peer_target, peer_target_name, peer_name, peer_detail, tm_create, tm_update,
    tm_delete, version)
  VALUES (p_id, p_customer_id, p_owner_type, p_owner_id, p_account_id, p_name, p_detail,
    p_type, p_dialog_id, p_self_type, p_self_target, p_self_target_name, p_self_name,
    p_self_detail, p_peer_type, p_peer_target, p_peer_target_name, p_peer_name, p_peer_detail,
    p_tm_create, p_tm_update, p_tm_delete, p_version);
  INSERT INTO conversation_events (kind, conversation_id, customer_id, at, conversation)
  VALUES (e_kind, p_id, p_customer_id, e_at, e_conversation);
  COMMIT;
END";

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
        manager
            .create_table(
                new_table(ConversationEvents::Table, backend, "utf8mb4", "utf8mb4_bin")
                    .col(
                        big_integer(ConversationEvents::Id)
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer(ConversationEvents::Position).null())
                    .col(
                        ColumnDef::new(ConversationEvents::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(uuid(ConversationEvents::ConversationId))
                    .col(uuid(ConversationEvents::CustomerId))
                    .col(timestamp(ConversationEvents::At, backend).not_null())
                    .col(json(ConversationEvents::Conversation).not_null())
                    .col(json(ConversationEvents::Previous).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                new_table(ConversationEventHead::Table, backend, "ascii", "ascii_bin")
                    .col(single_row_id(ConversationEventHead::Id))
                    .col(big_integer(ConversationEventHead::Position).not_null())
                    .to_owned(),
            )
            .await?;

        let conn = manager.get_connection();
        let insert_head = match backend {
            DbBackend::MySql => {
                "INSERT IGNORE INTO conversation_event_head (id, position) VALUES (1, 0)"
            }
            _ => {
                "INSERT INTO conversation_event_head (id, position) VALUES (1, 0) \
                 ON CONFLICT DO NOTHING"
            }
        };
        let events = "conversation_events";
        create_index(
            conn,
            true,
            "idx_conversation_events_position",
            events,
            "(position)",
        )
        .await?;
        let by_customer = "(customer_id, position)";
        create_index(
            conn,
            false,
            "idx_conversation_events_customer",
            events,
            by_customer,
        )
        .await?;
        if backend == DbBackend::Postgres {
            let pending = "(id) WHERE position IS NULL";
            create_index(
                conn,
                false,
                "idx_conversation_events_pending",
                events,
                pending,
            )
            .await?;
        }
        conn.execute_unprepared(insert_head).await?;
        if backend == DbBackend::MySql {
            conn.execute_unprepared("DROP PROCEDURE IF EXISTS cg_create_conversation")
                .await?;
            conn.execute_unprepared(CREATE_PROCEDURE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::MySql {
            manager
                .get_connection()
                .execute_unprepared("DROP PROCEDURE IF EXISTS cg_create_conversation")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ConversationEventHead::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConversationEvents::Table).to_owned())
            .await
    }
}
