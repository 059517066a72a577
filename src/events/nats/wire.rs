//! An event as a stream message: JSON with its position, kind, time, and the conversation
//! after and before the change in the same JSON form the log's rows keep.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Conversation, Event, EventKind};

#[derive(Serialize)]
struct Out<'a> {
    position: u64,
    kind: &'a str,
    at: DateTime<Utc>,
    conversation: &'a Conversation,
    previous: Option<&'a Conversation>,
}

#[derive(Deserialize)]
struct In {
    position: u64,
    kind: String,
    at: DateTime<Utc>,
    conversation: Conversation,
    previous: Option<Conversation>,
}

/// The message body of `event`.
pub(super) fn encode(event: &Event) -> Vec<u8> {
    serde_json::to_vec(&Out {
        position: event.position,
        kind: event.kind.as_str(),
        at: event.at,
        conversation: &event.conversation,
        previous: event.previous.as_ref(),
    })
    .expect("an event serialises")
}

/// The event of a message body.
pub(super) fn decode(payload: &[u8]) -> Result<Event, String> {
    let m: In = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let kind = EventKind::from_stored(&m.kind).ok_or_else(|| format!("kind {}", m.kind))?;
    Ok(Event {
        position: m.position,
        kind,
        conversation: m.conversation,
        previous: m.previous,
        at: m.at,
    })
}

/// Only the position of a message body (what a relay needs of the stream's last message).
pub(super) fn position(payload: &[u8]) -> Result<u64, String> {
    #[derive(Deserialize)]
    struct Position {
        position: u64,
    }
    serde_json::from_slice::<Position>(payload)
        .map(|p| p.position)
        .map_err(|e| e.to_string())
}
