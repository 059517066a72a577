//! What the safe writes take: an idempotency key and the digest of the create it is bound
//! to, and the ids of a bulk write.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::conversation::Body;
use super::Invalid;

/// Most characters in an idempotency key.
pub const MAX_KEY_CHARS: usize = 255;

/// Most ids in one bulk write.
pub const MAX_BULK: usize = 100;

/// An idempotency key of `createConversation`: 1 to 255 characters, no NUL. Keys are compared
/// exactly (case and spaces count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks `value`; the error names no field (the caller says which argument it was).
    pub fn parse(value: String) -> Result<Self, Invalid> {
        let len = value.chars().count();
        if !(1..=MAX_KEY_CHARS).contains(&len) {
            return Err(Invalid::new(
                "",
                format!("must be 1 to {MAX_KEY_CHARS} characters (got {len})"),
            ));
        }
        if value.contains('\0') {
            return Err(Invalid::new("", "must not contain NUL characters"));
        }
        Ok(Self(value))
    }

    /// What the store keeps of the key: its SHA-256 in lower-case hex (64 characters, the
    /// same under every collation, and a fixed size to index).
    pub fn hash(&self) -> String {
        format!("{:x}", Sha256::digest(self.0.as_bytes()))
    }
}

impl Body {
    /// SHA-256 (lower-case hex) of the checked create input: two inputs that store the same
    /// conversation (`+1 (470) 329-8699` and `+14703298699`) have the same digest.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_value(self).expect("a body is always JSON");
        format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The ids of a bulk write: 1 to [`MAX_BULK`], all different, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkIds(Vec<Uuid>);

impl BulkIds {
    /// Checks `ids`; the error names no field (the caller says which argument it was).
    pub fn parse(ids: Vec<Uuid>) -> Result<Self, Invalid> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(Invalid::new(
                "",
                format!("must hold 1 to {MAX_BULK} ids (got {})", ids.len()),
            ));
        }
        let mut seen = HashSet::with_capacity(ids.len());
        if let Some(twice) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(Invalid::new("", format!("holds {twice} more than once")));
        }
        Ok(Self(ids))
    }

    pub fn as_slice(&self) -> &[Uuid] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_characters() {
        assert!(IdempotencyKey::parse(String::new()).is_err());
        assert!(IdempotencyKey::parse("é".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("é".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("a\0".into()).is_err());
        let a = IdempotencyKey::parse("k".into()).unwrap();
        let b = IdempotencyKey::parse("k ".into()).unwrap();
        assert_ne!(a.hash(), b.hash(), "trailing spaces count");
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn bulk_ids_are_distinct_and_bounded() {
        let ids: Vec<Uuid> = (0..101).map(|_| Uuid::new_v4()).collect();
        assert!(BulkIds::parse(Vec::new()).is_err());
        assert!(BulkIds::parse(ids[..100].to_vec()).is_ok());
        assert!(BulkIds::parse(ids.clone()).is_err());
        assert!(BulkIds::parse(vec![ids[0], ids[1], ids[0]]).is_err());
    }
}
