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

/// Whether the current MySQL/MariaDB database has an index of this name on `conversations`.
async fn mysql_index_exists(conn: &SchemaManagerConnection<'_>, name: &str) -> Result<bool, DbErr> {
    let found = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::MySql,
            "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'conversations' AND INDEX_NAME = ?",
            [name.into()],
        ))
        .await?;
    Ok(found.is_some())
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
        let time = |col: Conversations| {
            let mut def = ColumnDef::new(col);
            match backend {
                DbBackend::MySql => def.custom(Alias::new("DATETIME(6)")),
                _ => def.timestamp_with_time_zone(),
            };
            def
        };
        let mut table = Table::create();
        if backend == DbBackend::MySql {
            // Every string column inherits the table's collation.
            table
                .character_set("utf8mb4")
                .collate(mysql_code_point_collation(manager.get_connection()).await?);
        }

        manager
            .create_table(
                table
                    .table(Conversations::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Conversations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Conversations::CustomerId).uuid().not_null())
                    .col(string(Conversations::OwnerType, 32))
                    .col(ColumnDef::new(Conversations::OwnerId).uuid().null())
                    .col(ColumnDef::new(Conversations::AccountId).uuid().not_null())
                    .col(string(Conversations::Name, 255))
                    .col(ColumnDef::new(Conversations::Detail).text().not_null())
                    .col(string(Conversations::Type, 16))
                    .col(string(Conversations::DialogId, 255))
                    .col(string(Conversations::SelfType, 16))
                    .col(string(Conversations::SelfTarget, 255))
                    .col(string(Conversations::SelfTargetName, 255))
                    .col(string(Conversations::SelfName, 255))
                    .col(string(Conversations::SelfDetail, 255))
                    .col(string(Conversations::PeerType, 16))
                    .col(string(Conversations::PeerTarget, 255))
                    .col(string(Conversations::PeerTargetName, 255))
                    .col(string(Conversations::PeerName, 255))
                    .col(string(Conversations::PeerDetail, 255))
                    .col(time(Conversations::TmCreate).not_null())
                    .col(time(Conversations::TmUpdate).null())
                    .col(time(Conversations::TmDelete).null())
                    .to_owned(),
            )
            .await?;

        let indexes: [(&str, &[Conversations]); 6] = [
            (
                "idx_conversations_customer_created",
                &[
                    Conversations::CustomerId,
                    Conversations::TmCreate,
                    Conversations::Id,
                ],
            ),
            (
                "idx_conversations_created",
                &[Conversations::TmCreate, Conversations::Id],
            ),
            (
                "idx_conversations_peer",
                &[Conversations::PeerType, Conversations::PeerTarget],
            ),
            (
                "idx_conversations_self",
                &[Conversations::SelfType, Conversations::SelfTarget],
            ),
            (
                "idx_conversations_dialog",
                &[Conversations::Type, Conversations::DialogId],
            ),
            ("idx_conversations_owner", &[Conversations::OwnerId]),
        ];
        let conn = manager.get_connection();
        for (name, cols) in indexes {
            // MySQL has no `CREATE INDEX IF NOT EXISTS` (MariaDB has): look first.
            if backend == DbBackend::MySql && mysql_index_exists(conn, name).await? {
                continue;
            }
            let mut index = Index::create();
            index.name(name).table(Conversations::Table).if_not_exists();
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        // `orderBy: NAME` sorts by code point; on PostgreSQL that is an expression.
        let name_key = match backend {
            DbBackend::Postgres => "(name COLLATE \"C\")",
            _ => "name",
        };
        if !(backend == DbBackend::MySql
            && mysql_index_exists(conn, "idx_conversations_name").await?)
        {
            let if_not_exists = if backend == DbBackend::MySql {
                ""
            } else {
                "IF NOT EXISTS "
            };
            conn.execute_unprepared(&format!(
                "CREATE INDEX {if_not_exists}idx_conversations_name ON conversations ({name_key}, id)"
            ))
            .await?;
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
