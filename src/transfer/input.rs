//! Splits an import's text into records, without parsing them yet (each record is parsed on
//! its own, so one bad record does not hide the others).
//!
//! Three shapes are read: a JSON array of records; an object whose `result` is that array (the
//! REST list response); and NDJSON, one record per line (a file holding a single record object
//! is read as one record).

use serde::Deserialize;
use serde_json::value::RawValue;

/// One record's JSON text and where it was found.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Position among the input's records, from 0 (the index in the array for the array forms).
    pub index: usize,
    /// NDJSON: the line it is on, from 1.
    pub line: Option<usize>,
    pub json: &'a str,
}

/// The input as a whole is unreadable.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("the input is not a JSON array, an object with a `result` array, or NDJSON: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    result: Option<Vec<&'a RawValue>>,
}

/// The records of `text`, in order.
pub fn split(text: &str) -> Result<Vec<RawRecord<'_>>, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| InputError::Shape(e.to_string()))?;
        return Ok(from_array(items));
    }
    if !trimmed.starts_with('{') {
        return Err(InputError::Shape(
            "it starts with neither `[` nor `{`".into(),
        ));
    }
    // One JSON value: the REST envelope, or a single record.
    match serde_json::from_str::<&RawValue>(text) {
        Ok(whole) => {
            let envelope: Result<Envelope<'_>, _> = serde_json::from_str(whole.get());
            match envelope {
                Ok(Envelope {
                    result: Some(items),
                }) => Ok(from_array(items)),
                Ok(Envelope { result: None }) => Ok(vec![RawRecord {
                    index: 0,
                    line: None,
                    json: whole.get(),
                }]),
                Err(e) => Err(InputError::Shape(format!("`result`: {e}"))),
            }
        }
        Err(whole_error) => {
            // NDJSON, if its first line is a JSON value of its own.
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if serde_json::from_str::<&RawValue>(first).is_err() {
                return Err(InputError::Shape(whole_error.to_string()));
            }
            Ok(ndjson(text))
        }
    }
}

fn from_array(items: Vec<&RawValue>) -> Vec<RawRecord<'_>> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, raw)| RawRecord {
            index,
            line: None,
            json: raw.get(),
        })
        .collect()
}

fn ndjson(text: &str) -> Vec<RawRecord<'_>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .enumerate()
        .map(|(index, (n, line))| RawRecord {
            index,
            line: Some(n + 1),
            json: line.trim(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsons(text: &str) -> Vec<String> {
        split(text)
            .unwrap()
            .iter()
            .map(|r| r.json.to_owned())
            .collect()
    }

    #[test]
    fn every_shape() {
        assert_eq!(jsons(r#"[{"a":1}, {"a":2}]"#), [r#"{"a":1}"#, r#"{"a":2}"#]);
        assert_eq!(
            jsons("{\"result\": [{\"a\":1}, 2], \"next_page_token\": \"x\"}"),
            [r#"{"a":1}"#, "2"]
        );
        assert_eq!(
            jsons("{\"a\":1}\n\n{\"a\":2}\r\n"),
            [r#"{"a":1}"#, r#"{"a":2}"#]
        );
        assert_eq!(jsons("{\n  \"a\": 1\n}\n"), ["{\n  \"a\": 1\n}"]);
        assert!(jsons("  \n").is_empty());
        assert_eq!(jsons("\u{feff}[]").len(), 0);
    }

    #[test]
    fn ndjson_positions_and_bad_lines() {
        let records = split("{\"a\":1}\n\n{oops\n{\"a\":3}").unwrap();
        let at: Vec<(usize, Option<usize>)> = records.iter().map(|r| (r.index, r.line)).collect();
        assert_eq!(at, [(0, Some(1)), (1, Some(3)), (2, Some(4))]);
        assert_eq!(records[1].json, "{oops");
    }

    #[test]
    fn unreadable_inputs() {
        for text in ["[{\"a\":1}", "nope", "{\"result\": 5}", "{\"a\": \n"] {
            assert!(split(text).is_err(), "{text}");
        }
    }
}
