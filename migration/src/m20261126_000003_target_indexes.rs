//! Indexes on `peer_target` and `self_target` alone: a filter on the target without the
//! address type (`peer: { target: { eq: "+14703298699" } }`) cannot use the
//! (type, target) indexes on PostgreSQL, which then scans the table.

use sea_orm_migration::prelude::*;

use crate::shared::{create_index, drop_index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_target_indexes"
    }
}

const INDEXES: [(&str, &str); 2] = [
    ("idx_conversations_peer_target", "(peer_target)"),
    ("idx_conversations_self_target", "(self_target)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, on) in INDEXES {
            create_index(manager.get_connection(), false, name, "conversations", on).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            drop_index(manager.get_connection(), name, "conversations").await?;
        }
        Ok(())
    }
}
