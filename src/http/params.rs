//! The parameters of a GraphQL-over-HTTP request: from a JSON body object, or from the query
//! string of a `GET`. A request that is not a well-formed GraphQL request is refused here,
//! before GraphQL sees it (HTTP 400).

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
pub fn from_object(object: Map<String, Value>) -> Result<Params, ApiError> {
    let object_param = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ApiError::bad_request(format!("`{name}` must be an object"))),
    };
    let persisted = persisted(object_param("extensions")?);
    let query = match object.get("query") {
        Some(Value::String(q)) => q.clone(),
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
    let variables = object_param("variables")?.cloned().unwrap_or_default();
    Ok(Params {
        query,
        operation_name,
        variables: async_graphql::Variables::from_json(Value::Object(variables)),
        persisted,
    })
}

/// Reads `GET` parameters: `variables` and `extensions` are JSON text.
pub fn from_query_string(raw: &str) -> Result<Params, ApiError> {
    let mut object = Map::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let value = match k.as_ref() {
            "query" | "operationName" => Value::String(v.into_owned()),
            "variables" | "extensions" if v.is_empty() => Value::Null,
            "variables" | "extensions" => serde_json::from_str(&v)
                .map_err(|_| ApiError::bad_request(format!("`{k}` must be a JSON object")))?,
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
