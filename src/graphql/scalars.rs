//! The `UUID` and `DateTime` scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SubsecRound, Utc};

/// A UUID in its RFC 4122 text form (`bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uuid(pub uuid::Uuid);

#[Scalar(
    name = "UUID",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc4122"
)]
/// A UUID in RFC 4122 text form, e.g. `bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0`. Output is always
/// lower-case and hyphenated. A malformed UUID is a `BAD_USER_INPUT` error.
impl ScalarType for Uuid {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => uuid::Uuid::try_parse(s)
                .map(Uuid)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a UUID"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if uuid::Uuid::try_parse(s).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.hyphenated().to_string())
    }
}

/// An instant, always shown in UTC with microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// Formats as `2022-06-23T05:05:40.950834Z` (by hand: chrono's `format` parses its pattern
/// on every call, and every conversation has timestamps).
pub fn format_datetime(at: &chrono::DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    let mut out = String::with_capacity(27);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000 % 1_000_000
    );
    out
}

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
/// An instant as RFC 3339 text. Output is UTC with microseconds, e.g.
/// `2022-06-23T05:05:40.950834Z`. Input may use any offset (`+09:00`) and is converted to UTC;
/// precision beyond microseconds is dropped. "Has not happened yet" is `null`, never a
/// far-future date.
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc).trunc_subsecs(6)))
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "`{s}` is not an RFC 3339 date-time (e.g. 2022-06-23T05:05:40.950834Z)"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(format_datetime(&self.0))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_has_microseconds_and_z() {
        let t = chrono::DateTime::parse_from_rfc3339("2022-06-23T05:05:40.95+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_datetime(&t), "2022-06-23T05:05:40.950000Z");
        let t = chrono::DateTime::parse_from_rfc3339("0999-01-02T03:04:05.000007+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_datetime(&t), "0999-01-02T03:04:05.000007Z");
    }
}
