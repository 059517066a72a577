//! One record: a conversation in the source platform's JSON shape (the domain's JSON form,
//! see [`crate::domain::Record`]), read with the API's validation rules. A record the API would
//! refuse is refused here too, with the same reasons; the field is named as in the JSON
//! (`peer.target_name`, `dialog_id`).

use crate::domain::{Conversation, Invalid, Record};

/// Why a record was refused: the JSON field (dotted path, `""` for the record as a whole) and
/// a sentence for people.
pub type RecordError = Invalid;

/// Reads one record (the text of one JSON object) into a conversation that keeps the record's
/// id and timestamps.
pub fn parse_record(json: &str) -> Result<Conversation, RecordError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| Invalid::new("", format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Invalid::new("", "a record must be a JSON object"));
    }
    let record: Record = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        Invalid::new(field, e.into_inner().to_string())
    })?;
    record.parse().map_err(json_field)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{time::format, AddressType};
    use serde_json::{json, Value};

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
        assert!(c.body.owner_id.is_some());
        assert_eq!(c.tm_delete, None);
        assert_eq!(
            c.tm_update.as_ref().map(format).as_deref(),
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
        assert_eq!(c.body.owner_id, None);
        assert_eq!(c.body.self_address.kind, AddressType::None);
        assert_eq!(c.tm_update, None);
    }

    #[test]
    fn export_shape() {
        let c = parse_record(&seed().to_string()).unwrap();
        let out = serde_json::to_value(&c).unwrap();
        let mut want = seed();
        want["tm_create"] = json!("2022-06-23T05:05:40.950834Z");
        want["tm_update"] = json!("2022-06-23T05:05:40.950842Z");
        want["tm_delete"] = json!(null);
        want["version"] = json!(1);
        assert_eq!(out, want);
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "id");
        assert_eq!(keys[13], "tm_delete");
        assert_eq!(keys[14], "version");
    }

    #[test]
    fn version_is_kept_and_defaults_to_one() {
        assert_eq!(parse_record(&seed().to_string()).unwrap().version, 1);
        assert_eq!(
            parse_record(&with(json!({ "version": null })))
                .unwrap()
                .version,
            1
        );
        assert_eq!(
            parse_record(&with(json!({ "version": 7 })))
                .unwrap()
                .version,
            7
        );
        for bad in [json!(0), json!(-1), json!(4_294_967_296u64)] {
            let e = parse_record(&with(json!({ "version": bad }))).unwrap_err();
            assert_eq!(e.field, "version", "{bad}");
        }
    }
}
