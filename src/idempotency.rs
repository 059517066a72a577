//! Idempotency keys of `createConversation`: how long they are kept (`--idempotency-ttl`),
//! and the background task that deletes expired ones, a small batch at a time. The claim
//! itself is in [`crate::db::idempotency`].

use std::time::Duration;

use crate::db::ConversationStore;

/// Keys deleted per statement.
const PRUNE_BATCH: u64 = 1000;

/// The flags of idempotency keys.
#[derive(Debug, Clone, clap::Args)]
pub struct IdempotencyOptions {
    /// How long `createConversation` remembers an idempotency key (`24h`, `30m`, `7d`, …): a
    /// call with the same key and input within it answers the conversation the first call
    /// created; after it, the key is free again.
    #[arg(long, env = "IDEMPOTENCY_TTL", default_value = "24h",
          value_parser = crate::config::parse_duration)]
    pub idempotency_ttl: Duration,
}

impl Default for IdempotencyOptions {
    /// The flags' defaults.
    fn default() -> Self {
        crate::config::defaults()
    }
}

/// Starts the pruner of `store`'s expired keys; it stops when the pool is closed.
pub fn spawn_pruner(store: ConversationStore, ttl: Duration) {
    tokio::spawn(async move {
        let every = (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        loop {
            tokio::time::sleep(every).await;
            if store.is_closed() {
                return;
            }
            match prune_all(&store, ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deleted = n, "pruned expired idempotency keys"),
                Err(e) if !store.is_closed() => {
                    tracing::warn!(error = %e, "cannot prune idempotency keys")
                }
                Err(_) => return,
            }
        }
    });
}

/// Deletes every key older than `ttl`, a batch at a time with a pause between batches;
/// returns how many.
pub async fn prune_all(
    store: &ConversationStore,
    ttl: Duration,
) -> Result<u64, crate::db::StoreError> {
    let mut total = 0;
    loop {
        let n = store.prune_idempotency_keys(ttl, PRUNE_BATCH).await?;
        total += n;
        if n < PRUNE_BATCH {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
