//! Global object ids: a `nodeId` is base64url (no padding) of `<type name>:<uuid>`, and only
//! the exact form this server makes reads back as an id.

use async_graphql::ID;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use uuid::Uuid;

const CONVERSATION: &str = "Conversation";

/// The `nodeId` of the conversation with this id.
pub fn conversation_node_id(id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{CONVERSATION}:{}", id.hyphenated())))
}

/// The conversation id a `nodeId` names, if it is one this server made.
pub(super) fn decode(node_id: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(node_id).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (kind, id) = text.split_once(':')?;
    if kind != CONVERSATION {
        return None;
    }
    let id = Uuid::try_parse(id).ok()?;
    // One object, one id: other spellings of the same UUID are not ids of it.
    (conversation_node_id(id).0 == node_id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip_and_nothing_else_decodes() {
        let id = Uuid::new_v4();
        let node_id = conversation_node_id(id);
        assert_eq!(decode(&node_id), Some(id));
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&node_id.0).unwrap()).unwrap();
        assert_eq!(raw, format!("Conversation:{id}"));
        let upper =
            URL_SAFE_NO_PAD.encode(format!("Conversation:{}", id.to_string().to_uppercase()));
        let padded = base64::engine::general_purpose::URL_SAFE.encode(raw.as_bytes());
        for bad in [
            String::new(),
            "garbage".into(),
            id.to_string(),
            upper,
            padded,
            URL_SAFE_NO_PAD.encode(format!("Account:{id}")),
            URL_SAFE_NO_PAD.encode("Conversation:not-a-uuid"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':']),
        ] {
            assert_eq!(decode(&bad), None, "{bad:?}");
        }
    }
}
