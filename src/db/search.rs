//! SQL for dialable comparisons (a field's phone form against a typed number) and for
//! `search`. The expressions are the migration's own ([`migration::dashboard`]), so the
//! indexes it made serve the queries written here.

use migration::dashboard;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{Condition, ConnectionTrait, DbBackend, DbErr, IdenStatic, Statement, Value};

use super::entity::column;
use super::like::escape_like;
use crate::domain::filter::{Field, Predicate, TextMatch};
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

/// How a search is narrowed down before its exact per-field test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Narrowing {
    /// By the backend's index (see [`condition`]).
    Index,
    /// SQLite: the search with this text matches among these rows only (looked up in the FTS5
    /// table beforehand by [`narrowing_for_a_page`]): their rowids as a JSON array.
    Rows { text: String, rowids: String },
    /// Not at all: the exact test on each row the query visits.
    Nothing,
}

/// Most candidate rows a page narrows a search to on SQLite. Beyond that many, reading the
/// rows newest first finds a page of matches sooner than looking every candidate up.
const MAX_CANDIDATES: usize = 5000;

/// How to narrow the search in `filter` for one page. A page wants the first rows in its
/// order: on SQLite the FTS5 table is asked how many candidates the search has (at most
/// [`MAX_CANDIDATES`] + 1): few, and the page looks up those rows; many, and the page reads
/// rows in its order (a common word is on the first page within a few hundred). Elsewhere
/// the index serves both cases (the planner estimates from its statistics).
pub(super) async fn narrowing_for_a_page<C: ConnectionTrait>(
    db: &C,
    filter: &Predicate,
) -> Result<Narrowing, DbErr> {
    let Some(search) = sole_search(filter) else {
        return Ok(Narrowing::Index);
    };
    let Some(query) = fts_query_for(search) else {
        return Ok(Narrowing::Index);
    };
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(Narrowing::Index);
    }
    // One row back, not thousands: the candidates as one JSON array.
    let found = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT count(*), json_group_array(rowid) FROM (SELECT rowid FROM \
             conversations_search WHERE conversations_search MATCH ? LIMIT ?)",
            [Value::from(query), Value::from(MAX_CANDIDATES as i64 + 1)],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("an aggregate answered no row".into()))?;
    let count: i64 = found.try_get_by_index(0)?;
    if count > MAX_CANDIDATES as i64 {
        return Ok(Narrowing::Nothing);
    }
    Ok(Narrowing::Rows {
        text: search.text().to_owned(),
        rowids: found.try_get_by_index(1)?,
    })
}

/// The one search in `predicate`, if it has exactly one.
fn sole_search(predicate: &Predicate) -> Option<&Search> {
    fn collect<'a>(p: &'a Predicate, out: &mut Vec<&'a Search>) {
        match p {
            Predicate::Search(s) => out.push(s),
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().for_each(|p| collect(p, out)),
            Predicate::Not(p) => collect(p, out),
            _ => {}
        }
    }
    let mut found = Vec::new();
    collect(predicate, &mut found);
    match found.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The search condition: the exact per-field test (`any`: [`Search::any`] compiled, any of them
/// holds), narrowed first by an
/// index where the backend has one (a necessary condition, so nothing is lost):
/// - PostgreSQL: a dialable text of 5 or more digits: every 5-digit gram of it is among the
///   indexed grams of the searched columns' digits; a dialable text with fewer digits is not
///   narrowed (its phone form is not in the document, and it is common anyway); any other
///   text of 3 or more characters: the trigram-indexed concatenation of the searched columns
///   contains it, ignoring case (`ILIKE` lower-cases both sides as `LOWER` does);
/// - SQLite: the FTS5 trigram table holds every trigram of the text without separators, when
///   that text is ASCII (FTS5 folds case its own way; for ASCII it agrees with ours) and has 3
///   or more characters; or, for a page, the rows that lookup found ([`Narrowing::Rows`]);
/// - MySQL/MariaDB: no index; the exact test alone.
pub(super) fn condition(
    search: &Search,
    any: Condition,
    backend: DbBackend,
    narrowing: &Narrowing,
) -> Condition {
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
    let narrowed = match narrowing {
        Narrowing::Index => narrowing_by_index(search, backend),
        Narrowing::Rows { text, rowids } if text == search.text() => Some(Expr::cust_with_values(
            "conversations.rowid IN (SELECT value FROM json_each(?))",
            [Value::from(rowids.clone())],
        )),
        Narrowing::Rows { .. } => narrowing_by_index(search, backend),
        Narrowing::Nothing => None,
    };
    match narrowed {
        Some(n) => Condition::all().add(n).add(exact),
        None => exact,
    }
}

/// The FTS5 query for a search on SQLite, when the table can narrow it (ASCII, 3 or more
/// characters without separators).
fn fts_query_for(search: &Search) -> Option<String> {
    let key = phone_form(search.text());
    (key.is_ascii() && key.len() >= 3).then(|| fts_query(&key.to_ascii_lowercase()))
}

fn narrowing_by_index(search: &Search, backend: DbBackend) -> Option<Expr> {
    match backend {
        DbBackend::Postgres => match search.dialable() {
            Some(number) if number.as_str().len() >= dashboard::DIGIT_GRAM => {
                Some(Expr::cust_with_exprs(
                    format!(
                        "{f}({}) @> {f}($1)",
                        dashboard::search_digits(backend),
                        f = dashboard::DIGIT_GRAMS_FUNCTION
                    ),
                    [Expr::val(number.as_str())],
                ))
            }
            Some(_) => None,
            None if search.text().chars().count() >= 3 => Some(Expr::cust_with_exprs(
                format!(
                    "{} ILIKE $1 ESCAPE '!'",
                    dashboard::search_document(backend)
                ),
                [Expr::val(format!("%{}%", escape_like(search.text())))],
            )),
            None => None,
        },
        DbBackend::Sqlite => fts_query_for(search).map(|query| {
            Expr::cust_with_values(
                "conversations.rowid IN (SELECT rowid FROM conversations_search \
                 WHERE conversations_search MATCH ?)",
                [Value::from(query)],
            )
        }),
        _ => None,
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
