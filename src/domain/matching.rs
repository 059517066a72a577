//! [`Predicate::matches`]: the filter language evaluated in memory (subscriptions), with the
//! semantics the database layer gives it in SQL: a null field compares false; `contains`,
//! `startsWith` and `endsWith` compare text lower-cased one character at a time, exactly as the
//! database lower-cases it ([`CaseFolding`]). Dialable text ([`super::Dialable`]) is compared
//! with a dialable field's [`phone_form`].

use std::collections::HashMap;
use std::sync::Arc;

use super::conversation::{Conversation, FieldValue};
use super::dialable::phone_form;
use super::filter::{Cmp, Predicate, Scalar, TextMatch};

/// Unicode's simple lowercase mapping of one character (each character becomes one).
fn simple_lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Lower-cases `text` one character at a time with Unicode's simple case mapping, as
/// PostgreSQL's and MariaDB's `LOWER` do (no context rules such as the Greek final sigma, no
/// one-to-many mappings): what SQLite's `cg_lower` does.
pub fn fold_case(text: &str) -> String {
    text.chars().map(simple_lower).collect()
}

/// How one database lower-cases text: [`fold_case`], except for the characters it maps
/// otherwise (its casing tables follow another Unicode version, or its locale). The database
/// layer finds the exceptions by asking the database about every cased character
/// ([`CaseFolding::probe`]), so that a subscription filter matches what the same filter
/// matches in a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFolding {
    exceptions: Arc<HashMap<char, char>>,
}

impl CaseFolding {
    /// The characters worth asking a database about: every one Unicode gives a case.
    pub fn probe() -> Vec<char> {
        (0..=0x10FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_ascii() && (c.is_uppercase() || simple_lower(*c) != *c))
            .collect()
    }

    /// The folding of a database that lower-cases `asked[i]` to `answered[i]`.
    pub fn from_answers(asked: &[char], answered: &[char]) -> Self {
        let exceptions = asked
            .iter()
            .zip(answered)
            .filter(|(c, l)| simple_lower(**c) != **l)
            .map(|(c, l)| (*c, *l))
            .collect();
        Self {
            exceptions: Arc::new(exceptions),
        }
    }

    /// How many characters this database folds unlike [`fold_case`].
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// `text` lower-cased as the database does it.
    pub fn fold(&self, text: &str) -> String {
        if self.exceptions.is_empty() {
            return fold_case(text);
        }
        text.chars()
            .map(|c| {
                self.exceptions
                    .get(&c)
                    .copied()
                    .unwrap_or_else(|| simple_lower(c))
            })
            .collect()
    }
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
    /// Evaluates the predicate on a conversation, folding case as `folding` says.
    pub fn matches(&self, c: &Conversation, folding: &CaseFolding) -> bool {
        match self {
            Predicate::All => true,
            Predicate::And(ps) => ps.iter().all(|p| p.matches(c, folding)),
            Predicate::Or(ps) => ps.iter().any(|p| p.matches(c, folding)),
            Predicate::Not(p) => !p.matches(c, folding),
            Predicate::Eq(f, s) => equals(c.value(*f), s),
            Predicate::In(f, ss) => {
                let v = c.value(*f);
                ss.iter().any(|s| equals(v, s))
            }
            Predicate::Match(f, how, needle) => {
                let FieldValue::Text(hay) = c.value(*f) else {
                    return false;
                };
                text_match(&folding.fold(hay), *how, &folding.fold(needle))
            }
            Predicate::PhoneMatch(f, how, number) => {
                let FieldValue::Text(hay) = c.value(*f) else {
                    return false;
                };
                text_match(&phone_form(hay), *how, number.as_str())
            }
            Predicate::Search(search) => search.any().iter().any(|p| p.matches(c, folding)),
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
    fn exceptions_override_the_unicode_mapping() {
        let asked = ['\u{1E9E}', 'É'];
        let folding = CaseFolding::from_answers(&asked, &['\u{1E9E}', 'é']);
        assert_eq!(folding.exceptions(), 1);
        assert_eq!(folding.fold("STRA\u{1E9E}E É"), "stra\u{1E9E}e é");
        assert!(CaseFolding::probe().contains(&'Σ'));
    }

    #[test]
    fn folds_beyond_ascii_one_character_at_a_time() {
        assert_eq!(fold_case("Pâte À ÉCLAIR"), "pâte à éclair");
        assert_eq!(fold_case("ΣΟΦΟΣ"), "σοφοσ");
        assert_eq!(fold_case("ДОБРЫЙ"), "добрый");
        assert_eq!(fold_case("İ").chars().count(), 1);
    }
}
