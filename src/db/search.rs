//! SQL for dialable comparisons (a field's phone form against a typed number) and for
//! `search`. The expressions are the migration's own ([`migration::dashboard`]), so the
//! indexes it made serve the queries written here.

use migration::dashboard;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{Condition, DbBackend, IdenStatic, Value};

use super::entity::column;
use super::filter::{compile, escape_like};
use crate::domain::filter::{Field, TextMatch};
use crate::domain::{phone_form, Dialable, Search};

/// A dialable field's phone form (separators dropped), as indexed.
pub(super) fn phone(field: Field, backend: DbBackend) -> Expr {
    Expr::cust(dashboard::phone_form(backend, column(field).as_str()))
}

/// The smallest text greater than every text that starts with `number` (whose characters
/// are ASCII digits and `+`, so its last character has a successor).
fn successor(number: &Dialable) -> String {
    let mut text = number.as_str().to_owned();
    let last = text.pop().expect("a dialable number has digits");
    text.push(char::from(last as u8 + 1));
    text
}

/// `field`'s phone form contains, starts or ends with `number`. Case plays no part (digits
/// and `+` only), so no lower-casing: the phone form's index serves `eq`, `in` and, as a
/// code point range, `startsWith`.
pub(super) fn phone_match(
    field: Field,
    how: TextMatch,
    number: &Dialable,
    backend: DbBackend,
) -> Expr {
    let form = phone(field, backend);
    let pattern = match how {
        TextMatch::StartsWith => {
            return form
                .clone()
                .gte(number.as_str())
                .and(form.lt(successor(number)));
        }
        TextMatch::Contains => format!("%{}%", escape_like(number.as_str())),
        TextMatch::EndsWith => format!("%{}", escape_like(number.as_str())),
    };
    let template = match backend {
        DbBackend::Postgres => "$1 LIKE $2 ESCAPE '!'",
        _ => "? LIKE ? ESCAPE '!'",
    };
    Expr::cust_with_exprs(template, [form, Expr::val(pattern)])
}

/// Most trigrams an SQLite search asks the FTS5 index for: enough to be selective, few enough
/// that looking them up stays cheap.
const MAX_TRIGRAMS: usize = 12;

/// The search condition: the exact per-field test ([`Search::any`]), narrowed first by an
/// index where the backend has one (a necessary condition, so nothing is lost):
/// - PostgreSQL: the trigram-indexed search document contains the text lower-cased without
///   separators;
/// - SQLite: the FTS5 trigram table holds every trigram of the text without separators, when
///   that text is ASCII (FTS5 folds case its own way; for ASCII it agrees with ours);
/// - MySQL/MariaDB: no index; the exact test alone.
///
/// A text with fewer than 3 characters left has no trigram and is not narrowed.
pub(super) fn condition(search: &Search, backend: DbBackend) -> Condition {
    let any = search
        .any()
        .iter()
        .fold(Condition::any(), |c, p| c.add(compile(p, backend)));
    // PostgreSQL estimates each per-field `LIKE` at 0.5% and multiplies them with the
    // narrowing condition's (well estimated) share, so it expects far too few rows and plans
    // a common word as a parallel scan; an expression it cannot look into counts as 50%, and
    // the estimate follows the narrowing condition. Same truth value (no column is NULL).
    let exact = match backend {
        DbBackend::Postgres => {
            Condition::all().add(Expr::cust_with_exprs("COALESCE($1, FALSE)", [any.into()]))
        }
        _ => any,
    };
    let key = phone_form(search.text());
    if key.chars().count() < 3 {
        return exact;
    }
    let narrowed = match backend {
        DbBackend::Postgres => Some(Expr::cust_with_exprs(
            format!(
                "{} LIKE translate(lower($1), ' -.()', '') ESCAPE '!'",
                dashboard::search_document(backend)
            ),
            [Expr::val(format!("%{}%", escape_like(search.text())))],
        )),
        DbBackend::Sqlite if key.is_ascii() => Some(Expr::cust_with_values(
            "conversations.rowid IN (SELECT rowid FROM conversations_search \
             WHERE conversations_search MATCH ?)",
            [Value::from(fts_query(&key.to_ascii_lowercase()))],
        )),
        _ => None,
    };
    match narrowed {
        Some(n) => Condition::all().add(n).add(exact),
        None => exact,
    }
}

/// An FTS5 query asking for every trigram of `text` (ASCII, at least 3 characters), each a
/// quoted term of its own (the table keeps no positions, so phrases are not possible), at
/// most [`MAX_TRIGRAMS`] of them spread over the text.
fn fts_query(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut trigrams: Vec<&str> = Vec::new();
    for start in 0..=bytes.len() - 3 {
        let t = &text[start..start + 3];
        if !trigrams.contains(&t) {
            trigrams.push(t);
        }
    }
    let step = trigrams.len().div_ceil(MAX_TRIGRAMS);
    trigrams
        .iter()
        .step_by(step.max(1))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_ask_for_distinct_quoted_trigrams() {
        assert_eq!(
            fts_query("4703298"),
            "\"470\" \"703\" \"032\" \"329\" \"298\""
        );
        assert_eq!(fts_query("a\"bc"), "\"a\"\"b\" \"\"\"bc\"");
        assert_eq!(fts_query("aaaa"), "\"aaa\"");
        let long = "abcdefghijklmnopqrstuvwxyz0123456789";
        assert!(fts_query(long).split(' ').count() <= MAX_TRIGRAMS);
    }

    /// The SQLite narrowing is sound for ASCII searches only if the characters that fold to
    /// ASCII are ASCII, `İ` (which the FTS table holds as `i`) and the Kelvin sign (which FTS5
    /// folds to `k` itself).
    #[test]
    fn only_two_non_ascii_characters_fold_to_ascii() {
        let folding_to_ascii: Vec<char> = (char::MIN..=char::MAX)
            .filter(|c| !c.is_ascii())
            .filter(|c| crate::domain::fold_case(&c.to_string()).is_ascii())
            .collect();
        assert_eq!(folding_to_ascii, vec!['\u{130}', '\u{212A}']);
    }

    #[test]
    fn successor_bounds_a_prefix() {
        let d = Dialable::parse("+1 470").unwrap();
        assert_eq!(successor(&d), "+1471");
        let d = Dialable::parse("129").unwrap();
        assert_eq!(successor(&d), "12:");
    }
}
