//! The filter language and ordering of the list query, as plain data.
//!
//! The API layer turns its filter inputs into a [`Predicate`]; the database layer compiles a
//! predicate into one SQL condition with bound parameters. `ne` and `notIn` are `Not(Eq)` and
//! `Not(In)`, so they match rows where the field is null ("not equal to X" holds for nothing).

use super::Conversation;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// A filterable column of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    CustomerId,
    OwnerType,
    OwnerId,
    AccountId,
    Name,
    Detail,
    Type,
    DialogId,
    SelfType,
    SelfTarget,
    SelfTargetName,
    SelfName,
    PeerType,
    PeerTarget,
    PeerTargetName,
    PeerName,
    TmCreate,
    TmUpdate,
    TmDelete,
}

/// A value to compare a field with. Enum values are given in their stored spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
}

/// Case-insensitive text matches; `%` and `_` in the needle are literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMatch {
    Contains,
    StartsWith,
    EndsWith,
}

/// Ordering comparisons for timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A boolean condition on a conversation. Every leaf is two-valued: a null field makes a
/// comparison false (never SQL's unknown), so `Not` is the plain complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// Matches every row.
    All,
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
    Eq(Field, Scalar),
    In(Field, Vec<Scalar>),
    Match(Field, TextMatch, String),
    Compare(Field, Cmp, DateTime<Utc>),
    /// `true`: the field is null ("not yet", nobody); `false`: it is set.
    IsNull(Field, bool),
}

impl Predicate {
    /// AND of the parts, dropping the ones that match everything.
    pub fn all_of(parts: Vec<Predicate>) -> Predicate {
        let mut parts: Vec<Predicate> =
            parts.into_iter().filter(|p| *p != Predicate::All).collect();
        match parts.len() {
            0 => Predicate::All,
            1 => parts.pop().expect("one part"),
            _ => Predicate::And(parts),
        }
    }

    /// Whether any text value in the predicate satisfies `test`.
    pub fn any_text(&self, test: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().any(|p| p.any_text(test)),
            Predicate::Not(p) => p.any_text(test),
            Predicate::Eq(_, Scalar::Text(s)) | Predicate::Match(_, _, s) => test(s),
            Predicate::In(_, vs) => vs.iter().any(|v| matches!(v, Scalar::Text(s) if test(s))),
            _ => false,
        }
    }

    /// How deeply `and`/`or`/`not` nest (a leaf is 0).
    pub fn depth(&self) -> usize {
        match self {
            Predicate::And(ps) | Predicate::Or(ps) => {
                1 + ps.iter().map(Predicate::depth).max().unwrap_or(0)
            }
            Predicate::Not(p) => 1 + p.depth(),
            _ => 0,
        }
    }
}

/// A field's value on one conversation, with "null" made explicit.
enum Value<'a> {
    Uuid(Option<Uuid>),
    Text(Option<&'a str>),
    Time(Option<DateTime<Utc>>),
}

fn value(c: &Conversation, field: Field) -> Value<'_> {
    use Value::{Text, Time};
    match field {
        Field::Id => Value::Uuid(Some(c.id)),
        Field::CustomerId => Value::Uuid(Some(c.customer_id)),
        Field::OwnerId => Value::Uuid(c.owner_id),
        Field::AccountId => Value::Uuid(Some(c.account_id)),
        Field::OwnerType => Text(c.owner_id.map(|_| "agent")),
        Field::Name => Text(Some(&c.name)),
        Field::Detail => Text(Some(&c.detail)),
        Field::Type => Text(Some(c.kind.as_str())),
        Field::DialogId => Text(Some(&c.dialog_id)),
        Field::SelfType => Text(Some(c.self_address.kind.as_str())),
        Field::SelfTarget => Text(Some(&c.self_address.target)),
        Field::SelfTargetName => Text(Some(&c.self_address.target_name)),
        Field::SelfName => Text(Some(&c.self_address.name)),
        Field::PeerType => Text(Some(c.peer.kind.as_str())),
        Field::PeerTarget => Text(Some(&c.peer.target)),
        Field::PeerTargetName => Text(Some(&c.peer.target_name)),
        Field::PeerName => Text(Some(&c.peer.name)),
        Field::TmCreate => Time(Some(c.tm_create)),
        Field::TmUpdate => Time(c.tm_update),
        Field::TmDelete => Time(c.tm_delete),
    }
}

fn equals(v: &Value<'_>, s: &Scalar) -> bool {
    match (v, s) {
        (Value::Uuid(Some(a)), Scalar::Uuid(b)) => a == b,
        (Value::Text(Some(a)), Scalar::Text(b)) => *a == b,
        (Value::Time(Some(a)), Scalar::Time(b)) => a == b,
        _ => false,
    }
}

impl Predicate {
    /// Evaluates the predicate on a conversation in memory, with the semantics the database
    /// layer gives it in SQL (null compares false; text matches ignore case, using Unicode
    /// case folding).
    pub fn matches(&self, c: &Conversation) -> bool {
        match self {
            Predicate::All => true,
            Predicate::And(ps) => ps.iter().all(|p| p.matches(c)),
            Predicate::Or(ps) => ps.iter().any(|p| p.matches(c)),
            Predicate::Not(p) => !p.matches(c),
            Predicate::Eq(f, s) => equals(&value(c, *f), s),
            Predicate::In(f, ss) => {
                let v = value(c, *f);
                ss.iter().any(|s| equals(&v, s))
            }
            Predicate::Match(f, how, needle) => {
                let Value::Text(Some(hay)) = value(c, *f) else {
                    return false;
                };
                let (hay, needle) = (hay.to_lowercase(), needle.to_lowercase());
                match how {
                    TextMatch::Contains => hay.contains(&needle),
                    TextMatch::StartsWith => hay.starts_with(&needle),
                    TextMatch::EndsWith => hay.ends_with(&needle),
                }
            }
            Predicate::Compare(f, cmp, at) => {
                let Value::Time(Some(t)) = value(c, *f) else {
                    return false;
                };
                match cmp {
                    Cmp::Gt => t > *at,
                    Cmp::Gte => t >= *at,
                    Cmp::Lt => t < *at,
                    Cmp::Lte => t <= *at,
                }
            }
            Predicate::IsNull(f, null) => {
                let is_null = matches!(
                    value(c, *f),
                    Value::Uuid(None) | Value::Text(None) | Value::Time(None)
                );
                is_null == *null
            }
        }
    }
}

/// What the list is sorted by. The id breaks ties, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    TmCreate,
    /// "Not yet updated" sorts as the far future: last ascending, first descending.
    TmUpdate,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub field: OrderField,
    pub direction: Direction,
}

impl Order {
    pub const NEWEST_FIRST: Order = Order {
        field: OrderField::TmCreate,
        direction: Direction::Desc,
    };

    fn tag(self) -> &'static str {
        match (self.field, self.direction) {
            (OrderField::TmCreate, Direction::Asc) => "ca",
            (OrderField::TmCreate, Direction::Desc) => "cd",
            (OrderField::TmUpdate, Direction::Asc) => "ua",
            (OrderField::TmUpdate, Direction::Desc) => "ud",
            (OrderField::Name, Direction::Asc) => "na",
            (OrderField::Name, Direction::Desc) => "nd",
        }
    }
}

/// The value a row sorts by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
}

/// Where a row stands in an order: its sort key and id. A cursor is an encoded position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub key: SortKey,
    pub id: Uuid,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not a cursor this server made.
    Malformed,
    /// Made for another `orderBy`.
    WrongOrder,
}

impl Position {
    /// An opaque cursor: base64url of `tag|id|key`, the tag binding it to its order.
    pub fn encode(&self, order: Order) -> String {
        let key = match &self.key {
            SortKey::Time(t) => t.timestamp_micros().to_string(),
            SortKey::Text(s) => s.clone(),
        };
        URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", order.tag(), self.id.simple(), key))
    }

    /// Reads a cursor made by [`Position::encode`] for the same order.
    pub fn decode(cursor: &str, order: Order) -> Result<Position, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| CursorError::Malformed)?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError::Malformed)?;
        let mut parts = text.splitn(3, '|');
        let (Some(tag), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CursorError::Malformed);
        };
        if !["ca", "cd", "ua", "ud", "na", "nd"].contains(&tag) {
            return Err(CursorError::Malformed);
        }
        if tag != order.tag() {
            return Err(CursorError::WrongOrder);
        }
        let id = Uuid::try_parse(id).map_err(|_| CursorError::Malformed)?;
        let key = match order.field {
            OrderField::TmCreate | OrderField::TmUpdate => {
                let micros: i64 = key.parse().map_err(|_| CursorError::Malformed)?;
                SortKey::Time(
                    Utc.timestamp_micros(micros)
                        .single()
                        .ok_or(CursorError::Malformed)?,
                )
            }
            OrderField::Name => SortKey::Text(key.to_owned()),
        };
        Ok(Position { key, id })
    }
}

/// One page request, already checked: at most `limit` rows strictly between `after` and
/// `before`, counted from the start (`from_end == false`) or from the end of that window.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub filter: Predicate,
    pub order: Order,
    pub after: Option<Position>,
    pub before: Option<Position>,
    pub limit: u64,
    pub from_end: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_order_binding() {
        let pos = Position {
            key: SortKey::Text("a|b|c".into()),
            id: Uuid::new_v4(),
        };
        let order = Order {
            field: OrderField::Name,
            direction: Direction::Asc,
        };
        let c = pos.encode(order);
        assert_eq!(Position::decode(&c, order), Ok(pos));
        let other = Order {
            field: OrderField::Name,
            direction: Direction::Desc,
        };
        assert_eq!(Position::decode(&c, other), Err(CursorError::WrongOrder));
        assert_eq!(
            Position::decode("garbage!", order),
            Err(CursorError::Malformed)
        );
    }
}
