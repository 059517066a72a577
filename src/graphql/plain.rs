//! Answering an object in one pass. async-graphql resolves every field of an object as a boxed
//! future of its own, run concurrently, and collects the values as they finish; for a page of
//! 20 conversations that is hundreds of futures whose only work is to copy a value. An object
//! whose selection asks only for [`Plain`] fields (no arguments, no I/O, no errors) is
//! answered here instead, in document order, with exactly the values its `#[Object]`
//! resolvers give; any other selection (a field that reads the database, a fragment, a
//! directive, a key selected twice) takes async-graphql's general path, whole.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

/// An object some of whose fields can be answered at once.
pub(super) trait Plain {
    /// The GraphQL type name (`__typename`).
    const TYPE_NAME: &'static str;

    /// The value of the field `name` with the sub-selection `sub`, as the type's resolver gives
    /// it; `None` when this field is not plain (here, or in what it selects).
    fn field(&self, name: &str, sub: &ContextSelectionSet<'_>) -> Option<Value>;
}

/// `object`'s answer to the selection `ctx`, or `None` when the selection is not all plain.
pub(super) fn answer<T: Plain + ?Sized>(
    object: &T,
    ctx: &ContextSelectionSet<'_>,
) -> Option<Value> {
    let items = &ctx.item.node.items;
    if items.is_empty() {
        // async-graphql answers an object with nothing selected (all skipped) as null.
        return None;
    }
    let mut map = IndexMap::with_capacity(items.len());
    for item in items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field: &Field = &field.node;
        if !field.directives.is_empty() || !field.arguments.is_empty() {
            return None;
        }
        let key = &field.response_key().node;
        if map.keys().any(|k| k == key) {
            // The same key twice: async-graphql merges the selections.
            return None;
        }
        let name = field.name.node.as_str();
        let value = if name == "__typename" {
            Value::String(T::TYPE_NAME.to_owned())
        } else {
            object.field(name, &ctx.with_selection_set(&field.selection_set))?
        };
        map.insert(key.clone(), value);
    }
    Some(Value::Object(map))
}

/// A list of objects, answered at once if every item is.
pub(super) fn list<'i, T: Plain + 'i>(
    items: impl IntoIterator<Item = &'i T>,
    ctx: &ContextSelectionSet<'_>,
) -> Option<Value> {
    items
        .into_iter()
        .map(|item| answer(item, ctx))
        .collect::<Option<Vec<_>>>()
        .map(Value::List)
}

/// `T` as an output: answered by [`answer`] when its selection is plain, by its own
/// (`#[Object]`) resolvers otherwise. The schema sees `T` itself.
pub struct Fast<T>(pub T);

impl<T: OutputType + Plain> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match answer(&self.0, ctx) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}
