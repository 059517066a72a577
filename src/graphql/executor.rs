//! The executor: everything between "a GraphQL request arrived" and "here is its result",
//! whatever carried it (the HTTP layer only negotiates, reads parameters and writes
//! responses). It resolves automatic persisted queries, parses (with a cache of parsed
//! documents), runs the [guard](super::guard), picks the schema, runs with a deadline that
//! never cancels a write that began to commit (see `run`), and answers with a typed
//! [`Outcome`]: it never inspects error messages.
//!
//! Validation is skipped for a query whose document already passed it once (the schema never
//! changes while the process runs). Such a run still coerces variables; if it reports any
//! error, the query (which writes nothing) is run again with full validation, whose answer is
//! the one given.
//! A validated plain read also has a [compiled plan](super::compiled), which answers without
//! async-graphql's executor and leaves what it does not answer to the general path.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, Value, Variables};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::cache::Lru;
use super::compiled::{self, Plan};
use super::error_list::{bounded, with_codes};
use super::guard::{self, Refused};
use super::limits::Limits;
use super::order;
use super::AppSchema;
use crate::auth::Access;
use crate::db::{CommitFence, ConversationStore};
use crate::error::{coded, ApiError};

/// Longest document text kept in the parsed-document cache.
const MAX_CACHED_QUERY: usize = 4096;
/// How many parsed documents each cache keeps.
const CACHED_DOCUMENTS: usize = 256;

/// One GraphQL operation to run, as the transport read it.
#[derive(Debug)]
pub struct Operation {
    /// The document; empty when a persisted query sends only its hash.
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Variables,
    /// `extensions.persistedQuery.sha256Hash` (Apollo's automatic persisted queries, v1).
    pub persisted: Option<Persisted>,
    /// It came over `GET`: it may only read.
    pub via_get: bool,
    pub access: Access,
    /// Put in `extensions.requestId` of internal errors (and in the log line about them).
    pub request_id: String,
}

/// `extensions.persistedQuery` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persisted {
    /// Version 1 with this SHA-256 (hex).
    Hash(String),
    /// A version or shape this server does not speak.
    Unsupported,
}

/// What became of an operation.
#[derive(Debug)]
pub enum Outcome {
    /// It ran: data, perhaps with field errors.
    Ran(Response),
    /// It ran on the compiled path: the whole response body, `{"data": …}`, without errors.
    Compiled(Vec<u8>),
    /// It was refused before anything ran: the document, its variables or the request are at
    /// fault (a GraphQL request error). Nothing was read or written.
    Refused {
        errors: Vec<ServerError>,
        /// A mutation or subscription came over `GET`.
        not_a_query: bool,
    },
    /// It did not finish within the deadline and was cancelled before any of its writes
    /// began to commit: nothing of it was written.
    TimedOut,
}

/// The schemas the executor runs on: the same types and data, with and without validation.
#[derive(Clone)]
pub struct Schemas {
    /// Full validation.
    pub checked: AppSchema,
    /// No validation: only for queries whose document passed it before.
    pub prevalidated: AppSchema,
}

/// Runs operations. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    schemas: Schemas,
    store: ConversationStore,
    limits: Arc<Limits>,
    /// Parsed documents by their text.
    documents: Lru<ExecutableDocument>,
    /// Documents that passed full validation, by their text.
    validated: Lru<Arc<Validated>>,
    /// Automatic persisted queries by their hash.
    persisted: LruCacheStorage,
}

/// A document that passed full validation, with its plan when it has one.
struct Validated {
    doc: ExecutableDocument,
    plan: Option<Plan>,
}

/// A document as the cache knows it.
enum Found {
    Validated(Arc<Validated>),
    Parsed(ExecutableDocument),
}

impl Found {
    fn doc(&self) -> &ExecutableDocument {
        match self {
            Found::Validated(v) => &v.doc,
            Found::Parsed(doc) => doc,
        }
    }
}

/// An error that refuses the whole request.
fn refused(error: ApiError) -> Outcome {
    Outcome::Refused {
        errors: bounded(vec![error.into_server_error()]),
        not_a_query: false,
    }
}

/// A response that is a request error: no data, and no error belongs to a field.
fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

impl Executor {
    pub fn new(schemas: Schemas, store: ConversationStore, limits: Arc<Limits>) -> Self {
        Self {
            schemas,
            store,
            documents: Lru::new(CACHED_DOCUMENTS),
            validated: Lru::new(CACHED_DOCUMENTS),
            persisted: LruCacheStorage::new(limits.persisted_queries.max(1)),
            limits,
        }
    }

    /// The document of a persisted query: looked up by hash, or registered with it.
    async fn persisted_document(
        &self,
        hash: &str,
        query: &str,
    ) -> Result<ExecutableDocument, ApiError> {
        if query.is_empty() {
            return self
                .persisted
                .get(hash.to_owned())
                .await
                .ok_or_else(|| ApiError::bad_request("PersistedQueryNotFound"));
        }
        if format!("{:x}", Sha256::digest(query.as_bytes())) != hash {
            return Err(ApiError::bad_request("provided sha does not match query"));
        }
        let doc = parse(query)?;
        self.persisted.set(hash.to_owned(), doc.clone()).await;
        Ok(doc)
    }

    /// The parsed document, and whether it passed full validation before.
    fn document(&self, query: &str) -> Result<Found, ApiError> {
        let cacheable = query.len() <= MAX_CACHED_QUERY;
        if cacheable {
            if let Some(validated) = self.validated.get(query) {
                return Ok(Found::Validated(validated));
            }
            if let Some(doc) = self.documents.get(query) {
                return Ok(Found::Parsed(doc));
            }
        }
        let doc = parse(query)?;
        if cacheable {
            self.documents.set(query.to_owned(), doc.clone());
        }
        Ok(Found::Parsed(doc))
    }

    /// The answer of `plan` to `op`: `None` when the general path must run it.
    async fn compiled(&self, plan: &Plan, op: &Operation, timeout: Duration) -> Option<Outcome> {
        let cx = compiled::Context {
            store: &self.store,
            limits: &self.limits,
            access: &op.access,
        };
        let answer = plan.answer(op.operation_name.as_deref(), &op.variables, cx);
        match tokio::time::timeout(timeout, answer).await {
            Ok(body) => body.map(Outcome::Compiled),
            Err(_) => {
                tracing::warn!(request_id = %op.request_id, "request timed out and was cancelled");
                Some(Outcome::TimedOut)
            }
        }
    }

    /// Runs `op`, cancelling it after `timeout` unless a write of it began to commit.
    pub async fn execute(&self, op: Operation, timeout: Duration) -> Outcome {
        let found = match (&op.persisted, op.query.as_str()) {
            (Some(Persisted::Hash(hash)), query) => {
                match self.persisted_document(hash, query).await {
                    Ok(doc) => Found::Parsed(doc),
                    Err(e) => return refused(e),
                }
            }
            (Some(Persisted::Unsupported), _) => {
                return refused(ApiError::bad_request(
                    "only version 1 of the persistedQuery extension is supported",
                ))
            }
            (None, query) => match self.document(query) {
                Ok(found) => found,
                Err(e) => return refused(e),
            },
        };
        let plan = match &found {
            Found::Validated(v) => v.plan.as_ref(),
            Found::Parsed(_) => None,
        };
        // A plan whose guard verdict no variable can change passed the guard when its document
        // was validated (a request the plan declines goes on to the guard below).
        if let Some(plan) = plan.filter(|p| p.guard_is_static()) {
            if let Some(outcome) = self.compiled(plan, &op, timeout).await {
                return outcome;
            }
        }
        let doc = found.doc();
        let name = op.operation_name.as_deref();
        if let Err(refusal) = guard::check(doc, name, &op.variables, &self.limits, op.via_get) {
            let not_a_query = refusal == Refused::NotAQuery;
            return Outcome::Refused {
                errors: vec![refusal.into_error().into_server_error()],
                not_a_query,
            };
        }
        let validated = matches!(found, Found::Validated(_));
        if let Some(plan) = plan.filter(|p| !p.guard_is_static()) {
            if let Some(outcome) = self.compiled(plan, &op, timeout).await {
                return outcome;
            }
        }
        let query_only = guard::is_query_only(doc, name);
        let remember = (!validated && op.persisted.is_none() && op.query.len() <= MAX_CACHED_QUERY)
            .then(|| (op.query.clone(), doc.clone()));
        let response = if validated && query_only {
            match Box::pin(run(&self.schemas.prevalidated, &op, doc.clone(), timeout)).await {
                Ok(r) if r.errors.is_empty() => Ok(r),
                // Errors without validation may be validation errors in disguise: ask again.
                Ok(_) => Box::pin(run(&self.schemas.checked, &op, doc.clone(), timeout)).await,
                Err(e) => Err(e),
            }
        } else {
            Box::pin(run(&self.schemas.checked, &op, doc.clone(), timeout)).await
        };
        let Ok(response) = response else {
            tracing::warn!(request_id = %op.request_id, "request timed out and was cancelled");
            return Outcome::TimedOut;
        };
        if is_request_error(&response) {
            return Outcome::Refused {
                errors: bounded(response.errors.into_iter().map(coded).collect()),
                not_a_query: false,
            };
        }
        if let Some((key, doc)) = remember {
            let plan = Plan::compile(&doc);
            self.validated.set(key, Arc::new(Validated { doc, plan }));
        }
        let mut response = with_codes(response, &op.request_id);
        if let Some(operation) = guard::operation(doc, name) {
            order::restore(doc, &operation.selection_set.node, &mut response.data);
        }
        Outcome::Ran(response)
    }
}

/// The operation was cancelled at its deadline; nothing of it was committed.
struct Cancelled;

/// Executes `doc` for `op` on `schema` with a deadline `timeout` away. At the deadline the
/// operation is dropped only if none of its writes began to commit ([`CommitFence`]);
/// otherwise its answer is waited for, so a committed write is never reported as failed.
async fn run(
    schema: &AppSchema,
    op: &Operation,
    doc: ExecutableDocument,
    timeout: Duration,
) -> Result<Response, Cancelled> {
    let fence = Arc::new(CommitFence::new(timeout));
    let mut request = async_graphql::Request::new(String::new())
        .variables(op.variables.clone())
        .data(op.access.clone())
        .data(fence.clone());
    if let Some(name) = &op.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(doc);
    let span = tracing::info_span!("graphql", request_id = %op.request_id);
    let work = schema.execute(request).instrument(span);
    tokio::pin!(work);
    tokio::select! {
        // The deadline first: an answer that is ready exactly at the deadline is cancelled if
        // it committed nothing, and waited for (at once) if it did.
        biased;
        () = tokio::time::sleep(timeout) => {
            if fence.expire() {
                return Err(Cancelled);
            }
            tracing::warn!(
                request_id = %op.request_id,
                "request passed its deadline after a write began to commit; finishing it"
            );
            Ok(work.await)
        }
        response = &mut work => Ok(response),
    }
}

/// Parses a document; a syntax error is a request error with the parser's message.
fn parse(query: &str) -> Result<ExecutableDocument, ApiError> {
    async_graphql::parser::parse_query(query).map_err(|e| ApiError::bad_request(e.to_string()))
}
