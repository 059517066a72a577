//! Limits on the shape of a document, checked before it runs: depth, aliases and root
//! fields. Introspection (`__schema`, `__type`) is left out of the depth, so GraphiQL's deep
//! introspection query works under a small depth limit. Complexity is async-graphql's own
//! (see `build_schema`), with list fields weighted by their page size.

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

use super::Limits;

/// What was measured; any selection beyond `MAX_VISITS` stops the walk (fragment bombs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
    /// The operation asks for `__schema` or `__type`.
    pub introspection: bool,
    visits: usize,
}

const MAX_VISITS: usize = 10_000;

fn walk(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    depth: usize,
    stack: &mut Vec<String>,
    shape: &mut Shape,
) {
    for item in &set.items {
        shape.visits += 1;
        if shape.visits > MAX_VISITS {
            return;
        }
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.alias.is_some() {
                    shape.aliases += 1;
                }
                if depth == 0 {
                    shape.root_fields += 1;
                }
                let name = field.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    shape.introspection = true;
                    continue;
                }
                shape.depth = shape.depth.max(depth + 1);
                walk(doc, &field.selection_set.node, depth + 1, stack, shape);
            }
            Selection::InlineFragment(fragment) => {
                walk(doc, &fragment.node.selection_set.node, depth, stack, shape);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                if stack.contains(&name) {
                    continue; // a cycle: validation rejects it
                }
                if let Some(fragment) = doc.fragments.get(spread.node.fragment_name.node.as_str()) {
                    stack.push(name);
                    walk(doc, &fragment.node.selection_set.node, depth, stack, shape);
                    stack.pop();
                }
            }
        }
    }
}

/// Measures the operation that will run.
pub fn measure(doc: &ExecutableDocument, op: &OperationDefinition) -> Shape {
    let mut shape = Shape::default();
    walk(doc, &op.selection_set.node, 0, &mut Vec::new(), &mut shape);
    shape
}

/// Why an operation may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over a size limit (`QUERY_TOO_COMPLEX`).
    TooComplex(String),
    /// Asks for introspection where it is turned off (`BAD_USER_INPUT`).
    Introspection,
}

/// Checks the operation against the limits.
pub fn check(
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    limits: &Limits,
) -> Result<(), Refusal> {
    let shape = measure(doc, op);
    if shape.introspection && limits.disable_introspection {
        return Err(Refusal::Introspection);
    }
    too_complex(&shape, limits).map_err(Refusal::TooComplex)
}

fn too_complex(shape: &Shape, limits: &Limits) -> Result<(), String> {
    if shape.visits > MAX_VISITS {
        return Err(format!(
            "Query is too large: more than {MAX_VISITS} selections after expanding fragments."
        ));
    }
    if shape.depth > limits.max_depth {
        return Err(format!(
            "Query is nested too deep: {} levels, at most {}.",
            shape.depth, limits.max_depth
        ));
    }
    if shape.aliases > limits.max_aliases {
        return Err(format!(
            "Query has too many aliases: {}, at most {}.",
            shape.aliases, limits.max_aliases
        ));
    }
    if shape.root_fields > limits.max_root_fields {
        return Err(format!(
            "Query has too many root fields: {}, at most {}.",
            shape.root_fields, limits.max_root_fields
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> Shape {
        let doc = async_graphql::parser::parse_query(q).unwrap();
        let op = match &doc.operations {
            async_graphql::parser::types::DocumentOperations::Single(op) => op.node.clone(),
            async_graphql::parser::types::DocumentOperations::Multiple(m) => {
                m.values().next().unwrap().node.clone()
            }
        };
        measure(&doc, &op)
    }

    #[test]
    fn depth_aliases_roots_fragments() {
        let s = shape("{ a: conversations { edges { node { self { type } } } } b: conversation(id: \"x\") { id } }");
        assert_eq!((s.depth, s.aliases, s.root_fields), (5, 2, 2));
        let s = shape("query { ...F } fragment F on Query { conversations { nodes { ...G } } } fragment G on Conversation { id x: name }");
        assert_eq!((s.depth, s.aliases, s.root_fields), (3, 1, 1));
        let s = shape("{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }");
        assert_eq!(s.depth, 0, "introspection is not counted");
    }
}
