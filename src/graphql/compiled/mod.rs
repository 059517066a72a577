//! The compiled path for plain reads. Most requests a frontend sends are one of a few cached
//! documents: `conversation(id: …)` or `conversations(…)` with a selection of plain fields.
//! For such a document the executor keeps a [`Plan`], made once when the document first
//! passes validation, and answers later requests with it: the arguments are coerced as the
//! resolvers coerce them, the store reads only the columns the selection needs, and the answer
//! is written straight to JSON bytes in document order. It is the same answer the general
//! path gives, byte for byte (the `compiled` tests compare both on every backend); it only
//! skips async-graphql's per-request machinery (request preparation, a future per field, the
//! `Value` tree and its serialization).
//!
//! What a plan does not cover takes the general path, whole:
//! - at compile time: anything but one query with one root field `conversation` or
//!   `conversations`; a directive anywhere; a fragment; a key selected twice; a field not
//!   named in [`write`] (so a new field is slower until it is named there, never wrong);
//! - per request: another operation name; a non-null variable without a default that the
//!   request does not give, or a `null` where a variable's type is non-null; and any error (a bad argument,
//!   a failed read), which the general path then reports as it always does. These paths only
//!   read, so running the general path after a refusal here changes nothing.

mod connection;
mod write;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationType, Selection,
    SelectionSet, Type,
};
use async_graphql::{InputType, Name, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};

use super::connection::ConversationConnection;
use super::filter::{ConversationFilter, ConversationOrder};
use super::limits::Limits;
use super::query::PageArgs;
use super::scalars::Uuid;
use crate::auth::Access;
use crate::db::ConversationStore;
use connection::ConnectionSelection;
use write::ConversationSelection;

/// A compiled document: its one root field, and what the request must give.
#[derive(Debug)]
pub struct Plan {
    /// The operation's name, if it has one.
    operation: Option<Name>,
    /// `"key":` of the root field, JSON-escaped.
    key: Vec<u8>,
    root: Root,
    /// The operation's variables: name, declared type, and the value an omitted one takes
    /// (its default, or `null` when its type is nullable), as async-graphql reads them.
    variables: Vec<(Name, Type, Option<ConstValue>)>,
}

#[derive(Debug)]
enum Root {
    /// `conversation(id: …)`.
    One {
        id: Option<Value>,
        selection: ConversationSelection,
    },
    /// `conversations(…)`.
    Page {
        args: Box<Arguments>,
        selection: ConnectionSelection,
    },
}

/// The arguments of `conversations` as the document writes them (variables unresolved).
#[derive(Debug, Default)]
struct Arguments {
    filter: Option<Value>,
    include_deleted: Option<Value>,
    order_by: Option<Value>,
    first: Option<Value>,
    after: Option<Value>,
    last: Option<Value>,
    before: Option<Value>,
    search: Option<Value>,
}

/// What the compiled path needs of the server.
pub struct Context<'a> {
    pub store: &'a ConversationStore,
    pub limits: &'a Limits,
    pub access: &'a Access,
}

impl Plan {
    /// The plan of `doc`, which passed full validation; `None` when the general path must run
    /// it (see the module docs).
    pub fn compile(doc: &ExecutableDocument) -> Option<Plan> {
        let (operation, op) = match &doc.operations {
            DocumentOperations::Single(op) => (None, &op.node),
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                let (name, op) = ops.iter().next()?;
                (Some(name.clone()), &op.node)
            }
            DocumentOperations::Multiple(_) => return None,
        };
        if op.ty != OperationType::Query || !op.directives.is_empty() {
            return None;
        }
        let [item] = op.selection_set.node.items.as_slice() else {
            return None;
        };
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field = &field.node;
        if !field.directives.is_empty() {
            return None;
        }
        let root = match field.name.node.as_str() {
            "conversation" => Root::One {
                id: arguments(field, &["id"])?.pop()?,
                selection: ConversationSelection::compile(&field.selection_set.node)?,
            },
            "conversations" => {
                let [filter, include_deleted, order_by, first, after, last, before, search] =
                    arguments(
                        field,
                        &[
                            "filter",
                            "includeDeleted",
                            "orderBy",
                            "first",
                            "after",
                            "last",
                            "before",
                            "search",
                        ],
                    )?
                    .try_into()
                    .ok()?;
                Root::Page {
                    args: Box::new(Arguments {
                        filter,
                        include_deleted,
                        order_by,
                        first,
                        after,
                        last,
                        before,
                        search,
                    }),
                    selection: ConnectionSelection::compile(&field.selection_set.node)?,
                }
            }
            _ => return None,
        };
        let mut variables = Vec::new();
        for def in &op.variable_definitions {
            if !def.node.directives.is_empty() {
                return None;
            }
            variables.push((
                def.node.name.node.clone(),
                def.node.var_type.node.clone(),
                def.node.default_value().cloned(),
            ));
        }
        Some(Plan {
            operation,
            key: write::key(field.response_key().node.as_str()),
            root,
            variables,
        })
    }

    /// Whether the guard ([`crate::graphql::guard`]) answers alike for every request this plan
    /// answers: a single conversation selects no list whose size a variable sets, so its depth,
    /// aliases and complexity are the document's own, and a request without a required
    /// variable, or naming another operation, is declined by the plan.
    pub fn guard_is_static(&self) -> bool {
        matches!(self.root, Root::One { .. })
    }

    /// The whole response body (`{"data": …}`) for a request with `variables`, or `None` when
    /// the general path must answer it.
    pub async fn answer(
        &self,
        operation_name: Option<&str>,
        variables: &Variables,
        cx: Context<'_>,
    ) -> Option<Vec<u8>> {
        if operation_name.is_some() && operation_name != self.operation.as_deref() {
            return None;
        }
        for (name, ty, omitted) in &self.variables {
            match variables.get(name) {
                Some(value) if !fits(value, ty) => return None,
                Some(_) => {}
                None if omitted.is_none() => return None,
                None => {}
            }
        }
        let variables = |name: Name| {
            variables
                .get(&name)
                .or_else(|| {
                    let (_, _, omitted) = self.variables.iter().find(|(n, _, _)| *n == name)?;
                    omitted.as_ref()
                })
                .cloned()
                .ok_or(())
        };
        let variables = &variables;
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"data\":{");
        out.extend_from_slice(&self.key);
        match &self.root {
            Root::One { id, selection } => {
                let id: Uuid = argument(id, variables)?;
                let found = cx
                    .store
                    .get_parts(id.0, &cx.access.scope(), selection.parts())
                    .await
                    .ok()?;
                match found {
                    Some(c) => selection.write(&mut out, &c),
                    None => out.extend_from_slice(b"null"),
                }
            }
            Root::Page { args, selection } => {
                let query = PageArgs {
                    filter: argument::<Option<ConversationFilter>>(&args.filter, variables)?,
                    include_deleted: argument(&args.include_deleted, variables)?,
                    order_by: argument::<Option<ConversationOrder>>(&args.order_by, variables)?,
                    first: argument(&args.first, variables)?,
                    after: argument(&args.after, variables)?,
                    last: argument(&args.last, variables)?,
                    before: argument(&args.before, variables)?,
                    search: argument(&args.search, variables)?,
                }
                .query(cx.limits)
                .ok()?;
                let scope = cx.access.scope();
                let page = cx
                    .store
                    .page_parts(&query, &scope, selection.parts())
                    .await
                    .ok()?;
                let conn = ConversationConnection::new(query, page.rows, page.has_more);
                let extra = selection.extra(&conn, cx.store, &scope).await.ok()?;
                selection.write(&mut out, &conn, &extra);
            }
        }
        out.extend_from_slice(b"}}");
        Some(out)
    }
}

/// The values `field` gives for the arguments `names` (in that order); `None` when it gives an
/// argument not among them, or one twice.
fn arguments(field: &Field, names: &[&str]) -> Option<Vec<Option<Value>>> {
    let mut out = vec![None; names.len()];
    for (name, value) in &field.arguments {
        let i = names.iter().position(|n| *n == name.node.as_str())?;
        if out[i].is_some() {
            return None;
        }
        out[i] = Some(value.node.clone());
    }
    Some(out)
}

/// An argument's value, coerced as its resolver's parameter is; `None` on any error.
fn argument<T: InputType>(
    value: &Option<Value>,
    variables: &impl Fn(Name) -> Result<ConstValue, ()>,
) -> Option<T> {
    let value = match value {
        Some(v) => Some(v.clone().into_const_with(variables).ok()?),
        None => None,
    };
    T::parse(value).ok()
}

/// Whether `value` has `null` only where `ty` allows it (its named types are checked where the
/// value is used, by the argument's own type).
fn fits(value: &ConstValue, ty: &Type) -> bool {
    if *value == ConstValue::Null {
        return ty.nullable;
    }
    match (&ty.base, value) {
        (BaseType::Named(_), _) => true,
        (BaseType::List(item), ConstValue::List(items)) => items.iter().all(|v| fits(v, item)),
        (BaseType::List(item), single) => fits(single, item),
    }
}

/// The fields of `set`, when every item is a field without directives or arguments whose
/// response key is not selected twice.
fn plain_fields(set: &SelectionSet) -> Option<Vec<&Field>> {
    let mut fields: Vec<&Field> = Vec::with_capacity(set.items.len());
    for item in &set.items {
        let Selection::Field(Positioned { node: field, .. }) = &item.node else {
            return None;
        };
        let key = field.response_key().node.as_str();
        if !field.directives.is_empty()
            || !field.arguments.is_empty()
            || fields.iter().any(|f| f.response_key().node.as_str() == key)
        {
            return None;
        }
        fields.push(field);
    }
    (!fields.is_empty()).then_some(fields)
}
