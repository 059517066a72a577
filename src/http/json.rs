//! An error-free GraphQL answer written straight to JSON bytes. serde's path through
//! `async_graphql::Value` costs a trait call and a state machine per value; this writes the
//! same bytes (serde_json's own string escaping and number forms) in one walk. Anything it does
//! not know to write exactly as serde does (binary values, raw JSON) is left to serde.

use async_graphql::{Response, Value};

/// serde's spelling of a raw JSON value inside an object (async-graphql's `raw_value`).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// `{"data": …}` for a response without errors or extensions; `None` otherwise (or when a
/// value needs serde).
pub fn answer(response: &Response) -> Option<Vec<u8>> {
    if !response.errors.is_empty() || !response.extensions.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"data\":");
    value(&mut out, &response.data)?;
    out.push(b'}');
    Some(out)
}

/// `s` as a JSON string: as is between quotes when nothing in it needs escaping (serde_json
/// escapes only `"`, `\\` and control characters), by serde_json otherwise.
fn string(out: &mut Vec<u8>, s: &str) -> Option<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return Some(());
    }
    serde_json::to_writer(&mut *out, s).ok()
}

fn value(out: &mut Vec<u8>, v: &Value) -> Option<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(&mut *out, n).ok()?,
        Value::String(s) => string(out, s)?,
        Value::Enum(name) => string(out, name)?,
        Value::Binary(_) => return None,
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            if map.len() == 1 && map.contains_key(RAW_VALUE_TOKEN) {
                return None;
            }
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, key)?;
                out.push(b':');
                value(out, item)?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_serde_writes() {
        let json = r#"{"a":[1,-2,3.5,1e300,null,true,false],"b":"q\"\\\n\u0001é😀","c":{},"d":[],"e":{"f":{"g":"h"}}}"#;
        let data = Value::from_json(serde_json::from_str(json).unwrap()).unwrap();
        let mut response = Response::new(data);
        let ours = answer(&response).unwrap();
        assert_eq!(ours, serde_json::to_vec(&response).unwrap());
        response.data = Value::Enum(async_graphql::Name::new("MESSAGE"));
        assert_eq!(
            answer(&response).unwrap(),
            serde_json::to_vec(&response).unwrap()
        );
        response.data = Value::Binary(vec![1, 2].into());
        assert_eq!(answer(&response), None);
    }
}
