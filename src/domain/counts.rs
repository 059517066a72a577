//! Counts of conversations, in all and by group (`conversationCounts`).

use uuid::Uuid;

use super::filter::Predicate;
use super::{AddressType, ConversationType};

/// A field conversations can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    Type,
    OwnerId,
    AccountId,
    SelfType,
    PeerType,
}

impl GroupBy {
    /// How many values the field can take, when that is a small fixed number (enums); `None`
    /// for ids.
    pub fn values(self) -> Option<usize> {
        match self {
            GroupBy::Type => Some(ConversationType::ALL.len()),
            GroupBy::SelfType | GroupBy::PeerType => Some(AddressType::ALL.len()),
            GroupBy::OwnerId | GroupBy::AccountId => None,
        }
    }

    /// The most groups grouping by `fields` can make, `None` when ids make it unbounded.
    pub fn most_groups(fields: &[GroupBy]) -> Option<usize> {
        fields
            .iter()
            .try_fold(1usize, |n, f| f.values().map(|v| n.saturating_mul(v)))
    }
}

/// One group: how many conversations share these values. A field the counts are not grouped
/// by is `None`; so is `owner_id` for the unassigned conversations' group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub count: u64,
    pub kind: Option<ConversationType>,
    pub owner_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub self_type: Option<AddressType>,
    pub peer_type: Option<AddressType>,
}

/// What to count.
#[derive(Debug, Clone)]
pub struct CountsQuery {
    /// The conversations counted (the caller's scope is added by the store).
    pub filter: Predicate,
    /// The fields to group by, distinct, in the order that breaks ties between groups; empty
    /// for the total alone.
    pub group_by: Vec<GroupBy>,
    /// Most groups returned; [`Counts::truncated`] says when there were more.
    pub max_groups: u64,
}

/// The answer to a [`CountsQuery`].
///
/// Groups are ordered by count, largest first; ties by the grouped-by fields in `group_by`
/// order: enum values in declaration order (`ConversationType::ALL`, `AddressType::ALL`), ids
/// by their bytes (their hexadecimal text), the unassigned owner before every owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every matching conversation.
    pub total: u64,
    pub groups: Vec<Group>,
    /// More groups exist than `max_groups`.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_groupings_are_bounded_and_id_groupings_are_not() {
        assert_eq!(GroupBy::most_groups(&[]), Some(1));
        assert_eq!(GroupBy::most_groups(&[GroupBy::Type]), Some(2));
        assert_eq!(
            GroupBy::most_groups(&[GroupBy::Type, GroupBy::PeerType]),
            Some(26)
        );
        assert_eq!(
            GroupBy::most_groups(&[GroupBy::Type, GroupBy::OwnerId]),
            None
        );
    }
}
