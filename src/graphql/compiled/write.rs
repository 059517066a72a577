//! Compiled selections of conversations and addresses, and the JSON they write (connections:
//! [`super::connection`]). Each field writes exactly what its resolver in
//! `types.rs` / `connection.rs` gives, as async-graphql serializes it: scalars through their
//! own `to_value`, enums by their GraphQL names, strings escaped as serde_json escapes them.

use async_graphql::parser::types::SelectionSet;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{ScalarType, Value};

use super::plain_fields;
use crate::domain::{self, Part, Parts};
use crate::graphql::node_id::conversation_node_id;
use crate::graphql::scalars::DateTime;
use crate::graphql::types::{AddressType, ConversationType, OwnerType};

/// `"key":`, JSON-escaped.
pub(super) fn key(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    string(&mut out, name);
    out.push(b':');
    out
}

/// `s` as a JSON string, as serde_json writes it: as is between quotes when nothing in it
/// needs escaping (serde_json escapes only `"`, `\\` and control characters).
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// A scalar or enum value as JSON (only strings and enums come here).
fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => string(out, s),
        Value::Enum(name) => string(out, name),
        other => {
            let _ = serde_json::to_writer(&mut *out, &other.clone().into_json().ok());
        }
    }
}

/// As the `UUID` scalar writes it (hyphenated, lower case; checked by the `compiled` tests).
fn uuid(out: &mut Vec<u8>, id: &uuid::Uuid) {
    out.push(b'"');
    let mut buffer = uuid::Uuid::encode_buffer();
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buffer).as_bytes());
    out.push(b'"');
}

fn time(out: &mut Vec<u8>, at: Option<&chrono::DateTime<chrono::Utc>>) {
    match at {
        Some(at) => value(out, &DateTime(*at).to_value()),
        None => out.extend_from_slice(b"null"),
    }
}

/// An object's compiled selection: `"key":` and the field, in document order.
#[derive(Debug)]
pub(super) struct Object<F> {
    pub(super) fields: Vec<(Vec<u8>, F)>,
}

impl<F> Object<F> {
    /// The fields of `set`, each compiled by `field(name, sub-selection)`; `None` when `set`
    /// is not plain or `field` does not know one.
    pub(super) fn compile(
        set: &SelectionSet,
        field: impl Fn(&str, &SelectionSet) -> Option<F>,
    ) -> Option<Self> {
        let fields = plain_fields(set)?
            .into_iter()
            .map(|f| {
                let compiled = field(f.name.node.as_str(), &f.selection_set.node)?;
                Some((key(f.response_key().node.as_str()), compiled))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Object { fields })
    }

    /// `{…}`, each field written by `write`.
    pub(super) fn write(&self, out: &mut Vec<u8>, mut write: impl FnMut(&mut Vec<u8>, &F)) {
        out.push(b'{');
        for (i, (key, field)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            write(out, field);
        }
        out.push(b'}');
    }
}

/// A field of `Address`.
#[derive(Debug, Clone, Copy)]
enum AddressField {
    Typename,
    Type,
    Target,
    TargetName,
    Name,
    Detail,
}

/// The parts of `self` or of `peer`, in the order type, target, targetName, name, detail.
type AddressParts = [Part; 5];
const SELF: AddressParts = [
    Part::SelfType,
    Part::SelfTarget,
    Part::SelfTargetName,
    Part::SelfName,
    Part::SelfDetail,
];
const PEER: AddressParts = [
    Part::PeerType,
    Part::PeerTarget,
    Part::PeerTargetName,
    Part::PeerName,
    Part::PeerDetail,
];

impl AddressField {
    fn compile(name: &str) -> Option<Self> {
        Some(match name {
            "__typename" => Self::Typename,
            "type" => Self::Type,
            "target" => Self::Target,
            "targetName" => Self::TargetName,
            "name" => Self::Name,
            "detail" => Self::Detail,
            _ => return None,
        })
    }

    fn part(self, of: &AddressParts) -> Option<Part> {
        Some(match self {
            Self::Typename => return None,
            Self::Type => of[0],
            Self::Target => of[1],
            Self::TargetName => of[2],
            Self::Name => of[3],
            Self::Detail => of[4],
        })
    }

    fn write(self, out: &mut Vec<u8>, a: &domain::Address) {
        match self {
            Self::Typename => string(out, "Address"),
            Self::Type => value(out, &enum_value(AddressType::from(a.kind))),
            Self::Target => string(out, a.target.as_str()),
            Self::TargetName => string(out, &a.target_name),
            Self::Name => string(out, &a.name),
            Self::Detail => string(out, &a.detail),
        }
    }
}

/// A field of `Conversation`.
#[derive(Debug)]
enum ConversationField {
    Typename,
    Id,
    NodeId,
    CustomerId,
    OwnerType,
    OwnerId,
    AccountId,
    Name,
    Detail,
    Type,
    DialogId,
    SelfAddress(Object<AddressField>),
    Peer(Object<AddressField>),
    TmCreate,
    TmUpdate,
    TmDelete,
    Version,
}

impl ConversationField {
    fn compile(name: &str, sub: &SelectionSet) -> Option<Self> {
        Some(match name {
            "__typename" => Self::Typename,
            "id" => Self::Id,
            "nodeId" => Self::NodeId,
            "customerId" => Self::CustomerId,
            "ownerType" => Self::OwnerType,
            "ownerId" => Self::OwnerId,
            "accountId" => Self::AccountId,
            "name" => Self::Name,
            "detail" => Self::Detail,
            "type" => Self::Type,
            "dialogId" => Self::DialogId,
            "self" => Self::SelfAddress(Object::compile(sub, |n, _| AddressField::compile(n))?),
            "peer" => Self::Peer(Object::compile(sub, |n, _| AddressField::compile(n))?),
            "tmCreate" => Self::TmCreate,
            "tmUpdate" => Self::TmUpdate,
            "tmDelete" => Self::TmDelete,
            "version" => Self::Version,
            _ => return None,
        })
    }

    fn parts(&self) -> Parts {
        let address = |object: &Object<AddressField>, of: &AddressParts| {
            object
                .fields
                .iter()
                .filter_map(|(_, f)| f.part(of))
                .fold(Parts::ID, Parts::with)
        };
        let part = match self {
            Self::Typename | Self::Id | Self::NodeId => return Parts::ID,
            Self::SelfAddress(object) => return address(object, &SELF),
            Self::Peer(object) => return address(object, &PEER),
            Self::CustomerId => Part::CustomerId,
            Self::OwnerType | Self::OwnerId => Part::Owner,
            Self::AccountId => Part::AccountId,
            Self::Name => Part::Name,
            Self::Detail => Part::Detail,
            Self::Type => Part::Kind,
            Self::DialogId => Part::DialogId,
            Self::TmCreate => Part::TmCreate,
            Self::TmUpdate => Part::TmUpdate,
            Self::TmDelete => Part::TmDelete,
            Self::Version => Part::Version,
        };
        Parts::ID.with(part)
    }

    fn write(&self, out: &mut Vec<u8>, c: &domain::Conversation) {
        let b = &c.body;
        match self {
            Self::Typename => string(out, "Conversation"),
            Self::Id => uuid(out, &c.id),
            Self::NodeId => string(out, &conversation_node_id(c.id)),
            Self::CustomerId => uuid(out, &b.customer_id),
            Self::OwnerType => match c.owner_type() {
                Some(t) => value(out, &enum_value(OwnerType::from(t))),
                None => out.extend_from_slice(b"null"),
            },
            Self::OwnerId => match &b.owner_id {
                Some(id) => uuid(out, id),
                None => out.extend_from_slice(b"null"),
            },
            Self::AccountId => uuid(out, &b.account_id),
            Self::Name => string(out, &b.name),
            Self::Detail => string(out, &b.detail),
            Self::Type => value(out, &enum_value(ConversationType::from(b.kind))),
            Self::DialogId => string(out, &b.dialog_id),
            Self::SelfAddress(object) => {
                object.write(out, |out, f| f.write(out, &b.self_address));
            }
            Self::Peer(object) => object.write(out, |out, f| f.write(out, &b.peer)),
            Self::TmCreate => time(out, Some(&c.tm_create)),
            Self::TmUpdate => time(out, c.tm_update.as_ref()),
            Self::TmDelete => time(out, c.tm_delete.as_ref()),
            Self::Version => out.extend_from_slice(c.version.to_string().as_bytes()),
        }
    }
}

/// A compiled `Conversation` selection.
#[derive(Debug)]
pub(super) struct ConversationSelection {
    object: Object<ConversationField>,
    pub(super) parts: Parts,
}

impl ConversationSelection {
    pub(super) fn compile(set: &SelectionSet) -> Option<Self> {
        let object = Object::compile(set, ConversationField::compile)?;
        let parts = object
            .fields
            .iter()
            .fold(Parts::ID, |parts, (_, f)| parts.union(f.parts()));
        Some(Self { object, parts })
    }

    /// The parts of a conversation this selection reads.
    pub(super) fn parts(&self) -> Parts {
        self.parts
    }

    pub(super) fn write(&self, out: &mut Vec<u8>, c: &domain::Conversation) {
        self.object.write(out, |out, f| f.write(out, c));
    }
}
