//! [`Parts`]: which parts of a [`Conversation`](super::Conversation) a reader needs. A read
//! asked for some parts returns conversations whose other parts hold placeholders (empty text,
//! the nil UUID, no owner, the Unix epoch, version 0): the reader must look at nothing else.
//! The id is always read.

/// One part of a conversation (besides its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Part {
    CustomerId,
    /// The owner's id (and so the owner type).
    Owner,
    AccountId,
    Name,
    Detail,
    Kind,
    DialogId,
    SelfType,
    SelfTarget,
    SelfTargetName,
    SelfName,
    SelfDetail,
    PeerType,
    PeerTarget,
    PeerTargetName,
    PeerName,
    PeerDetail,
    TmCreate,
    TmUpdate,
    TmDelete,
    Version,
}

/// How many parts there are.
const COUNT: u32 = Part::Version as u32 + 1;

/// A set of [`Part`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts(u32);

impl Parts {
    /// Every part: a whole conversation.
    pub const ALL: Parts = Parts((1 << COUNT) - 1);
    /// The id alone.
    pub const ID: Parts = Parts(0);

    /// This set and `part`.
    pub const fn with(self, part: Part) -> Parts {
        Parts(self.0 | 1 << part as u32)
    }

    /// Whether the set holds `part`.
    pub const fn has(self, part: Part) -> bool {
        self.0 & (1 << part as u32) != 0
    }

    /// Both sets.
    pub const fn union(self, other: Parts) -> Parts {
        Parts(self.0 | other.0)
    }
}

impl Default for Parts {
    /// A whole conversation.
    fn default() -> Self {
        Parts::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_holds_every_part_and_id_none() {
        for part in [Part::CustomerId, Part::PeerTarget, Part::Version] {
            assert!(Parts::ALL.has(part));
            assert!(!Parts::ID.has(part));
            assert!(Parts::ID.with(part).has(part));
            assert!(!Parts::ID.with(Part::Name).has(part));
        }
        assert_eq!(Parts::ID.union(Parts::ALL), Parts::ALL);
    }
}
