//! The import: records validated batch by batch, each batch written in one transaction.

use std::collections::HashMap;
use std::fmt;

use super::input::{self, InputError, RawRecord};
use super::record::parse_record;
use crate::db::{ConversationStore, OnExisting, StoreError};
use crate::domain::Conversation;

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// What happens to a record whose id is already stored (`--upsert`: replace).
    pub on_existing: OnExisting,
    /// Skip bad records instead of stopping at the first batch that has one.
    pub keep_going: bool,
    /// Records per transaction.
    pub batch_size: usize,
    /// Record an event for every conversation created or changed (`--with-events`).
    pub with_events: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            on_existing: OnExisting::Skip,
            keep_going: false,
            batch_size: 1000,
            with_events: false,
        }
    }
}

/// A record that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Position among the input's records, from 0.
    pub index: usize,
    /// NDJSON: its line, from 1.
    pub line: Option<usize>,
    /// The JSON field at fault (`peer.target`), empty for the record as a whole.
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}", self.index)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.reason)
        } else {
            write!(f, ": {}: {}", self.field, self.reason)
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records in the input.
    pub read: u64,
    /// New rows written.
    pub inserted: u64,
    /// Stored rows overwritten (`--upsert`), including a record whose id came earlier in the
    /// same input.
    pub replaced: u64,
    /// Records whose id was already stored, or came earlier in the input (without `--upsert`).
    pub skipped: u64,
    /// Bad records.
    pub rejected: u64,
    /// Every bad record, in input order.
    pub rejections: Vec<Rejection>,
    /// Without `--keep-going`: the import stopped at the batch starting with this record, and
    /// nothing from it on was written.
    pub stopped_at: Option<usize>,
}

impl ImportSummary {
    /// Records neither written, skipped nor rejected: those after a stop.
    pub fn not_written(&self) -> u64 {
        self.read - self.inserted - self.replaced - self.skipped - self.rejected
    }
}

impl fmt::Display for ImportSummary {
    /// The counts: `read 5, inserted 3, replaced 0, skipped 1, rejected 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}, inserted {}, replaced {}, skipped {}, rejected {}",
            self.read, self.inserted, self.replaced, self.skipped, self.rejected
        )
    }
}

/// The import could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Input(#[from] InputError),
    /// Batches before this one were written; this one was rolled back.
    #[error("database error in the batch starting at record {first_record}: {source}")]
    Database {
        first_record: usize,
        #[source]
        source: StoreError,
        /// What had been done before the failing batch.
        done: Box<ImportSummary>,
    },
}

/// Hears about an import as it runs (a progress bar, a log of rejections).
pub trait ImportObserver {
    /// A record was refused (called in input order, before its batch is written or dropped).
    fn rejected(&mut self, _rejection: &Rejection) {}
    /// `done` of `total` records have been dealt with.
    fn progress(&mut self, _done: u64, _total: u64) {}
}

/// An observer that hears nothing.
impl ImportObserver for () {}

/// Imports the records of `text` (any shape [`input::split`] reads).
pub async fn import_text(
    store: &ConversationStore,
    text: &str,
    options: &ImportOptions,
    observer: &mut dyn ImportObserver,
) -> Result<ImportSummary, ImportError> {
    let records = input::split(text)?;
    let mut summary = ImportSummary {
        read: records.len() as u64,
        ..ImportSummary::default()
    };
    let batch_size = options.batch_size.max(1);
    let mut done = 0u64;
    observer.progress(done, summary.read);
    for batch in records.chunks(batch_size) {
        let (valid, rejections) = parse_batch(batch);
        for r in &rejections {
            observer.rejected(r);
        }
        summary.rejected += rejections.len() as u64;
        let bad = !rejections.is_empty();
        summary.rejections.extend(rejections);
        if bad && !options.keep_going {
            summary.stopped_at = Some(batch[0].index);
            // The batch's other records are neither written nor counted as handled.
            break;
        }
        let (rows, duplicates) = distinct(valid, options.on_existing);
        let outcome = store
            .import_batch(&rows, options.on_existing, options.with_events)
            .await
            .map_err(|source| ImportError::Database {
                first_record: batch[0].index,
                source,
                done: Box::new(summary.clone()),
            })?;
        summary.inserted += outcome.inserted;
        summary.replaced += outcome.replaced;
        summary.skipped += outcome.skipped;
        match options.on_existing {
            OnExisting::Skip => summary.skipped += duplicates,
            OnExisting::Replace => summary.replaced += duplicates,
        }
        done += batch.len() as u64;
        observer.progress(done, summary.read);
    }
    Ok(summary)
}

fn parse_batch(batch: &[RawRecord<'_>]) -> (Vec<Conversation>, Vec<Rejection>) {
    let mut valid = Vec::with_capacity(batch.len());
    let mut rejected = Vec::new();
    for raw in batch {
        match parse_record(raw.json) {
            Ok(c) => valid.push(c),
            Err(e) => rejected.push(Rejection {
                index: raw.index,
                line: raw.line,
                field: e.field,
                reason: e.message,
            }),
        }
    }
    (valid, rejected)
}

/// One record per id: the first one when existing rows are skipped, the last one when they are
/// replaced (as if the records were written one after another). Also returns how many were
/// dropped.
fn distinct(rows: Vec<Conversation>, on_existing: OnExisting) -> (Vec<Conversation>, u64) {
    let mut slot: HashMap<uuid::Uuid, usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<Conversation> = Vec::with_capacity(rows.len());
    let mut dropped = 0;
    for c in rows {
        match slot.get(&c.id) {
            Some(&i) => {
                dropped += 1;
                if on_existing == OnExisting::Replace {
                    out[i] = c;
                }
            }
            None => {
                slot.insert(c.id, out.len());
                out.push(c);
            }
        }
    }
    (out, dropped)
}
