//! [`Predicate::matches`]: the filter language evaluated in memory (subscriptions), with the
//! semantics the database layer gives it in SQL: a null field compares false; `contains`,
//! `startsWith` and `endsWith` compare [`fold_case`]d text, which is also how every backend
//! lowers both sides in SQL (on SQLite through a function the database layer registers).
//! Dialable text ([`super::Dialable`]) is compared with a dialable field's [`phone_form`].

use super::conversation::{Conversation, FieldValue};
use super::dialable::phone_form;
use super::filter::{Cmp, Predicate, Scalar, TextMatch};

/// Lower-cases `text` one character at a time with Unicode's simple case mapping (each
/// character becomes one character), as PostgreSQL's and MariaDB's `LOWER` do; no
/// context-dependent rules such as the Greek final sigma.
pub fn fold_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect()
}

fn equals(v: FieldValue<'_>, s: &Scalar) -> bool {
    match (v, s) {
        (FieldValue::Uuid(Some(a)), Scalar::Uuid(b)) => a == *b,
        (FieldValue::Text(a), Scalar::Text(b)) => a == b,
        (FieldValue::Text(a), Scalar::Phone(b)) => phone_form(a) == b.as_str(),
        (FieldValue::Time(Some(a)), Scalar::Time(b)) => a == *b,
        (FieldValue::Type(a), Scalar::Type(b)) => a == *b,
        (FieldValue::AddressType(a), Scalar::AddressType(b)) => a == *b,
        (FieldValue::OwnerType(Some(a)), Scalar::OwnerType(b)) => a == *b,
        _ => false,
    }
}

fn is_null(v: FieldValue<'_>) -> bool {
    matches!(
        v,
        FieldValue::Uuid(None) | FieldValue::Time(None) | FieldValue::OwnerType(None)
    )
}

fn text_match(hay: &str, how: TextMatch, needle: &str) -> bool {
    match how {
        TextMatch::Contains => hay.contains(needle),
        TextMatch::StartsWith => hay.starts_with(needle),
        TextMatch::EndsWith => hay.ends_with(needle),
    }
}

impl Predicate {
    /// Evaluates the predicate on a conversation.
    pub fn matches(&self, c: &Conversation) -> bool {
        match self {
            Predicate::All => true,
            Predicate::And(ps) => ps.iter().all(|p| p.matches(c)),
            Predicate::Or(ps) => ps.iter().any(|p| p.matches(c)),
            Predicate::Not(p) => !p.matches(c),
            Predicate::Eq(f, s) => equals(c.value(*f), s),
            Predicate::In(f, ss) => {
                let v = c.value(*f);
                ss.iter().any(|s| equals(v, s))
            }
            Predicate::Match(f, how, needle) => {
                let FieldValue::Text(hay) = c.value(*f) else {
                    return false;
                };
                text_match(&fold_case(hay), *how, &fold_case(needle))
            }
            Predicate::PhoneMatch(f, how, number) => {
                let FieldValue::Text(hay) = c.value(*f) else {
                    return false;
                };
                text_match(&phone_form(hay), *how, number.as_str())
            }
            Predicate::Search(search) => search.any().iter().any(|p| p.matches(c)),
            Predicate::Compare(f, cmp, at) => {
                let FieldValue::Time(Some(t)) = c.value(*f) else {
                    return false;
                };
                match cmp {
                    Cmp::Gt => t > *at,
                    Cmp::Gte => t >= *at,
                    Cmp::Lt => t < *at,
                    Cmp::Lte => t <= *at,
                }
            }
            Predicate::IsNull(f, null) => is_null(c.value(*f)) == *null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_beyond_ascii_one_character_at_a_time() {
        assert_eq!(fold_case("Pâte À ÉCLAIR"), "pâte à éclair");
        assert_eq!(fold_case("ΣΟΦΟΣ"), "σοφοσ");
        assert_eq!(fold_case("ДОБРЫЙ"), "добрый");
        assert_eq!(fold_case("İ").chars().count(), 1);
    }
}
