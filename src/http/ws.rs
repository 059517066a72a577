//! `GET /graphql/ws`: subscriptions over WebSocket, in the `graphql-transport-ws` protocol and
//! the legacy `graphql-ws` one (async-graphql-axum's `GraphQLWebSocket`).
//!
//! - The token comes in `connection_init`'s payload (`{"Authorization": "Bearer …"}`), or in
//!   the upgrade request's `Authorization` header. A bad token closes the socket with `4403`
//!   (Forbidden); subscribing before the handshake closes it with `4401` (Unauthorized).
//! - A client that stops reading is disconnected once one write has waited
//!   `ws_send_timeout`; a subscription that falls behind the event buffer gets a
//!   `SUBSCRIBER_TOO_SLOW` error and the connection is closed (`1008`).
//! - A socket without a valid `connection_init` after `--ws-init-timeout-secs` is closed with
//!   `4408`; message size, subscription count and id reuse are bounded by `ws_guard`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Notify};

use super::state::AppState;
use super::ws_guard::{self, Guard};
use crate::graphql::CloseConnection;

/// Initial read buffer of a socket (tungstenite's default, 128 KiB, made every idle socket
/// cost that much); it grows to the message being read.
const READ_BUFFER: usize = 8 * 1024;

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
    let guard = Guard::new(state.ws_limits, protocol_of(&headers));
    let max = state.ws_limits.max_message_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, state, protocol, guard, header_token))
}

/// The protocol `GraphQLProtocol` picked (the first offered one that is known).
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
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

/// Rewrites the close frame of a refused `connection_init` (our own error, marked with
/// [`FORBIDDEN`]) into the protocol's `4403`. (A subscription before the handshake never
/// reaches the library: the guard closes with `4401` itself.)
fn close_code(message: Message) -> Message {
    let Message::Close(Some(frame)) = &message else {
        return message;
    };
    let reason = frame.reason.as_str();
    let rewritten = match frame.code {
        1002 if reason.starts_with(FORBIDDEN) => Some((4403, reason[FORBIDDEN.len()..].to_owned())),
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
    guard: Arc<Guard>,
    header_token: Option<String>,
) {
    state.metrics.websocket(1);
    let metrics = state.metrics.clone();
    serve_connection(socket, state, protocol, guard, header_token).await;
    metrics.websocket(-1);
}

/// Writes what the connection sends, each write with a deadline (a client that stops reading
/// cannot hold the connection), until a close frame or the end of `out`.
async fn write_all(
    mut ws: SplitSink<WebSocket, Message>,
    mut out: mpsc::Receiver<Message>,
    send_timeout: Duration,
) {
    while let Some(message) = out.recv().await {
        let message = close_code(message);
        let is_close = matches!(message, Message::Close(_));
        match tokio::time::timeout(send_timeout, ws.send(message)).await {
            Ok(Ok(())) if !is_close => {}
            Ok(_) => return,
            Err(_) => {
                tracing::warn!("closing a WebSocket whose client stopped reading");
                return;
            }
        }
    }
}

async fn serve_connection(
    socket: WebSocket,
    state: AppState,
    protocol: GraphQLProtocol,
    guard: Arc<Guard>,
    header_token: Option<String>,
) {
    let (ws_sink, ws_stream) = socket.split();
    let (out, queued) = mpsc::channel::<Message>(16);
    let writer = write_all(ws_sink, queued, state.ws_send_timeout);

    let close = CloseConnection::default();
    let mut data = Data::default();
    data.insert(close.clone());
    let initialized = Arc::new(Notify::new());
    let on_init = initialized.clone();
    let init_timeout = state.ws_limits.init_timeout;
    let incoming = guard.incoming(ws_stream, out.clone());
    let protocol_side = async move {
        let connection = GraphQLWebSocket::new_with_pair(
            guard.outgoing(out.clone()),
            incoming,
            state.api.subscriptions.clone(),
            protocol,
        )
        .with_data(data)
        .on_connection_init(move |payload| async move {
            let token = payload_token(&payload);
            let access = state
                .authenticate_value(token.as_deref().or(header_token.as_deref()))
                .map_err(|e| async_graphql::Error::new(format!("{FORBIDDEN}{e}")))?;
            on_init.notify_one();
            let mut data = Data::default();
            data.insert(access);
            Ok(data)
        })
        .serve();
        let init_deadline = async {
            tokio::select! {
                () = initialized.notified() => std::future::pending::<()>().await,
                () = tokio::time::sleep(init_timeout) => {}
            }
        };
        tokio::pin!(connection);
        tokio::select! {
            () = &mut connection => {}
            () = close.0.notified() => {
                // Let the error reach the client, then hang up.
                let _ = tokio::time::timeout(Duration::from_millis(200), &mut connection).await;
                tracing::warn!("closed a WebSocket whose subscription fell behind");
            }
            () = init_deadline => {
                let reason = "Connection initialisation timeout";
                let frame = CloseFrame { code: ws_guard::INIT_TIMEOUT, reason: reason.into() };
                let _ = out.send(Message::Close(Some(frame))).await;
            }
        }
        // Dropping the connection (and `out`) lets the writer finish what is queued.
    };
    tokio::join!(protocol_side, writer);
}
