//! Idempotency keys of `createConversation`: how long they are kept (`--idempotency-ttl`),
//! and the background task that deletes expired ones, a small batch at a time. The claim
//! itself is in [`crate::db::idempotency`].

use std::time::Duration;

use crate::db::ConversationStore;

/// The flags of idempotency keys.
#[derive(Debug, Clone, clap::Args)]
pub struct IdempotencyOptions {
    /// How long `createConversation` remembers an idempotency key (`24h`, `30m`, `7d`, …): a
    /// call with the same key and input within it answers the conversation the first call
    /// created; after it, the key is free again.
    #[arg(long, env = "IDEMPOTENCY_TTL", default_value = "24h",
          value_parser = crate::domain::parse_duration)]
    pub idempotency_ttl: Duration,
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
    crate::db::prune_in_batches(|batch| store.prune_idempotency_keys(ttl, batch)).await
}
