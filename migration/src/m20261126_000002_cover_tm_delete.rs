//! Adds `tm_delete` to the per-customer index, so lists and counts of a customer's live
//! conversations (`tm_delete` "not yet") are answered from the index alone instead of
//! visiting every row.

use sea_orm_migration::prelude::*;

use crate::shared::{create_index, drop_index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_cover_tm_delete"
    }
}

const OLD: &str = "idx_conversations_customer_created";
const NEW: &str = "idx_conversations_customer_live";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let on = "(customer_id, tm_create, id, tm_delete)";
        create_index(conn, false, NEW, "conversations", on).await?;
        drop_index(conn, OLD, "conversations").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let on = "(customer_id, tm_create, id)";
        create_index(conn, false, OLD, "conversations", on).await?;
        drop_index(conn, NEW, "conversations").await
    }
}
