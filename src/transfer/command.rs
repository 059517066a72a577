//! The `import` and `export` subcommands: files, standard streams, the summary, the exit
//! status.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use super::export::{export, ExportError};
use super::import::{import_text, ImportError, ImportOptions};
use super::progress::Progress;
use crate::config::{ExportArgs, ImportArgs, ServeConfig};
use crate::db::{self, ConversationStore, OnExisting, OpenError, PoolSettings};

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] std::io::Error),
    #[error("cannot create {0}: {1}")]
    Create(PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// `import FILE|-`: returns `Ok(false)` when records were rejected without `--keep-going` (the
/// exit status is then non-zero).
pub async fn run_import(config: &ServeConfig, args: &ImportArgs) -> Result<bool, ToolError> {
    let text = read_input(&args.file)?;
    let conn = open(config).await?;
    let store = ConversationStore::new(conn.clone());
    let options = ImportOptions {
        on_existing: if args.upsert {
            OnExisting::Replace
        } else {
            OnExisting::Skip
        },
        keep_going: args.keep_going,
        batch_size: usize::try_from(args.batch_size).unwrap_or(usize::MAX),
        with_events: args.with_events,
    };
    let mut progress = Progress::new("importing");
    let result = import_text(&store, &text, &options, &mut progress).await;
    progress.finish();
    if args.with_events {
        // Give the recorded events their places in the log now (a server's sweep would too).
        let channel = config.events_channel();
        loop {
            match store.events().sequence(Some(&channel)).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("import: the events wait for a server to number them: {e}");
                    break;
                }
            }
        }
    }
    let _ = conn.close().await;
    match result {
        Ok(summary) => {
            let secs = progress.elapsed().as_secs_f64();
            let handled = summary.read - summary.not_written();
            let rate = handled as f64 / secs.max(1e-9);
            eprintln!("import: {summary} in {secs:.1} s ({rate:.0} records/s)");
            if let Some(at) = summary.stopped_at {
                eprintln!(
                    "import: stopped at a bad record: the batch from record {at} on was not \
                     written ({} records not imported); fix the record or pass --keep-going",
                    summary.not_written()
                );
            }
            Ok(summary.stopped_at.is_none())
        }
        Err(ImportError::Database {
            first_record,
            source,
            done,
        }) => {
            eprintln!("import: before the failure: {done}");
            Err(ImportError::Database {
                first_record,
                source,
                done,
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

fn read_input(file: &str) -> Result<String, ToolError> {
    let mut text = String::new();
    let result = if file == "-" {
        std::io::stdin().lock().read_to_string(&mut text)
    } else {
        File::open(file).and_then(|mut f| f.read_to_string(&mut text))
    };
    let name = if file == "-" { "standard input" } else { file };
    result.map_err(|e| ToolError::Read(name.to_owned(), e))?;
    Ok(text)
}

/// `export [--include-deleted] [FILE]`: NDJSON to FILE, or to standard output.
pub async fn run_export(config: &ServeConfig, args: &ExportArgs) -> Result<(), ToolError> {
    let conn = open(config).await?;
    let store = ConversationStore::new(conn.clone());
    let mut out: Box<dyn Write> = match &args.file {
        Some(path) if path.as_os_str() != "-" => Box::new(BufWriter::new(
            File::create(path).map_err(|e| ToolError::Create(path.clone(), e))?,
        )),
        _ => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut progress = Progress::new("exporting");
    let result = export(&store, &mut out, args.include_deleted, &mut progress).await;
    progress.finish();
    drop(out);
    let _ = conn.close().await;
    let written = result?;
    eprintln!(
        "export: {written} conversations in {:.1} s",
        progress.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The database for a tool: migrated, with a small pool and no statement timeout.
async fn open(config: &ServeConfig) -> Result<sea_orm::DatabaseConnection, OpenError> {
    db::open(
        &config.database_url,
        &PoolSettings::for_tool(config.db_schema.clone()),
    )
    .await
}
