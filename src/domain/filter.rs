//! The filter language of lists and subscriptions, as plain data.
//!
//! The API layer turns its filter inputs into a [`Predicate`]; the database layer compiles it
//! into one SQL condition with bound parameters, and [`Predicate::matches`] evaluates it in
//! memory with the same semantics. `ne` and `notIn` are `Not(Eq)` and `Not(In)`, so they match
//! rows where the field is null ("not equal to X" holds for nothing).

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use super::conversation::Field;
use super::dialable::Dialable;
use super::{AddressType, ConversationType, Invalid, OwnerType};

/// A value to compare a field with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Type(ConversationType),
    AddressType(AddressType),
    OwnerType(OwnerType),
    /// Dialable text, compared with a dialable field's phone form (see [`Dialable`]).
    Phone(Dialable),
}

impl Scalar {
    /// `text` as the value `eq`, `ne`, `in` and `notIn` compare `field` with: a phone number
    /// when the field is dialable and the text reads as one, else the text as given.
    pub fn text(field: Field, text: String) -> Scalar {
        match Dialable::parse(&text) {
            Some(d) if field.is_dialable() => Scalar::Phone(d),
            _ => Scalar::Text(text),
        }
    }
}

impl Scalar {
    /// The text of a text or phone value.
    fn as_text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Phone(d) => Some(d.as_str()),
            _ => None,
        }
    }
}

impl Field {
    /// `dialogId`, `self.target` and `peer.target`: fields that dialable text is compared
    /// with as a phone number.
    pub fn is_dialable(self) -> bool {
        matches!(
            self,
            Field::DialogId | Field::SelfTarget | Field::PeerTarget
        )
    }
}

/// Case-insensitive text matches; `%` and `_` in the needle are literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMatch {
    Contains,
    StartsWith,
    EndsWith,
}

/// Ordering comparisons for timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A boolean condition on a conversation. Every leaf is two-valued: a null field makes a
/// comparison false (never SQL's unknown), so `Not` is the plain complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// Matches every row.
    All,
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
    Eq(Field, Scalar),
    In(Field, Vec<Scalar>),
    Match(Field, TextMatch, String),
    /// A dialable field's phone form contains, starts or ends with the number (digits and
    /// `+` only, so case plays no part).
    PhoneMatch(Field, TextMatch, Dialable),
    /// Any of the searched fields contains the text ([`Search`]).
    Search(Search),
    Compare(Field, Cmp, DateTime<Utc>),
    /// `true`: the field is null ("not yet", nobody); `false`: it is set.
    IsNull(Field, bool),
}

impl Predicate {
    /// AND of the parts, dropping the ones that match everything.
    pub fn all_of(parts: Vec<Predicate>) -> Predicate {
        let mut parts: Vec<Predicate> =
            parts.into_iter().filter(|p| *p != Predicate::All).collect();
        match parts.len() {
            0 => Predicate::All,
            1 => parts.pop().expect("one part"),
            _ => Predicate::And(parts),
        }
    }

    /// `field` contains, starts or ends with `needle`: as a phone number when the field is
    /// dialable and the needle reads as one, else ignoring case.
    pub fn text_match(field: Field, how: TextMatch, needle: String) -> Predicate {
        match Dialable::parse(&needle) {
            Some(d) if field.is_dialable() => Predicate::PhoneMatch(field, how, d),
            _ => Predicate::Match(field, how, needle),
        }
    }

    /// Live conversations only (not soft-deleted).
    pub fn live() -> Predicate {
        Predicate::IsNull(Field::TmDelete, true)
    }

    /// The value `field` must equal for the predicate to hold, when it says so at its top
    /// level (`field eq X`, alone or in an AND).
    pub fn required_uuid(&self, field: Field) -> Option<Uuid> {
        match self {
            Predicate::Eq(f, Scalar::Uuid(u)) if *f == field => Some(*u),
            Predicate::And(ps) => ps.iter().find_map(|p| p.required_uuid(field)),
            _ => None,
        }
    }

    /// Whether any text value in the predicate satisfies `test`.
    pub fn any_text(&self, test: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().any(|p| p.any_text(test)),
            Predicate::Not(p) => p.any_text(test),
            Predicate::Eq(_, v) => v.as_text().is_some_and(test),
            Predicate::Match(_, _, s) => test(s),
            Predicate::PhoneMatch(_, _, d) => test(d.as_str()),
            Predicate::Search(s) => test(s.text()),
            Predicate::In(_, vs) => vs.iter().any(|v| v.as_text().is_some_and(test)),
            _ => false,
        }
    }

    /// Whether a search is part of the predicate.
    pub fn any_search(&self) -> bool {
        match self {
            Predicate::Search(_) => true,
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().any(Predicate::any_search),
            Predicate::Not(p) => p.any_search(),
            _ => false,
        }
    }

    /// How deeply `and`/`or`/`not` nest (a leaf is 0).
    pub fn depth(&self) -> usize {
        match self {
            Predicate::And(ps) | Predicate::Or(ps) => {
                1 + ps.iter().map(Predicate::depth).max().unwrap_or(0)
            }
            Predicate::Not(p) => 1 + p.depth(),
            _ => 0,
        }
    }

    /// The longest `in` list anywhere in the predicate.
    pub fn longest_list(&self) -> usize {
        match self {
            Predicate::And(ps) | Predicate::Or(ps) => {
                ps.iter().map(Predicate::longest_list).max().unwrap_or(0)
            }
            Predicate::Not(p) => p.longest_list(),
            Predicate::In(_, vs) => vs.len(),
            _ => 0,
        }
    }
}

// --- search ---------------------------------------------------------------------------------
// The `search` argument: one text looked for in every field a person would (name, detail,
// dialog id, and the target and target name of both parties).

/// Searched as text, ignoring case.
pub const TEXT_FIELDS: [Field; 4] = [
    Field::Name,
    Field::Detail,
    Field::SelfTargetName,
    Field::PeerTargetName,
];

/// Searched as text, or in their phone form when the search is dialable.
pub const DIALABLE_FIELDS: [Field; 3] = [Field::DialogId, Field::SelfTarget, Field::PeerTarget];

/// Checked search text, and the per-field conditions it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    text: String,
    dialable: Option<Dialable>,
    /// One condition per searched field; the search matches when any holds.
    any: Vec<Predicate>,
}

impl Search {
    /// Fewest characters a search may have.
    pub const MIN_CHARS: usize = 2;
    /// Most characters a search may have.
    pub const MAX_CHARS: usize = 100;

    /// Checks `text`: 2 to 100 characters (Unicode scalar values), no NUL. The error names no
    /// field (the caller knows the argument's name).
    pub fn parse(text: String) -> Result<Self, Invalid> {
        let len = text.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(Invalid::new(
                "",
                format!(
                    "must be {} to {} characters (got {len})",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        if text.contains('\0') {
            return Err(Invalid::new("", "must not contain NUL characters"));
        }
        let dialable = Dialable::parse(&text);
        let mut any: Vec<Predicate> = TEXT_FIELDS
            .into_iter()
            .map(|f| Predicate::Match(f, TextMatch::Contains, text.clone()))
            .collect();
        any.extend(
            DIALABLE_FIELDS
                .into_iter()
                .map(|f| Predicate::text_match(f, TextMatch::Contains, text.clone())),
        );
        Ok(Self {
            text,
            dialable,
            any,
        })
    }

    /// The text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text as a phone number, when it reads as one.
    pub fn dialable(&self) -> Option<&Dialable> {
        self.dialable.as_ref()
    }

    /// One condition per searched field (text fields first, then the dialable ones).
    pub fn any(&self) -> &[Predicate] {
        &self.any
    }
}
