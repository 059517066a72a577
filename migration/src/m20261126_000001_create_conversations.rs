//! Creates `conversations`: one column per field of the spec, `self` and `peer` flattened into
//! `self_*` / `peer_*` columns so they can be filtered and indexed.
//!
//! Per backend:
//! - PostgreSQL: native `uuid`, `timestamp with time zone` (microseconds); `orderBy: NAME`
//!   sorts `name COLLATE "C"` (code point order, as on SQLite and MySQL), so its index is on
//!   that expression, while the columns keep the database collation (Unicode-aware `LOWER`).
//! - SQLite: UUIDs as 16-byte blobs, timestamps as RFC 3339 text (sorts correctly as text).
//! - MySQL/MariaDB: `binary(16)` UUIDs, `DATETIME(6)` timestamps in UTC (a `TIMESTAMP` ends in
//!   2038 and cannot hold the legacy `9999-01-01` sentinel), and a code point, no-pad collation
//!   on every string column (`utf8mb4_nopad_bin` / `utf8mb4_0900_bin`), so equality and
//!   `orderBy: NAME` agree with the other backends while `LOWER()` still folds case.
//!
//! `tm_update` and `tm_delete` are NULL until the event happens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::SchemaManagerConnection;

use crate::shared::{create_index, new_table, timestamp, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_create_conversations"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    CustomerId,
    OwnerType,
    OwnerId,
    AccountId,
    Name,
    Detail,
    Type,
    DialogId,
    SelfType,
    SelfTarget,
    SelfTargetName,
    SelfName,
    SelfDetail,
    PeerType,
    PeerTarget,
    PeerTargetName,
    PeerName,
    PeerDetail,
    TmCreate,
    TmUpdate,
    TmDelete,
}

/// The key `orderBy: TM_UPDATE` sorts on: "not yet" (NULL) sorts as the far future. The text
/// must equal `db::order::tm_update_key_sql` for the backend, or the index is not used.
fn tm_update_key(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "COALESCE(tm_update, TIMESTAMPTZ '9000-01-01 00:00:00+00')",
        DbBackend::Sqlite => "COALESCE(tm_update, '9000-01-01T00:00:00+00:00')",
        _ => "COALESCE(tm_update, CAST('9000-01-01 00:00:00' AS DATETIME(6)))",
    }
}

/// A utf8mb4 collation that compares by code point and does not pad: `'a'` and `'a '` differ,
/// as on SQLite and PostgreSQL. MySQL 8 calls it `utf8mb4_0900_bin`, MariaDB
/// `utf8mb4_nopad_bin`; older servers only have `utf8mb4_bin` (code point order, but padded).
async fn mysql_code_point_collation(conn: &SchemaManagerConnection<'_>) -> Result<String, DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
             WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')",
        ))
        .await?;
    let mut names = Vec::new();
    for row in rows {
        names.push(row.try_get_by_index::<String>(0)?);
    }
    Ok(["utf8mb4_0900_bin", "utf8mb4_nopad_bin"]
        .into_iter()
        .find(|want| names.iter().any(|n| n == want))
        .unwrap_or("utf8mb4_bin")
        .to_owned())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let string = |col: Conversations, len: u32| {
            ColumnDef::new(col)
                .string_len(len)
                .not_null()
                .default("")
                .to_owned()
        };
        let time = |col: Conversations| timestamp(col, backend);
        let collation = match backend {
            DbBackend::MySql => mysql_code_point_collation(manager.get_connection()).await?,
            _ => String::new(),
        };
        let mut table = new_table(Conversations::Table, backend, "utf8mb4", &collation);
        table
            .col(uuid(Conversations::Id).primary_key())
            .col(uuid(Conversations::CustomerId))
            .col(string(Conversations::OwnerType, 32))
            .col(ColumnDef::new(Conversations::OwnerId).uuid().null())
            .col(uuid(Conversations::AccountId))
            .col(string(Conversations::Name, 255))
            .col(ColumnDef::new(Conversations::Detail).text().not_null())
            .col(string(Conversations::Type, 16))
            .col(string(Conversations::DialogId, 255));
        use Conversations::*;
        let addresses = [
            [SelfType, SelfTarget, SelfTargetName, SelfName, SelfDetail],
            [PeerType, PeerTarget, PeerTargetName, PeerName, PeerDetail],
        ];
        for [kind, target, target_name, name, detail] in addresses {
            table
                .col(string(kind, 16))
                .col(string(target, 255))
                .col(string(target_name, 255))
                .col(string(name, 255))
                .col(string(detail, 255));
        }
        manager
            .create_table(
                table
                    .col(time(Conversations::TmCreate).not_null())
                    .col(time(Conversations::TmUpdate).null())
                    .col(time(Conversations::TmDelete).null())
                    .to_owned(),
            )
            .await?;

        let indexes = [
            (
                "idx_conversations_customer_created",
                "(customer_id, tm_create, id)",
            ),
            ("idx_conversations_created", "(tm_create, id)"),
            ("idx_conversations_peer", "(peer_type, peer_target)"),
            ("idx_conversations_self", "(self_type, self_target)"),
            ("idx_conversations_dialog", "(type, dialog_id)"),
            ("idx_conversations_owner", "(owner_id)"),
            // `orderBy: NAME` sorts by code point; on PostgreSQL that is an expression.
            (
                "idx_conversations_name",
                match backend {
                    DbBackend::Postgres => "((name COLLATE \"C\"), id)",
                    _ => "(name, id)",
                },
            ),
        ];
        let conn = manager.get_connection();
        for (name, on) in indexes {
            create_index(conn, false, name, "conversations", on).await?;
        }
        // `orderBy: TM_UPDATE` sorts on an expression (NULL as the far future); an expression
        // index serves it where the backend has them. MySQL/MariaDB sort it without one.
        if matches!(backend, DbBackend::Postgres | DbBackend::Sqlite) {
            conn.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS idx_conversations_updated ON conversations ({}, id)",
                tm_update_key(backend)
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Conversations::Table).to_owned())
            .await
    }
}
