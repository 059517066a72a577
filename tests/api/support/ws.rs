//! Subscriptions: a small `graphql-transport-ws` client, and the event checks tests share.
//!
//! Every wait has a deadline, and a socket that ends where a message is expected fails the
//! test with how it ended.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::DEADLINE;

/// `conversationEvents` with an optional filter (`$f`) and kinds (`$k`).
pub const EVENTS: &str = "subscription($f: ConversationFilter, $k: [ConversationEventKind!]) {
  conversationEvents(filter: $f, kinds: $k) { kind at conversation { id name type tmDelete customerId } }
}";

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

/// The `graphql-transport-ws` upgrade request for the server at `addr`.
pub fn upgrade_request(
    addr: SocketAddr,
    protocol: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(protocol).unwrap(),
    );
    request
}

impl WsClient {
    /// Connects with the given subprotocol (no handshake yet).
    pub async fn connect(addr: SocketAddr, protocol: &str) -> WsClient {
        let (ws, response) = tokio_tungstenite::connect_async(upgrade_request(addr, protocol))
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
    pub async fn init(addr: SocketAddr, payload: Value) -> WsClient {
        let mut client = Self::connect(addr, "graphql-transport-ws").await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = client.next_message().await;
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

    /// The next JSON message. Fails when none comes before the deadline or the socket ends.
    pub async fn next_message(&mut self) -> Value {
        loop {
            let msg = match tokio::time::timeout(DEADLINE, self.ws.next()).await {
                Err(_) => panic!("no message within {DEADLINE:?}"),
                Ok(None) | Ok(Some(Err(_))) => panic!("the socket dropped where a message was due"),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                Message::Text(t) => {
                    return serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}"))
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Close(frame) => {
                    panic!("the socket closed where a message was due: {frame:?}")
                }
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next JSON message, or `None` once the socket has ended (the server went away).
    /// Waits as long as it takes: the caller bounds it.
    pub async fn next_or_end(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The payload of the next message, which must be a `next`.
    pub async fn next_event(&mut self) -> Value {
        let msg = self.next_message().await;
        assert_eq!(msg["type"], "next", "{msg}");
        msg["payload"].clone()
    }

    /// The next `conversationEvents` event, which must be a `kind` event of conversation `id`
    /// (so nothing else came before it).
    pub async fn expect_event(&mut self, kind: &str, id: &Value) -> Value {
        let payload = self.next_event().await;
        let event = &payload["data"]["conversationEvents"];
        assert_eq!(event["kind"], kind, "{payload}");
        assert_eq!(&event["conversation"]["id"], id, "{payload}");
        assert!(event["at"].as_str().unwrap().ends_with('Z'), "{payload}");
        event.clone()
    }

    /// Reads until the socket ends; how it ended. Fails if it is still open after `wait`.
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
