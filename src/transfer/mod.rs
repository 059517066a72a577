//! Import and export of conversations in the source platform's JSON shape.
//!
//! - [`record`]: one record, read with the API's validation rules (the shape itself, and the
//!   `tm_*` forms, are the domain's: [`crate::domain::Record`], [`crate::domain::time`]);
//! - [`input`]: a JSON array, the REST `{"result": [...]}` envelope, or NDJSON;
//! - [`import`] / [`export`]: the batch logic over [`crate::db::ConversationStore`];
//! - [`progress`]: the terminal progress line;
//! - [`command`]: the `import` and `export` subcommands.
//!
//! The database layer knows nothing of JSON; this module knows nothing of SQL.

pub mod command;
pub mod export;
pub mod import;
pub mod input;
pub mod progress;
pub mod record;

pub use export::{export, ExportError, ExportObserver};
pub use import::{
    import_text, ImportError, ImportObserver, ImportOptions, ImportSummary, Rejection,
};
