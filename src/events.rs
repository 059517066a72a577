//! Conversation events: published after a write commits, delivered to every subscriber on
//! every replica.
//!
//! - SQLite (one process): an in-process broadcast channel.
//! - PostgreSQL: `NOTIFY` on a channel every replica `LISTEN`s to, so a write on any replica
//!   reaches subscribers on all of them. A notification carries the whole conversation when it
//!   fits PostgreSQL's 8000-byte payload limit, otherwise only its id, and each replica reads
//!   the row. The listener reconnects (with backoff) when its connection drops, and logs it;
//!   events sent while it is down are not replayed.
//!
//! Each replica fans events out through one bounded broadcast buffer: a subscriber that falls
//! more than `capacity` events behind is told so and dropped, without slowing the others or
//! growing memory.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::notify::{self, Listener, Received};
use crate::db::ConversationStore;
use crate::domain::filter::Predicate;
use crate::domain::{self, Conversation};

/// What happened to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
    Restored,
}

/// One event: the conversation as it is after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub conversation: Conversation,
    pub at: DateTime<Utc>,
}

impl Event {
    pub fn now(kind: EventKind, conversation: Conversation) -> Self {
        Self {
            kind,
            conversation,
            at: domain::now(),
        }
    }
}

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_NOTIFY_PAYLOAD: usize = 7900;

/// Where published events go.
#[derive(Clone)]
enum Transport {
    /// Straight into this process's broadcast.
    Local,
    /// Through PostgreSQL `NOTIFY`; the listener feeds the broadcast.
    Postgres {
        db: DatabaseConnection,
        channel: String,
    },
}

/// Publishes events and hands out subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    transport: Transport,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscriber_count())
            .finish()
    }
}

impl EventBus {
    /// In-process only (SQLite, one replica).
    pub fn local(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            transport: Transport::Local,
        }
    }

    /// The bus for `store`'s backend: PostgreSQL `LISTEN`/`NOTIFY` on `channel`, or local.
    /// On PostgreSQL this spawns the listener task.
    pub fn for_store(store: &ConversationStore, channel: &str, capacity: usize) -> Self {
        let db: &DatabaseConnection = store.connection();
        if !notify::available(db) {
            return Self::local(capacity);
        }
        let (tx, _) = broadcast::channel(capacity.max(1));
        tokio::spawn(listen(channel.to_owned(), tx.clone(), store.clone()));
        Self {
            tx,
            transport: Transport::Postgres {
                db: db.clone(),
                channel: channel.to_owned(),
            },
        }
    }

    /// How many subscriptions this replica is feeding right now.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// A new subscription, starting with the next event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Publishes an event. Call it only after the write has committed. Failures are logged:
    /// a write that succeeded is never reported as failed because its event was not sent.
    pub async fn publish(&self, event: Event) {
        match &self.transport {
            Transport::Local => {
                // No subscribers is not an error.
                let _ = self.tx.send(Arc::new(event));
            }
            Transport::Postgres { db, channel } => {
                let payload = encode(&event);
                if let Err(e) = notify::notify(db, channel, &payload).await {
                    tracing::error!(error = %e, id = %event.conversation.id, "could not publish a conversation event");
                }
            }
        }
    }
}

/// A NOTIFY payload: the whole conversation (`c`) when it fits, else its `id`.
#[derive(Serialize, Deserialize)]
struct Notice {
    kind: EventKind,
    at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Conversation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Uuid>,
}

fn encode(event: &Event) -> String {
    let full = Notice {
        kind: event.kind,
        at: event.at,
        c: Some(event.conversation.clone()),
        id: None,
    };
    let text = serde_json::to_string(&full).unwrap_or_default();
    if !text.is_empty() && text.len() < MAX_NOTIFY_PAYLOAD {
        return text;
    }
    let short = Notice {
        kind: event.kind,
        at: event.at,
        c: None,
        id: Some(event.conversation.id),
    };
    serde_json::to_string(&short).unwrap_or_default()
}

/// Turns a notification back into an event, reading the row when only the id came.
async fn decode(payload: &str, store: &ConversationStore) -> Option<Event> {
    let notice: Notice = match serde_json::from_str(payload) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a malformed conversation event notification");
            return None;
        }
    };
    let conversation = match (notice.c, notice.id) {
        (Some(c), _) => c,
        (None, Some(id)) => match store.get(id, &Predicate::All).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::error!(error = ?e, %id, "could not read the conversation of an event");
                return None;
            }
        },
        (None, None) => return None,
    };
    Some(Event {
        kind: notice.kind,
        conversation,
        at: notice.at,
    })
}

/// The PostgreSQL listener: forwards notifications into the broadcast, reconnecting forever.
async fn listen(channel: String, tx: broadcast::Sender<Arc<Event>>, store: ConversationStore) {
    let db = store.connection().clone();
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        if notify::is_closed(&db) {
            return;
        }
        let mut listener = match Listener::connect(&db, &channel).await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "event listener cannot LISTEN");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if connected_before {
            tracing::info!(%channel, "event listener reconnected to PostgreSQL");
        } else {
            tracing::info!(%channel, "event listener started");
            connected_before = true;
        }
        backoff = Duration::from_millis(100);
        while let Received::Payload(payload) = listener.recv().await {
            if let Some(event) = decode(&payload, &store).await {
                let _ = tx.send(Arc::new(event));
            }
        }
        if notify::is_closed(&db) {
            return;
        }
        tracing::warn!("event listener lost its PostgreSQL connection; reconnecting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's conversation, with `detail` replaced.
    fn conversation(detail: &str) -> Conversation {
        let mut seed = serde_json::json!({
            "id": Uuid::new_v4(), "customer_id": Uuid::new_v4(), "account_id": Uuid::new_v4(),
            "type": "message", "dialog_id": "+673802", "tm_create": "2022-06-23T05:05:40.950834Z",
            "self": { "type": "tel", "target": "+14703298699" },
            "peer": { "type": "tel", "target": "+673802" },
        });
        seed["detail"] = detail.into();
        serde_json::from_value(seed).unwrap()
    }

    #[test]
    fn payloads_stay_under_the_notify_limit() {
        let small = Event::now(EventKind::Created, conversation("d"));
        let text = encode(&small);
        let back: Notice = serde_json::from_str(&text).unwrap();
        assert_eq!(back.c.unwrap(), small.conversation);

        // 4096 multi-byte characters: far over 8000 bytes as JSON.
        let big = Event::now(EventKind::Updated, conversation(&"€".repeat(4096)));
        let text = encode(&big);
        assert!(text.len() < MAX_NOTIFY_PAYLOAD, "{}", text.len());
        let back: Notice = serde_json::from_str(&text).unwrap();
        assert_eq!(back.id, Some(big.conversation.id));
        assert!(back.c.is_none());
    }
}
