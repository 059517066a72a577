//! Puts the fields of an answer in the order the document asked for them (the spec's
//! "Serialized Map Ordering"). async-graphql resolves the fields of a query concurrently and
//! collects them as they finish, so `{ a: conversations { … } b: __typename }` used to come back
//! as `{"b": …, "a": …}`.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Value};

/// The response keys of `set` in document order (fragments expanded in place), each with the
/// selection sets asked of it (a key may be selected more than once; they merge).
fn keys<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    out: &mut Vec<(&'d str, Vec<&'d SelectionSet>)>,
    depth: usize,
) {
    if depth > 64 {
        return; // fragment cycles are refused by validation; never loop here
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.response_key().node.as_str();
                let sub = &field.selection_set.node;
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sets)) => sets.push(sub),
                    None => out.push((key, vec![sub])),
                }
            }
            Selection::InlineFragment(fragment) => {
                keys(doc, &fragment.node.selection_set.node, out, depth + 1);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(f) = doc.fragments.get(spread.node.fragment_name.node.as_str()) {
                    keys(doc, &f.node.selection_set.node, out, depth + 1);
                }
            }
        }
    }
}

/// Reorders `value` (the result of `sets`) and everything inside it.
fn reorder(doc: &ExecutableDocument, value: &mut Value, sets: &[&SelectionSet]) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(doc, item, sets);
            }
        }
        Value::Object(map) => {
            let mut order = Vec::new();
            for set in sets {
                keys(doc, set, &mut order, 0);
            }
            let in_order = map.len() == order.iter().filter(|(k, _)| map.contains_key(*k)).count()
                && map
                    .keys()
                    .zip(order.iter().filter(|(k, _)| map.contains_key(*k)))
                    .all(|(a, (b, _))| a.as_str() == *b);
            if !in_order {
                let mut old = std::mem::take(map);
                let mut fresh = IndexMap::with_capacity(old.len());
                for (key, _) in &order {
                    if let Some((k, v)) = old.shift_remove_entry(*key) {
                        fresh.insert(k, v);
                    }
                }
                // Anything the document does not name (never expected) keeps its place last.
                fresh.extend(old.drain(..));
                *map = fresh;
            }
            for (key, child_sets) in &order {
                let nested: Vec<&SelectionSet> = child_sets
                    .iter()
                    .copied()
                    .filter(|s| !s.items.is_empty())
                    .collect();
                if nested.is_empty() {
                    continue;
                }
                if let Some(child) = map.get_mut(&Name::new(key)) {
                    reorder(doc, child, &nested);
                }
            }
        }
        _ => {}
    }
}

/// Puts `data`, the answer to `set` (an operation's selection set), in document order.
pub fn restore(doc: &ExecutableDocument, set: &SelectionSet, data: &mut Value) {
    reorder(doc, data, &[set]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::DocumentOperations;

    #[test]
    fn fields_follow_the_document() {
        let doc = async_graphql::parser::parse_query(
            "{ z: a { y x } ...F m: b } fragment F on Query { a { w } }",
        )
        .unwrap();
        let DocumentOperations::Single(op) = &doc.operations else {
            unreachable!()
        };
        let mut data: Value = serde_json::from_str::<serde_json::Value>(
            r#"{"m": 1, "a": {"w": 1}, "z": [{"x": 1, "y": 2}]}"#,
        )
        .map(|v| Value::from_json(v).unwrap())
        .unwrap();
        restore(&doc, &op.node.selection_set.node, &mut data);
        assert_eq!(
            data.into_json().unwrap().to_string(),
            r#"{"z":[{"y":2,"x":1}],"a":{"w":1},"m":1}"#
        );
    }
}
