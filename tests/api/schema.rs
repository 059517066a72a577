//! `schema.graphql` is exactly what the server serves.

use serde_json::json;

use crate::support::*;

async fn schema_file_matches_served_sdl() {
    let served = conversation_graphql::graphql::sdl();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    assert!(
        file == served,
        "schema.graphql is out of date: run `cargo run -- print-schema > schema.graphql`"
    );
}

async fn sdl_has_the_api_contract_names() {
    // Descriptions aside, on one line per definition.
    let sdl: String = conversation_graphql::graphql::sdl()
        .split("\"\"\"")
        .step_by(2)
        .collect::<Vec<_>>()
        .join("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")");
    for needle in [
        "enum ConversationType {",
        "enum AddressType {",
        "WEB_SESSION",
        "AI_TEAM",
        "enum OwnerType {",
        "scalar UUID",
        "scalar DateTime",
        "conversation(id: UUID!): Conversation",
        "includeDeleted: Boolean = false,",
        "orderBy: ConversationOrder = {field: TM_CREATE, direction: DESC}",
        "first: Int",
        "): ConversationConnection!",
        "totalCount: Int!",
        "input UUIDFilter {",
        // API.md, second edition, "Safe writes".
        "version: Int!",
        "createConversation(input: CreateConversationInput!, idempotencyKey: String): Conversation!",
        "updateConversation(id: UUID!, input: UpdateConversationInput!, ifVersion: Int): Conversation!",
        "deleteConversation(id: UUID!, ifVersion: Int): Conversation!",
        "restoreConversation(id: UUID!, ifVersion: Int): Conversation!",
        "updateConversations(ids: [UUID!]!, input: UpdateConversationInput!): [Conversation!]!",
        "deleteConversations(ids: [UUID!]!): [Conversation!]!",
        "restoreConversations(ids: [UUID!]!): [Conversation!]!",
        "self: Address!",
        "targetName: String = \"\"",
    ] {
        assert!(sdl.contains(needle), "SDL lacks {needle:?}");
    }
}

async fn introspection_works(app: TestApp) {
    let data = app
        .data(
            "{ __type(name: \"Conversation\") { description fields { name description } } }",
            json!({}),
        )
        .await;
    let fields = data["__type"]["fields"].as_array().unwrap();
    assert!(
        fields.iter().all(|f| f["description"].is_string()),
        "every field documented"
    );
    assert!(fields.iter().any(|f| f["name"] == "self"));
}

crate::backend_tests! {
    introspection_works;
    standalone: schema_file_matches_served_sdl, sdl_has_the_api_contract_names;
}
