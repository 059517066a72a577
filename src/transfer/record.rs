//! One conversation in the source platform's JSON shape: snake_case fields, `self` / `peer`
//! objects, `tm_*` strings. Reading validates with the API's rules ([`NewConversation::parse`]),
//! so a record the API would refuse is refused here too, with the same reasons; the field is
//! named as in the JSON (`peer.target`, `dialog_id`).

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::time::{format_time, parse_time};
use crate::domain::{
    AddressType, Conversation, ConversationType, Invalid, NewConversation, NewConversationInput,
    RawAddress,
};

/// Why a record was refused: the JSON field (dotted path, `""` for the record as a whole) and
/// a sentence for people.
pub type RecordError = Invalid;

/// Reads one record (the text of one JSON object) into a conversation that keeps the record's
/// id and timestamps.
pub fn parse_record(json: &str) -> Result<Conversation, RecordError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| Invalid::new("", format!("not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Invalid::new("", "a record must be a JSON object"));
    };
    from_map(&map)
}

fn from_map(map: &Map<String, Value>) -> Result<Conversation, RecordError> {
    let id = uuid(map, "id")?;
    let customer_id = uuid(map, "customer_id")?;
    let account_id = uuid(map, "account_id")?;
    let owner_id = optional_uuid(map, "owner_id")?;
    match text(map, "owner_type")? {
        None | Some("") | Some("agent") => {}
        Some(other) => {
            return Err(Invalid::new(
                "owner_type",
                format!("`{other}` is not an owner type (`agent` or empty)"),
            ))
        }
    }
    let kind_text = required_text(map, "type")?;
    let kind = ConversationType::from_stored(kind_text).ok_or_else(|| {
        Invalid::new(
            "type",
            format!("`{kind_text}` is not a conversation type (`message` or `line`)"),
        )
    })?;
    let input = NewConversationInput {
        customer_id,
        owner_id,
        account_id,
        name: text(map, "name")?.unwrap_or_default().to_owned(),
        detail: text(map, "detail")?.unwrap_or_default().to_owned(),
        kind,
        dialog_id: text(map, "dialog_id")?.unwrap_or_default().to_owned(),
        self_address: address(map, "self")?,
        peer: address(map, "peer")?,
    };
    let new = NewConversation::parse(input).map_err(json_field)?;
    let tm_create = time(map, "tm_create")?
        .ok_or_else(|| Invalid::new("tm_create", "is required and must be a real time"))?;
    let tm_update = time(map, "tm_update")?;
    let tm_delete = time(map, "tm_delete")?;
    Ok(new.into_conversation(id, tm_create, tm_update, tm_delete))
}

/// The API names fields in camelCase (`peer.targetName`); the JSON in snake_case.
fn json_field(mut e: Invalid) -> Invalid {
    let mut out = String::with_capacity(e.field.len() + 4);
    for c in e.field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    e.field = out;
    e
}

/// A string field: `None` when missing or null.
fn text<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, Invalid> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Invalid::new(
            field,
            format!("must be a string, not {}", kind_of(other)),
        )),
    }
}

fn required_text<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, Invalid> {
    text(map, field)?.ok_or_else(|| Invalid::new(field, "is required"))
}

fn uuid(map: &Map<String, Value>, field: &str) -> Result<Uuid, Invalid> {
    let s = required_text(map, field)?;
    Uuid::try_parse(s.trim()).map_err(|_| Invalid::new(field, format!("`{s}` is not a UUID")))
}

/// An optional id: missing, null, `""` and the nil UUID all mean "none".
fn optional_uuid(map: &Map<String, Value>, field: &str) -> Result<Option<Uuid>, Invalid> {
    match text(map, field)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Uuid::try_parse(s.trim())
            .map(|u| Some(u).filter(|u| !u.is_nil()))
            .map_err(|_| Invalid::new(field, format!("`{s}` is not a UUID"))),
    }
}

fn time(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Invalid> {
    match text(map, field)? {
        None => Ok(None),
        Some(s) => parse_time(s).map_err(|m| Invalid::new(field, m)),
    }
}

fn address(map: &Map<String, Value>, field: &str) -> Result<RawAddress, Invalid> {
    let inner = match map.get(field) {
        Some(Value::Object(inner)) => inner,
        None | Some(Value::Null) => return Err(Invalid::new(field, "is required")),
        Some(other) => {
            return Err(Invalid::new(
                field,
                format!("must be an object, not {}", kind_of(other)),
            ))
        }
    };
    let parts = || -> Result<RawAddress, Invalid> {
        let type_text = text(inner, "type")?.unwrap_or_default();
        let kind = AddressType::from_stored(type_text)
            .ok_or_else(|| Invalid::new("type", format!("`{type_text}` is not an address type")))?;
        let owned = |name: &str| -> Result<String, Invalid> {
            Ok(text(inner, name)?.unwrap_or_default().to_owned())
        };
        Ok(RawAddress {
            kind,
            target: owned("target")?,
            target_name: owned("target_name")?,
            name: owned("name")?,
            detail: owned("detail")?,
        })
    };
    parts().map_err(|e| e.within(field))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A conversation in the export's shape (field order as in the source platform's REST API).
#[derive(Debug, Serialize)]
pub struct RecordOut<'a> {
    id: Uuid,
    customer_id: Uuid,
    /// `"agent"`, or `""` when nobody owns it.
    owner_type: &'static str,
    owner_id: Option<Uuid>,
    account_id: Uuid,
    name: &'a str,
    detail: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    dialog_id: &'a str,
    #[serde(rename = "self")]
    self_address: AddressOut<'a>,
    peer: AddressOut<'a>,
    tm_create: String,
    /// `null`: not yet.
    tm_update: Option<String>,
    tm_delete: Option<String>,
}

#[derive(Debug, Serialize)]
struct AddressOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    target: &'a str,
    target_name: &'a str,
    name: &'a str,
    detail: &'a str,
}

impl<'a> From<&'a crate::domain::Address> for AddressOut<'a> {
    fn from(a: &'a crate::domain::Address) -> Self {
        Self {
            kind: a.kind.as_str(),
            target: &a.target,
            target_name: &a.target_name,
            name: &a.name,
            detail: &a.detail,
        }
    }
}

impl<'a> From<&'a Conversation> for RecordOut<'a> {
    fn from(c: &'a Conversation) -> Self {
        Self {
            id: c.id,
            customer_id: c.customer_id,
            owner_type: if c.owner_id.is_some() { "agent" } else { "" },
            owner_id: c.owner_id,
            account_id: c.account_id,
            name: &c.name,
            detail: &c.detail,
            kind: c.kind.as_str(),
            dialog_id: &c.dialog_id,
            self_address: (&c.self_address).into(),
            peer: (&c.peer).into(),
            tm_create: format_time(c.tm_create),
            tm_update: c.tm_update.map(format_time),
            tm_delete: c.tm_delete.map(format_time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Value {
        json!({
            "id": "bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0",
            "customer_id": "5e4a0680-804e-11ec-8477-2fea5968d85b",
            "owner_type": "agent",
            "owner_id": "3a4b5c6d-7e8f-9012-3456-789abcdef012",
            "account_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "name": "conversation",
            "detail": "conversation detail",
            "type": "message",
            "dialog_id": "+673802",
            "self": { "type": "tel", "target": "+14703298699", "target_name": "", "name": "", "detail": "" },
            "peer": { "type": "tel", "target": "+673802", "target_name": "", "name": "", "detail": "" },
            "tm_create": "2022-06-23 05:05:40.950834",
            "tm_update": "2022-06-23 05:05:40.950842",
            "tm_delete": "9999-01-01 00:00:00.000000"
        })
    }

    fn with(patch: Value) -> String {
        let mut v = seed();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        v.to_string()
    }

    #[test]
    fn the_seed_example_reads() {
        let c = parse_record(&seed().to_string()).unwrap();
        assert_eq!(c.id.to_string(), "bdc9d9f5-706c-4e2d-9be7-7dc1e5fd45a0");
        assert!(c.owner_id.is_some());
        assert_eq!(c.tm_delete, None);
        assert_eq!(
            c.tm_update.map(format_time).as_deref(),
            Some("2022-06-23T05:05:40.950842Z")
        );
    }

    #[test]
    fn errors_name_the_json_field() {
        let cases = [
            (
                json!({ "peer": { "type": "tel", "target": "12" } }),
                "peer.target",
            ),
            (
                json!({ "self": { "type": "fax", "target": "x" } }),
                "self.type",
            ),
            (json!({ "dialog_id": "" }), "dialog_id"),
            (json!({ "name": "x".repeat(256) }), "name"),
            (json!({ "id": "nope" }), "id"),
            (json!({ "customer_id": null }), "customer_id"),
            (json!({ "owner_type": "robot" }), "owner_type"),
            (json!({ "type": "sms" }), "type"),
            (
                json!({ "tm_create": "9999-01-01 00:00:00.000000" }),
                "tm_create",
            ),
            (json!({ "tm_update": "soon" }), "tm_update"),
            (json!({ "name": 5 }), "name"),
            (json!({ "peer": null }), "peer"),
            (
                json!({ "self": { "type": "email", "target": "a@b.co", "target_name": "y".repeat(256) } }),
                "self.target_name",
            ),
        ];
        for (patch, field) in cases {
            let err = parse_record(&with(patch.clone())).unwrap_err();
            assert_eq!(err.field, field, "{patch}: {err}");
        }
        assert_eq!(parse_record("[1]").unwrap_err().field, "");
        assert_eq!(parse_record("{").unwrap_err().field, "");
    }

    #[test]
    fn empty_types_and_nil_owners_are_none() {
        let c = parse_record(&with(json!({
            "owner_type": "", "owner_id": "00000000-0000-0000-0000-000000000000",
            "self": { "type": "", "target": "" }, "tm_update": null
        })))
        .unwrap();
        assert_eq!(c.owner_id, None);
        assert_eq!(c.self_address.kind, AddressType::None);
        assert_eq!(c.tm_update, None);
    }

    #[test]
    fn export_shape() {
        let c = parse_record(&seed().to_string()).unwrap();
        let out = serde_json::to_value(RecordOut::from(&c)).unwrap();
        let mut want = seed();
        want["tm_create"] = json!("2022-06-23T05:05:40.950834Z");
        want["tm_update"] = json!("2022-06-23T05:05:40.950842Z");
        want["tm_delete"] = json!(null);
        assert_eq!(out, want);
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "id");
        assert_eq!(keys[13], "tm_delete");
    }
}
