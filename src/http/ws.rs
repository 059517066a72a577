//! `GET /graphql/ws`: subscriptions over WebSocket, in the `graphql-transport-ws` protocol and
//! the legacy `graphql-ws` one (async-graphql-axum's `GraphQLWebSocket`).
//!
//! - The token comes in `connection_init`'s payload (`{"Authorization": "Bearer …"}`), or in
//!   the upgrade request's `Authorization` header. A bad token closes the socket with `4403`
//!   (Forbidden); subscribing before the handshake closes it with `4401` (Unauthorized).
//! - A client that stops reading is disconnected once one write has waited
//!   `ws_send_timeout`; a subscription that falls behind the event buffer gets a
//!   `SUBSCRIBER_TOO_SLOW` error and the connection is closed (`1008`).

use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use futures_util::{sink, SinkExt, StreamExt};

use super::state::AppState;
use crate::graphql::CloseConnection;

/// Prefix of connection-init errors that mean "bad credentials" (closed with 4403).
const FORBIDDEN: &str = "Forbidden: ";

/// The upgrade. A request without a GraphQL subprotocol is refused with 400 by
/// async-graphql-axum's `GraphQLProtocol` extractor.
pub async fn upgrade(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol, header_token))
}

/// The `Authorization` value a `connection_init` payload carries, in the usual spellings.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let find = |v: &serde_json::Value| {
        ["Authorization", "authorization"]
            .iter()
            .find_map(|k| v.get(k).and_then(|t| t.as_str()).map(str::to_owned))
    };
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

/// Rewrites the library's close frames into the codes of the protocol spec.
fn close_code(message: Message) -> Message {
    let Message::Close(Some(frame)) = &message else {
        return message;
    };
    let reason = frame.reason.as_str();
    let rewritten = match frame.code {
        1002 if reason.starts_with(FORBIDDEN) => Some((4403, reason[FORBIDDEN.len()..].to_owned())),
        1011 if reason.contains("handshake is not completed") => {
            Some((4401, "Unauthorized".to_owned()))
        }
        _ => None,
    };
    match rewritten {
        Some((code, reason)) => Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
        None => message,
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: GraphQLProtocol,
    header_token: Option<String>,
) {
    state.metrics.websocket(1);
    let metrics = state.metrics.clone();
    serve_connection(socket, state, protocol, header_token).await;
    metrics.websocket(-1);
}

async fn serve_connection(
    socket: WebSocket,
    state: AppState,
    protocol: GraphQLProtocol,
    header_token: Option<String>,
) {
    let (ws_sink, ws_stream) = socket.split();
    let send_timeout: Duration = state.ws_send_timeout;
    // Every write has a deadline: a client that stops reading cannot hold the connection.
    let sink = sink::unfold(ws_sink, move |mut ws, message: Message| async move {
        match tokio::time::timeout(send_timeout, ws.send(close_code(message))).await {
            Ok(Ok(())) => Ok(ws),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                tracing::warn!("closing a WebSocket whose client stopped reading");
                Err(axum::Error::new("write timed out"))
            }
        }
    });

    let close = CloseConnection::default();
    let mut data = Data::default();
    data.insert(close.clone());
    let schema = state.api.subscriptions.clone();
    let connection = GraphQLWebSocket::new_with_pair(sink, ws_stream, schema, protocol)
        .with_data(data)
        .on_connection_init(move |payload| async move {
            let token = payload_token(&payload);
            let access = state
                .authenticate_value(token.as_deref().or(header_token.as_deref()))
                .map_err(|e| async_graphql::Error::new(format!("{FORBIDDEN}{e}")))?;
            let mut data = Data::default();
            data.insert(access);
            Ok(data)
        })
        .serve();
    tokio::pin!(connection);
    tokio::select! {
        () = &mut connection => {}
        () = close.0.notified() => {
            // Let the error reach the client, then hang up.
            let _ = tokio::time::timeout(Duration::from_millis(200), &mut connection).await;
            tracing::warn!("closed a WebSocket whose subscription fell behind");
        }
    }
}
