//! What the benchmarks share: a fresh database per run, the input of a created conversation,
//! and a graphql-transport-ws client socket.

use std::net::SocketAddr;
use std::path::PathBuf;

use conversation_graphql::db;
use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::{settings, Server};

/// A fresh database of one backend; dropped (schema, database or file) at the end.
pub(crate) struct Fresh {
    pub(crate) url: String,
    pub(crate) schema: Option<String>,
    admin: Option<(String, String)>,
    file: Option<String>,
}

impl Fresh {
    pub(crate) async fn new(backend: &str) -> Result<Fresh, String> {
        let name = format!("bench_{}", Uuid::new_v4().simple());
        let admin = |url: &str, sql: String| {
            let url = url.to_owned();
            async move {
                let conn = db::connect(&url, &settings(1, None))
                    .await
                    .map_err(|e| e.to_string())?;
                conn.execute_unprepared(&sql)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok::<(), String>(())
            }
        };
        Ok(match backend {
            "postgres" => {
                let url = "postgres://postgres@127.0.0.1:5432/test".to_owned();
                admin(&url, format!("CREATE SCHEMA {name}")).await?;
                Fresh {
                    admin: Some((url.clone(), format!("DROP SCHEMA {name} CASCADE"))),
                    url,
                    schema: Some(name),
                    file: None,
                }
            }
            "mysql" => {
                let server = "mysql://root@127.0.0.1:3306/test".to_owned();
                admin(&server, format!("CREATE DATABASE {name}")).await?;
                Fresh {
                    url: format!("mysql://root@127.0.0.1:3306/{name}"),
                    schema: None,
                    admin: Some((server, format!("DROP DATABASE {name}"))),
                    file: None,
                }
            }
            _ => {
                let file = format!("target/{name}.db");
                Fresh {
                    url: format!("sqlite://{file}?mode=rwc"),
                    schema: None,
                    admin: None,
                    file: Some(file),
                }
            }
        })
    }

    pub(crate) async fn drop_now(self) {
        if let Some((url, sql)) = &self.admin {
            if let Ok(conn) = db::connect(url, &settings(1, None)).await {
                let _ = conn.execute_unprepared(sql).await;
                let _ = conn.close().await;
            }
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
        }
    }

    pub(crate) async fn server(&self, exe: Option<&PathBuf>) -> Result<Server, String> {
        let pool = if self.url.starts_with("sqlite") {
            4
        } else {
            16
        };
        Server::start_exe(exe, "graphql", &self.url, self.schema.as_deref(), pool, &[]).await
    }
}

/// The `input` of a `createConversation`: connection `c`'s request `i` for `customer`, to the
/// peer number `+1470` and `peer` in 7 digits.
pub(crate) fn create_input(customer: Uuid, c: usize, i: u64, peer: u64) -> Value {
    json!({
        "customerId": customer,
        "accountId": "a1b2c3d4-e5f6-4890-abcd-ef1234567890",
        "name": format!("Bench {c}-{i}"),
        "type": "MESSAGE",
        "dialogId": "+14705550100",
        "self": { "type": "TEL", "target": "+1 (470) 555-0100" },
        "peer": { "type": "TEL", "target": format!("+1470{peer:07}") },
    })
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws socket to `addr`, not initialised yet.
pub(crate) async fn ws_connect(addr: SocketAddr) -> Result<Ws, String> {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().map_err(|_| "header")?,
    );
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// Sends `connection_init` and reads the answer (the ack, or whatever came instead).
pub(crate) async fn ws_init(ws: &mut Ws) -> Result<(), String> {
    ws.send(Message::Text(
        json!({ "type": "connection_init" }).to_string().into(),
    ))
    .await
    .map_err(|e| e.to_string())?;
    let _ack = ws.next().await;
    Ok(())
}
