//! The request guard: checks an operation after its document is known and before anything
//! runs:
//! - shape limits (depth, aliases, root fields, complexity) and introspection, see
//!   [`super::limits`];
//! - required variables that were not given (async-graphql would only notice mid-execution);
//! - over `GET`, only queries.
//!
//! [`check`] runs in the executor for HTTP requests, and as the [`Guard`] extension on the
//! schema that serves WebSocket subscriptions (whose documents only async-graphql sees). There
//! the guard also gives every error without a code its code, as the executor does over HTTP
//! (a variable that does not coerce, a validation error: `BAD_USER_INPUT`).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextSubscribe,
};
use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
    Selection, SelectionSet,
};
use async_graphql::{Positioned, Response};
use async_graphql::{ServerResult, Value, Variables};
use futures_util::stream::{BoxStream, StreamExt};

use super::limits::{self, Limits, Refusal};
use crate::error::ApiError;

/// Why the guard refused an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A mutation or subscription sent with `GET` (HTTP answers 405).
    NotAQuery,
    /// Over a limit, or introspection where it is off.
    Limit(Refusal),
    /// A required variable is missing.
    MissingVariable(String),
    /// A directive the schema does not define, or a known one used wrongly.
    Directive(String),
}

impl Refused {
    /// The error the client sees.
    pub fn into_error(self) -> ApiError {
        match self {
            Refused::NotAQuery => {
                ApiError::bad_request("mutations and subscriptions must be sent with POST")
            }
            Refused::Limit(Refusal::TooComplex(message)) => ApiError::too_complex(message),
            Refused::Limit(Refusal::Introspection) => ApiError::bad_request(
                "introspection is turned off on this server; the schema is in schema.graphql",
            ),
            Refused::MissingVariable(message) | Refused::Directive(message) => {
                ApiError::bad_request(message)
            }
        }
    }
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

/// The operation that runs: the named one, or the only one.
pub fn operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
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

/// Names echoed in messages are cut to this many characters.
pub const MAX_ECHOED_NAME: usize = 100;

/// `name` as a message may show it.
pub fn echo(name: &str) -> String {
    match name.char_indices().nth(MAX_ECHOED_NAME) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_owned(),
    }
}

/// The first directive that is not `@skip(if:)` / `@include(if:)`: the only executable
/// directives this schema defines ("Directives Are Defined"; async-graphql does not check
/// the ones on `__typename`).
fn bad_directive(directives: &[Positioned<Directive>]) -> Option<String> {
    directives.iter().find_map(|d| {
        let d = &d.node;
        let name = d.name.node.as_str();
        if name != "skip" && name != "include" {
            return Some(format!("Unknown directive \"@{}\".", echo(name)));
        }
        // `if` is a Boolean literal or a variable (whose type validation checks).
        let args_ok = d.arguments.len() == 1
            && d.arguments[0].0.node == "if"
            && matches!(
                d.arguments[0].1.node.clone().into_const(),
                None | Some(async_graphql::Value::Boolean(_))
            );
        (!args_ok).then(|| format!("Directive \"@{name}\" takes one argument, `if: Boolean!`."))
    })
}

fn bad_directive_in(set: &SelectionSet) -> Option<String> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(f) => bad_directive(&f.node.directives)
            .or_else(|| bad_directive_in(&f.node.selection_set.node)),
        Selection::FragmentSpread(s) => bad_directive(&s.node.directives),
        Selection::InlineFragment(i) => bad_directive(&i.node.directives)
            .or_else(|| bad_directive_in(&i.node.selection_set.node)),
    })
}

/// The first bad directive anywhere in the document.
fn unknown_directive(doc: &ExecutableDocument) -> Option<String> {
    let ops: Vec<&OperationDefinition> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node],
        DocumentOperations::Multiple(ops) => ops.values().map(|op| &op.node).collect(),
    };
    ops.into_iter()
        .find_map(|op| {
            bad_directive(&op.directives)
                .or_else(|| {
                    op.variable_definitions
                        .iter()
                        .find_map(|v| bad_directive(&v.node.directives))
                })
                .or_else(|| bad_directive_in(&op.selection_set.node))
        })
        .or_else(|| {
            doc.fragments.values().find_map(|f| {
                bad_directive(&f.node.directives)
                    .or_else(|| bad_directive_in(&f.node.selection_set.node))
            })
        })
}

/// Checks the operation(s) of `doc` that will run.
pub fn check(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
    via_get: bool,
) -> Result<(), Refused> {
    if let Some(message) = unknown_directive(doc) {
        return Err(Refused::Directive(message));
    }
    for op in selected(doc, operation_name) {
        if via_get && op.ty != OperationType::Query {
            return Err(Refused::NotAQuery);
        }
        limits::check(doc, op, variables, limits).map_err(Refused::Limit)?;
        if let Some(message) = missing_variable(op, variables) {
            return Err(Refused::MissingVariable(message));
        }
    }
    Ok(())
}

/// Request data: the operation the client named (WebSocket subscriptions).
#[derive(Clone, Debug, Default)]
pub struct OperationName(pub Option<String>);

/// [`check`] as an async-graphql extension.
pub(super) struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard)
    }
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
        let limits = ctx
            .data::<Arc<Limits>>()
            .map_err(|_| ApiError::internal("schema built without Limits").into_server_error())?;
        check(&doc, name, variables, limits, false)
            .map_err(|r| r.into_error().into_server_error())?;
        Ok(doc)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors = std::mem::take(&mut response.errors)
                    .into_iter()
                    .map(crate::error::coded)
                    .collect();
                response
            })
            .boxed()
    }
}
