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
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::sqlx::PgPool;
use sea_orm::{DatabaseConnection, DbBackend};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::ConversationStore;
use crate::domain::filter::Predicate;
use crate::domain::{self, Address, AddressType, Conversation, ConversationType};

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
    Postgres { pool: PgPool, channel: String },
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
        if db.get_database_backend() != DbBackend::Postgres {
            return Self::local(capacity);
        }
        let (tx, _) = broadcast::channel(capacity.max(1));
        let pool = db.get_postgres_connection_pool().clone();
        tokio::spawn(listen(
            pool.clone(),
            channel.to_owned(),
            tx.clone(),
            store.clone(),
        ));
        Self {
            tx,
            transport: Transport::Postgres {
                pool,
                channel: channel.to_owned(),
            },
        }
    }

    /// A new subscription, starting with the next event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// How many subscriptions are registered on this replica right now.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Publishes an event. Call it only after the write has committed. Failures are logged:
    /// a write that succeeded is never reported as failed because its event was not sent.
    pub async fn publish(&self, event: Event) {
        match &self.transport {
            Transport::Local => {
                // No subscribers is not an error.
                let _ = self.tx.send(Arc::new(event));
            }
            Transport::Postgres { pool, channel } => {
                let payload = encode(&event);
                let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(channel)
                    .bind(&payload)
                    .execute(pool)
                    .await;
                if let Err(e) = sent {
                    tracing::error!(error = %e, id = %event.conversation.id, "could not publish a conversation event");
                }
            }
        }
    }
}

/// A conversation on the wire (NOTIFY payloads).
#[derive(Serialize, Deserialize)]
struct WireConversation {
    id: Uuid,
    customer_id: Uuid,
    owner_id: Option<Uuid>,
    account_id: Uuid,
    name: String,
    detail: String,
    #[serde(rename = "type")]
    kind: String,
    dialog_id: String,
    #[serde(rename = "self")]
    self_address: WireAddress,
    peer: WireAddress,
    tm_create: DateTime<Utc>,
    tm_update: Option<DateTime<Utc>>,
    tm_delete: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct WireAddress {
    #[serde(rename = "type")]
    kind: String,
    target: String,
    target_name: String,
    name: String,
    detail: String,
}

impl From<&Address> for WireAddress {
    fn from(a: &Address) -> Self {
        Self {
            kind: a.kind.as_str().to_owned(),
            target: a.target.clone(),
            target_name: a.target_name.clone(),
            name: a.name.clone(),
            detail: a.detail.clone(),
        }
    }
}

impl WireAddress {
    fn into_domain(self) -> Option<Address> {
        Some(Address {
            kind: AddressType::from_stored(&self.kind)?,
            target: self.target,
            target_name: self.target_name,
            name: self.name,
            detail: self.detail,
        })
    }
}

impl From<&Conversation> for WireConversation {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id,
            customer_id: c.customer_id,
            owner_id: c.owner_id,
            account_id: c.account_id,
            name: c.name.clone(),
            detail: c.detail.clone(),
            kind: c.kind.as_str().to_owned(),
            dialog_id: c.dialog_id.clone(),
            self_address: (&c.self_address).into(),
            peer: (&c.peer).into(),
            tm_create: c.tm_create,
            tm_update: c.tm_update,
            tm_delete: c.tm_delete,
        }
    }
}

impl WireConversation {
    fn into_domain(self) -> Option<Conversation> {
        Some(Conversation {
            id: self.id,
            customer_id: self.customer_id,
            owner_id: self.owner_id,
            account_id: self.account_id,
            name: self.name,
            detail: self.detail,
            kind: ConversationType::from_stored(&self.kind)?,
            dialog_id: self.dialog_id,
            self_address: self.self_address.into_domain()?,
            peer: self.peer.into_domain()?,
            tm_create: self.tm_create,
            tm_update: self.tm_update,
            tm_delete: self.tm_delete,
        })
    }
}

/// A NOTIFY payload: the whole conversation (`c`) when it fits, else its `id`.
#[derive(Serialize, Deserialize)]
struct Notice {
    kind: EventKind,
    at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<WireConversation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Uuid>,
}

fn encode(event: &Event) -> String {
    let full = Notice {
        kind: event.kind,
        at: event.at,
        c: Some((&event.conversation).into()),
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
        (Some(c), _) => c.into_domain()?,
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
async fn listen(
    pool: PgPool,
    channel: String,
    tx: broadcast::Sender<Arc<Event>>,
    store: ConversationStore,
) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "event listener cannot reach PostgreSQL");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // Lost connections are handled here (a new listener), not inside sqlx.
        listener.ignore_pool_close_event(false);
        if let Err(e) = listener.listen(&channel).await {
            tracing::warn!(error = %e, retry_in = ?backoff, "event listener cannot LISTEN");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        if connected_before {
            tracing::info!(%channel, "event listener reconnected to PostgreSQL");
        } else {
            tracing::info!(%channel, "event listener started");
            connected_before = true;
        }
        backoff = Duration::from_millis(100);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(event) = decode(notification.payload(), &store).await {
                        let _ = tx.send(Arc::new(event));
                    }
                }
                Ok(None) => {
                    tracing::warn!("event listener lost its PostgreSQL connection; reconnecting");
                    break;
                }
                Err(e) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "event listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Address, AddressType};

    fn conversation(detail: String) -> Conversation {
        let addr = Address {
            kind: AddressType::Tel,
            target: "+14703298699".into(),
            target_name: String::new(),
            name: String::new(),
            detail: String::new(),
        };
        Conversation {
            id: Uuid::new_v4(),
            customer_id: Uuid::new_v4(),
            owner_id: None,
            account_id: Uuid::new_v4(),
            name: "n".into(),
            detail,
            kind: ConversationType::Message,
            dialog_id: "+673802".into(),
            self_address: addr.clone(),
            peer: addr,
            tm_create: domain::now(),
            tm_update: None,
            tm_delete: None,
        }
    }

    #[test]
    fn payloads_stay_under_the_notify_limit() {
        let small = Event::now(EventKind::Created, conversation("d".into()));
        let text = encode(&small);
        let back: Notice = serde_json::from_str(&text).unwrap();
        assert_eq!(back.c.unwrap().into_domain().unwrap(), small.conversation);

        // 4096 multi-byte characters: far over 8000 bytes as JSON.
        let big = Event::now(EventKind::Updated, conversation("€".repeat(4096)));
        let text = encode(&big);
        assert!(text.len() < MAX_NOTIFY_PAYLOAD, "{}", text.len());
        let back: Notice = serde_json::from_str(&text).unwrap();
        assert_eq!(back.id, Some(big.conversation.id));
        assert!(back.c.is_none());
    }
}
