//! `conversationCounts`' types: what to group by, and the counts.

use async_graphql::resolver_utils::EnumType;
use async_graphql::{Enum, Object};

use super::scalars::Uuid;
use super::types::{AddressType, ConversationType};
use crate::domain::counts::{self, GroupBy};

/// A field to group counts by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::counts::GroupBy")]
pub enum ConversationGroupBy {
    /// The channel (`type`).
    Type,
    /// The owner (`ownerId`); unassigned conversations form one group with `ownerId: null`.
    OwnerId,
    /// The messaging account (`accountId`).
    AccountId,
    /// The local party's address type (`self.type`).
    SelfType,
    /// The remote party's address type (`peer.type`).
    PeerType,
}

/// The distinct fields of `group_by`, in the order given.
pub(super) fn distinct(group_by: &[ConversationGroupBy]) -> Vec<GroupBy> {
    let mut fields: Vec<GroupBy> = Vec::new();
    for field in group_by.iter().copied().map(GroupBy::from) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

/// The most groups a `groupBy` argument (as a GraphQL list of enum names) can make: `None`
/// when it groups by an id (or names an unknown value), which the group limit then bounds.
pub(super) fn most_groups(group_by: &[async_graphql::Value]) -> Option<usize> {
    let mut fields = Vec::new();
    for value in group_by {
        let async_graphql::Value::Enum(name) = value else {
            return None;
        };
        let field = ConversationGroupBy::items()
            .iter()
            .find(|item| item.name == name.as_str())?
            .value;
        fields.push(field);
    }
    GroupBy::most_groups(&distinct(&fields))
}

/// One group of `conversationCounts`.
pub struct ConversationGroup(counts::Group);

/// Conversations that share the values of the grouped-by fields. Those fields are set (except
/// `ownerId` for the unassigned group, which is `null`); the others are `null`.
#[Object]
impl ConversationGroup {
    /// How many conversations are in the group.
    async fn count(&self) -> i64 {
        i64::try_from(self.0.count).unwrap_or(i64::MAX)
    }

    /// The channel, when grouped by `TYPE`.
    #[graphql(name = "type")]
    async fn kind(&self) -> Option<ConversationType> {
        self.0.kind.map(ConversationType::from)
    }

    /// The owner, when grouped by `OWNER_ID`; `null` for unassigned conversations (and when
    /// not grouped by owner).
    async fn owner_id(&self) -> Option<Uuid> {
        self.0.owner_id.map(Uuid)
    }

    /// The messaging account, when grouped by `ACCOUNT_ID`.
    async fn account_id(&self) -> Option<Uuid> {
        self.0.account_id.map(Uuid)
    }

    /// The local party's address type, when grouped by `SELF_TYPE`.
    async fn self_type(&self) -> Option<AddressType> {
        self.0.self_type.map(AddressType::from)
    }

    /// The remote party's address type, when grouped by `PEER_TYPE`.
    async fn peer_type(&self) -> Option<AddressType> {
        self.0.peer_type.map(AddressType::from)
    }
}

/// The answer of `conversationCounts`.
pub struct ConversationCounts(pub counts::Counts);

/// How many conversations match, in all and by group.
#[Object]
impl ConversationCounts {
    /// All matching conversations.
    async fn total(&self) -> i64 {
        i64::try_from(self.0.total).unwrap_or(i64::MAX)
    }

    /// The groups, largest first; ties are ordered by the grouped-by fields in `groupBy`
    /// order: enum values in the order this schema lists them, ids by their text, the
    /// unassigned owner first. At most `--max-groups` (see `truncated`); empty without
    /// `groupBy`.
    async fn groups(&self) -> Vec<ConversationGroup> {
        self.0
            .groups
            .iter()
            .cloned()
            .map(ConversationGroup)
            .collect()
    }

    /// More groups exist than were returned (more than the server's `--max-groups`); the
    /// smallest were left out. `total` still counts every conversation.
    async fn truncated(&self) -> bool {
        self.0.truncated
    }
}
