//! The `UUID` and `DateTime` scalars. A value that does not parse is an error with
//! `extensions.code` `BAD_USER_INPUT` wherever it is met (over HTTP and over WebSocket).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::Utc;

use crate::domain::time;
use crate::error::Code;

/// A UUID in its RFC 4122 text form (`bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uuid(pub uuid::Uuid);

/// A string input read by `read` (its error is the message); anything but a string is the
/// wrong type. Both are `BAD_USER_INPUT`.
fn from_string<T: async_graphql::InputType>(
    value: Value,
    read: impl FnOnce(&str) -> Result<T, String>,
) -> InputValueResult<T> {
    let error = match &value {
        Value::String(s) => InputValueError::custom(match read(s) {
            Ok(v) => return Ok(v),
            Err(message) => message,
        }),
        _ => InputValueError::expected_type(value),
    };
    Err(error.with_extension("code", Code::BadUserInput.as_str()))
}

#[Scalar(
    name = "UUID",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc4122"
)]
/// A UUID in RFC 4122 text form, e.g. `bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0`. Output is always
/// lower-case and hyphenated. A malformed UUID is a `BAD_USER_INPUT` error.
impl ScalarType for Uuid {
    fn parse(value: Value) -> InputValueResult<Self> {
        from_string(value, |s| {
            uuid::Uuid::try_parse(s)
                .map(Uuid)
                .map_err(|_| format!("`{s}` is not a UUID"))
        })
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
        from_string(value, |s| {
            time::parse_rfc3339(s).map(DateTime).ok_or_else(|| {
                format!("`{s}` is not an RFC 3339 date-time (e.g. 2022-06-23T05:05:40.950834Z)")
            })
        })
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if time::parse_rfc3339(s).is_some())
    }

    fn to_value(&self) -> Value {
        Value::String(time::format(&self.0))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}
