//! The parameters of a GraphQL-over-HTTP request: from a JSON body object, or from the query
//! string of a `GET`. A request that is not a well-formed GraphQL request is refused here,
//! before GraphQL sees it (HTTP 400).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::marker::PhantomData;

use async_graphql::indexmap::IndexMap;
use async_graphql::{Name, Value as ConstValue};
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
    let value = strict::<Value>().deserialize(&mut de).map_err(|e| {
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

/// A JSON tree [`Strict`] can build: serde_json's `Value`, or async-graphql's (variables).
trait Tree: Sized {
    type Map: Default;
    fn null() -> Self;
    fn bool(v: bool) -> Self;
    fn number(n: serde_json::Number) -> Self;
    fn string(s: String) -> Self;
    fn list(items: Vec<Self>) -> Self;
    fn object(map: Self::Map) -> Self;
    fn has(map: &Self::Map, key: &str) -> bool;
    fn insert(map: &mut Self::Map, key: String, value: Self);
}

impl Tree for Value {
    type Map = Map<String, Value>;
    fn null() -> Self {
        Value::Null
    }
    fn bool(v: bool) -> Self {
        Value::Bool(v)
    }
    fn number(n: serde_json::Number) -> Self {
        Value::Number(n)
    }
    fn string(s: String) -> Self {
        Value::String(s)
    }
    fn list(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn object(map: Self::Map) -> Self {
        Value::Object(map)
    }
    fn has(map: &Self::Map, key: &str) -> bool {
        map.contains_key(key)
    }
    fn insert(map: &mut Self::Map, key: String, value: Self) {
        map.insert(key, value);
    }
}

impl Tree for ConstValue {
    type Map = IndexMap<Name, ConstValue>;
    fn null() -> Self {
        ConstValue::Null
    }
    fn bool(v: bool) -> Self {
        ConstValue::Boolean(v)
    }
    fn number(n: serde_json::Number) -> Self {
        ConstValue::Number(n)
    }
    fn string(s: String) -> Self {
        ConstValue::String(s)
    }
    fn list(items: Vec<Self>) -> Self {
        ConstValue::List(items)
    }
    fn object(map: Self::Map) -> Self {
        ConstValue::Object(map)
    }
    fn has(map: &Self::Map, key: &str) -> bool {
        map.contains_key(key)
    }
    fn insert(map: &mut Self::Map, key: String, value: Self) {
        map.insert(Name::new(key), value);
    }
}

/// A seed that fails on duplicate keys, building a `T`.
struct Strict<T>(PhantomData<T>);

fn strict<T>() -> Strict<T> {
    Strict(PhantomData)
}

impl<'de, T: Tree> DeserializeSeed<'de> for Strict<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Tree> Visitor<'de> for Strict<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<T, E> {
        Ok(T::bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<T, E> {
        Ok(T::number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<T, E> {
        Ok(T::number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<T, E> {
        Ok(serde_json::Number::from_f64(v).map_or(T::null(), T::number))
    }

    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(T::string(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<T, E> {
        Ok(T::string(v))
    }

    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(strict())? {
            items.push(item);
        }
        Ok(T::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut object = T::Map::default();
        while let Some(key) = map.next_key::<String>()? {
            if T::has(&object, &key) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            let value = map.next_value_seed(strict())?;
            T::insert(&mut object, key, value);
        }
        Ok(T::object(object))
    }
}

/// The parameters of a request body that is one well-formed JSON object, read in one pass
/// straight into their types (`variables` into async-graphql's values): what
/// `from_object(strict_json(body))` gives. `None` for anything else (an array, an error of
/// any kind): the caller then takes that path, which says what is wrong.
pub fn from_body(bytes: &[u8]) -> Option<Params> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let params = de.deserialize_map(RequestObject).ok()?;
    de.end().ok()?;
    params
}

/// Reads the keys of a request object (see [`from_body`]); `Ok(None)`: a key of the wrong type.
struct RequestObject;

impl<'de> Visitor<'de> for RequestObject {
    type Value = Option<Params>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Params>, A::Error> {
        let mut seen: Vec<String> = Vec::with_capacity(4);
        let (mut query, mut operation_name, mut variables, mut extensions) =
            (None, None, None, None);
        let mut wrong_type = false;
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            match key.as_str() {
                "query" => match map.next_value_seed(strict::<Value>())? {
                    Value::String(q) => query = Some(q),
                    _ => wrong_type = true,
                },
                "operationName" => match map.next_value_seed(strict::<Value>())? {
                    Value::Null => {}
                    Value::String(name) => operation_name = Some(name),
                    _ => wrong_type = true,
                },
                "variables" => match map.next_value_seed(strict::<ConstValue>())? {
                    ConstValue::Null => {}
                    object @ ConstValue::Object(_) => variables = Some(object),
                    _ => wrong_type = true,
                },
                "extensions" => match map.next_value_seed(strict::<Value>())? {
                    Value::Null => {}
                    Value::Object(object) => extensions = Some(object),
                    _ => wrong_type = true,
                },
                _ => {
                    map.next_value_seed(strict::<Value>())?;
                }
            }
            seen.push(key);
        }
        let persisted = persisted(extensions.as_ref());
        let query = match query {
            Some(q) => q,
            None if persisted.is_some() => String::new(),
            None => return Ok(None),
        };
        if wrong_type {
            return Ok(None);
        }
        Ok(Some(Params {
            query,
            operation_name,
            variables: variables
                .map(async_graphql::Variables::from_value)
                .unwrap_or_default(),
            persisted,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_reads_what_the_two_pass_path_reads() {
        let slow = |body: &str| match strict_json(body.as_bytes()) {
            Ok(Value::Object(o)) => from_object(o).ok(),
            _ => None,
        };
        for body in [
            r#"{"query":"{ a }"}"#,
            r#"{"query":"query($x: Int) { a(x: $x) }","variables":{"x":1,"y":[1.5,"s",null,{"z":true}]},"operationName":"Op"}"#,
            r#"{"query":"{ a }","variables":null,"operationName":null,"other":{"k":[1]}}"#,
            r#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}"#,
            r#"{"query":"{ a }","extensions":{"persistedQuery":{"version":2}}}"#,
            r#"{"query":1}"#,
            r#"{"query":"{ a }","variables":[1]}"#,
            r#"{"query":"{ a }","query":"{ b }"}"#,
            r#"{"query":"{ a }","variables":{"x":1,"x":2}}"#,
            r#"{"variables":{}}"#,
            r#"[{"query":"{ a }"}]"#,
            r#"{"query":"{ a }"} trailing"#,
        ] {
            let (fast, slow) = (from_body(body.as_bytes()), slow(body));
            assert_eq!(fast.is_some(), slow.is_some(), "{body}");
            if let (Some(f), Some(s)) = (fast, slow) {
                assert_eq!(f.query, s.query, "{body}");
                assert_eq!(f.operation_name, s.operation_name, "{body}");
                assert_eq!(f.variables, s.variables, "{body}");
                assert_eq!(f.persisted, s.persisted, "{body}");
            }
        }
    }

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
