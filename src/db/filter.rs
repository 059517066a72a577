//! Compiles a [`Predicate`] into one SQL condition with bound parameters.
//!
//! Every leaf is two-valued: a comparison on a nullable column is guarded by "the column is
//! set", so NULL never leaks SQL's unknown into `NOT`. "Set" means: not NULL, and for
//! timestamps not the legacy far-future sentinel, and for the owner id not the nil UUID.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{Condition, DbBackend, Value};
use uuid::Uuid;

use super::entity::column;
use super::like::escape_like;
use super::search::{self, Narrowing};
use super::value::time;
use crate::domain::filter::{Cmp, Field, Predicate, Scalar, TextMatch};
use crate::domain::NOT_YET_YEAR;

/// The first instant that reads as "not yet".
pub(super) fn not_yet_threshold() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(NOT_YET_YEAR, 1, 1, 0, 0, 0)
        .single()
        .expect("valid constant date")
}

/// The condition "this field has a value", or `None` for fields that always have one.
pub(super) fn is_set(field: Field, backend: DbBackend) -> Option<Expr> {
    let col = Expr::col(column(field));
    match field {
        Field::OwnerId => Some(
            col.clone()
                .is_not_null()
                .and(col.ne(Value::Uuid(Some(Uuid::nil())))),
        ),
        Field::OwnerType => Some(col.clone().is_not_null().and(col.ne(""))),
        Field::TmUpdate | Field::TmDelete => Some(
            col.clone()
                .is_not_null()
                .and(col.lt(time(not_yet_threshold(), backend))),
        ),
        _ => None,
    }
}

fn guarded(field: Field, test: Expr, backend: DbBackend) -> Expr {
    match is_set(field, backend) {
        Some(set) => set.and(test),
        None => test,
    }
}

fn value(v: &Scalar, backend: DbBackend) -> Value {
    match v {
        Scalar::Uuid(u) => Value::Uuid(Some(*u)),
        Scalar::Text(s) => Value::from(s.clone()),
        Scalar::Time(t) => time(*t, backend),
        Scalar::Type(t) => Value::from(t.as_str()),
        Scalar::AddressType(t) => Value::from(t.as_str()),
        Scalar::OwnerType(t) => Value::from(t.as_str()),
        Scalar::Phone(d) => Value::from(d.as_str()),
    }
}

/// `field` equal to one of `values`: text compared with the column, phone numbers with the
/// field's phone form.
fn equal_any(field: Field, values: &[&Scalar], backend: DbBackend) -> Expr {
    let (phones, others): (Vec<&Scalar>, Vec<&Scalar>) =
        values.iter().partition(|v| matches!(v, Scalar::Phone(_)));
    let one_of = |target: Expr, vs: Vec<&Scalar>| match vs.as_slice() {
        [] => None,
        [v] => Some(target.eq(value(v, backend))),
        _ => Some(target.is_in(vs.iter().map(|v| value(v, backend)))),
    };
    let tests: Vec<Expr> = [
        one_of(Expr::col(column(field)), others),
        one_of(search::phone(field, backend), phones),
    ]
    .into_iter()
    .flatten()
    .collect();
    match tests.into_iter().reduce(|a, b| a.or(b)) {
        Some(test) => guarded(field, test, backend),
        None => always(false),
    }
}

fn always(yes: bool) -> Expr {
    Expr::cust(if yes { "1 = 1" } else { "1 = 0" })
}

/// The SQL condition for `predicate` (custom SQL fragments use the backend's placeholders).
pub(super) fn compile(predicate: &Predicate, backend: DbBackend) -> Condition {
    compile_with(predicate, backend, &Narrowing::Index)
}

/// [`compile`], with a search narrowed down as `narrowing` says.
pub(super) fn compile_with(
    predicate: &Predicate,
    backend: DbBackend,
    narrowing: &Narrowing,
) -> Condition {
    let each = |parts: &[Predicate], c: Condition| {
        parts
            .iter()
            .fold(c, |c, p| c.add(compile_with(p, backend, narrowing)))
    };
    match predicate {
        Predicate::All => Condition::all(),
        Predicate::And(parts) => each(parts, Condition::all()),
        // OR of nothing is false.
        Predicate::Or(parts) if parts.is_empty() => Condition::all().add(always(false)),
        Predicate::Or(parts) => each(parts, Condition::any()),
        Predicate::Not(inner) => compile_with(inner, backend, narrowing).not(),
        Predicate::Search(s) => {
            let exact = each(s.any(), Condition::any());
            search::condition(s, exact, backend, narrowing)
        }
        leaf => Condition::all().add(leaf_expr(leaf, backend)),
    }
}

fn leaf_expr(leaf: &Predicate, backend: DbBackend) -> Expr {
    match leaf {
        Predicate::Eq(field, v) => equal_any(*field, &[v], backend),
        Predicate::In(field, vs) => equal_any(*field, &vs.iter().collect::<Vec<_>>(), backend),
        Predicate::Match(field, how, needle) => {
            let escaped = escape_like(needle);
            let pattern = match how {
                TextMatch::Contains => format!("%{escaped}%"),
                TextMatch::StartsWith => format!("{escaped}%"),
                TextMatch::EndsWith => format!("%{escaped}"),
            };
            // Both sides lower-cased by the database, for all of Unicode on every backend
            // (SQLite's own LOWER folds ASCII only: there the function `sqlite` registers).
            // A needle of ASCII non-letters (a number) is the same in any case, and nothing
            // else lower-cases to it: no lower-casing then.
            let caseless = needle
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_alphabetic());
            let template = match (backend, caseless) {
                (DbBackend::Postgres, true) => "$1 LIKE $2 ESCAPE '!'",
                (DbBackend::Postgres, false) => "LOWER($1) LIKE LOWER($2) ESCAPE '!'",
                (_, true) => "? LIKE ? ESCAPE '!'",
                (DbBackend::Sqlite, false) => "cg_lower(?) LIKE cg_lower(?) ESCAPE '!'",
                (_, false) => "LOWER(?) LIKE LOWER(?) ESCAPE '!'",
            };
            let test =
                Expr::cust_with_exprs(template, [Expr::col(column(*field)), Expr::val(pattern)]);
            guarded(*field, test, backend)
        }
        Predicate::PhoneMatch(field, how, number) => guarded(
            *field,
            search::phone_match(*field, *how, number, backend),
            backend,
        ),
        Predicate::Compare(field, cmp, at) => {
            let col = Expr::col(column(*field));
            let v = time(*at, backend);
            let test = match cmp {
                Cmp::Gt => col.gt(v),
                Cmp::Gte => col.gte(v),
                Cmp::Lt => col.lt(v),
                Cmp::Lte => col.lte(v),
            };
            guarded(*field, test, backend)
        }
        Predicate::IsNull(field, null) => match (is_set(*field, backend), null) {
            (Some(set), true) => set.not(),
            (Some(set), false) => set,
            (None, null) => always(!null),
        },
        Predicate::All
        | Predicate::And(_)
        | Predicate::Or(_)
        | Predicate::Not(_)
        | Predicate::Search(_) => {
            unreachable!("compound predicates are handled by compile()")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
    }
}
