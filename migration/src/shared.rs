//! What the migrations share: column definitions that differ per backend, and indexes
//! created only when missing (MySQL has no `CREATE INDEX IF NOT EXISTS`; MariaDB has).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::SchemaManagerConnection;

/// A timestamp with microseconds: `DATETIME(6)` on MySQL/MariaDB, `timestamp with time zone`
/// elsewhere.
pub fn timestamp(col: impl IntoIden, backend: DbBackend) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::MySql => def.custom(Alias::new("DATETIME(6)")),
        _ => def.timestamp_with_time_zone(),
    };
    def
}

/// The primary key of a one-row table: an integer (always 1).
pub fn single_row_id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .integer()
        .not_null()
        .primary_key()
        .to_owned()
}

/// A 64-bit integer.
pub fn big_integer(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().to_owned()
}

/// A UUID that is never NULL.
pub fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

/// `CREATE TABLE IF NOT EXISTS name`, in this character set and collation on MySQL/MariaDB
/// (the string columns inherit them).
pub fn new_table(
    name: impl IntoIden,
    backend: DbBackend,
    charset: &str,
    collation: &str,
) -> TableCreateStatement {
    let mut table = Table::create();
    table.table(name).if_not_exists();
    if backend == DbBackend::MySql {
        table.character_set(charset).collate(collation);
    }
    table
}

/// What [`mysql_exists`] looks for.
#[derive(Clone, Copy)]
pub enum Named {
    Index,
    Column,
}

/// Whether the current MySQL/MariaDB database has an index or a column `name` on `table`.
pub async fn mysql_exists(
    conn: &SchemaManagerConnection<'_>,
    what: Named,
    table: &str,
    name: &str,
) -> Result<bool, DbErr> {
    let (view, column) = match what {
        Named::Index => ("STATISTICS", "INDEX_NAME"),
        Named::Column => ("COLUMNS", "COLUMN_NAME"),
    };
    let sql = format!(
        "SELECT 1 FROM information_schema.{view} WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = ? AND {column} = ?"
    );
    Ok(conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::MySql,
            sql,
            [table.into(), name.into()],
        ))
        .await?
        .is_some())
}

/// `CREATE [UNIQUE] INDEX name ON table <on>` unless an index of that name exists; `on` is
/// what follows the table name (`(customer_id, position)`, `USING GIN (...)`, …).
pub async fn create_index(
    conn: &SchemaManagerConnection<'_>,
    unique: bool,
    name: &str,
    table: &str,
    on: &str,
) -> Result<(), DbErr> {
    let unique = if unique { "UNIQUE " } else { "" };
    let if_not_exists = match conn.get_database_backend() {
        DbBackend::MySql if mysql_exists(conn, Named::Index, table, name).await? => return Ok(()),
        DbBackend::MySql => "",
        _ => "IF NOT EXISTS ",
    };
    conn.execute_unprepared(&format!(
        "CREATE {unique}INDEX {if_not_exists}{name} ON {table} {on}"
    ))
    .await
    .map(|_| ())
}

/// `DROP INDEX name` (of `table`), if it exists.
pub async fn drop_index(
    conn: &SchemaManagerConnection<'_>,
    name: &str,
    table: &str,
) -> Result<(), DbErr> {
    let sql = match conn.get_database_backend() {
        DbBackend::MySql if !mysql_exists(conn, Named::Index, table, name).await? => return Ok(()),
        DbBackend::MySql => format!("DROP INDEX {name} ON {table}"),
        _ => format!("DROP INDEX IF EXISTS {name}"),
    };
    conn.execute_unprepared(&sql).await.map(|_| ())
}
