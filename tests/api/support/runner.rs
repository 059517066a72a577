//! The test runner (`harness = false`, on libtest-mimic): every test is a trial per backend,
//! named as the built-in harness would (`crud::postgres::unknown_id_is_null`), so
//! `cargo test --test api NAME` filters as usual.
//!
//! - A backend that is not configured: its trials are reported as ignored, with the variable
//!   to set, and a summary line says how many ran where and how many were skipped.
//! - A backend that is configured but unreachable: its trials fail.
//! - Tests that need NATS (`nats:` in [`backend_tests!`]) run only when `TEST_NATS_URL` is set
//!   (reported as ignored otherwise, and counted as skipped in the summary); when it is set
//!   and NATS cannot be reached, they fail.
//! - A failing trial's message carries the server's warnings and errors logged during it.

use std::future::Future;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use conversation_graphql::app::AppOptions;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::standby::Availability;
use super::{Backend, TestApp};

pub type TestFuture = Pin<Box<dyn Future<Output = ()>>>;

enum Body {
    /// `async fn(TestApp)` on a fresh app built with these options.
    App {
        options: fn() -> AppOptions,
        run: fn(TestApp) -> TestFuture,
    },
    /// `async fn()`: sets up what it needs itself.
    Plain(fn() -> TestFuture),
}

/// One test, before it becomes a trial.
pub struct Test {
    name: String,
    backend: Option<Backend>,
    ignored: bool,
    /// What it needs beyond its backend (a PostgreSQL standby), checked before it runs.
    needs: Option<fn() -> Availability>,
    body: Body,
}

/// `api::auth` and `["hs", "sqlite", "role_matrix"]` → `auth::hs::sqlite::role_matrix`.
fn test_name(module: &str, parts: &[&str]) -> String {
    let module = module.split_once("::").map_or("", |(_, rest)| rest);
    std::iter::once(module)
        .chain(parts.iter().copied())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("::")
}

/// The variable that names the NATS server (with JetStream) the `nats:` tests use.
pub const NATS_VARIABLE: &str = "TEST_NATS_URL";

/// Whether `TEST_NATS_URL` is set.
pub fn nats_configured() -> bool {
    std::env::var(NATS_VARIABLE).is_ok_and(|u| !u.is_empty())
}

/// Whether the `nats:` tests can run: only with `TEST_NATS_URL` set.
fn nats_availability() -> Availability {
    if nats_configured() {
        Availability::Ready
    } else {
        Availability::Skip(format!("{NATS_VARIABLE} not set"))
    }
}

impl Test {
    /// `run` on a fresh `backend` app, named `module[::group]::backend::name`.
    pub fn on(
        backend: Backend,
        module: &str,
        group: &str,
        name: &str,
        options: fn() -> AppOptions,
        run: fn(TestApp) -> TestFuture,
    ) -> Test {
        Test {
            name: test_name(module, &[group, backend.slug(), name]),
            backend: Some(backend),
            ignored: false,
            needs: None,
            body: Body::App { options, run },
        }
    }

    /// `run` with no app of the runner's, named `module::name`.
    pub fn plain(module: &str, name: &str, run: fn() -> TestFuture) -> Test {
        Test {
            name: test_name(module, &[name]),
            backend: None,
            ignored: false,
            needs: None,
            body: Body::Plain(run),
        }
    }

    /// Needs the NATS server of `TEST_NATS_URL`: skipped (and counted so) when it is not set.
    pub fn needs_nats(self) -> Test {
        Test {
            needs: Some(nats_availability),
            ..self
        }
    }

    /// `run` with a PostgreSQL primary and hot standby of the harness's own (see
    /// `support::standby`), named `module::postgres::name`.
    pub fn standby(module: &str, name: &str, run: fn() -> TestFuture) -> Test {
        Test {
            name: test_name(module, &[Backend::Postgres.slug(), name]),
            backend: Some(Backend::Postgres),
            ignored: false,
            needs: Some(super::standby::availability),
            body: Body::Plain(run),
        }
    }

    /// Run only when asked for (`-- --ignored`): measurements, not checks.
    pub fn ignored(self) -> Test {
        Test {
            ignored: true,
            ..self
        }
    }

    fn execute(self, probe: Option<&Probe>) -> Result<(), Failed> {
        if let (Some(backend), Some(probe)) = (self.backend, probe) {
            if let Err(e) = probe.get_or_init(|| block_on(backend.probe())) {
                return Err(format!(
                    "{} is set, but {} cannot be used: {e}",
                    backend.variable().unwrap_or("SQLite"),
                    backend.label()
                )
                .into());
            }
        }
        let logs = Logs::default();
        let _logging = tracing::subscriber::set_default(logs.subscriber());
        let backend = self.backend;
        let _panics = PanicCapture::start();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            block_on(async move {
                match self.body {
                    Body::App { options, run } => {
                        let backend = backend.expect("an app test has a backend");
                        run(TestApp::with_options(backend, options()).await).await
                    }
                    Body::Plain(run) => run().await,
                }
            })
        }));
        outcome.map_err(|_| {
            let mut message = PANICS.with(|p| p.take().join("\n"));
            let logged = logs.text();
            if !logged.is_empty() {
                message.push_str(&format!("\n--- server log ---\n{logged}"));
            }
            message.into()
        })
    }
}

thread_local! {
    /// Whether this thread runs a trial, and what panicked on it (where, and the message).
    static IN_TRIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANICS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// While alive, panics on this thread are kept for the trial's failure message instead of
/// being printed as they happen (the built-in harness captures them the same way).
struct PanicCapture;

impl PanicCapture {
    fn start() -> PanicCapture {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !IN_TRIAL.with(|t| t.get()) {
                    return default(info);
                }
                let mut text = info.to_string();
                let trace = std::backtrace::Backtrace::capture();
                if trace.status() == std::backtrace::BacktraceStatus::Captured {
                    text.push_str(&format!("\nstack backtrace:\n{trace}"));
                }
                PANICS.with(|p| p.borrow_mut().push(text));
            }));
        });
        PANICS.with(|p| p.borrow_mut().clear());
        IN_TRIAL.with(|t| t.set(true));
        PanicCapture
    }
}

impl Drop for PanicCapture {
    fn drop(&mut self) {
        IN_TRIAL.with(|t| t.set(false));
    }
}

/// Each test runs on a current-thread runtime of its own, as `#[tokio::test]` does.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// Whether a configured backend can be reached, checked once by the first trial that needs it.
type Probe = Arc<OnceLock<Result<(), String>>>;

/// The server's log lines (warnings and errors) during one test.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the tests as the command line asks, prints the backend summary, and exits.
pub fn run(mut tests: Vec<Test>) -> ! {
    let (args, filters) = arguments();
    if !filters.is_empty() {
        let wanted = |name: &str| {
            filters.iter().any(|f| {
                if args.exact {
                    name == f
                } else {
                    name.contains(f.as_str())
                }
            })
        };
        tests.retain(|t| wanted(&t.name));
    }
    let probes: Vec<Probe> = Backend::ALL.iter().map(|_| Probe::default()).collect();
    let mut ran = [0usize; 3];
    let mut skipped = [0usize; 3];
    // Tests skipped for what they need beyond their backend, and why.
    let mut unmet: Vec<String> = Vec::new();
    let mut trials = Vec::with_capacity(tests.len());
    for test in tests {
        let index = test
            .backend
            .map(|b| Backend::ALL.iter().position(|x| *x == b).unwrap());
        let unset = test.backend.filter(|b| !b.is_configured());
        let name = test.name.clone();
        let ignored = test.ignored;
        let skip = match (unset, test.needs.map(|needs| needs())) {
            (Some(backend), _) => Some(format!(
                "{} not set",
                backend.variable().unwrap_or_default()
            )),
            (None, Some(Availability::Skip(reason))) => Some(reason),
            _ => None,
        };
        let trial = match skip.clone() {
            Some(reason) => {
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
            }
            None => match test.needs.map(|needs| needs()) {
                Some(Availability::Broken(message)) => {
                    Trial::test(name, move || Err(message.into()))
                }
                _ => {
                    let probe = index.map(|i| probes[i].clone());
                    Trial::test(name, move || test.execute(probe.as_ref()))
                }
            },
        }
        .with_ignored_flag(ignored);
        if let Some(i) = index {
            if !args.is_filtered_out(&trial) && !args.is_ignored(&trial) {
                match (unset, skip) {
                    (Some(_), _) => skipped[i] += 1,
                    (None, Some(reason)) => unmet.push(reason),
                    (None, None) => ran[i] += 1,
                }
            }
        }
        trials.push(trial);
    }
    let list = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    super::standby::teardown();
    if !list {
        println!("backends: {}\n", super::summary::line(ran, skipped, &unmet));
    }
    conclusion.exit()
}

/// The command line. libtest-mimic takes one name filter; `cargo test a b` passes several: when
/// there are more than one, they are taken out and returned to be applied here.
fn arguments() -> (Arguments, Vec<String>) {
    const WITH_VALUE: [&str; 6] = [
        "--test-threads",
        "--logfile",
        "--skip",
        "--color",
        "--format",
        "-Z",
    ];
    let mut raw = std::env::args();
    let mut kept: Vec<String> = raw.next().into_iter().collect();
    let mut filters = Vec::new();
    while let Some(arg) = raw.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            kept.push(arg);
            kept.extend(raw.next());
        } else if arg.starts_with('-') {
            kept.push(arg);
        } else {
            filters.push(arg);
        }
    }
    if filters.len() == 1 {
        kept.append(&mut filters);
    }
    (Arguments::from_iter(kept), filters)
}

/// Declares a test module's tests: `pub(crate) fn trials()`, listed in `main.rs`.
///
/// ```ignore
/// backend_tests! {
///     a, b;                      // async fn(TestApp) on every backend, default options
///     mod tight(tight_options): c; // ... with `tight_options()`, named `module::tight::…`
///     postgres: d;               // async fn(TestApp) on PostgreSQL only
///     standalone: e;             // async fn(): no app; sets up what it needs
///     nats: g;                   // async fn(TestApp) on every backend, with TEST_NATS_URL
///     standby: g;                // async fn(): with the harness's PostgreSQL standby
///     measurement: f;            // async fn(), run only with `-- --ignored`
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    (@add $t:ident) => {};
    (@add $t:ident mod $group:ident($opts:ident): $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $crate::backend_tests!(@each $t [$crate::support::Backend::ALL] stringify!($group), $opts; $($name),+);
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident postgres: $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $crate::backend_tests!(@each $t [[$crate::support::Backend::Postgres]] "", ::conversation_graphql::app::AppOptions::default; $($name),+);
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident standalone: $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $( $t.push($crate::support::runner::Test::plain(module_path!(), stringify!($name), || Box::pin($name()))); )+
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident nats: $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        for backend in $crate::support::Backend::ALL {
            $(
                $t.push($crate::support::runner::Test::on(
                    backend,
                    module_path!(),
                    "",
                    stringify!($name),
                    ::conversation_graphql::app::AppOptions::default,
                    |app| Box::pin($name(app)),
                ).needs_nats());
            )+
        }
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident standby: $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $( $t.push($crate::support::runner::Test::standby(module_path!(), stringify!($name), || Box::pin($name()))); )+
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident measurement: $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $( $t.push($crate::support::runner::Test::plain(module_path!(), stringify!($name), || Box::pin($name())).ignored()); )+
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@add $t:ident $($name:ident),+ $(,)? $(; $($rest:tt)*)?) => {
        $crate::backend_tests!(@each $t [$crate::support::Backend::ALL] "", ::conversation_graphql::app::AppOptions::default; $($name),+);
        $crate::backend_tests!(@add $t $($($rest)*)?);
    };
    (@each $t:ident [$backends:expr] $group:expr, $opts:path; $($name:ident),+) => {
        for backend in $backends {
            $(
                $t.push($crate::support::runner::Test::on(
                    backend,
                    module_path!(),
                    $group,
                    stringify!($name),
                    $opts,
                    |app| Box::pin($name(app)),
                ));
            )+
        }
    };
    ($($body:tt)+) => {
        #[allow(clippy::vec_init_then_push)]
        pub(crate) fn trials() -> Vec<$crate::support::runner::Test> {
            let mut trials = Vec::new();
            $crate::backend_tests!(@add trials $($body)+);
            trials
        }
    };
}
