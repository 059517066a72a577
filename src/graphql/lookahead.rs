//! Which parts of a conversation a selection reads ([`Parts`]), so that `conversation(id)` and
//! `conversations` read only those columns. A field not named here reads every part, so a
//! field added to `Conversation` without a line here is slower, never wrong.

use async_graphql::{Context, SelectionField};

use crate::domain::{Part, Parts};

/// The parts of `self` and of `peer`, in the order type, target, targetName, name, detail.
const SELF: [Part; 5] = [
    Part::SelfType,
    Part::SelfTarget,
    Part::SelfTargetName,
    Part::SelfName,
    Part::SelfDetail,
];
const PEER: [Part; 5] = [
    Part::PeerType,
    Part::PeerTarget,
    Part::PeerTargetName,
    Part::PeerName,
    Part::PeerDetail,
];

/// What the fields of an `Address` selection read.
fn address<'a>(fields: impl Iterator<Item = SelectionField<'a>>, of: [Part; 5]) -> Parts {
    let mut parts = Parts::ID;
    for field in fields {
        let part = match field.name() {
            "__typename" => continue,
            "type" => of[0],
            "target" => of[1],
            "targetName" => of[2],
            "name" => of[3],
            "detail" => of[4],
            _ => return Parts::ALL,
        };
        parts = parts.with(part);
    }
    parts
}

/// What the fields of a `Conversation` selection read (fragments included).
fn conversation<'a>(fields: impl Iterator<Item = SelectionField<'a>>) -> Parts {
    let mut parts = Parts::ID;
    for field in fields {
        let part = match field.name() {
            "__typename" | "id" | "nodeId" => continue,
            "self" => {
                parts = parts.union(address(field.selection_set(), SELF));
                continue;
            }
            "peer" => {
                parts = parts.union(address(field.selection_set(), PEER));
                continue;
            }
            "customerId" => Part::CustomerId,
            "ownerType" | "ownerId" => Part::Owner,
            "accountId" => Part::AccountId,
            "name" => Part::Name,
            "detail" => Part::Detail,
            "type" => Part::Kind,
            "dialogId" => Part::DialogId,
            "tmCreate" => Part::TmCreate,
            "tmUpdate" => Part::TmUpdate,
            "tmDelete" => Part::TmDelete,
            "version" => Part::Version,
            _ => return Parts::ALL,
        };
        parts = parts.with(part);
    }
    parts
}

/// For a field that returns a `Conversation` (`conversation(id)`).
pub(super) fn of_conversation(ctx: &Context<'_>) -> Parts {
    conversation(ctx.field().selection_set())
}

/// For a field that returns a `ConversationConnection`: what `edges { node }` and `nodes`
/// select.
pub(super) fn of_connection(ctx: &Context<'_>) -> Parts {
    let mut parts = Parts::ID;
    for field in ctx.field().selection_set() {
        match field.name() {
            "edges" => {
                for edge in field.selection_set().filter(|f| f.name() == "node") {
                    parts = parts.union(conversation(edge.selection_set()));
                }
            }
            "nodes" => parts = parts.union(conversation(field.selection_set())),
            _ => {}
        }
    }
    parts
}
