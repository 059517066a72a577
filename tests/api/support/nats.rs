//! NATS for the event bus tests: the shared server of `TEST_NATS_URL`, a stream of the test's
//! own (deleted when the test ends, passed or failed), and a `nats-server` of the test's own on
//! a free port (for a bus that goes away and comes back; the shared one is never touched).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::runner::NATS_VARIABLE;

/// The NATS server of `TEST_NATS_URL`; fails the test when it does not answer.
pub fn nats_url() -> String {
    let url = std::env::var(NATS_VARIABLE).expect("the runner runs NATS tests only when set");
    let addr = url
        .trim_start_matches("nats://")
        .trim_end_matches('/')
        .to_owned();
    let reachable = addr
        .parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok());
    assert!(
        reachable,
        "{NATS_VARIABLE}={url} is set, but no NATS server answers there (start `nats-server -js`)"
    );
    url
}

/// A stream name of the test's own, deleted from `url`'s server when dropped.
pub struct TestStream {
    pub name: String,
    url: String,
}

impl TestStream {
    pub fn new(url: &str) -> TestStream {
        TestStream {
            name: format!("cg_test_{}", Uuid::new_v4().simple()),
            url: url.to_owned(),
        }
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        super::database::on_own_runtime(move || async move {
            let connect = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(url.as_str());
            if let Ok(Ok(client)) = tokio::time::timeout(Duration::from_secs(3), connect).await {
                let js = async_nats::jetstream::new(client);
                let _ = tokio::time::timeout(Duration::from_secs(3), js.delete_stream(&name)).await;
            }
        });
    }
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A `nats-server -js` of the test's own, in a temporary directory; stopped when dropped.
pub struct OwnNats {
    child: Child,
    dir: PathBuf,
}

impl OwnNats {
    /// Starts one on `port` and waits until it accepts connections. Fails the test when the
    /// `nats-server` binary is not on the PATH.
    pub fn start(port: u16) -> OwnNats {
        let dir = std::env::temp_dir().join(format!("cg-nats-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("this test starts its own `nats-server -js`, which must be on the PATH: {e}")
            });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnNats { child, dir }
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
