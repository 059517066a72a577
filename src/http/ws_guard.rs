//! Bounds of one subscription WebSocket, enforced around async-graphql's protocol handler: every
//! client message is inspected (its size first, then only its `type` and `id`) before the
//! handler parses it.
//!
//! - A message over `--max-body-bytes` closes the socket with `4413` (tungstenite refuses the
//!   frame from its header, before buffering it).
//! - A `subscribe` beyond `--max-subscriptions-per-connection` gets an `error` message with the
//!   code `TOO_MANY_SUBSCRIPTIONS` and is not run.
//! - A `subscribe` with the id of a subscription still running closes the socket with `4409`.
//! - A message that is not a JSON object with a string `type` closes it with `4400`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::WebSocketProtocols;
use axum::extract::ws::{CloseFrame, Message};
use futures_util::{sink, stream, Sink, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// `4408`: no valid `connection_init` in time.
pub const INIT_TIMEOUT: u16 = 4408;
/// `4409`: a subscription id that is already in use.
pub const DUPLICATE_ID: u16 = 4409;
/// `4413`: a message over the size limit.
pub const MESSAGE_TOO_BIG: u16 = 4413;
/// `4400`: a message that is not a protocol message.
pub const INVALID_MESSAGE: u16 = 4400;
/// `4401`: a subscription before the server acknowledged `connection_init`.
pub const UNAUTHORIZED: u16 = 4401;

/// The limits of one WebSocket connection.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// Largest client message (and frame), in bytes.
    pub max_message_bytes: usize,
    /// Time a client has to send a valid `connection_init`.
    pub init_timeout: Duration,
    /// Most subscriptions running at once.
    pub max_subscriptions: usize,
}

/// The fields of a client message the guard reads; the rest is skipped without allocating.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// What to do with a client message.
enum Verdict {
    Pass,
    /// Answer this instead of passing the message on.
    Reply(Message),
    /// Close the socket with this code and reason.
    Close(u16, String),
}

/// The subscription ids of one connection that are still running.
pub struct Guard {
    limits: WsLimits,
    legacy: bool,
    active: Mutex<HashSet<String>>,
    /// The server has sent `connection_ack`.
    acknowledged: AtomicBool,
}

fn close(code: u16, reason: impl Into<String>) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into().into(),
    }))
}

/// At most `max` bytes of `s`, cut at a character boundary (close reasons are short).
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Guard {
    pub fn new(limits: WsLimits, protocol: Option<WebSocketProtocols>) -> Arc<Self> {
        Arc::new(Self {
            limits,
            legacy: protocol == Some(WebSocketProtocols::SubscriptionsTransportWS),
            active: Mutex::new(HashSet::new()),
            acknowledged: AtomicBool::new(false),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn inspect(&self, message: &Message) -> Verdict {
        let bytes: &[u8] = match message {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
            _ => return Verdict::Pass,
        };
        if bytes.len() > self.limits.max_message_bytes {
            return Verdict::Close(MESSAGE_TOO_BIG, "Message too big".into());
        }
        let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes) else {
            return Verdict::Close(INVALID_MESSAGE, "Invalid message".into());
        };
        let Some(id) = envelope.id else {
            return Verdict::Pass;
        };
        match envelope.kind.as_str() {
            "subscribe" | "start" if !self.acknowledged.load(Ordering::Acquire) => {
                Verdict::Close(UNAUTHORIZED, "Unauthorized".into())
            }
            "subscribe" | "start" => {
                let mut active = self.active();
                if active.contains(&id) {
                    let reason = format!("Subscriber for {} already exists", cut(&id, 60));
                    return Verdict::Close(DUPLICATE_ID, reason);
                }
                if active.len() >= self.limits.max_subscriptions {
                    return Verdict::Reply(self.too_many(&id));
                }
                active.insert(id);
                Verdict::Pass
            }
            "complete" | "stop" => {
                self.active().remove(&id);
                Verdict::Pass
            }
            _ => Verdict::Pass,
        }
    }

    /// The `error` message that refuses subscription `id`.
    fn too_many(&self, id: &str) -> Message {
        let error = async_graphql::Error::from(ApiError::too_many_subscriptions(
            self.limits.max_subscriptions,
        ));
        let error = serde_json::to_value(&error).unwrap_or_default();
        // graphql-transport-ws sends a list of errors; the legacy protocol one error.
        let payload = if self.legacy {
            error
        } else {
            serde_json::Value::Array(vec![error])
        };
        let message = serde_json::json!({ "id": id, "type": "error", "payload": payload });
        Message::Text(message.to_string().into())
    }

    /// Notes a message the server sends: `connection_ack` opens the connection, a `complete`
    /// ends a subscription.
    fn sent(&self, message: &Message) {
        #[derive(Deserialize)]
        struct Complete {
            id: String,
        }
        if let Message::Text(text) = message {
            if text.as_str().starts_with(r#"{"type":"connection_ack""#) {
                self.acknowledged.store(true, Ordering::Release);
            } else if text.as_str().starts_with(r#"{"type":"complete""#) {
                if let Ok(done) = serde_json::from_str::<Complete>(text.as_str()) {
                    self.active().remove(&done.id);
                }
            }
        }
    }

    /// The client's messages that pass, for the protocol handler. Answers and close frames go
    /// to `replies`; the stream ends after a close, or at a read error (a message over the limit
    /// is answered with `4413` first).
    pub fn incoming<S>(
        self: &Arc<Self>,
        socket: S,
        replies: mpsc::Sender<Message>,
    ) -> impl Stream<Item = Result<Message, axum::Error>> + Send + 'static
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    {
        let state = (socket, self.clone(), replies);
        stream::unfold(state, |(mut socket, guard, replies)| async move {
            loop {
                let message = match socket.next().await? {
                    Ok(message) => message,
                    Err(e) => {
                        if too_long(e) {
                            let _ = replies
                                .send(close(MESSAGE_TOO_BIG, "Message too big"))
                                .await;
                        }
                        return None;
                    }
                };
                match guard.inspect(&message) {
                    Verdict::Pass => return Some((Ok(message), (socket, guard, replies))),
                    Verdict::Reply(reply) => {
                        if replies.send(reply).await.is_err() {
                            return None;
                        }
                    }
                    Verdict::Close(code, reason) => {
                        drop(message);
                        let _ = replies.send(close(code, reason)).await;
                        return None;
                    }
                }
            }
        })
    }

    /// Where the protocol handler writes: into `out`, noting completed subscriptions.
    pub fn outgoing(
        self: &Arc<Self>,
        out: mpsc::Sender<Message>,
    ) -> impl Sink<Message, Error = axum::Error> + Send + 'static {
        let guard = self.clone();
        sink::unfold(out, move |out, message: Message| {
            guard.sent(&message);
            async move {
                out.send(message)
                    .await
                    .map_err(|_| axum::Error::new("the WebSocket is closed"))?;
                Ok(out)
            }
        })
    }
}

/// Whether a read error is tungstenite refusing a message or frame over the size limit.
fn too_long(error: axum::Error) -> bool {
    use tungstenite::error::{CapacityError, Error};
    matches!(
        error.into_inner().downcast_ref::<Error>(),
        Some(Error::Capacity(CapacityError::MessageTooLong { .. }))
    )
}
