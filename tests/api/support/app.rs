//! `TestApp`: the real router over a fresh database of one backend.

use std::collections::HashMap;

use axum::Router;
use conversation_graphql::app::{self, AppOptions};
use conversation_graphql::auth::Verifier;
use conversation_graphql::db::{entity, ConversationStore};
use conversation_graphql::graphql::Limits;
use conversation_graphql::transfer;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::{json, Value};
use uuid::Uuid;

use super::database::{Backend, TestDb};
use super::fixtures::{default_record, input, merge, FIELDS};
use super::standby::Standby;
use super::wait_until;

/// Options with HS256 tokens signed with `secret` required.
pub fn hs256_options(secret: &[u8]) -> AppOptions {
    AppOptions {
        auth: Some(Verifier::hs256(secret).expect("a valid secret")),
        ..AppOptions::default()
    }
}

/// Options with the default limits as `set` changes them.
pub fn limited(set: impl FnOnce(&mut Limits)) -> AppOptions {
    let mut limits = Limits::default();
    set(&mut limits);
    AppOptions {
        limits,
        ..AppOptions::default()
    }
}

pub struct TestApp {
    pub(crate) router: Router,
    /// The state behind the router (its event bus, store, schema).
    pub state: app::AppState,
    /// The `Authorization` header `post` sends, if any.
    pub token: Option<String>,
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// A URL that reaches this test's database from another pool or process.
    pub url: String,
    /// The PostgreSQL schema or MySQL database made for this test.
    pub db_name: Option<String>,
    /// The PostgreSQL `LISTEN` channel of this app's event bus.
    events_channel: Option<String>,
    /// The connection limits `serve_http` serves with.
    connection: conversation_graphql::http::serve::ConnectionLimits,
    _db: TestDb,
}

impl TestApp {
    /// A fresh app on `backend` (which must be configured).
    pub async fn with_options(backend: Backend, mut options: AppOptions) -> TestApp {
        let test_db = TestDb::create(backend).await;
        let events_channel = match (backend, &test_db.name) {
            // Tests share the database: each listens on a channel of its own.
            (Backend::Postgres, Some(schema)) => Some(format!("events_{schema}")),
            _ => None,
        };
        if let Some(channel) = &events_channel {
            options.events_channel = channel.clone();
        }
        let (router, state) = app::build(test_db.db.clone(), &options);
        TestApp {
            router,
            state,
            token: None,
            db: test_db.db.clone(),
            backend,
            url: test_db.url.clone(),
            db_name: test_db.name.clone(),
            events_channel,
            connection: options.connection,
            _db: test_db,
        }
    }

    /// A fresh app on the harness's PostgreSQL primary whose queries read from its standby
    /// (health checked every `retry`), once the standby has replayed the test's schema.
    pub async fn with_standby(
        standby: &Standby,
        options: AppOptions,
        retry: std::time::Duration,
    ) -> TestApp {
        let (primary, read) = (&standby.pair.primary_url, &standby.pair.standby_url);
        let app = Self::with_read_url(primary, read, options, retry).await;
        standby.caught_up().await;
        let read = app.state.store.read_pool().expect("a read pool");
        assert!(read.is_up(), "the standby answers");
        app
    }

    /// A fresh app in a new schema on the PostgreSQL server `primary`, whose queries read
    /// from `read_url` (the same schema there), health checked every `retry`.
    pub async fn with_read_url(
        primary: &str,
        read_url: &str,
        mut options: AppOptions,
        retry: std::time::Duration,
    ) -> TestApp {
        let test_db = TestDb::create_on(Backend::Postgres, primary.to_owned()).await;
        let schema = test_db.name.clone().expect("a PostgreSQL test schema");
        let settings = conversation_graphql::db::PoolSettings {
            max_connections: 4,
            acquire_timeout: std::time::Duration::from_secs(1),
            schema: Some(schema.clone()),
            ..Default::default()
        };
        let read = conversation_graphql::db::open_read_pool(read_url, &settings, retry)
            .await
            .expect("the read pool");
        let channel = format!("events_{schema}");
        options.events_channel = channel.clone();
        let (router, state) = app::build_with_read_pool(test_db.db.clone(), Some(read), &options);
        TestApp {
            router,
            state,
            token: None,
            db: test_db.db.clone(),
            backend: Backend::Postgres,
            url: test_db.url.clone(),
            db_name: Some(schema),
            events_channel: Some(channel),
            connection: options.connection,
            _db: test_db,
        }
    }

    /// Serves the router on a real loopback port as the binary does (connection limits
    /// included); returns the address.
    pub async fn serve_http(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(conversation_graphql::http::serve::serve(
            listener,
            self.router.clone(),
            self.connection,
            std::future::pending(),
        ));
        addr
    }

    /// Waits until at least `n` subscriptions are registered on the event bus and, on
    /// PostgreSQL, its listener is `LISTEN`ing, so that the next write reaches them.
    pub async fn wait_for_subscribers(&self, n: usize) {
        let events = &self.state.events;
        wait_until(&format!("{n} subscribers registered"), || async {
            events.subscriber_count() >= n
        })
        .await;
        self.wait_for_listener().await;
    }

    /// On PostgreSQL, waits until the event bus's listener is `LISTEN`ing (it holds one pool
    /// connection from then on); elsewhere there is none to wait for.
    async fn wait_for_listener(&self) {
        if let Some(channel) = &self.events_channel {
            let sql = format!(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'idle' AND query LIKE 'LISTEN %{channel}%'"
            );
            wait_until("the event listener is listening", || async {
                let stmt = sea_orm::Statement::from_string(self.db.get_database_backend(), &sql);
                matches!(self.db.query_all_raw(stmt).await, Ok(rows) if !rows.is_empty())
            })
            .await;
        }
    }

    /// Runs a document that must fail with error `code` and change no row; returns the error.
    pub async fn refused(&self, query: &str, variables: Value, code: &str) -> Value {
        let before = self.snapshot().await;
        let err = self.error(query, variables.clone()).await;
        let what = format!("{query} with {variables}");
        assert_eq!(err["extensions"]["code"], code, "{what}: {err}");
        assert_eq!(self.snapshot().await, before, "{what}: nothing changed");
        err
    }

    /// Creates a conversation through the API; `overrides` patch the seed's example.
    pub async fn create(&self, overrides: Value) -> Value {
        let data = self
            .data(
                &format!("mutation($input: CreateConversationInput!) {{ createConversation(input: $input) {{ {FIELDS} }} }}"),
                json!({ "input": input(overrides) }),
            )
            .await;
        data["createConversation"].clone()
    }

    /// How many conversations `filter` matches (`totalCount`), deleted ones too when asked.
    pub async fn count(&self, filter: Value, include_deleted: bool) -> i64 {
        let data = self
            .data(
                "query($f: ConversationFilter, $d: Boolean) { conversations(filter: $f, includeDeleted: $d) { totalCount } }",
                json!({ "f": filter, "d": include_deleted }),
            )
            .await;
        data["conversations"]["totalCount"]
            .as_i64()
            .expect("totalCount")
    }

    /// Every stored row, in id order: to check that a failed request changed nothing.
    pub async fn snapshot(&self) -> Vec<entity::Model> {
        entity::Entity::find()
            .order_by_asc(entity::Column::Id)
            .all(&self.db)
            .await
            .expect("snapshot")
    }

    /// Imports conversations given as NDJSON patches of [`default_record`] (an `id` is made
    /// for a line without one); returns their ids by name. Every line must be accepted.
    pub async fn import_rows(&self, patches: &str) -> HashMap<String, Uuid> {
        let mut records = String::new();
        let mut ids = HashMap::new();
        for line in patches.lines().filter(|l| !l.trim().is_empty()) {
            let mut record = default_record();
            merge(&mut record, json!({ "id": Uuid::new_v4() }));
            merge(
                &mut record,
                serde_json::from_str(line).expect("a JSON line"),
            );
            let name = record["name"].as_str().expect("a name").to_owned();
            ids.insert(name, record["id"].as_str().unwrap().parse().unwrap());
            records.push_str(&format!("{record}\n"));
        }
        let store = ConversationStore::new(self.db.clone());
        let options = transfer::ImportOptions::default();
        let summary = transfer::import_text(&store, &records, &options, &mut ())
            .await
            .expect("import runs");
        assert!(summary.rejections.is_empty(), "{:?}", summary.rejections);
        ids
    }

    /// Stores a row directly (for timestamps the API never lets a client choose, legacy
    /// sentinels and nil owners).
    pub async fn insert_raw(&self, row: entity::Model) {
        ConversationStore::new(self.db.clone())
            .insert_models(&[row], false)
            .await
            .expect("insert raw row");
    }
}
