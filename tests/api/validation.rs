//! Every validation rule: a `BAD_USER_INPUT` naming the field, and nothing written.

use serde_json::{json, Value};

use crate::support::*;

const UPDATE: &str = "mutation($id: UUID!, $input: UpdateConversationInput!) { updateConversation(id: $id, input: $input) { id } }";

fn long(n: usize) -> String {
    "é".repeat(n)
}

const BAD: &str = "BAD_USER_INPUT";

async fn create_rules(app: TestApp) {
    app.create(json!({})).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": long(256) }), "input.name"),
        (json!({ "detail": long(4097) }), "input.detail"),
        (json!({ "dialogId": "" }), "input.dialogId"),
        (json!({ "dialogId": "   " }), "input.dialogId"),
        (json!({ "dialogId": long(256) }), "input.dialogId"),
        (
            json!({ "self": { "targetName": long(256) } }),
            "input.self.targetName",
        ),
        (json!({ "self": { "name": long(256) } }), "input.self.name"),
        (
            json!({ "peer": { "detail": long(256) } }),
            "input.peer.detail",
        ),
        (
            json!({ "peer": { "type": "NONE", "target": long(256) } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "target": "14703298699" } }),
            "input.peer.target",
        ),
        (json!({ "peer": { "target": "+12" } }), "input.peer.target"),
        (
            json!({ "peer": { "target": "+1234567890123456" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "target": "+1 470 CALL NOW" } }),
            "input.peer.target",
        ),
        (
            json!({ "self": { "type": "WHATSAPP", "target": "whatsapp me" } }),
            "input.self.target",
        ),
        (
            json!({ "peer": { "type": "EMAIL", "target": "a@b" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "EMAIL", "target": "a@@b.com" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "EMAIL", "target": "no-at.example.com" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "SIP", "target": "alice" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "SIP", "target": "@example.com" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "LINE", "target": "" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "AGENT", "target": "not-a-uuid" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "CONFERENCE", "target": "123" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "EXTENSION", "target": "" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "WEBCHAT", "target": "x" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "WEB_SESSION", "target": "x" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "AI", "target": "x" } }),
            "input.peer.target",
        ),
        (
            json!({ "peer": { "type": "AI_TEAM", "target": "x" } }),
            "input.peer.target",
        ),
        (json!({ "name": "nul\u{0}byte" }), "input.name"),
    ];
    for (patch, field) in cases {
        let err = app.refused(CREATE, create_vars(patch), BAD).await;
        assert_eq!(err["extensions"]["field"], field, "{err}");
    }
}

async fn valid_edges_are_accepted(app: TestApp) {
    let ok: Vec<Value> = vec![
        json!({ "name": long(255), "detail": long(4096), "dialogId": long(255) }),
        json!({ "peer": { "type": "NONE", "target": "" } }),
        json!({ "peer": { "type": "TEL", "target": "+673802" } }),
        json!({ "peer": { "type": "TEL", "target": "+123" } }),
        json!({ "peer": { "type": "TEL", "target": "+123456789012345" } }),
        json!({ "peer": { "type": "WHATSAPP", "target": "+44 20.7946-0958" } }),
        json!({ "peer": { "type": "EMAIL", "target": "someone@example.co.uk" } }),
        json!({ "peer": { "type": "SIP", "target": "alice@pbx" } }),
        json!({ "peer": { "type": "LINE", "target": "U4af4980629" } }),
        json!({ "peer": { "type": "AGENT", "target": "3A4B5C6D-7E8F-9012-3456-789ABCDEF012" } }),
        json!({ "peer": { "type": "AI_TEAM", "target": AGENT } }),
        json!({ "type": "LINE" }),
    ];
    for patch in ok {
        app.create(patch).await;
    }
    let c = app
        .create(json!({ "peer": { "type": "AGENT", "target": "3A4B5C6D-7E8F-9012-3456-789ABCDEF012" } }))
        .await;
    assert_eq!(
        c["peer"]["target"], AGENT,
        "UUID targets are stored lower-case"
    );
    let c = app
        .create(json!({ "peer": { "type": "WHATSAPP", "target": "+44 20.7946-0958" } }))
        .await;
    assert_eq!(c["peer"]["target"], "+442079460958");
}

async fn update_rules(app: TestApp) {
    let created = app.create(json!({})).await;
    for (input, field) in [
        (json!({ "name": long(256) }), "input.name"),
        (json!({ "detail": long(4097) }), "input.detail"),
        (
            json!({ "name": "ok", "detail": long(4097) }),
            "input.detail",
        ),
    ] {
        let vars = json!({ "id": created["id"], "input": input });
        let err = app.refused(UPDATE, vars, BAD).await;
        assert_eq!(err["extensions"]["field"], field, "{err}");
    }
}

async fn malformed_uuids_and_enums_are_bad_input(app: TestApp) {
    app.create(json!({})).await;
    let cases = [
        (
            "query($id: UUID!) { conversation(id: $id) { id } }",
            json!({ "id": "nope" }),
        ),
        ("{ conversation(id: \"123\") { id } }", json!({})),
        (CREATE, create_vars(json!({ "customerId": "x" }))),
        (CREATE, create_vars(json!({ "type": "SMS" }))),
        (CREATE, create_vars(json!({ "peer": { "type": "PHONE" } }))),
        (
            "{ conversations(filter: { tmCreate: { gt: \"yesterday\" } }) { totalCount } }",
            json!({}),
        ),
        (
            UPDATE,
            json!({ "id": uuid::Uuid::new_v4(), "input": { "ownerId": "x" } }),
        ),
    ];
    for (doc, vars) in cases {
        app.refused(doc, vars, BAD).await;
    }
}

crate::backend_tests!(
    create_rules,
    valid_edges_are_accepted,
    update_rules,
    malformed_uuids_and_enums_are_bad_input,
);
