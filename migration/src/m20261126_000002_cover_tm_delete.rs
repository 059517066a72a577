//! Adds `tm_delete` to the per-customer index, so lists and counts of a customer's live
//! conversations (`tm_delete` "not yet") are answered from the index alone instead of
//! visiting every row.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_cover_tm_delete"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    CustomerId,
    TmCreate,
    TmDelete,
}

const OLD: &str = "idx_conversations_customer_created";
const NEW: &str = "idx_conversations_customer_live";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(Conversations::Table)
                    .col(Conversations::CustomerId)
                    .col(Conversations::TmCreate)
                    .col(Conversations::Id)
                    .col(Conversations::TmDelete)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(OLD)
                    .table(Conversations::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(Conversations::Table)
                    .col(Conversations::CustomerId)
                    .col(Conversations::TmCreate)
                    .col(Conversations::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(NEW)
                    .table(Conversations::Table)
                    .to_owned(),
            )
            .await
    }
}
