//! The request guard: an async-graphql extension that checks every operation (over HTTP or
//! WebSocket, sent in full or as a persisted-query hash) after its document is known and
//! before anything runs:
//! - shape limits (depth, aliases, root fields) and introspection, see [`super::limits`];
//! - required variables that were not given (async-graphql would only notice mid-execution);
//! - over `GET`, only queries (a mutation is refused, the HTTP layer answers 405).
//!
//! The same [`check`] runs in two places: as this extension (on the schema that serves
//! WebSocket subscriptions and persisted queries, whose documents are only known inside
//! async-graphql), and directly in the HTTP handler for ordinary requests, which run on a
//! schema without extensions: async-graphql resolves every field through the extension
//! chain as soon as one extension is registered, which costs a third of the throughput.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Value, Variables};

use super::limits::{self, Refusal};
use super::Limits;
use crate::error::code;

/// Request data: the request came over `GET`, so it may only run a query.
#[derive(Clone, Copy, Debug)]
pub struct ViaGet;

/// Request data: the operation the client named.
#[derive(Clone, Debug, Default)]
pub struct OperationName(pub Option<String>);

/// The key of the error extension telling the HTTP layer which status to answer with; the
/// HTTP layer removes it.
pub const STATUS_EXTENSION: &str = "__httpStatus";

pub(super) struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard)
    }
}

fn refuse(message: impl Into<String>, code: &str, status: Option<u16>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    if let Some(status) = status {
        extensions.set(STATUS_EXTENSION, i32::from(status));
    }
    error.extensions = Some(extensions);
    error
}

/// The operations that will run: the named one, the only one, or (when the name matches none,
/// which validation reports later) all of them.
fn selected<'d>(doc: &'d ExecutableDocument, name: Option<&str>) -> Vec<&'d OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => vec![&op.node],
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => vec![&op.node],
            None => ops.values().map(|op| &op.node).collect(),
        },
        (DocumentOperations::Multiple(ops), None) => ops.values().map(|op| &op.node).collect(),
    }
}

/// Whether every operation that may run is a query (no writes, no subscriptions).
pub fn is_query_only(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    selected(doc, operation_name)
        .iter()
        .all(|op| op.ty == OperationType::Query)
}

/// A required variable (non-null type, no default) the request does not provide.
fn missing_variable(op: &OperationDefinition, variables: &Variables) -> Option<String> {
    op.variable_definitions.iter().find_map(|def| {
        let def = &def.node;
        let given = variables
            .get(def.name.node.as_str())
            .is_some_and(|v| *v != Value::Null);
        (!def.var_type.node.nullable && def.default_value.is_none() && !given).then(|| {
            format!(
                "Variable ${} of required type {} was not provided.",
                def.name.node, def.var_type.node
            )
        })
    })
}

/// Checks the operation(s) of `doc` that will run: `Err` is the request error to answer with.
pub fn check(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
    via_get: bool,
) -> Result<(), ServerError> {
    for op in selected(doc, operation_name) {
        if via_get && op.ty != OperationType::Query {
            return Err(refuse(
                "mutations and subscriptions must be sent with POST",
                code::BAD_USER_INPUT,
                Some(405),
            ));
        }
        match limits::check(doc, op, limits) {
            Err(Refusal::TooComplex(message)) => {
                return Err(refuse(message, code::QUERY_TOO_COMPLEX, None))
            }
            Err(Refusal::Introspection) => {
                return Err(refuse(
                    "introspection is turned off on this server; the schema is in schema.graphql",
                    code::BAD_USER_INPUT,
                    None,
                ))
            }
            Ok(()) => {}
        }
        if let Some(message) = missing_variable(op, variables) {
            return Err(refuse(message, code::BAD_USER_INPUT, None));
        }
    }
    Ok(())
}

#[async_graphql::async_trait::async_trait]
impl Extension for Guard {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let name = ctx.data_opt::<OperationName>().and_then(|n| n.0.as_deref());
        let default_limits = Limits::default();
        let limits = ctx.data_opt::<Limits>().unwrap_or(&default_limits);
        check(
            &doc,
            name,
            variables,
            limits,
            ctx.data_opt::<ViaGet>().is_some(),
        )?;
        Ok(doc)
    }
}
