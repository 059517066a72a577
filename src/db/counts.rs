//! `conversationCounts`: the total and the largest groups, in one statement.
//!
//! ```sql
//! SELECT <keys>, COUNT(*) AS n, SUM(COUNT(*)) OVER () AS total, COUNT(*) OVER () AS groups
//! FROM conversations WHERE <scope> AND <filter> GROUP BY <keys>
//! ORDER BY n DESC, <keys in API order> LIMIT <max groups>
//! ```
//! The window functions see every group before `LIMIT` cuts, so one statement gives the total,
//! the number of groups (for `truncated`) and the groups themselves. Per customer, the
//! (customer_id, type, owner_id, account_id, tm_delete) index answers it without reading rows.

use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryResult,
};
use uuid::Uuid;

use super::entity::Entity;
use super::filter::compile;
use super::store::ConversationStore;
use crate::domain::counts::{Counts, CountsQuery, Group, GroupBy};
use crate::domain::filter::Predicate;
use crate::domain::{AddressType, ConversationType};

/// The nil UUID as a literal (not a parameter: the grouping expression must be the same text
/// wherever it appears in the statement).
fn nil(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "'00000000-0000-0000-0000-000000000000'::uuid",
        _ => "X'00000000000000000000000000000000'",
    }
}

/// What a group is keyed by. Unassigned owners (NULL, or the nil UUID of older data) are one
/// group, keyed by the nil UUID, which also sorts it before every owner.
fn key_sql(field: GroupBy, backend: DbBackend) -> String {
    match field {
        GroupBy::Type => "type".into(),
        GroupBy::OwnerId => format!("COALESCE(owner_id, {})", nil(backend)),
        GroupBy::AccountId => "account_id".into(),
        GroupBy::SelfType => "self_type".into(),
        GroupBy::PeerType => "peer_type".into(),
    }
}

/// `CASE column WHEN <stored> THEN <position> ... END`: enum values in declaration order.
fn declaration_order<'a>(column: &str, stored: impl Iterator<Item = &'a str>) -> String {
    let mut sql = format!("CASE {column}");
    let mut n = 0;
    for (i, s) in stored.enumerate() {
        sql.push_str(&format!(" WHEN '{s}' THEN {i}"));
        n = i + 1;
    }
    sql.push_str(&format!(" ELSE {n} END"));
    sql
}

/// How ties between groups are broken on `field`: enums in declaration order, ids by bytes.
fn order_sql(field: GroupBy, backend: DbBackend) -> String {
    match field {
        GroupBy::Type => {
            declaration_order("type", ConversationType::ALL.iter().map(|t| t.as_str()))
        }
        GroupBy::SelfType | GroupBy::PeerType => declaration_order(
            &key_sql(field, backend),
            AddressType::ALL.iter().map(|t| t.as_str()),
        ),
        GroupBy::OwnerId | GroupBy::AccountId => key_sql(field, backend),
    }
}

fn total_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST(SUM(COUNT(*)) OVER () AS BIGINT)",
        DbBackend::MySql => "CAST(SUM(COUNT(*)) OVER () AS SIGNED)",
        _ => "SUM(COUNT(*)) OVER ()",
    }
}

fn key_alias(i: usize) -> Alias {
    Alias::new(format!("k{i}"))
}

fn count(row: &QueryResult, column: &str) -> Result<u64, DbErr> {
    let n: i64 = row.try_get("", column)?;
    u64::try_from(n).map_err(|_| DbErr::Custom(format!("negative {column}")))
}

fn group(row: &QueryResult, fields: &[GroupBy]) -> Result<Group, DbErr> {
    let mut g = Group {
        count: count(row, "n")?,
        ..Group::default()
    };
    let address_type = |s: String| {
        AddressType::from_stored(&s)
            .ok_or_else(|| DbErr::Custom(format!("unknown address type {s:?} in a stored row")))
    };
    for (i, field) in fields.iter().enumerate() {
        let column = format!("k{i}");
        match field {
            GroupBy::Type => {
                let s: String = row.try_get("", &column)?;
                g.kind = Some(ConversationType::from_stored(&s).ok_or_else(|| {
                    DbErr::Custom(format!("unknown conversation type {s:?} in a stored row"))
                })?);
            }
            GroupBy::OwnerId => {
                let id: Uuid = row.try_get("", &column)?;
                g.owner_id = Some(id).filter(|id| !id.is_nil());
            }
            GroupBy::AccountId => g.account_id = Some(row.try_get("", &column)?),
            GroupBy::SelfType => g.self_type = Some(address_type(row.try_get("", &column)?)?),
            GroupBy::PeerType => g.peer_type = Some(address_type(row.try_get("", &column)?)?),
        }
    }
    Ok(g)
}

impl ConversationStore {
    /// How many rows of `query.filter` lie in `scope`, in all and per group (the largest
    /// `query.max_groups` groups), in one statement.
    pub async fn counts(&self, query: &CountsQuery, scope: &Predicate) -> Result<Counts, DbErr> {
        let backend = self.backend();
        let scope = compile(scope, backend);
        let filter = compile(&query.filter, backend);
        if query.group_by.is_empty() {
            let total = self
                .reading(|db| {
                    let count = Entity::find().filter(scope.clone()).filter(filter.clone());
                    async move { count.count(&db).await }
                })
                .await?;
            return Ok(Counts {
                total,
                ..Counts::default()
            });
        }
        let mut select = Query::select();
        select
            .from(Entity)
            .cond_where(scope)
            .and_where(filter.into());
        for (i, field) in query.group_by.iter().enumerate() {
            let key = Expr::cust(key_sql(*field, backend));
            select
                .expr_as(key.clone(), key_alias(i))
                .add_group_by([key]);
        }
        select
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .expr_as(Expr::cust(total_sql(backend)), Alias::new("total"))
            .expr_as(Expr::cust("COUNT(*) OVER ()"), Alias::new("groups"))
            .order_by_expr(Expr::cust("COUNT(*)"), Order::Desc);
        for field in &query.group_by {
            select.order_by_expr(Expr::cust(order_sql(*field, backend)), Order::Asc);
        }
        select.limit(query.max_groups.max(1));
        let statement = backend.build(&select);
        let rows = self
            .reading(|db| {
                let statement = statement.clone();
                async move { db.query_all_raw(statement).await }
            })
            .await?;
        let Some(first) = rows.first() else {
            return Ok(Counts::default());
        };
        let (total, groups) = (count(first, "total")?, count(first, "groups")?);
        Ok(Counts {
            total,
            groups: rows
                .iter()
                .take(usize::try_from(query.max_groups).unwrap_or(usize::MAX))
                .map(|row| group(row, &query.group_by))
                .collect::<Result<_, _>>()?,
            truncated: groups > query.max_groups,
        })
    }
}
