//! Length-checked strings.

use serde::{Serialize, Serializer};

use super::Invalid;

/// A string of at most `MAX` characters (Unicode scalar values, as the databases count them),
/// without NUL characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundedText<const MAX: usize>(String);

/// A name or a short address part: at most 255 characters.
pub type ShortText = BoundedText<255>;

/// A conversation's `detail`: at most 4096 characters.
pub type LongText = BoundedText<4096>;

impl<const MAX: usize> BoundedText<MAX> {
    /// Checks `value`; the error names `field`.
    pub fn parse(field: &str, value: String) -> Result<Self, Invalid> {
        let len = value.chars().count();
        if len > MAX {
            return Err(Invalid::new(
                field,
                format!("must be at most {MAX} characters (got {len})"),
            ));
        }
        if value.contains('\0') {
            return Err(Invalid::new(field, "must not contain NUL characters"));
        }
        Ok(Self(value))
    }

    /// A value read back from storage (or from this server's own events), which only ever
    /// holds what was checked on the way in; a row written around the server is shown as is.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> std::ops::Deref for BoundedText<MAX> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Serialize for BoundedText<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The channel dialog's identifier (a phone number, a LINE chatroom id): 1 to 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogId(ShortText);

impl DialogId {
    pub fn parse(field: &str, value: String) -> Result<Self, Invalid> {
        if value.trim().is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        Ok(Self(ShortText::parse(field, value)?))
    }

    /// See [`BoundedText::from_stored`].
    pub fn from_stored(value: String) -> Self {
        Self(ShortText::from_stored(value))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for DialogId {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl Serialize for DialogId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
