//! SQLite only: `cg_lower(text)`, a SQL function that lower-cases all of Unicode the way
//! [`fold_case`] does in memory (SQLite's own `LOWER` folds ASCII letters only, so without it
//! `name: {contains: "É"}` would miss "Pâte à éclair" in a list but not in a subscription).
//!
//! It is registered on every connection of the pool. It is deliberately not an override of
//! `LOWER` and no index or generated column uses it: another program opening the same file
//! (the `sqlite3` shell, a migration tool) does not have it, and must still be able to write.
//!
//! Also: a connection handed out by the pool is never inside a transaction. A write that runs
//! as one batch of statements (`BEGIN; …; COMMIT`, see `txn`) and fails half-way, or whose
//! caller went away, leaves its connection in an open transaction; the pool then closes that
//! connection (which rolls the transaction back) instead of handing it out.

use std::ffi::{c_int, CStr};

use libsqlite3_sys as ffi;
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::sqlite::{Sqlite, SqliteArguments, SqlitePool};
use sea_orm::sqlx::{Arguments, AssertSqlSafe, Executor};
use sea_orm::{DbErr, Statement, Value};

use crate::domain::fold_case;

/// `pool` with `cg_lower` registered on each new connection, and connections left inside a
/// transaction closed instead of reused.
pub(super) fn with_functions(pool: PoolOptions<Sqlite>) -> PoolOptions<Sqlite> {
    pool.before_acquire(|conn, _meta| {
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            // SAFETY: the open connection, locked for us while `handle` lives.
            let idle = unsafe { ffi::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) };
            if idle == 0 {
                tracing::warn!("closing a SQLite connection left inside a transaction");
            }
            Ok(idle != 0)
        })
    })
    .after_connect(|conn, _meta| {
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            let db = handle.as_raw_handle().as_ptr();
            // SAFETY: `db` is the open connection, locked for us while `handle` lives; the name
            // is NUL-terminated; the callback below only reads its argument and sets a result.
            let rc = unsafe {
                ffi::sqlite3_create_function_v2(
                    db,
                    c"cg_lower".as_ptr(),
                    1,
                    ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
                    std::ptr::null_mut(),
                    Some(cg_lower),
                    None,
                    None,
                    None,
                )
            };
            if rc != ffi::SQLITE_OK {
                return Err(sea_orm::sqlx::Error::Configuration(
                    format!("cannot register cg_lower on SQLite (code {rc})").into(),
                ));
            }
            Ok(())
        })
    })
}

/// Runs `batch` (`BEGIN …; …; COMMIT`, statements separated by `;`) in one round trip on one
/// connection; if it fails, rolls that connection's transaction back at once, so that the
/// database's write lock is not held by an idle connection.
pub(super) async fn run_batch(pool: &SqlitePool, batch: Statement) -> Result<(), DbErr> {
    let err = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("SQLite batch failed: {e}"));
    let mut args = SqliteArguments::default();
    for value in batch.values.map(|v| v.0).unwrap_or_default() {
        let added = match value {
            Value::String(s) => args.add(s),
            Value::Uuid(u) => args.add(u),
            Value::ChronoDateTimeUtc(t) => args.add(t),
            Value::BigInt(i) => args.add(i),
            Value::Int(i) => args.add(i),
            Value::Bool(b) => args.add(b),
            other => {
                return Err(DbErr::Custom(format!(
                    "a SQLite batch cannot bind {other:?}"
                )))
            }
        };
        added.map_err(|e| DbErr::Custom(format!("cannot bind: {e}")))?;
    }
    let mut conn = pool.acquire().await.map_err(err)?;
    let run = sea_orm::sqlx::query_with(AssertSqlSafe(batch.sql), args)
        .execute(&mut *conn)
        .await;
    if let Err(e) = run {
        // Fails harmlessly when the failure came before `BEGIN` or after `COMMIT`.
        let _ = conn.execute("ROLLBACK").await;
        return Err(err(e));
    }
    Ok(())
}

/// `cg_lower(x)`: NULL stays NULL, anything else is read as text and folded.
unsafe extern "C" fn cg_lower(
    ctx: *mut ffi::sqlite3_context,
    n_arg: c_int,
    args: *mut *mut ffi::sqlite3_value,
) {
    if n_arg != 1 {
        ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_MISUSE);
        return;
    }
    let arg = *args;
    if ffi::sqlite3_value_type(arg) == ffi::SQLITE_NULL {
        ffi::sqlite3_result_null(ctx);
        return;
    }
    let text = ffi::sqlite3_value_text(arg);
    if text.is_null() {
        ffi::sqlite3_result_null(ctx);
        return;
    }
    // SQLite's text is NUL-terminated UTF-8 (SQLITE_UTF8 above); stored text holds no NUL.
    let input = CStr::from_ptr(text.cast()).to_string_lossy();
    let folded = fold_case(&input);
    let Ok(len) = c_int::try_from(folded.len()) else {
        ffi::sqlite3_result_error_toobig(ctx);
        return;
    };
    ffi::sqlite3_result_text(ctx, folded.as_ptr().cast(), len, ffi::SQLITE_TRANSIENT());
}
