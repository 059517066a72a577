//! Import and export of conversations in the source platform's JSON shape.
//!
//! - [`time`]: the `tm_*` forms (`2022-06-23 05:05:40.950834`, `2022-06-23T05:05:40.950834Z`,
//!   the `9999-01-01` "not yet" sentinel, `null`);
//! - [`record`]: one record, read with the API's validation rules and written back;
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
pub mod time;

pub use export::{export, ExportError, ExportObserver};
pub use import::{
    import_text, ImportError, ImportObserver, ImportOptions, ImportSummary, Rejection,
};
