//! GraphQL over HTTP: media types, status codes, GET rules, GraphiQL, health, CORS, and no
//! leaks from internal errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::support::*;

const GQL_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

async fn request_errors_by_media_type(app: TestApp) {
    let bad_documents = [
        json!({ "query": "{ conversations { nope } }" }),
        json!({ "query": "{ conversations(" }),
        json!({ "query": "query($id: UUID!) { conversation(id: $id) { id } }", "variables": { "id": 5 } }),
        json!({ "query": "query($id: UUID!) { conversation(id: $id) { id } }" }),
        json!({ "query": "query A { __typename } query B { __typename }" }),
        json!({ "query": "{ __typename }", "operationName": "Missing" }),
    ];
    for body in bad_documents {
        let r = app.post(body.clone(), Some(GQL_JSON)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert!(r.content_type().starts_with(GQL_JSON));
        assert!(
            r.body.get("data").is_none(),
            "no data on a request error: {}",
            r.body
        );
        assert_eq!(
            r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{}",
            r.body
        );

        // No Accept header (or only */*) means application/json, as the spec asks.
        for accept in [None, Some("*/*")] {
            let r = app.post(body.clone(), accept).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.content_type().starts_with(JSON), "{}", r.content_type());
        }

        let r = app.post(body.clone(), Some(JSON)).await;
        assert_eq!(r.status, StatusCode::OK, "{body}");
        assert!(r.content_type().starts_with(JSON), "{}", r.content_type());
        assert!(r.body.get("data").is_none());
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

async fn field_errors_are_200_with_data(app: TestApp) {
    for accept in [GQL_JSON, JSON] {
        let r = app
            .post(
                json!({ "query": "mutation { deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }" }),
                Some(accept),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["data"], json!(null));
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "NOT_FOUND");
        assert_eq!(r.body["errors"][0]["path"], json!(["deleteConversation"]));
    }
}

async fn malformed_http_requests(app: TestApp) {
    let raw = |body: &str, content_type: &str| {
        Request::post("/graphql")
            .header("content-type", content_type)
            .header("accept", GQL_JSON)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    for (body, ct, status) in [
        ("{not json", JSON, StatusCode::BAD_REQUEST),
        ("[]", JSON, StatusCode::BAD_REQUEST),
        ("\"query\"", JSON, StatusCode::BAD_REQUEST),
        ("{}", JSON, StatusCode::BAD_REQUEST),
        ("{\"query\": 5}", JSON, StatusCode::BAD_REQUEST),
        (
            "{\"query\": \"{ __typename }\", \"variables\": []}",
            JSON,
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"query\": \"{ __typename }\", \"operationName\": 1}",
            JSON,
            StatusCode::BAD_REQUEST,
        ),
        (
            "{ __typename }",
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = app.send(raw(body, ct)).await;
        assert_eq!(r.status, status, "{body} as {ct}: {}", r.body);
        assert!(r.body.get("data").is_none());
    }
    let ok = app
        .send(raw(
            "{\"query\": \"{ __typename }\"}",
            "application/json; charset=utf-8",
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["data"]["__typename"], "Query");

    let r = app
        .send(
            Request::post("/graphql")
                .header("content-type", JSON)
                .header("accept", "text/plain")
                .body(Body::from("{\"query\": \"{ __typename }\"}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);

    let huge = format!(
        "{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}",
        "a".repeat(70_000)
    );
    let r = app.send(raw(&huge, JSON)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn get_runs_queries_not_mutations(app: TestApp) {
    let created = app.create(json!({})).await;
    let q = format!(
        "/graphql?query={}&variables={}",
        urlencode("query($id: UUID!) { conversation(id: $id) { name } }"),
        urlencode(&json!({ "id": created["id"] }).to_string())
    );
    let r = app.send(get(&q, JSON)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with(JSON));
    assert_eq!(r.body["data"]["conversation"]["name"], "conversation");

    let m = format!(
        "/graphql?query={}",
        urlencode(&format!(
            "mutation {{ deleteConversation(id: \"{}\") {{ id }} }}",
            created["id"].as_str().unwrap()
        ))
    );
    let before = app.snapshot().await;
    let r = app.send(get(&m, GQL_JSON)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers.get("allow").unwrap(), "POST");
    assert_eq!(app.snapshot().await, before, "the mutation did not run");

    let r = app
        .send(get("/graphql?query=%7B%20nope%20%7D", GQL_JSON))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.send(get("/graphql", JSON)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "GET without a query");
}

async fn graphiql_health_ready_cors(app: TestApp) {
    let r = app
        .send(get("/graphql", "text/html,application/xhtml+xml"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"));
    let page = r.body.as_str().unwrap();
    assert!(page.contains("/graphql/assets/graphiql.min.js"));
    assert!(page.contains("/graphql/assets/graphiql-plugin-explorer.umd.js"));
    assert!(
        page.contains("explorerPlugin()"),
        "the Explorer is in the sidebar"
    );
    assert!(page.contains("/graphql/ws"));
    assert!(!page.contains("https://"), "no CDN: GraphiQL works offline");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql-plugin-explorer.umd.js",
        "graphiql-plugin-explorer.css",
    ] {
        let r = app
            .send(get(&format!("/graphql/assets/{asset}"), "*/*"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{asset}");
    }
    assert_eq!(
        app.send(get("/graphql/assets/nope.js", "*/*")).await.status,
        StatusCode::NOT_FOUND
    );

    let r = app.send(get("/health", JSON)).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.send(get("/ready", JSON)).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    let r = app
        .send(
            Request::options("/graphql")
                .header("origin", "https://app.example.com")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,authorization",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(r.status.is_success());
    assert_eq!(r.headers.get("access-control-allow-origin").unwrap(), "*");
}

async fn internal_errors_do_not_leak(app: TestApp) {
    app.create(json!({})).await;
    app.db
        .execute_unprepared("DROP TABLE conversations")
        .await
        .expect("drop table");
    let r = app
        .post(
            json!({ "query": "{ conversations { totalCount edges { node { id } } } }" }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let err = &r.body["errors"][0];
    assert_eq!(err["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(err["message"], "Internal server error");
    let text = r.body.to_string().to_lowercase();
    for leak in ["sql", "table", "relation", "no such", "select"] {
        assert!(!text.contains(leak), "leaked {leak:?}: {text}");
    }
}

crate::backend_tests!(
    request_errors_by_media_type,
    field_errors_are_200_with_data,
    malformed_http_requests,
    get_runs_queries_not_mutations,
    graphiql_health_ready_cors,
    internal_errors_do_not_leak,
    metrics_in_prometheus_format,
    revalidation_is_skipped_safely,
);

async fn metrics_in_prometheus_format(app: TestApp) {
    app.create(json!({})).await;
    app.post(json!({ "query": "query Count { conversations { totalCount } }", "operationName": "Count" }), None)
        .await;
    app.post(json!({ "query": "{ nope }" }), None).await;
    app.post(
        json!({ "query": "mutation Gone { deleteConversation(id: \"00000000-0000-4000-8000-000000000000\") { id } }" }),
        None,
    )
    .await;
    let r = app.send(get("/metrics", "text/plain")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .content_type()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let text = r.body.as_str().unwrap();
    for line in [
        "graphql_requests_total{operation=\"Count\",outcome=\"ok\"} 1",
        "graphql_requests_total{operation=\"anonymous\",outcome=\"request_error\"} 1",
        "graphql_requests_total{operation=\"anonymous\",outcome=\"field_error\"} 1",
        "graphql_request_duration_seconds_count 4",
        "graphql_request_duration_seconds_bucket{le=\"+Inf\"} 4",
        "# TYPE graphql_request_duration_seconds histogram",
        "db_pool_max_connections 4",
        "graphql_websocket_connections 0",
        "graphql_event_subscribers 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("db_pool_connections{state=\"idle\"}"));
}

/// A document that passed validation once runs without it later: bad variables are still
/// request errors, with the right status and no data.
async fn revalidation_is_skipped_safely(app: TestApp) {
    let created = app.create(json!({})).await;
    let doc = "query($id: UUID!, $n: Int) { conversation(id: $id) { name } conversations(first: $n) { totalCount } }";
    for _ in 0..3 {
        let r = app
            .post(
                json!({ "query": doc, "variables": { "id": created["id"], "n": 5 } }),
                Some(GQL_JSON),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["data"]["conversation"]["name"], "conversation");
    }
    for (vars, what) in [
        (json!({ "id": "nope", "n": 5 }), "bad UUID"),
        (json!({ "id": created["id"], "n": "five" }), "bad Int"),
        (json!({ "id": created["id"], "n": 101 }), "page too large"),
    ] {
        for accept in [GQL_JSON, JSON] {
            let r = app
                .post(json!({ "query": doc, "variables": vars }), Some(accept))
                .await;
            let code = &r.body["errors"][0]["extensions"]["code"];
            assert_eq!(code, "BAD_USER_INPUT", "{what}: {}", r.body);
            if what != "page too large" {
                // Coercion failures are request errors.
                assert!(r.body.get("data").is_none(), "{what}: {}", r.body);
                let want = if accept == GQL_JSON {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                assert_eq!(r.status, want, "{what} as {accept}");
            }
        }
    }
}
