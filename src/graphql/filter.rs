//! Filter and order inputs of `conversations`, and their translation into the domain's
//! [`Predicate`]. Inside one input object the operators combine with AND; an object with no
//! operator set matches everything.

use async_graphql::{Enum, InputObject};

use super::scalars::{DateTime, Uuid};
use super::types::{AddressType, ConversationType, OwnerType};
use crate::domain::filter::{Cmp, Field, Predicate, Scalar, TextMatch};
use crate::domain::page::{Direction, Order, OrderField};

/// Conditions on a UUID field.
#[derive(InputObject, Debug, Default, Clone)]
#[graphql(name = "UUIDFilter")]
pub struct UuidFilter {
    /// Equal to.
    pub eq: Option<Uuid>,
    /// Not equal to (also matches when the field is null).
    pub ne: Option<Uuid>,
    /// One of these.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<Uuid>>,
    /// None of these (also matches when the field is null).
    pub not_in: Option<Vec<Uuid>>,
    /// `true`: the field is null; `false`: it is set.
    pub is_null: Option<bool>,
}

/// Conditions on a text field. `eq`, `ne`, `in` and `notIn` compare exactly;
/// `contains`, `startsWith` and `endsWith` ignore case, and `%` and `_` in them are literal.
///
/// Phone numbers as people type them: on `dialogId`, `self.target` and `peer.target`, a value
/// made only of digits, spaces and `+ - . ( )`, with at least 3 digits, is compared as a phone
/// number: spaces, dashes, dots and parentheses are dropped from it and from the stored value
/// (whatever the address type) before comparing, so `eq: "+1 (470) 329-8699"` finds
/// `+14703298699` and `contains: "470 329"` finds it too. `+` and every other character stay.
/// Any other value (a LINE id, an email or SIP address: anything with a letter) is compared as
/// given, dashes included.
#[derive(InputObject, Debug, Default, Clone)]
pub struct StringFilter {
    /// Exactly equal to.
    pub eq: Option<String>,
    /// Not exactly equal to.
    pub ne: Option<String>,
    /// Exactly one of these.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<String>>,
    /// None of these.
    pub not_in: Option<Vec<String>>,
    /// Contains this text, ignoring case.
    pub contains: Option<String>,
    /// Starts with this text, ignoring case.
    pub starts_with: Option<String>,
    /// Ends with this text, ignoring case.
    pub ends_with: Option<String>,
}

/// Conditions on a timestamp. A timestamp that has not happened yet is null: it matches only
/// `isNull: true`, never a comparison.
#[derive(InputObject, Debug, Default, Clone)]
pub struct DateTimeFilter {
    /// At exactly this instant.
    pub eq: Option<DateTime>,
    /// Strictly after.
    pub gt: Option<DateTime>,
    /// At or after.
    pub gte: Option<DateTime>,
    /// Strictly before.
    pub lt: Option<DateTime>,
    /// At or before.
    pub lte: Option<DateTime>,
    /// `true`: has not happened; `false`: has happened.
    pub is_null: Option<bool>,
}

/// Conditions on the conversation type.
#[derive(InputObject, Debug, Default, Clone)]
pub struct ConversationTypeFilter {
    /// Equal to.
    pub eq: Option<ConversationType>,
    /// One of these.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<ConversationType>>,
}

/// Conditions on the owner type.
#[derive(InputObject, Debug, Default, Clone)]
pub struct OwnerTypeFilter {
    /// Equal to.
    pub eq: Option<OwnerType>,
    /// One of these.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<OwnerType>>,
    /// `true`: nobody owns the conversation; `false`: somebody does.
    pub is_null: Option<bool>,
}

/// Conditions on an address type.
#[derive(InputObject, Debug, Default, Clone)]
pub struct AddressTypeFilter {
    /// Equal to.
    pub eq: Option<AddressType>,
    /// One of these.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<AddressType>>,
}

/// Conditions on an address (`self` or `peer`).
#[derive(InputObject, Debug, Default, Clone)]
pub struct AddressFilter {
    /// The address type.
    #[graphql(name = "type")]
    pub kind: Option<AddressTypeFilter>,
    /// The target (E.164 numbers are stored compact: `+14703298699`); phone numbers may be
    /// typed with separators (see `StringFilter`).
    pub target: Option<StringFilter>,
    /// The target's display name.
    pub target_name: Option<StringFilter>,
    /// The address name.
    pub name: Option<StringFilter>,
}

/// Which conversations to list. Fields set in one object must all hold (AND); `and`, `or` and
/// `not` combine whole filters. An empty `or` list matches nothing; an empty `and` list
/// matches everything.
#[derive(InputObject, Debug, Default, Clone)]
pub struct ConversationFilter {
    /// The conversation id.
    pub id: Option<UuidFilter>,
    /// The customer id.
    pub customer_id: Option<UuidFilter>,
    /// The owner type (`isNull: true` for unowned conversations).
    pub owner_type: Option<OwnerTypeFilter>,
    /// The owner id (`isNull: true` for unowned conversations).
    pub owner_id: Option<UuidFilter>,
    /// The messaging account id.
    pub account_id: Option<UuidFilter>,
    /// The name.
    pub name: Option<StringFilter>,
    /// The detail.
    pub detail: Option<StringFilter>,
    /// The channel type.
    #[graphql(name = "type")]
    pub kind: Option<ConversationTypeFilter>,
    /// The dialog id (stored as the client gave it); phone numbers may be typed with
    /// separators (see `StringFilter`).
    pub dialog_id: Option<StringFilter>,
    /// The local party's address.
    #[graphql(name = "self")]
    pub self_address: Option<AddressFilter>,
    /// The remote party's address.
    pub peer: Option<AddressFilter>,
    /// Creation time.
    pub tm_create: Option<DateTimeFilter>,
    /// Last update time (null until the first update).
    pub tm_update: Option<DateTimeFilter>,
    /// Soft-deletion time (null unless deleted).
    pub tm_delete: Option<DateTimeFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<ConversationFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<ConversationFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<ConversationFilter>>,
}

/// The fields a list can be sorted by. Ties are broken by `id` in the same direction, so
/// every order is total and cursors are stable.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationOrderField {
    /// Creation time.
    TmCreate,
    /// Last update time; conversations never updated sort as if updated in the far future
    /// (last when ascending, first when descending).
    TmUpdate,
    /// Name, by Unicode code point (case-sensitive).
    Name,
}

/// Sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// How to sort a list.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ConversationOrder {
    /// What to sort by.
    pub field: ConversationOrderField,
    /// Which way.
    pub direction: OrderDirection,
}

impl Default for ConversationOrder {
    fn default() -> Self {
        Self {
            field: ConversationOrderField::TmCreate,
            direction: OrderDirection::Desc,
        }
    }
}

impl From<ConversationOrder> for Order {
    fn from(o: ConversationOrder) -> Self {
        Order {
            field: match o.field {
                ConversationOrderField::TmCreate => OrderField::TmCreate,
                ConversationOrderField::TmUpdate => OrderField::TmUpdate,
                ConversationOrderField::Name => OrderField::Name,
            },
            direction: match o.direction {
                OrderDirection::Asc => Direction::Asc,
                OrderDirection::Desc => Direction::Desc,
            },
        }
    }
}

/// Collects the leaf conditions of one field into `out`.
struct Leaves<'a> {
    out: &'a mut Vec<Predicate>,
}

impl Leaves<'_> {
    fn eq_in(&mut self, f: Field, eq: Option<Scalar>, is_in: Option<Vec<Scalar>>) {
        if let Some(v) = eq {
            self.out.push(Predicate::Eq(f, v));
        }
        if let Some(vs) = is_in {
            self.out.push(Predicate::In(f, vs));
        }
    }

    fn ne_not_in(&mut self, f: Field, ne: Option<Scalar>, not_in: Option<Vec<Scalar>>) {
        if let Some(v) = ne {
            self.out.push(Predicate::Not(Box::new(Predicate::Eq(f, v))));
        }
        if let Some(vs) = not_in {
            self.out
                .push(Predicate::Not(Box::new(Predicate::In(f, vs))));
        }
    }

    fn is_null(&mut self, f: Field, is_null: Option<bool>) {
        if let Some(null) = is_null {
            self.out.push(Predicate::IsNull(f, null));
        }
    }

    fn uuid(&mut self, f: Field, filter: &Option<UuidFilter>) {
        let Some(u) = filter else { return };
        let one = |v: &Uuid| Scalar::Uuid(v.0);
        let many = |vs: &Vec<Uuid>| vs.iter().map(one).collect();
        self.eq_in(f, u.eq.as_ref().map(one), u.is_in.as_ref().map(many));
        self.ne_not_in(f, u.ne.as_ref().map(one), u.not_in.as_ref().map(many));
        self.is_null(f, u.is_null);
    }

    fn string(&mut self, f: Field, filter: &Option<StringFilter>) {
        let Some(s) = filter else { return };
        // Dialable text compares with `dialogId` and the targets as a phone number.
        let one = |v: &String| Scalar::text(f, v.clone());
        let many = |vs: &Vec<String>| vs.iter().map(one).collect();
        self.eq_in(f, s.eq.as_ref().map(one), s.is_in.as_ref().map(many));
        self.ne_not_in(f, s.ne.as_ref().map(one), s.not_in.as_ref().map(many));
        for (how, needle) in [
            (TextMatch::Contains, &s.contains),
            (TextMatch::StartsWith, &s.starts_with),
            (TextMatch::EndsWith, &s.ends_with),
        ] {
            if let Some(needle) = needle {
                self.out.push(Predicate::text_match(f, how, needle.clone()));
            }
        }
    }

    fn time(&mut self, f: Field, filter: &Option<DateTimeFilter>) {
        let Some(t) = filter else { return };
        if let Some(v) = t.eq {
            self.out.push(Predicate::Eq(f, Scalar::Time(v.0)));
        }
        for (cmp, v) in [
            (Cmp::Gt, t.gt),
            (Cmp::Gte, t.gte),
            (Cmp::Lt, t.lt),
            (Cmp::Lte, t.lte),
        ] {
            if let Some(v) = v {
                self.out.push(Predicate::Compare(f, cmp, v.0));
            }
        }
        self.is_null(f, t.is_null);
    }

    fn enum_eq_in<E: Copy>(
        &mut self,
        f: Field,
        eq: Option<E>,
        is_in: &Option<Vec<E>>,
        scalar: impl Fn(E) -> Scalar,
    ) {
        self.eq_in(
            f,
            eq.map(&scalar),
            is_in
                .as_ref()
                .map(|vs| vs.iter().copied().map(&scalar).collect()),
        );
    }

    fn address(&mut self, fields: [Field; 4], filter: &Option<AddressFilter>) {
        let Some(a) = filter else { return };
        let [kind, target, target_name, name] = fields;
        if let Some(t) = &a.kind {
            self.enum_eq_in(kind, t.eq, &t.is_in, |v| Scalar::AddressType(v.into()));
        }
        self.string(target, &a.target);
        self.string(target_name, &a.target_name);
        self.string(name, &a.name);
    }
}

impl ConversationFilter {
    /// The filter as a predicate.
    pub fn to_predicate(&self) -> Predicate {
        let mut parts = Vec::new();
        let mut leaves = Leaves { out: &mut parts };
        leaves.uuid(Field::Id, &self.id);
        leaves.uuid(Field::CustomerId, &self.customer_id);
        if let Some(o) = &self.owner_type {
            leaves.enum_eq_in(Field::OwnerType, o.eq, &o.is_in, |v| {
                Scalar::OwnerType(v.into())
            });
            leaves.is_null(Field::OwnerType, o.is_null);
        }
        leaves.uuid(Field::OwnerId, &self.owner_id);
        leaves.uuid(Field::AccountId, &self.account_id);
        leaves.string(Field::Name, &self.name);
        leaves.string(Field::Detail, &self.detail);
        if let Some(k) = &self.kind {
            leaves.enum_eq_in(Field::Type, k.eq, &k.is_in, |v| Scalar::Type(v.into()));
        }
        leaves.string(Field::DialogId, &self.dialog_id);
        leaves.address(
            [
                Field::SelfType,
                Field::SelfTarget,
                Field::SelfTargetName,
                Field::SelfName,
            ],
            &self.self_address,
        );
        leaves.address(
            [
                Field::PeerType,
                Field::PeerTarget,
                Field::PeerTargetName,
                Field::PeerName,
            ],
            &self.peer,
        );
        leaves.time(Field::TmCreate, &self.tm_create);
        leaves.time(Field::TmUpdate, &self.tm_update);
        leaves.time(Field::TmDelete, &self.tm_delete);
        if let Some(all) = &self.and {
            parts.push(Predicate::And(all.iter().map(Self::to_predicate).collect()));
        }
        if let Some(any) = &self.or {
            parts.push(Predicate::Or(any.iter().map(Self::to_predicate).collect()));
        }
        if let Some(not) = &self.not {
            parts.push(Predicate::Not(Box::new(not.to_predicate())));
        }
        Predicate::all_of(parts)
    }
}
