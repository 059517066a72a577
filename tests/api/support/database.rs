//! The backends and a fresh database per test: a new SQLite file; a new PostgreSQL schema; a
//! new MySQL/MariaDB database. Each is removed when the test ends, passed or failed.

use std::path::PathBuf;
use std::time::Duration;

use conversation_graphql::db::{self, PoolSettings};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The variable that configures it (SQLite needs none).
    pub fn variable(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("TEST_POSTGRES_URL"),
            Backend::MySql => Some("TEST_MYSQL_URL"),
        }
    }

    /// An example value of [`Backend::variable`].
    pub fn example_url(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "postgres://…",
            Backend::MySql => "mysql://…",
        }
    }

    /// The server to create test databases on; `None` when the backend is not configured.
    pub fn server_url(self) -> Option<String> {
        match self.variable() {
            None => Some(String::new()),
            Some(var) => std::env::var(var).ok().filter(|u| !u.is_empty()),
        }
    }

    pub fn is_configured(self) -> bool {
        self.server_url().is_some()
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL",
        }
    }

    /// Its part of a test's name (`crud::postgres::unknown_id_is_null`).
    pub fn slug(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// Connects to the configured server once: `Err` says why it cannot be used.
    pub async fn probe(self) -> Result<(), String> {
        let Some(url) = self.server_url() else {
            return Err("not configured".into());
        };
        if self == Backend::Sqlite {
            return Ok(());
        }
        let settings = PoolSettings::default();
        let connect = db::connect(&url, &settings);
        match tokio::time::timeout(Duration::from_secs(15), connect).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no connection within 15 s".into()),
        }
    }
}

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub db: DatabaseConnection,
    /// A URL that reaches this database from another pool or process.
    pub url: String,
    /// The PostgreSQL schema, or the MySQL database, made for this test.
    pub name: Option<String>,
    _cleanup: Cleanup,
}

impl TestDb {
    /// A new, migrated database on `backend`, which must be configured.
    pub async fn create(backend: Backend) -> TestDb {
        let server = backend
            .server_url()
            .unwrap_or_else(|| panic!("{} is not configured", backend.label()));
        Self::create_on(backend, server).await
    }

    /// A new, migrated database on `backend` at `server` (for SQLite: a new file anyway).
    pub async fn create_on(backend: Backend, server: String) -> TestDb {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let settings = PoolSettings {
            max_connections: 4,
            ..PoolSettings::default()
        };
        let (db, url, cleanup) = match backend {
            Backend::Sqlite => {
                let file = SqliteFile::new("cg-test");
                let db = db::connect(&file.url, &settings)
                    .await
                    .expect("open sqlite");
                (db, file.url.clone(), Cleanup::File(file))
            }
            Backend::Postgres => {
                admin_execute(&server, &format!("CREATE SCHEMA {name}")).await;
                let settings = PoolSettings {
                    schema: Some(name.clone()),
                    ..settings
                };
                let db = db::connect(&server, &settings).await.expect("connect");
                let sep = if server.contains('?') { '&' } else { '?' };
                let own = format!("{server}{sep}options=-c%20search_path%3D{name}");
                let cleanup = Cleanup::Schema {
                    url: server,
                    schema: name.clone(),
                };
                (db, own, cleanup)
            }
            Backend::MySql => {
                admin_execute(&server, &format!("CREATE DATABASE {name}")).await;
                let own = with_database(&server, &name);
                let db = db::connect(&own, &settings).await.expect("connect");
                let cleanup = Cleanup::Database {
                    url: server,
                    database: name.clone(),
                };
                (db, own, cleanup)
            }
        };
        db::migrate(&db).await.expect("migrate");
        TestDb {
            db,
            url,
            name: (backend != Backend::Sqlite).then_some(name),
            _cleanup: cleanup,
        }
    }
}

/// A SQLite file in the temp directory (with its `-wal` and `-shm`), removed when dropped.
pub struct SqliteFile {
    pub path: PathBuf,
    /// `sqlite://…?mode=rwc`: created on first use.
    pub url: String,
}

impl SqliteFile {
    pub fn new(prefix: &str) -> SqliteFile {
        let path = std::env::temp_dir().join(format!("{prefix}-{}.db", Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        SqliteFile { path, url }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes the test's database when the test ends.
enum Cleanup {
    File(#[allow(dead_code)] SqliteFile),
    Schema { url: String, schema: String },
    Database { url: String, database: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(_) => {}
            Cleanup::Schema { url, schema } => {
                // A failed test may leave a transaction open (see `drop_mysql_database`).
                let sql =
                    format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE");
                detached(url.clone(), move |conn| async move {
                    let _ = conn.execute_unprepared(&sql).await;
                });
            }
            Cleanup::Database { url, database } => {
                let database = database.clone();
                detached(url.clone(), move |conn| drop_mysql_database(conn, database));
            }
        }
    }
}

/// Runs `work` on a fresh pool for `url`, from a runtime of its own (`Drop` can't await).
fn detached<F, Fut>(url: String, work: F)
where
    F: FnOnce(DatabaseConnection) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    on_own_runtime(move || async move {
        if let Ok(conn) = db::connect(&url, &PoolSettings::default()).await {
            work(conn.clone()).await;
            let _ = conn.close().await;
        }
    });
}

/// Runs `work` to its end on a thread with a runtime of its own: from `Drop`, where the test's
/// runtime may be gone and nothing can be awaited.
pub fn on_own_runtime<M, Fut>(work: M)
where
    M: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(work())
    })
    .join();
}

/// Drops a MySQL test database. A failed test may leave a transaction open on one of its
/// connections (the pool closes them lazily), and `DROP DATABASE` would wait for it for as long
/// as `lock_wait_timeout` (a year): the test's own connections are killed first.
async fn drop_mysql_database(conn: DatabaseConnection, database: String) {
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
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
fn with_database(url: &str, database: &str) -> String {
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

/// Runs one statement on a short-lived connection to `url` (creating test schemas and
/// databases).
async fn admin_execute(url: &str, sql: &str) {
    let admin = db::connect(url, &PoolSettings::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    admin
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = admin.close().await;
}
