//! The test harness: a fresh database per test, the real router, real GraphQL documents.
//!
//! Every test runs on SQLite (a new file); when `TEST_POSTGRES_URL` is set, on PostgreSQL (a new
//! schema, dropped afterwards); and when `TEST_MYSQL_URL` is set, on MySQL/MariaDB (a new
//! database, dropped afterwards). Tests are written once as `async fn name(app: TestApp)` and
//! listed in `backend_tests!`, which makes one `#[tokio::test]` per backend.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use conversation_graphql::app::{self, AppOptions};
use conversation_graphql::db::{self, entity, ConversationStore, PoolSettings};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// Removes the test's database when the test ends.
enum Cleanup {
    File(PathBuf),
    Schema { url: String, schema: String },
    Database { url: String, database: String },
}

/// Runs `sql` on a fresh pool for `url`, from a runtime of its own (`Drop` can't await).
fn run_detached(url: String, sql: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            if let Ok(conn) = db::connect(&url, &PoolSettings::default()).await {
                let _ = conn.execute_unprepared(&sql).await;
                let _ = conn.close().await;
            }
        });
    })
    .join();
}

/// Drops a MySQL test database. A failed test may leave a transaction open on one of its
/// connections (the pool closes them lazily), and `DROP DATABASE` would wait for it for as long
/// as `lock_wait_timeout` (a year): the test's own connections are killed first.
fn drop_mysql_database(url: String, database: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let Ok(conn) = db::connect(&url, &PoolSettings::default()).await else {
                return;
            };
            let ours = sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{database}' \
                     AND ID <> CONNECTION_ID()"
                ),
            );
            if let Ok(rows) = conn.query_all_raw(ours).await {
                for row in rows {
                    if let Ok(id) = row.try_get_by_index::<i64>(0) {
                        let _ = conn
                            .execute_unprepared(&format!("KILL CONNECTION {id}"))
                            .await;
                    }
                }
            }
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database}"))
                .await;
            let _ = conn.close().await;
        });
    })
    .join();
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| host_start + i);
    format!("{}/{database}{query}", &base[..host_end])
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Schema { url, schema } => {
                run_detached(
                    url.clone(),
                    // A failed test may leave a transaction open (see `drop_mysql_database`).
                    format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE"),
                );
            }
            Cleanup::Database { url, database } => {
                drop_mysql_database(url.clone(), database.clone());
            }
        }
    }
}

pub struct TestApp {
    router: Router,
    /// The state behind the router (its event bus, store, schema).
    pub state: conversation_graphql::app::AppState,
    /// The `Authorization` header `post` sends, if any.
    pub token: Option<String>,
    pub db: DatabaseConnection,
    #[allow(dead_code)]
    pub backend: Backend,
    /// A URL that reaches this test's database from another pool or process.
    #[allow(dead_code)]
    pub url: String,
    /// The connection limits `serve_http` serves with.
    connection: conversation_graphql::http::serve::ConnectionLimits,
    _cleanup: Cleanup,
}

/// A response: status, headers and the JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl TestApp {
    /// A fresh app on `backend`, or `None` when that backend is not configured.
    pub async fn with_options(backend: Backend, mut options: AppOptions) -> Option<TestApp> {
        // Server logs (internal error causes included) show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let (db, url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("cg-test-{}.db", Uuid::new_v4()));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let settings = PoolSettings {
                    max_connections: 4,
                    ..PoolSettings::default()
                };
                let db = db::connect(&url, &settings).await.expect("open sqlite");
                (db, url, Cleanup::File(path))
            }
            Backend::Postgres => {
                let url = std::env::var("TEST_POSTGRES_URL").ok()?;
                let schema = format!("t_{}", Uuid::new_v4().simple());
                admin_execute(&url, &format!("CREATE SCHEMA {schema}")).await;
                let settings = PoolSettings {
                    max_connections: 4,
                    schema: Some(schema.clone()),
                    ..PoolSettings::default()
                };
                let db = db::connect(&url, &settings).await.expect("connect");
                // Tests share the database: each listens on a channel of its own.
                options.events_channel = format!("events_{schema}");
                let sep = if url.contains('?') { '&' } else { '?' };
                let own = format!("{url}{sep}options=-c%20search_path%3D{schema}");
                (db, own, Cleanup::Schema { url, schema })
            }
            Backend::MySql => {
                let url = std::env::var("TEST_MYSQL_URL").ok()?;
                let database = format!("t_{}", Uuid::new_v4().simple());
                admin_execute(&url, &format!("CREATE DATABASE {database}")).await;
                let settings = PoolSettings {
                    max_connections: 4,
                    ..PoolSettings::default()
                };
                let own = with_database(&url, &database);
                let db = db::connect(&own, &settings).await.expect("connect");
                (db, own, Cleanup::Database { url, database })
            }
        };
        db::migrate(&db).await.expect("migrate");
        let (router, state) = app::build(db.clone(), &options);
        Some(TestApp {
            router,
            state,
            token: None,
            db,
            backend,
            url,
            connection: options.connection,
            _cleanup: cleanup,
        })
    }

    /// Serves the router on a real loopback port as the binary does (connection limits
    /// included); returns the address.
    pub async fn serve_http(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = conversation_graphql::http::serve::serve(
            listener,
            self.router.clone(),
            self.connection,
            std::future::pending(),
        );
        tokio::spawn(serving);
        addr
    }

    /// Sends a raw HTTP request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `POST /graphql` with a JSON body and an optional `Accept`.
    pub async fn post(&self, body: Value, accept: Option<&str>) -> Reply {
        self.post_as(body, accept, self.token.as_deref()).await
    }

    /// `POST /graphql` with an explicit `Authorization` header value (or none).
    pub async fn post_as(
        &self,
        body: Value,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Reply {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        if let Some(auth) = authorization {
            request = request.header("authorization", auth);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// The same app, sending `Authorization: <authorization>` from now on.
    pub fn as_caller(&mut self, authorization: &str) -> &mut Self {
        self.token = Some(authorization.to_owned());
        self
    }

    /// Runs a document; returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.post(json!({ "query": query, "variables": variables }), None)
            .await
            .body
    }

    /// Runs a document that must succeed; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected errors: {body:#}\nquery: {query}"
        );
        body["data"].clone()
    }

    /// Runs a document that must fail; returns the first error.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        body["errors"][0].clone()
    }

    /// Creates a conversation through the API; `input` overrides the defaults.
    pub async fn create(&self, overrides: Value) -> Value {
        let mut input = default_input();
        merge(&mut input, overrides);
        let data = self
            .data(
                &format!("mutation($input: CreateConversationInput!) {{ createConversation(input: $input) {{ {FIELDS} }} }}"),
                json!({ "input": input }),
            )
            .await;
        data["createConversation"].clone()
    }

    /// Every stored row, in id order: to check that a failed request changed nothing.
    pub async fn snapshot(&self) -> Vec<entity::Model> {
        entity::Entity::find()
            .order_by_asc(entity::Column::Id)
            .all(&self.db)
            .await
            .expect("snapshot")
    }

    /// Stores a row directly (for timestamps the API never lets a client choose, legacy
    /// sentinels and nil owners).
    pub async fn insert_raw(&self, row: entity::Model) {
        ConversationStore::new(self.db.clone())
            .insert_models(&[row])
            .await
            .expect("insert raw row");
    }
}

/// The fields every test selects.
pub const FIELDS: &str = "id customerId ownerType ownerId accountId name detail type dialogId \
    self { type target targetName name detail } peer { type target targetName name detail } \
    tmCreate tmUpdate tmDelete";

pub const CUSTOMER: &str = "5e4a0680-804e-11ec-8477-2fea5968d85b";
pub const ACCOUNT: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
pub const AGENT: &str = "3a4b5c6d-7e8f-9012-3456-789abcdef012";

/// The seed's example conversation as a create input.
pub fn default_input() -> Value {
    json!({
        "customerId": CUSTOMER,
        "ownerId": AGENT,
        "accountId": ACCOUNT,
        "name": "conversation",
        "detail": "conversation detail",
        "type": "MESSAGE",
        "dialogId": "+673802",
        "self": { "type": "TEL", "target": "+14703298699" },
        "peer": { "type": "TEL", "target": "+673802" }
    })
}

/// Deep-merges `patch` into `base` (objects merge, anything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A stored row with the seed's values; tweak the fields a test needs.
pub fn raw_row(tm_create: DateTime<Utc>) -> entity::Model {
    entity::Model {
        id: Uuid::new_v4(),
        customer_id: CUSTOMER.parse().unwrap(),
        owner_type: "agent".into(),
        owner_id: Some(AGENT.parse().unwrap()),
        account_id: ACCOUNT.parse().unwrap(),
        name: "conversation".into(),
        detail: "conversation detail".into(),
        kind: "message".into(),
        dialog_id: "+673802".into(),
        self_type: "tel".into(),
        self_target: "+14703298699".into(),
        self_target_name: String::new(),
        self_name: String::new(),
        self_detail: String::new(),
        peer_type: "tel".into(),
        peer_target: "+673802".into(),
        peer_target_name: String::new(),
        peer_name: String::new(),
        peer_detail: String::new(),
        tm_create,
        tm_update: None,
        tm_delete: None,
    }
}

/// The legacy "not yet" sentinel, `9999-01-01 00:00:00.000000`.
pub fn sentinel() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The ids of a `conversations` answer, in order.
pub fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Makes one `#[tokio::test]` per backend for each listed `async fn(TestApp)`. With
/// `options = f;` first, each app is built with `super::f()` as its `AppOptions`.
#[macro_export]
macro_rules! backend_tests {
    (options = $opts:ident; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::support::TestApp::with_options(
                        $crate::support::Backend::Sqlite,
                        super::$opts(),
                    )
                    .await
                    .expect("sqlite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    match $crate::support::TestApp::with_options(
                        $crate::support::Backend::Postgres,
                        super::$opts(),
                    )
                    .await
                    {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("TEST_POSTGRES_URL not set: skipped on PostgreSQL"),
                    }
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test]
                async fn $name() {
                    match $crate::support::TestApp::with_options(
                        $crate::support::Backend::MySql,
                        super::$opts(),
                    )
                    .await
                    {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("TEST_MYSQL_URL not set: skipped on MySQL"),
                    }
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(options = default_options; $($name),*);
        #[allow(dead_code)]
        fn default_options() -> conversation_graphql::app::AppOptions {
            conversation_graphql::app::AppOptions::default()
        }
    };
}

/// A server process of the real binary, killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    /// Every log line it printed so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--listen 127.0.0.1:0`) and waits for it to serve.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        Self::start_under(&[], args, env)
    }

    /// Like `start`, through `wrapper` (a command that ends by running its arguments, e.g.
    /// `sh -c 'ulimit -n 300 && exec "$@"' sh`).
    pub fn start_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        let bin = env!("CARGO_BIN_EXE_conversation-graphql");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = std::process::Command::new(program);
                cmd.args(rest).arg(bin);
                cmd
            }
            None => std::process::Command::new(bin),
        };
        for var in [
            "JWT_SECRET",
            "JWT_PUBLIC_KEY",
            "DATABASE_URL",
            "LISTEN",
            "DB_SCHEMA",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("NO_COLOR", "1").envs(env.iter().copied());
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("GraphiQL: http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the server logs its GraphiQL URL")
            .parse()
            .expect("an address");
        ServerProcess { child, addr, logs }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST /graphql` over a plain TCP connection; returns the status and JSON body.
pub async fn http_post(
    addr: std::net::SocketAddr,
    body: &Value,
    authorization: Option<&str>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response[9..12].parse().expect("status");
    let json = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An `Authorization` value with an HS256 token for this caller, valid for ten minutes.
pub fn bearer_for(
    secret: &[u8],
    role: conversation_graphql::auth::Role,
    customer: &str,
    agent: Option<&str>,
) -> String {
    let caller = conversation_graphql::auth::Caller {
        role,
        customer_id: customer.parse().expect("customer uuid"),
        agent_id: agent.map(|a| a.parse().expect("agent uuid")),
    };
    let token = conversation_graphql::auth::mint_hs256(
        secret,
        &caller,
        std::time::Duration::from_secs(600),
    )
    .expect("mint");
    format!("Bearer {token}")
}

/// Runs one statement on a short-lived connection to `url` (creating test schemas and
/// databases).
pub async fn admin_execute(url: &str, sql: &str) {
    let admin = db::connect(url, &PoolSettings::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    admin
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = admin.close().await;
}
