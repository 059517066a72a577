//! Times as each backend must receive them.
//!
//! sqlx sends a `DateTime<Utc>` to MySQL/MariaDB as a TIMESTAMP parameter, and the server
//! passes it through the TIMESTAMP range (1970 to 2038) before comparing it with or storing it
//! in a DATETIME column: a later time (the `9999-01-01` sentinel included) is silently stored
//! as NULL, and an earlier one compares wrongly. Sent as a DATETIME (the naive UTC time, the
//! session's time zone being UTC), every value is kept. PostgreSQL (`timestamptz`) and SQLite
//! (RFC 3339 text) take the `DateTime<Utc>` as it is.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement, Value};

/// `t` as a bound parameter for `backend`.
pub(super) fn time(t: DateTime<Utc>, backend: DbBackend) -> Value {
    match backend {
        DbBackend::MySql => Value::ChronoDateTime(Some(t.naive_utc())),
        _ => Value::ChronoDateTimeUtc(Some(t)),
    }
}

/// A nullable time as a bound parameter for `backend`.
pub(super) fn optional_time(t: Option<DateTime<Utc>>, backend: DbBackend) -> Value {
    match (t, backend) {
        (Some(t), _) => time(t, backend),
        (None, DbBackend::MySql) => Value::ChronoDateTime(None),
        (None, _) => Value::ChronoDateTimeUtc(None),
    }
}

/// A statement built by SeaORM from an entity (whose times are `DateTime<Utc>`), with its times
/// rewritten by [`time`]: every write of a model goes through here.
pub(super) fn bindable(mut stmt: Statement) -> Statement {
    if stmt.db_backend == DbBackend::MySql {
        if let Some(values) = &mut stmt.values {
            for v in &mut values.0 {
                if let Value::ChronoDateTimeUtc(t) = v {
                    *v = optional_time(*t, DbBackend::MySql);
                }
            }
        }
    }
    stmt
}
