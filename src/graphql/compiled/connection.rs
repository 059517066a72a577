//! The compiled selection of a `ConversationConnection` (its edges, nodes, page info and count),
//! and the JSON it writes, as `connection.rs`'s resolvers answer.

use async_graphql::parser::types::SelectionSet;

use super::write::{string, ConversationSelection, Object};
use crate::db::ConversationStore;
use crate::domain::filter::Predicate;
use crate::domain::Parts;
use crate::error::ApiError;
use crate::graphql::connection::ConversationConnection;

/// A field of `ConversationEdge`.
#[derive(Debug)]
enum EdgeField {
    Typename,
    Cursor,
    Node(ConversationSelection),
}

/// A field of `PageInfo`.
#[derive(Debug, Clone, Copy)]
enum PageInfoField {
    Typename,
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

/// A field of `ConversationConnection`.
#[derive(Debug)]
enum ConnectionField {
    Typename,
    Edges(Object<EdgeField>),
    Nodes(ConversationSelection),
    PageInfo(Object<PageInfoField>),
    TotalCount,
}

/// What a page's answer needs besides its rows (each read only when selected).
#[derive(Debug, Default)]
pub(super) struct Extra {
    has_next: Option<bool>,
    has_previous: Option<bool>,
    total: Option<i64>,
}

/// A compiled `ConversationConnection` selection.
#[derive(Debug)]
pub(super) struct ConnectionSelection {
    object: Object<ConnectionField>,
    parts: Parts,
}

impl ConnectionSelection {
    pub(super) fn compile(set: &SelectionSet) -> Option<Self> {
        let object = Object::compile(set, |name, sub| {
            Some(match name {
                "__typename" => ConnectionField::Typename,
                "edges" => ConnectionField::Edges(Object::compile(sub, |name, sub| {
                    Some(match name {
                        "__typename" => EdgeField::Typename,
                        "cursor" => EdgeField::Cursor,
                        "node" => EdgeField::Node(ConversationSelection::compile(sub)?),
                        _ => return None,
                    })
                })?),
                "nodes" => ConnectionField::Nodes(ConversationSelection::compile(sub)?),
                "pageInfo" => ConnectionField::PageInfo(Object::compile(sub, |name, _| {
                    Some(match name {
                        "__typename" => PageInfoField::Typename,
                        "hasNextPage" => PageInfoField::HasNextPage,
                        "hasPreviousPage" => PageInfoField::HasPreviousPage,
                        "startCursor" => PageInfoField::StartCursor,
                        "endCursor" => PageInfoField::EndCursor,
                        _ => return None,
                    })
                })?),
                "totalCount" => ConnectionField::TotalCount,
                _ => return None,
            })
        })?;
        let mut parts = Parts::ID;
        for (_, field) in &object.fields {
            match field {
                ConnectionField::Edges(edges) => {
                    for (_, f) in &edges.fields {
                        if let EdgeField::Node(node) = f {
                            parts = parts.union(node.parts);
                        }
                    }
                }
                ConnectionField::Nodes(node) => parts = parts.union(node.parts),
                _ => {}
            }
        }
        Some(Self { object, parts })
    }

    /// The parts of a conversation this selection reads.
    pub(super) fn parts(&self) -> Parts {
        self.parts
    }

    /// Reads what the selection needs besides the page's rows.
    pub(super) async fn extra(
        &self,
        conn: &ConversationConnection,
        store: &ConversationStore,
        scope: &Predicate,
    ) -> Result<Extra, ApiError> {
        let mut extra = Extra::default();
        for (_, field) in &self.object.fields {
            match field {
                ConnectionField::PageInfo(info) => {
                    for (_, f) in &info.fields {
                        match f {
                            PageInfoField::HasNextPage if extra.has_next.is_none() => {
                                extra.has_next = Some(conn.has_next_page(store, scope).await?);
                            }
                            PageInfoField::HasPreviousPage if extra.has_previous.is_none() => {
                                extra.has_previous =
                                    Some(conn.has_previous_page(store, scope).await?);
                            }
                            _ => {}
                        }
                    }
                }
                ConnectionField::TotalCount if extra.total.is_none() => {
                    extra.total = Some(conn.count(store, scope).await?);
                }
                _ => {}
            }
        }
        Ok(extra)
    }

    pub(super) fn write(&self, out: &mut Vec<u8>, conn: &ConversationConnection, extra: &Extra) {
        let flag = |out: &mut Vec<u8>, b: Option<bool>| {
            out.extend_from_slice(if b == Some(true) { b"true" } else { b"false" })
        };
        let cursor = |out: &mut Vec<u8>, c: Option<&str>| match c {
            Some(c) => string(out, c),
            None => out.extend_from_slice(b"null"),
        };
        self.object.write(out, |out, field| match field {
            ConnectionField::Typename => string(out, "ConversationConnection"),
            ConnectionField::Edges(edge) => {
                out.push(b'[');
                for (i, (c, node)) in conn.items().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    edge.write(out, |out, f| match f {
                        EdgeField::Typename => string(out, "ConversationEdge"),
                        EdgeField::Cursor => string(out, c),
                        EdgeField::Node(selection) => selection.write(out, node),
                    });
                }
                out.push(b']');
            }
            ConnectionField::Nodes(selection) => {
                out.push(b'[');
                for (i, (_, node)) in conn.items().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    selection.write(out, node);
                }
                out.push(b']');
            }
            ConnectionField::PageInfo(info) => info.write(out, |out, f| match f {
                PageInfoField::Typename => string(out, "PageInfo"),
                PageInfoField::HasNextPage => flag(out, extra.has_next),
                PageInfoField::HasPreviousPage => flag(out, extra.has_previous),
                PageInfoField::StartCursor => cursor(out, conn.items().next().map(|(c, _)| c)),
                PageInfoField::EndCursor => cursor(out, conn.items().last().map(|(c, _)| c)),
            }),
            ConnectionField::TotalCount => {
                out.extend_from_slice(extra.total.unwrap_or(0).to_string().as_bytes());
            }
        });
    }
}
