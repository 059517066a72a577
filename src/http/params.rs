//! The parameters of a GraphQL-over-HTTP request: from a JSON body object, or from the query
//! string of a `GET`. A request that is not a well-formed GraphQL request is refused here,
//! before GraphQL sees it (HTTP 400).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::graphql::Persisted;

/// One operation's parameters.
#[derive(Debug)]
pub struct Params {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: async_graphql::Variables,
    pub persisted: Option<Persisted>,
}

/// `extensions.persistedQuery`, if the request has one.
fn persisted(extensions: Option<&Map<String, Value>>) -> Option<Persisted> {
    let pq = extensions?.get("persistedQuery")?;
    let version = pq.get("version").and_then(Value::as_i64);
    match (version, pq.get("sha256Hash").and_then(Value::as_str)) {
        (Some(1), Some(hash)) => Some(Persisted::Hash(hash.to_owned())),
        _ => Some(Persisted::Unsupported),
    }
}

/// Reads the parameters of a JSON request object.
pub fn from_object(mut object: Map<String, Value>) -> Result<Params, ApiError> {
    let object_param = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ApiError::bad_request(format!("`{name}` must be an object"))),
    };
    let persisted = persisted(object_param("extensions")?);
    let query = match object.get_mut("query") {
        Some(Value::String(q)) => std::mem::take(q),
        Some(_) => return Err(ApiError::bad_request("`query` must be a string")),
        // An automatic persisted query may send only its hash.
        None if persisted.is_some() => String::new(),
        None => return Err(ApiError::bad_request("the request has no `query`")),
    };
    let operation_name = match object.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::bad_request("`operationName` must be a string")),
    };
    let variables = match object.get_mut("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => std::mem::take(m),
        Some(_) => return Err(ApiError::bad_request("`variables` must be an object")),
    };
    Ok(Params {
        query,
        operation_name,
        variables: async_graphql::Variables::from_json(Value::Object(variables)),
        persisted,
    })
}

/// Reads `GET` parameters: `variables` and `extensions` are JSON text. A parameter given
/// twice is refused (as a duplicate key is in a body).
pub fn from_query_string(raw: &str) -> Result<Params, ApiError> {
    let mut object = Map::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if object.contains_key(k.as_ref()) {
            return Err(ApiError::bad_request(format!(
                "the parameter `{k}` is given more than once"
            )));
        }
        let value = match k.as_ref() {
            "query" | "operationName" => Value::String(v.into_owned()),
            "variables" | "extensions" if v.is_empty() => Value::Null,
            "variables" | "extensions" => strict_json(v.as_bytes()).map_err(|e| match e {
                JsonError::Duplicate(m) => ApiError::bad_request(m),
                JsonError::Invalid => ApiError::bad_request(format!("`{k}` must be a JSON object")),
            })?,
            _ => continue,
        };
        object.insert(k.into_owned(), value);
    }
    from_object(object)
}

/// Whether a query string carries a `query` parameter.
pub fn has_query(raw: &str) -> bool {
    form_urlencoded::parse(raw.as_bytes()).any(|(k, _)| k == "query")
}

/// Why a JSON text was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON.
    Invalid,
    /// An object names a key twice: which one (a proxy that reads the first and a server that
    /// reads the last would see different requests).
    Duplicate(String),
}

/// Parses JSON, refusing any object (at any depth) that names a key twice.
pub fn strict_json(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de).map_err(|e| {
        let message = e.to_string();
        match message.strip_prefix(DUPLICATE) {
            Some(rest) => JsonError::Duplicate(format!(
                "the request names the key `{}` twice",
                rest.split(" at line").next().unwrap_or(rest)
            )),
            None => JsonError::Invalid,
        }
    })?;
    de.end().map_err(|_| JsonError::Invalid)?;
    Ok(value)
}

const DUPLICATE: &str = "duplicate key: ";

/// A `Value` seed that fails on duplicate keys.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            let value = map.next_value_seed(Strict)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(strict_json(br#"{"a":1,"b":{"c":[1,{"d":2}]}}"#).is_ok());
        assert_eq!(
            strict_json(br#"{"query":"{a}","query":"mutation{b}"}"#),
            Err(JsonError::Duplicate(
                "the request names the key `query` twice".into()
            ))
        );
        assert!(matches!(
            strict_json(br#"{"variables":{"x":1,"x":2}}"#),
            Err(JsonError::Duplicate(_))
        ));
        assert_eq!(strict_json(b"{"), Err(JsonError::Invalid));
        assert_eq!(strict_json(b"{} x"), Err(JsonError::Invalid));
    }
}
