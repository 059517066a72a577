//! The export: every conversation as one NDJSON line, in id order.

use std::io::Write;

use crate::db::{ConversationStore, StoreError};
use crate::domain::filter::Predicate;

/// Rows read per query.
const PAGE: u64 = 1000;

/// The export could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database error: {0}")]
    Database(#[from] StoreError),
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// Hears about an export as it runs.
pub trait ExportObserver {
    /// `done` of about `total` conversations have been written.
    fn progress(&mut self, _done: u64, _total: u64) {}
}

impl ExportObserver for () {}

/// Writes every conversation (soft-deleted ones too with `include_deleted`) to `out`, one
/// JSON object per line in the import's shape; returns how many.
pub async fn export(
    store: &ConversationStore,
    out: &mut dyn Write,
    include_deleted: bool,
    observer: &mut dyn ExportObserver,
) -> Result<u64, ExportError> {
    let filter = if include_deleted {
        Predicate::All
    } else {
        Predicate::live()
    };
    let total = store.count(&filter, &Predicate::All).await?;
    let mut written = 0u64;
    let mut after = None;
    observer.progress(written, total);
    loop {
        let page = store.scan(after, PAGE, include_deleted).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for conversation in &page {
            serde_json::to_writer(&mut *out, conversation).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        written += page.len() as u64;
        observer.progress(written, total.max(written));
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    out.flush()?;
    Ok(written)
}
