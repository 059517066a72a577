//! The read of one conversation by id, of only some of its columns ([`Parts`]), with the
//! statement's text built once per shape and remembered: building it with sea-query cost
//! more than decoding the row it reads.
//!
//! A shape is all the text depends on: the backend, the parts read, and the fields a scope
//! tests, for a scope that only tests fields for equality with UUIDs. A text is remembered
//! only once a statement built for its shape was seen to bind exactly the id and then the
//! scope's UUIDs, so a remembered text is the one sea-query builds. That holds for the scopes
//! of all rows and of one customer's (admins, managers, no authentication); an agent's scope
//! binds one more value (its owner test excludes the nil UUID of older data), so its
//! statement is built every time, as is any other scope's.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use foldhash::fast::RandomState;

use sea_orm::sea_query::{Expr, ExprTrait, Values};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, Value};
use uuid::Uuid;

use super::columns::{self, Take};
use super::entity::{Column, Model};
use super::filter::compile;
use crate::domain::filter::{Predicate, Scalar};
use crate::domain::{Field, Parts};

/// At most this many texts are remembered (a client choosing its fields can make many
/// shapes); past it, statements are built every time.
const MAX_TEXTS: usize = 1024;

/// Texts by shape, for the whole process: a text depends on its shape alone.
static TEXTS: LazyLock<RwLock<HashMap<Shape, Arc<Statement>, RandomState>>> =
    LazyLock::new(Default::default);

/// A remembered statement.
struct Statement {
    text: Arc<str>,
    /// The columns it reads, in order.
    columns: Vec<Column>,
}

/// What a statement's text depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    backend: u8,
    parts: Parts,
    /// The fields the scope tests, in order.
    fields: [Option<Field>; MAX_TESTS],
}

/// The most equality tests a scope may hold to have its text remembered.
const MAX_TESTS: usize = 3;

/// The fields and UUIDs of a scope that only tests fields for equality with UUIDs (all
/// rows: none); `None` for any other scope.
fn equalities(scope: &Predicate) -> Option<([Option<Field>; MAX_TESTS], Vec<Uuid>)> {
    let tests = match scope {
        Predicate::All => &[][..],
        Predicate::And(parts) if !parts.is_empty() => parts.as_slice(),
        leaf @ Predicate::Eq(..) => std::slice::from_ref(leaf),
        _ => return None,
    };
    if tests.len() > MAX_TESTS {
        return None;
    }
    let mut fields = [None; MAX_TESTS];
    let mut uuids = Vec::with_capacity(tests.len());
    for (i, test) in tests.iter().enumerate() {
        let Predicate::Eq(field, Scalar::Uuid(u)) = test else {
            return None;
        };
        fields[i] = Some(*field);
        uuids.push(*u);
    }
    Some((fields, uuids))
}

fn backend_code(backend: DbBackend) -> u8 {
    match backend {
        DbBackend::Postgres => 1,
        DbBackend::Sqlite => 2,
        _ => 3,
    }
}

/// The values such a statement binds: the id, then the scope's UUIDs.
fn bound(id: Uuid, uuids: &[Uuid]) -> Values {
    Values(
        std::iter::once(id)
            .chain(uuids.iter().copied())
            .map(|u| Value::Uuid(Some(u)))
            .collect(),
    )
}

/// The row `id` within `scope`, reading `parts` (the id is always read) on the pool `db`.
pub(super) async fn find(
    db: &DatabaseConnection,
    id: Uuid,
    scope: &Predicate,
    parts: Parts,
) -> Result<Option<Model>, DbErr> {
    let backend = db.get_database_backend();
    let shape = equalities(scope).map(|(fields, uuids)| {
        let shape = Shape {
            backend: backend_code(backend),
            parts,
            fields,
        };
        (shape, uuids)
    });
    if let Some((shape, uuids)) = &shape {
        let known = TEXTS.read().ok().and_then(|t| t.get(shape).cloned());
        if let Some(statement) = known {
            let values = bound(id, uuids);
            let text = statement.text.clone();
            return Ok(
                columns::run(db, text, values, &statement.columns, Take::One)
                    .await?
                    .pop(),
            );
        }
    }
    let columns = columns::columns(parts, None);
    let (text, values) = build(&columns, id, scope, backend);
    let text: Arc<str> = Arc::from(text);
    if let Some((shape, uuids)) = shape {
        if values == bound(id, &uuids) {
            remember(
                shape,
                Statement {
                    text: text.clone(),
                    columns: columns.clone(),
                },
            );
        }
    }
    // The primary key: one row at most, no `LIMIT` needed.
    Ok(columns::run(db, text, values, &columns, Take::One)
        .await?
        .pop())
}

/// `SELECT columns … WHERE id = ? AND scope`, built by sea-query: its text and values.
fn build(columns: &[Column], id: Uuid, scope: &Predicate, backend: DbBackend) -> (String, Values) {
    let mut select = columns::select(columns);
    select
        .and_where(Expr::col(Column::Id).eq(id))
        .cond_where(compile(scope, backend));
    columns::build(&select, backend)
}

fn remember(shape: Shape, statement: Statement) {
    if let Ok(mut texts) = TEXTS.write() {
        if texts.len() < MAX_TEXTS {
            texts.entry(shape).or_insert_with(|| Arc::new(statement));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(field: Field, u: Uuid) -> Predicate {
        Predicate::Eq(field, Scalar::Uuid(u))
    }

    #[test]
    fn only_scopes_of_uuid_equalities_have_a_shape() {
        let customer = Uuid::from_u128(7);
        let agent = Uuid::from_u128(9);
        assert_eq!(equalities(&Predicate::All), Some(([None; 3], vec![])));
        assert_eq!(
            equalities(&eq(Field::CustomerId, customer)),
            Some(([Some(Field::CustomerId), None, None], vec![customer]))
        );
        assert_eq!(
            equalities(&Predicate::And(vec![
                eq(Field::CustomerId, customer),
                eq(Field::OwnerId, agent)
            ])),
            Some((
                [Some(Field::CustomerId), Some(Field::OwnerId), None],
                vec![customer, agent]
            ))
        );
        assert_eq!(equalities(&Predicate::Or(vec![])), None);
        assert_eq!(
            equalities(&Predicate::Not(Box::new(eq(Field::CustomerId, customer)))),
            None
        );
        assert_eq!(
            equalities(&Predicate::Eq(Field::Name, Scalar::Text("x".into()))),
            None
        );
    }

    /// The scopes of all rows and of one customer bind the id, then their UUIDs: their texts
    /// are remembered. An agent's binds the nil UUID too: never remembered.
    #[test]
    fn which_built_statements_bind_the_id_then_the_scope() {
        let (id, customer, agent) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let agents = Predicate::And(vec![
            eq(Field::CustomerId, customer),
            eq(Field::OwnerId, agent),
        ]);
        for (scope, remembered) in [
            (Predicate::All, true),
            (eq(Field::CustomerId, customer), true),
            (agents, false),
        ] {
            let (_, uuids) = equalities(&scope).expect("a shape");
            for backend in [DbBackend::Postgres, DbBackend::Sqlite, DbBackend::MySql] {
                let columns = columns::columns(Parts::ALL, None);
                let (text, values) = build(&columns, id, &scope, backend);
                assert_eq!(values == bound(id, &uuids), remembered, "{text}");
            }
        }
    }
}
