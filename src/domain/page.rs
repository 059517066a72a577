//! Ordering and paging of the list query: orders, keyset positions, opaque cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::filter::Predicate;

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
