//! Timestamps: "not yet", the one text form the server writes, and the forms it reads.
//!
//! Every timestamp the server shows (GraphQL `DateTime`, events, exports) is written by
//! [`format`]: RFC 3339 in UTC with six fraction digits, `2022-06-23T05:05:40.950834Z`.
//! The source platform's data is read in either `2022-06-23 05:05:40.950834` (UTC, no zone) or
//! RFC 3339 form ([`parse_record_time`]); "not yet" is `null`, a missing value, or any time
//! from year [`NOT_YET_YEAR`] on (the legacy sentinel `9999-01-01 00:00:00.000000`).

use chrono::{DateTime, Datelike, NaiveDateTime, SubsecRound, Timelike, Utc};

/// The first year that means "has not happened yet". The source platform writes "not yet" as
/// `9999-01-01 00:00:00.000000`; anything from this year on is read as `None`.
pub const NOT_YET_YEAR: i32 = 9000;

/// The earliest year a recorded time may have: MySQL's `DATETIME` starts at year 1000.
pub const FIRST_YEAR: i32 = 1000;

/// Reads a stored or imported timestamp: the legacy far-future sentinel becomes `None`.
pub fn happened(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.filter(|t| t.year() < NOT_YET_YEAR)
}

/// The current time at the precision every backend keeps (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `2022-06-23T05:05:40.950834Z`. Written by hand, digit by digit: chrono's `format` parses its
/// pattern on every call, `core::fmt` costs as much again, and every conversation has
/// timestamps (years outside 0000–9999 take `core::fmt`).
pub fn format(at: &DateTime<Utc>) -> String {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return format_slowly(at);
    }
    fn put(b: &mut [u8; 27], at: usize, mut n: u32, width: usize) {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    put(&mut b, 0, year.unsigned_abs(), 4);
    put(&mut b, 5, at.month(), 2);
    put(&mut b, 8, at.day(), 2);
    put(&mut b, 11, at.hour(), 2);
    put(&mut b, 14, at.minute(), 2);
    put(&mut b, 17, at.second(), 2);
    put(&mut b, 20, at.nanosecond() / 1_000 % 1_000_000, 6);
    // ASCII digits and separators only.
    std::str::from_utf8(&b)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// [`format`] through `core::fmt`, for any year.
fn format_slowly(at: &DateTime<Utc>) -> String {
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

/// Reads RFC 3339 text with any offset, in UTC, to the microsecond (finer digits dropped).
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
}

/// Reads one `tm_*` value of the source platform's JSON: `Ok(None)` for "not yet", otherwise
/// the time (to the microsecond; finer digits are dropped).
pub fn parse_record_time(text: &str) -> Result<Option<DateTime<Utc>>, String> {
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

/// A duration like `250ms`, `90s`, `30m`, `1h` or `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 1h"))?;
    let secs = match unit {
        "ms" => return Ok(std::time::Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m, h or d")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn micros(t: Option<DateTime<Utc>>) -> Option<i64> {
        t.map(|t| t.timestamp_micros())
    }

    #[test]
    fn format_writes_what_core_fmt_writes() {
        for text in [
            "2022-06-23T05:05:40.950834Z",
            "0001-01-01T00:00:00.000001Z",
            "9999-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00Z",
        ] {
            let t = parse_rfc3339(text).unwrap();
            assert_eq!(format(&t), format_slowly(&t), "{text}");
        }
        let far = Utc.with_ymd_and_hms(12345, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format(&far), format_slowly(&far));
    }

    #[test]
    fn format_has_microseconds_and_z() {
        let t = parse_rfc3339("2022-06-23T05:05:40.95+00:00").unwrap();
        assert_eq!(format(&t), "2022-06-23T05:05:40.950000Z");
        let t = parse_rfc3339("0999-01-02T03:04:05.000007+00:00").unwrap();
        assert_eq!(format(&t), "0999-01-02T03:04:05.000007Z");
    }

    #[test]
    fn both_record_forms_are_the_same_instant() {
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
            assert_eq!(micros(parse_record_time(s).unwrap()), Some(want), "{s}");
        }
        assert_eq!(
            micros(parse_record_time("2022-06-23 05:05:40").unwrap()),
            Some(want - 950_834)
        );
    }

    #[test]
    fn sentinel_and_far_future_are_not_yet() {
        assert_eq!(parse_record_time("9999-01-01 00:00:00.000000"), Ok(None));
        assert_eq!(parse_record_time("9999-01-01T00:00:00Z"), Ok(None));
        assert_eq!(parse_record_time("9000-01-01 00:00:00"), Ok(None));
        assert!(parse_record_time("8999-12-31 23:59:59.999999")
            .unwrap()
            .is_some());
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
            assert!(parse_record_time(s).is_err(), "{s}");
        }
    }
}
