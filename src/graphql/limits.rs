//! Limits on what one request may ask for, and the measure of a document against them,
//! checked before anything runs: depth, aliases, root fields, complexity, introspection.
//!
//! Introspection (`__schema`, `__type`) is left out of the depth and costs one per field, so
//! GraphiQL's introspection query works under the default limits. Complexity is ours: each
//! field costs 1 plus what it selects, and a field that returns many rows multiplies what it
//! selects by how many it may return ([`weight`]): `conversations` by its page size,
//! the `groups` of `conversationCounts` by how many groups it may return.

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value, Variables};

/// The most ids one `nodes` call takes.
pub const MAX_NODES: usize = 100;

/// Limits on the shape of requests and on list sizes. Each is a flag (and an environment
/// variable) of its own; the defaults are written here and nowhere else.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Deepest nesting of fields in a query (introspection not counted).
    #[arg(long, env = "MAX_DEPTH", default_value_t = 10)]
    pub max_depth: usize,

    /// Highest query complexity: each field costs 1, a list of conversations (or events) costs
    /// its page size times what one item selects.
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = 10_000)]
    pub max_complexity: usize,

    /// Most aliased fields in one request.
    #[arg(long, env = "MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,

    /// Most top-level fields in one request.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = 10)]
    pub max_root_fields: usize,

    /// Largest `first` / `last`.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: u64,

    /// The page size when neither `first` nor `last` is given.
    #[arg(skip = 20u64)]
    pub default_page_size: u64,

    /// Deepest nesting of `and` / `or` / `not` in a filter.
    #[arg(long, env = "MAX_FILTER_DEPTH", default_value_t = 5)]
    pub max_filter_depth: usize,

    /// Longest `in` / `notIn` list in a filter.
    #[arg(long, env = "MAX_IN_LIST", default_value_t = 100)]
    pub max_in_list: usize,

    /// Most groups `conversationCounts` returns (the largest; it says `truncated: true` when
    /// there are more). Its `groups` weigh their selection times this, or times the number of
    /// groups an enum-only `groupBy` can make when that is fewer.
    #[arg(long, env = "MAX_GROUPS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_groups: u64,

    /// Turn off introspection (`__schema`, `__type`); the SDL stays in `schema.graphql`.
    #[arg(long, env = "DISABLE_INTROSPECTION")]
    pub disable_introspection: bool,

    /// How many automatic persisted queries each replica remembers (least recently used go).
    #[arg(long, env = "PERSISTED_QUERIES", default_value_t = 1000)]
    pub persisted_queries: usize,
}

/// What was measured; any selection beyond `MAX_VISITS` stops the walk (fragment bombs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
    pub complexity: usize,
    /// The operation asks for `__schema` or `__type`.
    pub introspection: bool,
    visits: usize,
}

const MAX_VISITS: usize = 10_000;

/// The value of `field`'s argument `name`, variables substituted.
fn argument(field: &Field, name: &str, variables: &Variables) -> Option<Value> {
    let value = field.get_argument(name)?.node.clone();
    value
        .into_const_with(|var: Name| variables.get(&var).cloned().ok_or(()))
        .ok()
}

/// How many times a field's selection counts: the most rows it may return. `parent` is the
/// field whose selection holds it (`conversationCounts` says how many `groups` there may be).
fn weight(field: &Field, parent: Option<&Field>, variables: &Variables, limits: &Limits) -> usize {
    let arg = |name: &str| argument(field, name, variables);
    let int = |name: &str| match arg(name) {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let list_len = |name: &str| match arg(name) {
        Some(Value::List(items)) => items.len(),
        _ => 1,
    };
    let max_groups = usize::try_from(limits.max_groups).unwrap_or(usize::MAX);
    let max_page = usize::try_from(limits.max_page_size).unwrap_or(usize::MAX);
    match field.name.node.as_str() {
        "conversations" => int("first")
            .or_else(|| int("last"))
            .map_or(limits.default_page_size, |n| n)
            .try_into()
            .unwrap_or(usize::MAX)
            .clamp(1, max_page.max(1)),
        "conversationEventLog" => int("first")
            .map_or(100, |n| n)
            .try_into()
            .unwrap_or(usize::MAX)
            .clamp(1, max_page.max(1)),
        "nodes" => list_len("ids").clamp(1, MAX_NODES),
        // Bulk mutations: one conversation per id (more than allowed is refused when it runs).
        "updateConversations" | "deleteConversations" | "restoreConversations" => {
            list_len("ids").max(1)
        }
        "groups" => match parent {
            Some(counts) if counts.name.node == "conversationCounts" => {
                match argument(counts, "groupBy", variables) {
                    Some(Value::List(fields)) => super::counts::most_groups(&fields)
                        .unwrap_or(max_groups)
                        .clamp(1, max_groups.max(1)),
                    // Left out (or null): no groups. Anything else fails validation.
                    _ => 1,
                }
            }
            _ => 1,
        },
        _ => 1,
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: &'a Limits,
    stack: Vec<&'a str>,
    /// The fields whose selections are being walked, innermost last.
    parents: Vec<&'a Field>,
    shape: Shape,
}

impl<'a> Walk<'a> {
    /// Walks a selection set `depth` levels down; returns its complexity.
    fn set(&mut self, set: &'a SelectionSet, depth: usize) -> usize {
        let mut cost = 0usize;
        for item in &set.items {
            self.shape.visits += 1;
            if self.shape.visits > MAX_VISITS {
                return cost;
            }
            let inner = match &item.node {
                Selection::Field(field) => self.field(&field.node, depth),
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node, depth)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    // A cycle is left to validation, which rejects it.
                    match self.doc.fragments.get(name) {
                        Some(fragment) if !self.stack.contains(&name) => {
                            self.stack.push(name);
                            let c = self.set(&fragment.node.selection_set.node, depth);
                            self.stack.pop();
                            c
                        }
                        _ => 0,
                    }
                }
            };
            cost = cost.saturating_add(inner);
        }
        cost
    }

    fn field(&mut self, field: &'a Field, depth: usize) -> usize {
        if field.alias.is_some() {
            self.shape.aliases += 1;
        }
        if depth == 0 {
            self.shape.root_fields += 1;
        }
        let name = field.name.node.as_str();
        if name == "__schema" || name == "__type" {
            self.shape.introspection = true;
            return 1 + self.introspection(&field.selection_set.node);
        }
        self.shape.depth = self.shape.depth.max(depth + 1);
        self.parents.push(field);
        let children = self.set(&field.selection_set.node, depth + 1);
        self.parents.pop();
        let parent = self.parents.last().copied();
        let weight = weight(field, parent, self.variables, self.limits);
        children.saturating_mul(weight).saturating_add(1)
    }

    /// Introspection: one per selection, no depth.
    fn introspection(&mut self, set: &'a SelectionSet) -> usize {
        let before = self.shape.depth;
        let cost = self.set(set, 1);
        self.shape.depth = before;
        cost
    }
}

/// Measures the operation that will run.
pub fn measure(
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    variables: &Variables,
    limits: &Limits,
) -> Shape {
    let mut walk = Walk {
        doc,
        variables,
        limits,
        stack: Vec::new(),
        parents: Vec::new(),
        shape: Shape::default(),
    };
    walk.shape.complexity = walk.set(&op.selection_set.node, 0);
    walk.shape
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
    variables: &Variables,
    limits: &Limits,
) -> Result<(), Refusal> {
    let shape = measure(doc, op, variables, limits);
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
    let over = |what: &str, got: usize, max: usize| {
        (got > max).then(|| format!("Query has too {what}: {got}, at most {max}."))
    };
    match over("deep a nesting", shape.depth, limits.max_depth)
        .or_else(|| over("high a complexity", shape.complexity, limits.max_complexity))
        .or_else(|| over("many aliases", shape.aliases, limits.max_aliases))
        .or_else(|| {
            over(
                "many root fields",
                shape.root_fields,
                limits.max_root_fields,
            )
        }) {
        Some(message) => Err(message),
        None => Ok(()),
    }
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
        measure(&doc, &op, &Variables::default(), &Limits::default())
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

    #[test]
    fn counts_weigh_by_the_groups_they_may_return() {
        // 1 + total + truncated + (1 + groups × (count + type)).
        let q = |group_by: &str| {
            shape(&format!(
                "{{ conversationCounts{group_by} {{ total groups {{ count type }} truncated }} }}"
            ))
            .complexity
        };
        assert_eq!(q(""), 6);
        assert_eq!(q("(groupBy: [])"), 6);
        assert_eq!(q("(groupBy: [TYPE])"), 4 + 2 * 2);
        assert_eq!(q("(groupBy: [TYPE, TYPE])"), 4 + 2 * 2);
        assert_eq!(q("(groupBy: [TYPE, PEER_TYPE])"), 4 + 26 * 2);
        assert_eq!(q("(groupBy: [TYPE, OWNER_ID])"), 4 + 1000 * 2);
        // Through a fragment too; and `groups` of nothing else is not weighed.
        assert_eq!(
            shape("{ conversationCounts(groupBy: [ACCOUNT_ID]) { ...G } } fragment G on ConversationCounts { groups { count } }").complexity,
            1 + 1 + 1000
        );
    }

    #[test]
    fn complexity_follows_the_page_size() {
        // 1 + 20 × (nodes: 1 + id + name) = 61 with the default page size.
        assert_eq!(
            shape("{ conversations { nodes { id name } } }").complexity,
            61
        );
        assert_eq!(
            shape("{ conversations(first: 100) { nodes { id name } } }").complexity,
            301
        );
        // The event log: `first` (default 100) times what one event selects.
        assert_eq!(
            shape("{ conversationEventLog { edges { cursor node { kind } } } }").complexity,
            1 + 100 * (1 + 1 + 1 + 1)
        );
        assert_eq!(
            shape("{ conversationEventLog(first: 10) { nodes { kind at } } }").complexity,
            1 + 10 * 3
        );
        // A bulk mutation: its number of ids times what one conversation selects.
        assert_eq!(
            shape("mutation { updateConversations(ids: [\"a\", \"b\", \"c\"], input: {}) { id name } }")
                .complexity,
            1 + 3 * 2
        );
        assert_eq!(
            shape("mutation { deleteConversations(ids: []) { id } }").complexity,
            2
        );
        let big = Limits {
            max_page_size: 1000,
            ..Limits::default()
        };
        let doc =
            async_graphql::parser::parse_query("{ conversations(first: 1000) { nodes { id } } }")
                .unwrap();
        let async_graphql::parser::types::DocumentOperations::Single(op) = &doc.operations else {
            unreachable!()
        };
        assert_eq!(
            measure(&doc, &op.node, &Variables::default(), &big).complexity,
            2001
        );
    }
}
