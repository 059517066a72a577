//! Events over NATS JetStream (`--event-bus`): three server processes on one database, on
//! every backend. Every subscriber gets every event once and in one order; the relay's holder
//! killed with SIGKILL under writes loses and repeats nothing, and its subscriber resumes on
//! another replica with `after`; a bus that is not there leaves queries and mutations working,
//! `/ready` says so, and events flow once it is there.
//!
//! They need the NATS server of `TEST_NATS_URL` (the runner skips them, and says so, when it is
//! not set); the outage test starts a `nats-server -js` of its own on a free port.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use conversation_graphql::db::events::EventLog;
use serde_json::{json, Value};

use crate::event_replicas::{count, create, data, ids, replica_args, request};
use crate::events_support::*;
use crate::support::*;

/// A server process on `app`'s database, delivering events through `bus` and `stream`.
fn bus_replica(app: &TestApp, bus: &str, stream: &str) -> ServerProcess {
    let mut args = replica_args(app);
    args.extend(
        [
            "--event-bus",
            bus,
            "--event-bus-stream",
            stream,
            "--log",
            "info",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start(&args, &[])
}

/// `GET /ready`'s body.
async fn ready(addr: SocketAddr) -> Value {
    let body = request(addr, "GET /ready HTTP/1.1", "")
        .await
        .expect("an answer");
    serde_json::from_str(&body).expect("JSON")
}

/// Waits until every server says the bus is up, and one of them relays; its index.
async fn bus_up(servers: &[ServerProcess]) -> usize {
    let holder = Arc::new(Mutex::new(None));
    wait_for("the bus up on every replica, one relay", 30, || {
        let holder = holder.clone();
        let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
        async move {
            let mut relays = Vec::new();
            for (i, addr) in addrs.iter().enumerate() {
                let r = ready(*addr).await;
                if r["eventBus"] != "up" {
                    return false;
                }
                if r["eventRelay"] == true {
                    relays.push(i);
                }
            }
            *holder.lock().unwrap() = relays.first().copied();
            relays.len() == 1
        }
    })
    .await;
    let i = holder.lock().unwrap().expect("a relay");
    i
}

/// A subscription on `addr` (after `after`, if given) whose events collect in the returned list
/// until its socket ends. Registered on the server when this returns. A subscriber the server
/// drops as too slow (a loaded machine) subscribes again after its `lastCursor`, as a client
/// should: nothing may be lost or repeated either way.
async fn collect(server: &ServerProcess, after: Option<&Value>) -> Arc<Mutex<Vec<Value>>> {
    let addr = server.addr;
    let mut client = WsClient::init(addr, json!({})).await;
    client
        .subscribe("1", &subscription(), json!({ "after": after }))
        .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    tokio::spawn(async move {
        loop {
            let mut resume = None;
            while let Some(msg) = client.next_or_end().await {
                assert_eq!(msg["type"], "next", "{msg}");
                if let Some(errors) = msg["payload"].get("errors") {
                    let ext = &errors[0]["extensions"];
                    assert_eq!(ext["code"], "SUBSCRIBER_TOO_SLOW", "{msg}");
                    resume = Some(ext["lastCursor"].clone());
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push(msg["payload"]["data"]["conversationEvents"].clone());
            }
            let Some(after) = resume else { return };
            client = WsClient::init(addr, json!({})).await;
            client
                .subscribe("1", &subscription(), json!({ "after": after }))
                .await;
        }
    });
    events
}

/// Waits until `events` holds `n`; a copy of them.
async fn holds(events: &Arc<Mutex<Vec<Value>>>, n: usize, what: &str) -> Vec<Value> {
    wait_for(&format!("{n} events on {what}"), 60, || {
        let got = events.lock().unwrap().len();
        async move { got >= n }
    })
    .await;
    let copy = events.lock().unwrap().clone();
    copy
}

/// The whole log from the database: conversation ids in position order.
async fn logged(app: &TestApp) -> Vec<String> {
    let log = EventLog::new(app.db.clone());
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let run = log.read_after(after, 1000).await.unwrap();
        let Some(last) = run.events.last() else { break };
        after = last.position;
        all.extend(run.events.iter().map(|e| e.conversation.id.to_string()));
    }
    all
}

/// Writers that create through `addrs` (`per_server` each) until `stop` is set or their server
/// is gone; the acknowledged ids go to the returned list.
fn writers(
    addrs: &[SocketAddr],
    per_server: usize,
    stop: &Arc<AtomicBool>,
    limit: usize,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<Mutex<Vec<String>>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (s, addr) in addrs.iter().enumerate() {
        for w in 0..per_server {
            let (addr, acked, stop) = (*addr, acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..limit {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match create(addr, &format!("s{s}w{w}-{i}")).await {
                        Some(id) => acked.lock().unwrap().push(id),
                        None => return,
                    }
                }
            }));
        }
    }
    (tasks, acked)
}

/// 3 replicas × 4 writers × 25 creates while a subscriber on each replica collects: each gets
/// all 300 once, all in the same order, which is the log's order.
async fn every_subscriber_every_event_once(app: TestApp) {
    let url = nats_url();
    let stream = TestStream::new(&url);
    let servers: Vec<ServerProcess> = (0..3)
        .map(|_| bus_replica(&app, &url, &stream.name))
        .collect();
    bus_up(&servers).await;
    let mut streams = Vec::new();
    for server in &servers {
        streams.push(collect(server, None).await);
        server.wait_for_subscribers(1).await;
    }
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let (tasks, acked) = writers(&addrs, 4, &Arc::new(AtomicBool::new(false)), 25);
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert_eq!(acked.len(), 300);
    // A write is acknowledged before its event is numbered (right after the commit).
    let events_log = EventLog::new(app.db.clone());
    wait_for("every event numbered", 60, || async {
        !events_log.has_pending().await.unwrap()
    })
    .await;
    let log = logged(&app).await;
    assert_eq!(log.len(), 300);
    for (i, events) in streams.iter().enumerate() {
        let got = holds(events, 300, &format!("replica {i}")).await;
        let got_ids = ids(&got);
        assert_eq!(
            got_ids, log,
            "replica {i}: every event once, in the log's order"
        );
        assert_eq!(positions(&got), (1..=300).collect::<Vec<u64>>());
        let distinct: HashSet<String> = got_ids.into_iter().collect();
        assert_eq!(distinct, acked, "replica {i}: the acknowledged creates");
    }
}

/// Subscribers on three replicas, 12 writers; SIGKILL the relay's holder mid-stream. Another
/// replica takes the relay over; the survivors' subscribers get every event once and in order
/// (also those the dead process committed without numbering them), and the dead replica's
/// subscriber resumes on a survivor with its last cursor and gets exactly the rest.
async fn sigkill_relay_holder_loses_nothing(app: TestApp) {
    let url = nats_url();
    let stream = TestStream::new(&url);
    let mut servers: Vec<ServerProcess> = (0..3)
        .map(|_| bus_replica(&app, &url, &stream.name))
        .collect();
    let holder = bus_up(&servers).await;
    let mut streams = Vec::new();
    for server in &servers {
        streams.push(collect(server, None).await);
        server.wait_for_subscribers(1).await;
    }
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (tasks, acked) = writers(&addrs, 4, &stop, usize::MAX);
    let counter = acked.clone();
    wait_for("150 acknowledged creates", 60, || {
        let n = counter.lock().unwrap().len();
        async move { n >= 150 }
    })
    .await;
    servers[holder].child.kill().expect("SIGKILL");
    let _ = servers[holder].child.wait();
    let at_kill = acked.lock().unwrap().len();
    let survivors: Vec<usize> = (0..3).filter(|i| *i != holder).collect();
    // Another replica relays, and writes go on meanwhile.
    let new_holder = Arc::new(Mutex::new(None));
    wait_for("another replica relays", 30, || {
        let new_holder = new_holder.clone();
        let survivors: Vec<(usize, SocketAddr)> =
            survivors.iter().map(|i| (*i, addrs[*i])).collect();
        async move {
            for (i, addr) in survivors {
                if ready(addr).await["eventRelay"] == true {
                    *new_holder.lock().unwrap() = Some(i);
                    return true;
                }
            }
            false
        }
    })
    .await;
    wait_for("150 more acknowledged creates", 60, || {
        let n = counter.lock().unwrap().len();
        async move { n >= at_kill + 150 }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    // Everything the dead process committed is numbered (the new holder sweeps) and relayed.
    let log = EventLog::new(app.db.clone());
    wait_for("every event numbered", 60, || async {
        !log.has_pending().await.unwrap()
    })
    .await;
    let head = log.bounds().await.unwrap().head as usize;
    let rows = count(&app.db, "SELECT COUNT(*) FROM conversations").await as usize;
    assert_eq!(head, rows, "one event per stored conversation");
    let all = logged(&app).await;
    assert_eq!(all.len(), head);
    for id in acked.lock().unwrap().iter() {
        assert!(all.contains(id), "acknowledged {id} has its event");
    }
    for i in &survivors {
        let got = holds(&streams[*i], head, &format!("survivor {i}")).await;
        assert_eq!(ids(&got), all, "survivor {i}: every event once, in order");
    }
    // The dead replica's subscriber: a prefix of the log, then the rest from a survivor.
    let before = streams[holder].lock().unwrap().clone();
    assert!(!before.is_empty(), "the killed replica delivered events");
    assert_eq!(ids(&before), all[..before.len()], "a prefix of the log");
    let cursor = before.last().unwrap()["cursor"].clone();
    let elsewhere = &servers[survivors[0]];
    let mut client = WsClient::init(elsewhere.addr, json!({})).await;
    client
        .subscribe("1", &subscription(), json!({ "after": cursor }))
        .await;
    let rest = take(&mut client, head - before.len()).await;
    let resumed: Vec<String> = ids(&before).into_iter().chain(ids(&rest)).collect();
    assert_eq!(
        resumed, all,
        "resumed on another replica: none lost, none twice"
    );
    eprintln!(
        "{:?}: killed the relay (replica {holder}) after {at_kill} acknowledged creates, \
         {head} events in all; replica {:?} took over",
        app.backend,
        new_holder.lock().unwrap()
    );
}

/// A bus address where nothing listens: queries and mutations work, `/ready` says the bus is
/// down (and the replica ready), the log says so once; once a NATS server starts there, the
/// events written meanwhile reach a subscriber on another replica, in order, and `/ready` says
/// up.
async fn bus_down_then_back(app: TestApp) {
    nats_url();
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let stream = format!("cg_down_{}", uuid::Uuid::new_v4().simple());
    let a = bus_replica(&app, &url, &stream);
    let b = bus_replica(&app, &url, &stream);
    for server in [&a, &b] {
        let r = ready(server.addr).await;
        assert_eq!(r["status"], "ready", "{r}");
        assert_eq!(r["eventBus"], "down", "{r}");
    }
    let events = collect(&b, None).await;
    b.wait_for_subscribers(1).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            create(a.addr, &format!("d{i}"))
                .await
                .expect("a mutation works"),
        );
    }
    a.wait_for_log("event bus down").await;
    b.wait_for_log("event bus down").await;
    for i in 5..10 {
        created.push(
            create(b.addr, &format!("d{i}"))
                .await
                .expect("a mutation works"),
        );
    }
    let listed = data(
        a.addr,
        "{ conversations(first: 20) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["conversations"]["totalCount"], 10, "queries work");
    for server in [&a, &b] {
        let downs = server
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("event bus down"))
            .count();
        assert_eq!(downs, 1, "the outage is logged once, not per event");
        assert_eq!(ready(server.addr).await["eventBus"], "down");
    }

    let _nats = OwnNats::start(port);
    let got = holds(&events, 10, "the subscriber after the bus came back").await;
    assert_eq!(ids(&got), created, "every event, in order");
    assert_eq!(positions(&got), (1..=10).collect::<Vec<u64>>());
    for server in [&a, &b] {
        wait_for("the bus up again", 30, || async {
            ready(server.addr).await["eventBus"] == "up"
        })
        .await;
        server.wait_for_log("event bus back up").await;
    }
    let later = create(a.addr, "after").await.expect("created");
    let got = holds(&events, 11, "the subscriber").await;
    assert_eq!(ids(&got[10..]), [later]);
}

crate::backend_tests! {
    nats:
    every_subscriber_every_event_once,
    sigkill_relay_holder_loses_nothing,
    bus_down_then_back;
}
