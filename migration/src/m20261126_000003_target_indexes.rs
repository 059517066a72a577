//! Indexes on `peer_target` and `self_target` alone: a filter on the target without the
//! address type (`peer: { target: { eq: "+14703298699" } }`) cannot use the
//! (type, target) indexes on PostgreSQL, which then scans the table.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_target_indexes"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    PeerTarget,
    SelfTarget,
}

const INDEXES: [(&str, Conversations); 2] = [
    ("idx_conversations_peer_target", Conversations::PeerTarget),
    ("idx_conversations_self_target", Conversations::SelfTarget),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, col) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Conversations::Table)
                        .col(col)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Conversations::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
