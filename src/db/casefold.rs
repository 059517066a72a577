//! How this database lower-cases text, found by asking it: one `SELECT LOWER(?)` over every
//! cased character ([`CaseFolding::probe`]), run once per pool. SQLite lower-cases through
//! `cg_lower`, which is [`crate::domain::fold_case`] itself, so it is not asked.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::domain::CaseFolding;

pub(super) async fn calibrate(db: &DatabaseConnection) -> Result<CaseFolding, DbErr> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Sqlite {
        return Ok(CaseFolding::default());
    }
    let asked = CaseFolding::probe();
    let text: String = asked.iter().flat_map(|c| [*c, '\n']).collect();
    let sql = match backend {
        DbBackend::Postgres => "SELECT LOWER($1)",
        _ => "SELECT LOWER(?)",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [text.into()]))
        .await?
        .ok_or_else(|| DbErr::Custom("LOWER answered no row".into()))?;
    let lowered: String = row.try_get_by_index(0)?;
    let answered: Vec<char> = lowered
        .split('\n')
        .map(|piece| {
            let mut chars = piece.chars();
            match (chars.next(), chars.next()) {
                (Some(one), None) => one,
                // Not one character: no answer to compare; keep the Unicode mapping.
                _ => '\0',
            }
        })
        .collect();
    if answered.len() < asked.len() {
        return Err(DbErr::Custom(
            "LOWER changed the number of characters".into(),
        ));
    }
    let pairs: (Vec<char>, Vec<char>) = asked
        .iter()
        .zip(&answered)
        .filter(|(_, l)| **l != '\0')
        .map(|(c, l)| (*c, *l))
        .unzip();
    let folding = CaseFolding::from_answers(&pairs.0, &pairs.1);
    tracing::debug!(
        exceptions = folding.exceptions(),
        "case folding calibrated against the database"
    );
    Ok(folding)
}
