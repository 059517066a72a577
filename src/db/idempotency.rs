//! `createConversation` with an idempotency key: one conversation per (customer, key), however
//! often and however concurrently the call is made, for as long as the key is kept.
//!
//! The key is claimed by inserting its row into `idempotency_keys` in the transaction that
//! creates the conversation, with "do nothing on conflict" (`ON CONFLICT DO NOTHING`, MySQL's
//! `INSERT IGNORE`). The primary key (customer, key hash) decides every race: a second
//! transaction's insert waits until the first one ends (PostgreSQL and MySQL/MariaDB wait on
//! the uncommitted key; SQLite's writers take turns), then finds the key taken. The insert's
//! row count says whose the key is: 1, this transaction's, and it creates the conversation;
//! 0, another's: it reads the key row (`FOR SHARE`: the latest committed version, without
//! blocking the other readers), rolls back, and answers with the conversation the key names
//! (same input), or `KeyReused` (another input). Nobody checks first and inserts after.
//!
//! A retry whose key is already committed (and live) is answered from a plain read, without a
//! write transaction: it takes no lock, and on SQLite does not wait for the writer.
//!
//! A key older than the TTL no longer counts: it is deleted on its own (an autocommit
//! `DELETE` that only removes it while it is still expired) and the claim starts again. The
//! pruner ([`ConversationStore::prune_idempotency_keys`]) removes expired keys in the
//! background.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::fence::CommitFence;
use super::store::{find, ConversationStore};
use super::txn::WriteTxn;
use super::value::{bindable, time};
use super::write::{insert_in, WriteError};
use crate::domain::filter::Predicate;
use crate::domain::{now, Body, Conversation, IdempotencyKey};

/// `idempotency_keys` as a SeaORM entity.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: Uuid,
        /// SHA-256 of the key, lower-case hex.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_hash: String,
        /// Digest of the create input the key was first used with.
        pub digest: String,
        /// The conversation that call created.
        pub conversation_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

/// How often the claim starts again after an expired key was removed (by this call or by the
/// pruner): another expired key cannot appear in between, so twice is enough; the third is
/// a safety margin.
const ATTEMPTS: usize = 3;

/// What became of a claim.
enum Claim {
    /// The key is ours: the conversation is inserted and its event recorded.
    Mine(WriteTxn),
    /// Another call holds the key (the transaction was rolled back).
    Taken(Model),
    /// The key that stopped the insert was deleted (expired and pruned) before it could be
    /// read: the claim starts again.
    Vanished,
}

impl ConversationStore {
    /// Creates a conversation from `body` unless the customer's `key` already created one
    /// within `ttl`: then answers that conversation as it is now (read within `scope`), and
    /// writes nothing; or [`WriteError::KeyReused`] when the key came with another input.
    pub async fn insert_once(
        &self,
        body: Body,
        key: &IdempotencyKey,
        ttl: Duration,
        scope: &Predicate,
        fence: &CommitFence,
    ) -> Result<Conversation, WriteError> {
        let customer = body.customer_id;
        let key_hash = key.hash();
        let digest = body.digest();
        // A retry is a read: a key already committed and live answers without a write
        // transaction. A key not (yet) there is claimed below, where the race is decided.
        let mut known = Entity::find_by_id((customer, key_hash.clone()))
            .one(&self.db)
            .await?
            .filter(|held| held.created_at >= expiry_cutoff(ttl));
        for _ in 0..ATTEMPTS {
            let held = match known.take() {
                Some(held) => held,
                None => {
                    let conversation =
                        Conversation::new(Uuid::new_v4(), body.clone(), now(), None, None);
                    match self.claim(&conversation, &key_hash, &digest).await? {
                        Claim::Mine(txn) => {
                            self.commit_fenced(txn, true, fence).await?;
                            return Ok(conversation);
                        }
                        Claim::Taken(held) => held,
                        Claim::Vanished => continue,
                    }
                }
            };
            let cutoff = expiry_cutoff(ttl);
            if held.created_at < cutoff {
                self.forget_expired(customer, &key_hash, cutoff).await?;
                continue;
            }
            if held.digest != digest {
                return Err(WriteError::KeyReused);
            }
            return find(&self.db, held.conversation_id, scope)
                .await?
                .ok_or(WriteError::NotFound(held.conversation_id));
        }
        Err(DbErr::Custom("an idempotency key kept expiring while it was claimed".into()).into())
    }

    /// Inserts the key row unless the key is taken; then reads it back.
    async fn claim(
        &self,
        conversation: &Conversation,
        key_hash: &str,
        digest: &str,
    ) -> Result<Claim, DbErr> {
        let backend = self.backend();
        let row = ActiveModel::from(Model {
            customer_id: conversation.body.customer_id,
            key_hash: key_hash.to_owned(),
            digest: digest.to_owned(),
            conversation_id: conversation.id,
            created_at: conversation.tm_create,
        });
        let mut insert = Entity::insert(row);
        if backend != DbBackend::MySql {
            insert = insert.on_conflict(
                OnConflict::columns([Column::CustomerId, Column::KeyHash])
                    .do_nothing()
                    .to_owned(),
            );
        }
        let mut stmt = bindable(insert.build(backend));
        if backend == DbBackend::MySql {
            // Every value fits its column, so IGNORE can only skip the duplicate key.
            stmt.sql = stmt.sql.replacen("INSERT ", "INSERT IGNORE ", 1);
        }
        let txn = self.begin_write().await?;
        // 1: this transaction inserted the key (it is ours until it ends); 0: it was taken.
        if txn.execute_raw(stmt).await?.rows_affected() == 1 {
            insert_in(&txn, conversation).await?;
            return Ok(Claim::Mine(txn));
        }
        let held = Entity::find_by_id((conversation.body.customer_id, key_hash.to_owned()))
            .lock_shared()
            .one(&*txn)
            .await?;
        txn.rollback().await?;
        Ok(held.map_or(Claim::Vanished, Claim::Taken))
    }

    /// Deletes the key if it is still older than `cutoff`.
    async fn forget_expired(
        &self,
        customer: Uuid,
        key_hash: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let backend = self.backend();
        let stmt = Entity::delete_many()
            .filter(Column::CustomerId.eq(customer))
            .filter(Column::KeyHash.eq(key_hash))
            .filter(Column::CreatedAt.lt(time(cutoff, backend)))
            .build(backend);
        self.db.execute_raw(stmt).await?;
        Ok(())
    }

    /// Deletes up to about `batch` of the oldest keys older than `ttl` (one short statement);
    /// returns how many. Call again until it deletes fewer.
    pub async fn prune_idempotency_keys(&self, ttl: Duration, batch: u64) -> Result<u64, DbErr> {
        let backend = self.backend();
        let older_than = expiry_cutoff(ttl);
        let oldest: Vec<DateTime<Utc>> = Entity::find()
            .select_only()
            .column(Column::CreatedAt)
            .filter(Column::CreatedAt.lt(time(older_than, backend)))
            .order_by_asc(Column::CreatedAt)
            .limit(batch)
            .into_tuple()
            .all(&self.db)
            .await?;
        let Some(last) = oldest.last() else {
            return Ok(0);
        };
        let stmt = Entity::delete_many()
            .filter(Column::CreatedAt.lte(time(*last, backend)))
            .build(backend);
        Ok(self.db.execute_raw(stmt).await?.rows_affected())
    }
}

/// Keys created before this have expired.
fn expiry_cutoff(ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now().checked_sub_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
