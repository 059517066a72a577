//! The `search` argument: one text looked for in every field a person would (name, detail,
//! dialog id, and the target and target name of both parties).

use super::dialable::Dialable;
use super::filter::{Field, Predicate, TextMatch};
use super::Invalid;

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
