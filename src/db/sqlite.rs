//! SQLite only: `cg_lower(text)`, a SQL function that lower-cases all of Unicode the way
//! [`fold_case`] does in memory (SQLite's own `LOWER` folds ASCII letters only, so without it
//! `name: {contains: "É"}` would miss "Pâte à éclair" in a list but not in a subscription).
//!
//! It is registered on every connection of the pool. It is deliberately not an override of
//! `LOWER` and no index or generated column uses it: another program opening the same file
//! (the `sqlite3` shell, a migration tool) does not have it, and must still be able to write.

use std::ffi::{c_int, CStr};

use libsqlite3_sys as ffi;
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::sqlite::Sqlite;

use crate::domain::fold_case;

/// `pool` with `cg_lower` registered on each new connection.
pub(super) fn with_functions(pool: PoolOptions<Sqlite>) -> PoolOptions<Sqlite> {
    pool.after_connect(|conn, _meta| {
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
