//! Indexes for the dashboard's reads (`conversationCounts`, `search`, phone numbers as typed).
//!
//! - Per-customer counts grouped by type, owner and account come from one index,
//!   (customer_id, type, owner_id, account_id, tm_delete), without visiting the rows.
//! - The phone form of `dialog_id`, `self_target` and `peer_target` (separators ` -.()`
//!   dropped, see [`phone_form`]) is indexed, so `eq`/`in`/`startsWith` with a typed number
//!   stay index lookups. PostgreSQL and SQLite index the expression; MySQL/MariaDB index a
//!   virtual generated column `<column>_phone` (MariaDB has no expression indexes).
//! - Search: on PostgreSQL a `pg_trgm` GIN index over the [`search_document`] (the extension
//!   is created here; it ships with PostgreSQL, and managed services allow it), and a GIN index
//!   over the 5-character grams of its digits ([`search_digits`], [`DIGIT_GRAMS_FUNCTION`]) for
//!   typed numbers, whose trigrams are too common to narrow much; on SQLite an
//!   FTS5 trigram table `conversations_search` kept by triggers (see [`sqlite_search_text`]).
//!   MySQL/MariaDB have no substring index: searches there read the rows.
//!
//! Everything is derived by the database from the stored columns, with built-in functions
//! only, so rows written by other programs are indexed too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::SchemaManagerConnection;

use crate::shared::{create_index, drop_index, mysql_exists, Named};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_dashboard_reads"
    }
}

/// The columns compared as phone numbers with dialable text, and their index names.
pub const DIALABLE_COLUMNS: [(&str, &str); 3] = [
    ("dialog_id", "idx_conversations_dialog_phone"),
    ("self_target", "idx_conversations_self_phone"),
    ("peer_target", "idx_conversations_peer_phone"),
];

/// The text columns a search looks in, in the order the search documents concatenate them.
pub const SEARCHED_COLUMNS: [&str; 7] = [
    "name",
    "detail",
    "dialog_id",
    "self_target",
    "self_target_name",
    "peer_target",
    "peer_target_name",
];

const GROUPS_INDEX: &str = "idx_conversations_customer_groups";
const SEARCH_INDEX: &str = "idx_conversations_search";
const DIGITS_INDEX: &str = "idx_conversations_search_digits";

/// PostgreSQL: the function giving the distinct substrings of [`DIGIT_GRAM`] characters of a
/// text, as an array.
pub const DIGIT_GRAMS_FUNCTION: &str = "conversations_digit_grams";

/// How many characters a digit gram has: a typed number of 5 or more digits is looked up by
/// its grams, which are rare (10^5 of them), so the lookup reads few index entries; trigrams
/// of digits (10^3) are each in a few percent of all rows.
pub const DIGIT_GRAM: usize = 5;

/// `text` with spaces, dashes, dots and parentheses removed, with built-in functions only.
fn drop_separators(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("translate({text}, ' -.()', '')"),
        _ => format!(
            "replace(replace(replace(replace(replace({text}, ' ', ''), '-', ''), '.', ''), \
             '(', ''), ')', '')"
        ),
    }
}

/// The phone form of `column` as the queries must write it for the index to serve them:
/// PostgreSQL compares it in the "C" collation (code point order, so prefix ranges hold in
/// any database locale); MySQL/MariaDB name the generated column.
pub fn phone_form(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({} COLLATE \"C\")", drop_separators(backend, column)),
        DbBackend::MySql => format!("{column}_phone"),
        _ => drop_separators(backend, column),
    }
}

/// PostgreSQL: every searched column, concatenated. A field that contains a search (ignoring
/// case) makes this contain it, so `ILIKE` on it, served by the trigram index (`pg_trgm`
/// folds case itself), narrows a search down before the exact per-field test.
pub fn search_document(backend: DbBackend) -> String {
    debug_assert_eq!(backend, DbBackend::Postgres);
    format!("({})", SEARCHED_COLUMNS.join(" || "))
}

/// PostgreSQL: the digits and `+` signs of every searched column, concatenated. A field that
/// contains a dialable search (its text, or its phone form) makes this contain the search's
/// digits and `+` signs, so the grams of the one are among the grams of the other.
pub fn search_digits(backend: DbBackend) -> String {
    debug_assert_eq!(backend, DbBackend::Postgres);
    format!(
        "regexp_replace({}, '[^0-9+]', '', 'g')",
        SEARCHED_COLUMNS.join(" || ")
    )
}

/// SQLite: what the FTS5 trigram table holds for a row (`prefix` is `new.` or `old.` in the
/// triggers): the searched columns joined by newlines, separators dropped, and `İ` written
/// `i` (the one character that lower-cases to ASCII which FTS5 does not fold; the Kelvin sign
/// it folds). FTS5 folds case itself, so an ASCII search lower-cased without separators is
/// found in it whenever a field contains the search.
pub fn sqlite_search_text(prefix: &str) -> String {
    let all = SEARCHED_COLUMNS
        .iter()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(" || char(10) || ");
    format!(
        "replace({}, 'İ', 'i')",
        drop_separators(DbBackend::Sqlite, &all)
    )
}

/// The schema `pg_trgm` is installed in, installing it first if needed: into `public` when
/// that schema exists (tests keep each database in a schema of its own and drop it after),
/// else into the current schema. Concurrent migrations wait for each other on a lock.
async fn pg_trgm_schema(conn: &SchemaManagerConnection<'_>) -> Result<String, DbErr> {
    conn.execute_unprepared("SELECT pg_advisory_xact_lock(7245301)")
        .await?;
    let find = "SELECT n.nspname::text FROM pg_extension e \
                JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'";
    let installed = || conn.query_one_raw(Statement::from_string(DbBackend::Postgres, find));
    if installed().await?.is_none() {
        let public = conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT 1 FROM pg_namespace WHERE nspname = 'public'",
            ))
            .await?
            .is_some();
        let into = if public { " SCHEMA public" } else { "" };
        conn.execute_unprepared(&format!("CREATE EXTENSION IF NOT EXISTS pg_trgm{into}"))
            .await?;
    }
    installed()
        .await?
        .ok_or_else(|| DbErr::Migration("pg_trgm is not installed".into()))?
        .try_get_by_index::<String>(0)
}

async fn sqlite_search(conn: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let (new, old) = (sqlite_search_text("new."), sqlite_search_text("old."));
    let searched = SEARCHED_COLUMNS.join(", ");
    for sql in [
        // Contentless (the text is derived, not stored twice); no positions kept: a
        // match means every trigram of the search occurs, and the exact test follows.
        "CREATE VIRTUAL TABLE IF NOT EXISTS conversations_search USING fts5(\
         doc, tokenize = 'trigram', content = '', detail = 'none')"
            .to_owned(),
        format!(
            "CREATE TRIGGER IF NOT EXISTS conversations_search_insert AFTER INSERT ON \
             conversations BEGIN INSERT INTO conversations_search(rowid, doc) \
             VALUES (new.rowid, {new}); END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS conversations_search_delete AFTER DELETE ON \
             conversations BEGIN INSERT INTO conversations_search(conversations_search, \
             rowid, doc) VALUES ('delete', old.rowid, {old}); END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS conversations_search_update AFTER UPDATE OF \
             {searched} ON conversations BEGIN INSERT INTO \
             conversations_search(conversations_search, rowid, doc) VALUES ('delete', \
             old.rowid, {old}); INSERT INTO conversations_search(rowid, doc) VALUES \
             (new.rowid, {new}); END"
        ),
    ] {
        conn.execute_unprepared(&sql).await?;
    }
    // Rows stored before this migration.
    let rows = sqlite_search_text("");
    conn.execute_unprepared(&format!(
        "INSERT INTO conversations_search(rowid, doc) SELECT rowid, {rows} FROM conversations \
         WHERE NOT EXISTS (SELECT 1 FROM conversations_search LIMIT 1)"
    ))
    .await?;
    Ok(())
}

/// Whether `ANALYZE` has been run on this SQLite database.
async fn sqlite_has_statistics(conn: &SchemaManagerConnection<'_>) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
        ))
        .await?
        .is_some())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every backend: the SQLite search table and its triggers appear
    /// together with the rows copied into it (MySQL commits each DDL statement regardless).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        create_index(
            conn,
            false,
            GROUPS_INDEX,
            "conversations",
            "(customer_id, type, owner_id, account_id, tm_delete)",
        )
        .await?;
        for (column, index) in DIALABLE_COLUMNS {
            if backend == DbBackend::MySql
                && !mysql_exists(
                    conn,
                    Named::Column,
                    "conversations",
                    &format!("{column}_phone"),
                )
                .await?
            {
                conn.execute_unprepared(&format!(
                    "ALTER TABLE conversations ADD COLUMN {column}_phone VARCHAR(255) \
                     GENERATED ALWAYS AS ({}) VIRTUAL",
                    drop_separators(backend, column)
                ))
                .await?;
            }
            create_index(
                conn,
                false,
                index,
                "conversations",
                &format!("({})", phone_form(backend, column)),
            )
            .await?;
        }
        match backend {
            DbBackend::Postgres => {
                let schema = pg_trgm_schema(conn).await?;
                create_index(
                    conn,
                    false,
                    SEARCH_INDEX,
                    "conversations",
                    &format!(
                        "USING gin (({}) \"{schema}\".gin_trgm_ops)",
                        search_document(backend)
                    ),
                )
                .await?;
                conn.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION {DIGIT_GRAMS_FUNCTION}(digits text) \
                     RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ \
                     SELECT coalesce(array_agg(DISTINCT substr(digits, i, {DIGIT_GRAM})), \
                     '{{}}'::text[]) FROM generate_series(1, length(digits) - {}) AS i $$",
                    DIGIT_GRAM - 1
                ))
                .await?;
                create_index(
                    conn,
                    false,
                    DIGITS_INDEX,
                    "conversations",
                    &format!(
                        "USING gin ({DIGIT_GRAMS_FUNCTION}({}))",
                        search_digits(backend)
                    ),
                )
                .await?;
                // The planner estimates a search from the statistics of the indexed
                // expression, which only ANALYZE gathers (a new index does not trigger
                // autovacuum): without them it guesses, and may scan for a rare number.
                conn.execute_unprepared("ANALYZE conversations").await?;
            }
            DbBackend::Sqlite => {
                sqlite_search(conn).await?;
                // Where the planner has statistics for the other indexes, it needs them for
                // the new ones too, or it takes them for far more selective than they are.
                if sqlite_has_statistics(conn).await? {
                    let mut new = vec![GROUPS_INDEX];
                    new.extend(DIALABLE_COLUMNS.iter().map(|(_, index)| *index));
                    for index in new {
                        conn.execute_unprepared(&format!("ANALYZE {index}")).await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        let mut indexes = vec![GROUPS_INDEX];
        indexes.extend(DIALABLE_COLUMNS.iter().map(|(_, index)| *index));
        if backend == DbBackend::Postgres {
            indexes.extend([SEARCH_INDEX, DIGITS_INDEX]);
        }
        for index in indexes {
            drop_index(conn, index, "conversations").await?;
        }
        match backend {
            DbBackend::MySql => {
                for (column, _) in DIALABLE_COLUMNS {
                    conn.execute_unprepared(&format!(
                        "ALTER TABLE conversations DROP COLUMN {column}_phone"
                    ))
                    .await?;
                }
            }
            DbBackend::Postgres => {
                conn.execute_unprepared(&format!(
                    "DROP FUNCTION IF EXISTS {DIGIT_GRAMS_FUNCTION}(text)"
                ))
                .await?;
            }
            DbBackend::Sqlite => {
                for sql in [
                    "DROP TRIGGER IF EXISTS conversations_search_insert",
                    "DROP TRIGGER IF EXISTS conversations_search_delete",
                    "DROP TRIGGER IF EXISTS conversations_search_update",
                    "DROP TABLE IF EXISTS conversations_search",
                ] {
                    conn.execute_unprepared(sql).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
