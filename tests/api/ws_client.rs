//! A small `graphql-transport-ws` client for the tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a socket ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The connection dropped without one.
    Dropped,
}

impl WsClient {
    /// Connects with the given subprotocol (no handshake yet).
    pub async fn connect(addr: std::net::SocketAddr, protocol: &str) -> WsClient {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            protocol,
            "the server speaks the offered protocol"
        );
        WsClient { ws }
    }

    /// Connects and completes `connection_init` / `connection_ack`.
    pub async fn init(addr: std::net::SocketAddr, payload: Value) -> WsClient {
        let mut client = Self::connect(addr, "graphql-transport-ws").await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = client
            .next_message(Duration::from_secs(5))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next JSON message, or `None` when none comes in time or the socket ended.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(wait, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).ok(),
                Message::Ping(_) | Message::Pong(_) => continue,
                _ => return None,
            }
        }
    }

    /// The payload of the next `next` message for subscription `id`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Value> {
        let msg = self.next_message(wait).await?;
        assert_eq!(msg["type"], "next", "{msg}");
        Some(msg["payload"].clone())
    }

    /// Reads until the socket ends; how it ended.
    pub async fn ended(&mut self, wait: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the socket is still open after {wait:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Ended::Dropped,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map_or(Ended::Dropped, |f| Ended::Closed(f.code.into()))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

impl WsClient {
    /// Sends any WebSocket message (an oversize or fragmented one); false when the socket is
    /// already closed.
    pub async fn send_raw(&mut self, message: Message) -> bool {
        self.ws.send(message).await.is_ok()
    }
}
