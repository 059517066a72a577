//! The `tm_*` timestamps of the source platform's JSON.
//!
//! Two forms are read: the legacy `2022-06-23 05:05:40.950834` (UTC, no zone) and RFC 3339
//! `2022-06-23T05:05:40.950834Z` (any offset). "Not yet" is `null`, a missing field, or any
//! time from year [`NOT_YET_YEAR`] on (the legacy sentinel is `9999-01-01 00:00:00.000000`).
//! Written back, a time is always RFC 3339 in UTC with six fraction digits.

use chrono::{DateTime, Datelike, NaiveDateTime, SubsecRound, Utc};

use crate::domain::NOT_YET_YEAR;

/// The earliest year an imported time may have: MySQL's `DATETIME` starts at year 1000.
pub const FIRST_YEAR: i32 = 1000;

/// Reads one `tm_*` string: `Ok(None)` for the "not yet" sentinel, otherwise the time (to the
/// microsecond, the precision every backend keeps; finer digits are dropped).
pub fn parse_time(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let s = text.trim();
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(|n| n.and_utc())
        })
        .map_err(|_| {
            format!(
                "`{text}` is not a time: use `2022-06-23 05:05:40.950834` (UTC) or \
                 `2022-06-23T05:05:40.950834Z`"
            )
        })?;
    if parsed.year() >= NOT_YET_YEAR {
        return Ok(None);
    }
    if parsed.year() < FIRST_YEAR {
        return Err(format!("`{text}` is before the year {FIRST_YEAR}"));
    }
    Ok(Some(parsed.trunc_subsecs(6)))
}

/// The export form: `2022-06-23T05:05:40.950834Z`.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn micros(t: Option<DateTime<Utc>>) -> Option<i64> {
        t.map(|t| t.timestamp_micros())
    }

    #[test]
    fn both_forms_are_the_same_instant() {
        let want = Utc
            .with_ymd_and_hms(2022, 6, 23, 5, 5, 40)
            .unwrap()
            .timestamp_micros()
            + 950_834;
        for s in [
            "2022-06-23 05:05:40.950834",
            "2022-06-23T05:05:40.950834Z",
            "2022-06-23T05:05:40.950834",
            "2022-06-23T07:05:40.950834+02:00",
            " 2022-06-23 05:05:40.950834 ",
            "2022-06-23T05:05:40.950834999Z",
        ] {
            assert_eq!(micros(parse_time(s).unwrap()), Some(want), "{s}");
        }
        assert_eq!(
            micros(parse_time("2022-06-23 05:05:40").unwrap()),
            Some(want - 950_834)
        );
    }

    #[test]
    fn sentinel_and_far_future_are_not_yet() {
        assert_eq!(parse_time("9999-01-01 00:00:00.000000"), Ok(None));
        assert_eq!(parse_time("9999-01-01T00:00:00Z"), Ok(None));
        assert_eq!(parse_time("9000-01-01 00:00:00"), Ok(None));
        assert!(parse_time("8999-12-31 23:59:59.999999").unwrap().is_some());
    }

    #[test]
    fn garbage_and_ancient_times_are_refused() {
        for s in [
            "",
            "yesterday",
            "2022-13-01 00:00:00",
            "2022-06-23",
            "0999-01-01 00:00:00",
        ] {
            assert!(parse_time(s).is_err(), "{s}");
        }
    }

    #[test]
    fn format_round_trips() {
        let t = parse_time("2022-06-23 05:05:40.950834").unwrap().unwrap();
        assert_eq!(format_time(t), "2022-06-23T05:05:40.950834Z");
        let whole = parse_time("2022-06-23 05:05:40").unwrap().unwrap();
        assert_eq!(format_time(whole), "2022-06-23T05:05:40.000000Z");
    }
}
