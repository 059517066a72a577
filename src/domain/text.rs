//! Length-checked strings.

use super::Invalid;

/// A string of at most `MAX` characters (Unicode scalar values, as the databases count them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
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

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The channel dialog's identifier (a phone number, a LINE chatroom id): 1 to 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogId(String);

impl DialogId {
    pub fn parse(field: &str, value: String) -> Result<Self, Invalid> {
        if value.trim().is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        Ok(Self(BoundedText::<255>::parse(field, value)?.into_inner()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}
