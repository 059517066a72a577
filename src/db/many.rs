//! Reading many conversations by id at once (`nodes(ids)`).

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::{Column, Entity};
use super::filter::compile;
use super::store::ConversationStore;
use crate::domain::filter::Predicate;
use crate::domain::Conversation;

impl ConversationStore {
    /// The conversations of `ids` within `scope`, deleted or not, in one query and in no
    /// particular order; ids with no such row (or none in scope) are left out.
    pub async fn get_many(
        &self,
        ids: &[Uuid],
        scope: &Predicate,
    ) -> Result<Vec<Conversation>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = Entity::find()
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(compile(scope, self.backend()));
        self.reading(|db| {
            let query = query.clone();
            async move { query.all(&db).await }
        })
        .await?
        .into_iter()
        .map(Conversation::try_from)
        .collect()
    }
}
