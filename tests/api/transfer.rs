//! Import and export (the `transfer` module through the library, and the real binary).

use std::process::Command;

use conversation_graphql::app::AppOptions;
use conversation_graphql::db::{ConversationStore, OnExisting};
use conversation_graphql::transfer::{self, ImportError, ImportOptions, ImportSummary};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

fn id(n: u128) -> String {
    Uuid::from_u128(0x0b0b_0000_0000_4000_8000_0000_0000_0000 + n).to_string()
}

/// A valid record in the source platform's shape; odd `n` use the ISO time form.
fn record(n: u128) -> Value {
    let (create, update) = if n.is_multiple_of(2) {
        (
            format!(
                "2022-06-23 05:{:02}:{:02}.{:06}",
                n / 60 % 60,
                n % 60,
                n % 1_000_000
            ),
            "2022-06-24 00:00:00.000001".to_owned(),
        )
    } else {
        (
            format!(
                "2022-06-23T05:{:02}:{:02}.{:06}Z",
                n / 60 % 60,
                n % 60,
                n % 1_000_000
            ),
            "2022-06-24T00:00:00.000001Z".to_owned(),
        )
    };
    let mut record = default_record();
    merge(
        &mut record,
        json!({
            "id": id(n),
            "name": format!("conversation {n}"),
            "tm_create": create,
            "tm_update": update,
            "tm_delete": "9999-01-01 00:00:00.000000"
        }),
    );
    record
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn store(app: &TestApp) -> ConversationStore {
    ConversationStore::new(app.db.clone())
}

async fn import(app: &TestApp, text: &str, options: ImportOptions) -> ImportSummary {
    transfer::import_text(&store(app), text, &options, &mut ())
        .await
        .expect("import runs")
}

fn keep_going() -> ImportOptions {
    ImportOptions {
        keep_going: true,
        ..ImportOptions::default()
    }
}

async fn get(app: &TestApp, id: &str) -> Value {
    app.data(
        &format!("query($id: UUID!) {{ conversation(id: $id) {{ {FIELDS} }} }}"),
        json!({ "id": id }),
    )
    .await["conversation"]
        .clone()
}

async fn stored_ids(app: &TestApp) -> Vec<String> {
    let mut ids: Vec<String> = app
        .snapshot()
        .await
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    ids.sort();
    ids
}

async fn import_reads_both_forms_sentinels_nulls_and_empty_types(app: TestApp) {
    let a = record(0); // legacy form, sentinel tm_delete
    let mut b = record(1); // ISO form, deleted, never updated
    b["tm_update"] = json!(null);
    b["tm_delete"] = json!("2023-02-01T00:00:00.5Z");
    let mut c = record(2); // nobody owns it, "" address type, no tm_update at all
    c["owner_type"] = json!("");
    c.as_object_mut().unwrap().remove("owner_id");
    c.as_object_mut().unwrap().remove("tm_update");
    c["type"] = json!("line");
    c["self"] = json!({ "type": "", "target": "" });
    c["peer"] = json!({ "type": "line", "target": "U4af4980629" });
    let mut d = record(3); // nil owner, ISO sentinel
    d["owner_type"] = json!("");
    d["owner_id"] = json!("00000000-0000-0000-0000-000000000000");
    d["tm_update"] = json!("9999-01-01T00:00:00Z");
    let mut dup = record(0); // same id as `a`: skipped
    dup["name"] = json!("the second a");
    let mut bad = record(5);
    bad["peer"]["target"] = json!("12");
    let text = ndjson(&[a, b, c, d, dup, bad]);

    let summary = import(&app, &text, keep_going()).await;
    assert_eq!(
        (
            summary.read,
            summary.inserted,
            summary.skipped,
            summary.rejected
        ),
        (6, 4, 1, 1),
        "{summary:?}"
    );
    assert_eq!(summary.stopped_at, None);
    let rejection = &summary.rejections[0];
    assert_eq!(
        (rejection.index, rejection.line, rejection.field.as_str()),
        (5, Some(6), "peer.target")
    );
    assert!(rejection.reason.contains("E.164"), "{}", rejection.reason);

    let a = get(&app, &id(0)).await;
    assert_eq!(a["tmCreate"], "2022-06-23T05:00:00.000000Z");
    assert_eq!(a["tmUpdate"], "2022-06-24T00:00:00.000001Z");
    assert_eq!(a["tmDelete"], json!(null), "the sentinel is not yet");
    assert_eq!(a["name"], "conversation 0", "the duplicate was skipped");
    assert_eq!(a["ownerType"], "AGENT");
    let b = get(&app, &id(1)).await;
    assert_eq!(b["tmCreate"], "2022-06-23T05:00:01.000001Z");
    assert_eq!(b["tmUpdate"], json!(null));
    assert_eq!(b["tmDelete"], "2023-02-01T00:00:00.500000Z");
    let c = get(&app, &id(2)).await;
    assert_eq!(
        (&c["ownerType"], &c["ownerId"]),
        (&json!(null), &json!(null))
    );
    assert_eq!(c["self"]["type"], "NONE");
    assert_eq!(c["type"], "LINE");
    assert_eq!(c["tmUpdate"], json!(null));
    let d = get(&app, &id(3)).await;
    assert_eq!(
        (&d["ownerId"], &d["tmUpdate"]),
        (&json!(null), &json!(null))
    );
    assert_eq!(get(&app, &id(5)).await, json!(null), "the bad record");

    // "Not yet" is stored as NULL, never as the sentinel or a nil owner.
    for row in app.snapshot().await {
        assert_eq!(row.tm_delete.is_some(), row.id.to_string() == id(1));
        assert!(row.owner_id.is_none_or(|o| !o.is_nil()));
        assert!(row
            .tm_update
            .is_none_or(|t| t.to_rfc3339().starts_with("2022")));
    }
    let live = app
        .data("{ conversations { totalCount } }", json!({}))
        .await;
    assert_eq!(live["conversations"]["totalCount"], 3, "b is deleted");
}

async fn a_bad_record_stops_its_batch_and_writes_none_of_it(app: TestApp) {
    let mut records: Vec<Value> = (0..5).map(record).collect();
    records[3]["customer_id"] = json!("not-a-uuid");
    let text = Value::Array(records).to_string();
    let options = ImportOptions {
        batch_size: 2,
        ..ImportOptions::default()
    };
    let summary = import(&app, &text, options).await;
    assert_eq!(summary.stopped_at, Some(2), "{summary:?}");
    assert_eq!((summary.inserted, summary.rejected), (2, 1));
    assert_eq!(summary.not_written(), 2, "records 2 and 4");
    let r = &summary.rejections[0];
    assert_eq!(
        (r.index, r.line, r.field.as_str()),
        (3, None, "customer_id")
    );
    assert_eq!(
        stored_ids(&app).await,
        vec![id(0), id(1)],
        "record 2 shares the bad batch"
    );

    // Again, skipping the bad one: what is stored is skipped, the rest written.
    let summary = import(
        &app,
        &text,
        ImportOptions {
            batch_size: 2,
            keep_going: true,
            ..ImportOptions::default()
        },
    )
    .await;
    assert_eq!(
        (summary.inserted, summary.skipped, summary.rejected),
        (2, 2, 1)
    );
    assert_eq!(stored_ids(&app).await, vec![id(0), id(1), id(2), id(4)]);
}

async fn stored_ids_are_skipped_or_replaced(app: TestApp) {
    let mut first = record(7);
    first["name"] = json!("first");
    import(&app, &ndjson(&[first.clone()]), ImportOptions::default()).await;
    let mut second = record(7);
    second["name"] = json!("second");
    second["tm_delete"] = json!("2024-01-01T00:00:00Z");

    let summary = import(&app, &ndjson(&[second.clone()]), ImportOptions::default()).await;
    assert_eq!((summary.inserted, summary.skipped), (0, 1));
    assert_eq!(get(&app, &id(7)).await["name"], "first");

    let upsert = ImportOptions {
        on_existing: OnExisting::Replace,
        ..ImportOptions::default()
    };
    let summary = import(&app, &ndjson(&[second]), upsert).await;
    assert_eq!((summary.inserted, summary.replaced), (0, 1));
    let replaced = get(&app, &id(7)).await;
    assert_eq!(replaced["name"], "second");
    assert_eq!(replaced["tmDelete"], "2024-01-01T00:00:00.000000Z");

    // The same id twice in one input: the first wins when skipping, the last when replacing.
    let (mut x, mut y) = (record(8), record(8));
    x["name"] = json!("x");
    y["name"] = json!("y");
    let summary = import(
        &app,
        &ndjson(&[x.clone(), y.clone()]),
        ImportOptions::default(),
    )
    .await;
    assert_eq!((summary.inserted, summary.skipped), (1, 1));
    assert_eq!(get(&app, &id(8)).await["name"], "x");
    let summary = import(&app, &ndjson(&[y, x]), upsert).await;
    assert_eq!((summary.inserted, summary.replaced), (0, 2));
    assert_eq!(get(&app, &id(8)).await["name"], "x", "the last one");
    assert_eq!(app.snapshot().await.len(), 2);
}

async fn every_input_shape_reads_the_same_records(app: TestApp) {
    let records: Vec<Value> = (10..13).map(record).collect();
    let array = serde_json::to_string_pretty(&records).unwrap();
    let summary = import(&app, &array, ImportOptions::default()).await;
    assert_eq!(summary.inserted, 3);
    let before = app.snapshot().await;
    let envelope = json!({ "result": records, "next_page_token": "2022-06-23 05:05:40.950834" });
    for text in [envelope.to_string(), ndjson(&records)] {
        let summary = import(&app, &text, ImportOptions::default()).await;
        assert_eq!((summary.read, summary.skipped), (3, 3), "{text}");
    }
    // One pretty-printed record is one record.
    let single = serde_json::to_string_pretty(&record(13)).unwrap();
    assert_eq!(
        import(&app, &single, ImportOptions::default())
            .await
            .inserted,
        1
    );
    // Not JSON at all: an error, and nothing written.
    let after = app.snapshot().await;
    for garbage in ["[{\"id\": 1}", "id,name\n1,x\n"] {
        let err = transfer::import_text(&store(&app), garbage, &keep_going(), &mut ())
            .await
            .unwrap_err();
        assert!(matches!(err, ImportError::Input(_)), "{err}");
    }
    assert_eq!(app.snapshot().await, after);
    assert_eq!(after.len(), before.len() + 1);
}

/// Rows of every kind: created, updated, deleted through the API; legacy rows; odd strings.
async fn varied_rows(app: &TestApp) {
    let updated = app
        .create(json!({ "name": "Ärger 😀 \"quoted\"\nline" }))
        .await;
    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: { detail: \"50% _off_ \\\\ \" }) { id } }",
        json!({ "id": updated["id"] }),
    )
    .await;
    let deleted = app.create(json!({ "ownerId": null })).await;
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": deleted["id"] }),
    )
    .await;
    app.create(
        json!({ "type": "LINE", "peer": { "type": "LINE", "target": "Uabc", "name": "név" } }),
    )
    .await;
    app.insert_raw(legacy_row(at("2021-01-02T03:04:05.000007Z")))
        .await;
}

async fn export_all(app: &TestApp, include_deleted: bool) -> String {
    let mut out = Vec::new();
    transfer::export(&store(app), &mut out, include_deleted, &mut ())
        .await
        .expect("export");
    String::from_utf8(out).expect("UTF-8")
}

async fn export_then_import_into_a_fresh_database_gives_identical_rows(app: TestApp) {
    varied_rows(&app).await;
    let exported = export_all(&app, true).await;
    let lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_api_time(&line["tm_create"]);
        assert!(!line.to_string().contains("9999"), "no sentinel: {line}");
    }
    let live = export_all(&app, false).await;
    assert_eq!(
        live.lines().count(),
        3,
        "deleted ones only with --include-deleted"
    );

    let fresh = TestApp::with_options(app.backend, AppOptions::default()).await;
    let summary = import(&fresh, &exported, ImportOptions::default()).await;
    assert_eq!((summary.inserted, summary.rejected), (4, 0), "{summary:?}");
    let scan = |a: &TestApp| {
        let s = store(a);
        async move { s.scan(None, 100, true).await.expect("scan") }
    };
    assert_eq!(
        scan(&fresh).await,
        scan(&app).await,
        "the same conversations"
    );
    assert_eq!(export_all(&fresh, true).await, exported, "the same export");
    // Rows without legacy values are stored identically, column for column.
    let plain = |rows: Vec<conversation_graphql::db::entity::Model>| {
        rows.into_iter()
            .filter(|r| r.owner_id != Some(Uuid::nil()))
            .collect::<Vec<_>>()
    };
    let (old, new) = (plain(app.snapshot().await), plain(fresh.snapshot().await));
    assert_eq!(old.len(), 3);
    assert_eq!(new.iter().filter(|r| old.contains(r)).count(), 3);
}

async fn imports_5000_records(app: TestApp) {
    let records: Vec<Value> = (0..5000).map(record).collect();
    let text = ndjson(&records);
    let summary = import(&app, &text, ImportOptions::default()).await;
    assert_eq!((summary.read, summary.inserted), (5000, 5000));
    let count = app
        .data("{ conversations { totalCount } }", json!({}))
        .await;
    assert_eq!(count["conversations"]["totalCount"], 5000);
    assert_eq!(
        get(&app, &id(4999)).await["tmCreate"],
        "2022-06-23T05:23:19.004999Z"
    );
}

/// The binary, logging only warnings (its standard output carries the export).
fn bin() -> Command {
    let mut cmd = command();
    cmd.env("LOG", "warn");
    cmd
}

async fn the_binary_imports_and_exports(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("cg-transfer-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bad = record(23);
    bad["peer"]["target"] = json!("12");
    let input = dir.join("in.ndjson");
    std::fs::write(&input, ndjson(&[record(20), record(21), record(22), bad])).unwrap();
    let url = app.url.clone();

    // A bad record without --keep-going: its batch (all four) is not written, exit 1.
    let (ok, _, err) = run(bin().args(["import", "--database-url", &url]).arg(&input));
    assert!(!ok, "{err}");
    assert!(
        err.contains("rejected record 3 (line 4): peer.target"),
        "{err}"
    );
    assert!(
        err.contains("read 4, inserted 0, replaced 0, skipped 0, rejected 1"),
        "{err}"
    );
    assert!(app.snapshot().await.is_empty());

    let (ok, _, err) = run(bin()
        .args(["import", "--keep-going", "--database-url", &url])
        .arg(&input));
    assert!(ok, "{err}");
    assert!(
        err.contains("read 4, inserted 3, replaced 0, skipped 0, rejected 1"),
        "{err}"
    );

    // Export to a file and to standard output: the same NDJSON, nothing else on stdout.
    let output = dir.join("out.ndjson");
    let (ok, _, err) = run(bin().args(["export", "--database-url", &url]).arg(&output));
    assert!(ok, "{err}");
    let file = std::fs::read_to_string(&output).unwrap();
    let (ok, stdout, err) = run(bin().args(["--database-url", &url, "export"]));
    assert!(ok, "{err}");
    assert_eq!(stdout, file);
    assert_eq!(stdout, export_all(&app, false).await);
    assert_eq!(stdout.lines().count(), 3);

    // Back in through standard input, replacing.
    let mut child = bin()
        .args(["import", "-", "--upsert", "--database-url", &url])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), file.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("read 3, inserted 0, replaced 3, skipped 0, rejected 0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

crate::backend_tests! {
    import_reads_both_forms_sentinels_nulls_and_empty_types,
    a_bad_record_stops_its_batch_and_writes_none_of_it,
    stored_ids_are_skipped_or_replaced,
    every_input_shape_reads_the_same_records,
    export_then_import_into_a_fresh_database_gives_identical_rows,
    imports_5000_records,
    the_binary_imports_and_exports;
    measurement: import_rate_100k;
}

/// The import rate on 100,000 records, on every configured backend. Not part of the suite (it
/// measures, it checks little); run it in release mode:
/// `cargo test --release --test api import_rate_100k -- --ignored --nocapture`.
async fn import_rate_100k() {
    const N: u128 = 100_000;
    let text = ndjson(&(0..N).map(record).collect::<Vec<_>>());
    for backend in Backend::ALL.into_iter().filter(|b| b.is_configured()) {
        let app = TestApp::with_options(backend, AppOptions::default()).await;
        let started = std::time::Instant::now();
        let summary = import(&app, &text, ImportOptions::default()).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(summary.inserted, N as u64);
        eprintln!(
            "{backend:?}: import of {N} records ({} MB of NDJSON) in {secs:.2} s: {:.0} records/s",
            text.len() / 1_000_000,
            N as f64 / secs
        );
        let started = std::time::Instant::now();
        let exported = export_all(&app, true).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(exported.lines().count(), N as usize);
        eprintln!(
            "{backend:?}: export of {N} records in {secs:.2} s: {:.0} records/s",
            N as f64 / secs
        );
    }
}
