//! Reads answer the same whatever else the document selects: `conversation(id)` and
//! `conversations` read only the columns their selection needs (look-ahead), and plain
//! selections are answered in one pass while others (fragments, repeated keys, fields that
//! read the database) take async-graphql's general path. Each field asked alone must read as
//! it does among all the others, and every form of a document must give the same answer,
//! key order included.

use serde_json::{json, Value};

use crate::support::*;

/// Every field of `Conversation`, alone, as a selection (addresses one field at a time).
const ALONE: [&str; 26] = [
    "__typename",
    "id",
    "nodeId",
    "customerId",
    "ownerType",
    "ownerId",
    "accountId",
    "name",
    "detail",
    "type",
    "dialogId",
    "tmCreate",
    "tmUpdate",
    "tmDelete",
    "version",
    "self { type }",
    "self { target }",
    "self { targetName }",
    "self { name }",
    "self { detail }",
    "peer { type }",
    "peer { target }",
    "peer { targetName }",
    "peer { name }",
    "peer { detail }",
    "peer { __typename target }",
];

const ALL: &str = "__typename id nodeId customerId ownerType ownerId accountId name detail type \
    dialogId tmCreate tmUpdate tmDelete version \
    self { __typename type target targetName name detail } \
    peer { __typename type target targetName name detail }";

/// Three rows that differ in every part: owned or not, updated, deleted.
async fn seed(app: &TestApp) -> Vec<Value> {
    let a = app.create(json!({ "name": "first", "detail": "d1" })).await;
    let b = app
        .create(
            json!({ "ownerId": null, "type": "LINE", "dialogId": "Uroom",
                         "peer": { "type": "LINE", "target": "Ufriend", "name": "Pat" } }),
        )
        .await;
    let c = app.create(json!({ "name": "third" })).await;
    app.data(
        "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { id } }",
        json!({ "id": a["id"] }),
    )
    .await;
    app.data(
        "mutation($id: UUID!) { deleteConversation(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    vec![a["id"].clone(), b["id"].clone(), c["id"].clone()]
}

/// `value` with only the keys `selection` (one entry of [`ALONE`]) asks for.
fn pick(value: &Value, selection: &str) -> Value {
    let key = selection.split_whitespace().next().unwrap_or_default();
    let mut out = serde_json::Map::new();
    match selection.split_once('{') {
        None => {
            out.insert(key.to_owned(), value[key].clone());
        }
        Some((_, inner)) => {
            let mut sub = serde_json::Map::new();
            for k in inner.trim_end_matches('}').split_whitespace() {
                sub.insert(k.to_owned(), value[key][k].clone());
            }
            out.insert(key.to_owned(), Value::Object(sub));
        }
    }
    Value::Object(out)
}

async fn each_field_alone_reads_as_among_all(app: TestApp) {
    let ids = seed(&app).await;
    let one = |sel: &str| format!("query($id: UUID!) {{ conversation(id: $id) {{ {sel} }} }}");
    let list = |sel: &str| {
        format!(
            "{{ conversations(includeDeleted: true, first: 10) {{ edges {{ node {{ {sel} }} }} nodes {{ {sel} }} }} }}"
        )
    };
    let whole = app.data(&list(ALL), json!({})).await;
    let nodes = whole["conversations"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 3);
    for sel in ALONE {
        let got = app.data(&list(sel), json!({})).await;
        for (i, full) in nodes.iter().enumerate() {
            let want = pick(full, sel);
            assert_eq!(got["conversations"]["nodes"][i], want, "nodes {{ {sel} }}");
            assert_eq!(
                got["conversations"]["edges"][i]["node"], want,
                "edges {{ node {{ {sel} }} }}"
            );
        }
        for id in &ids {
            let full = app.data(&one(ALL), json!({ "id": id })).await;
            let got = app.data(&one(sel), json!({ "id": id })).await;
            assert_eq!(
                got["conversation"],
                pick(&full["conversation"], sel),
                "conversation(id) {{ {sel} }}"
            );
        }
    }
}

/// The text of the answer: key order counts.
async fn text(app: &TestApp, query: &str, variables: Value) -> String {
    let body = app.gql(query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body.to_string()
}

async fn plain_and_general_paths_agree(app: TestApp) {
    let ids = seed(&app).await;
    let fields = "name id peer { target type } tmUpdate ownerType";
    // The same answer asked in forms that take the one-pass path and forms that do not.
    // (the selection, fragments it uses)
    let forms = [
        (format!("{{ {fields} }}"), String::new()),
        (format!("{{ ... on Conversation {{ {fields} }} }}"), String::new()),
        ("{ ...F }".to_owned(), format!(" fragment F on Conversation {{ {fields} }}")),
        (
            "{ name @include(if: true) id peer { target type } tmUpdate ownerType }".to_owned(),
            String::new(),
        ),
        (
            "{ name id peer { target } peer { type } tmUpdate ownerType }".to_owned(),
            String::new(),
        ),
        (
            "{ name id @skip(if: false) peer { ... on Address { target type } } tmUpdate ownerType }"
                .to_owned(),
            String::new(),
        ),
    ];
    let mut answers = Vec::new();
    for (form, fragments) in &forms {
        let one = format!("query($id: UUID!) {{ conversation(id: $id) {form} }}{fragments}");
        let mut texts = Vec::new();
        for id in &ids {
            texts.push(text(&app, &one, json!({ "id": id })).await);
        }
        let list = format!(
            "{{ conversations(includeDeleted: true) {{ edges {{ cursor node {form} }} nodes {form} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}{fragments}"
        );
        texts.push(text(&app, &list, json!({})).await);
        answers.push((form, texts));
    }
    for (form, texts) in &answers[1..] {
        assert_eq!(texts, &answers[0].1, "{form} against {}", answers[0].0);
    }

    // A connection with a field that reads the database takes the general path, whole.
    let plain = text(
        &app,
        "{ conversations { pageInfo { hasNextPage } nodes { id name } } }",
        json!({}),
    )
    .await;
    let general = text(
        &app,
        "{ conversations { pageInfo { hasNextPage } nodes { id name } totalCount } }",
        json!({}),
    )
    .await;
    let mut without: Value = serde_json::from_str(&general).unwrap();
    without["data"]["conversations"]
        .as_object_mut()
        .unwrap()
        .remove("totalCount");
    assert_eq!(without.to_string(), plain);

    // Paging backwards and after a cursor: `pageInfo` reads, the pages still agree.
    let first = app
        .data(
            "{ conversations(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let cursor = first["conversations"]["edges"][0]["cursor"].clone();
    for (doc, vars) in [
        (
            "query($a: String) { conversations(first: 1, after: $a) { nodes { name } pageInfo { hasNextPage hasPreviousPage endCursor } } }",
            json!({ "a": cursor }),
        ),
        (
            "{ conversations(last: 1) { nodes { name } pageInfo { hasNextPage hasPreviousPage startCursor } } }",
            json!({}),
        ),
    ] {
        let plain = text(&app, doc, vars.clone()).await;
        let general = text(&app, &doc.replace("nodes {", "nodes { ... on Conversation { id } "), vars).await;
        let mut expected: Value = serde_json::from_str(&plain).unwrap();
        let mut got: Value = serde_json::from_str(&general).unwrap();
        for v in [&mut expected, &mut got] {
            for node in v["data"]["conversations"]["nodes"].as_array_mut().unwrap() {
                node.as_object_mut().unwrap().remove("id");
            }
        }
        assert_eq!(got, expected, "{doc}");
    }
}

crate::backend_tests!(
    each_field_alone_reads_as_among_all,
    plain_and_general_paths_agree,
);
