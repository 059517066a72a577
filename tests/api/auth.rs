//! The hostile suite for authentication and tenancy: every role × every operation × own and
//! other customer, and every kind of bad token. Each case checks the code and that no row
//! changed when it should not have.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use conversation_graphql::app::AppOptions;
use conversation_graphql::auth::{Role, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::*;

const SECRET: &[u8] = b"test-secret-0123456789-abcdef";
const CUST_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const CUST_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const AGENT_1: &str = "11111111-0000-4000-8000-00000000a001";
const AGENT_2: &str = "22222222-0000-4000-8000-00000000a002";

fn hs_options() -> AppOptions {
    AppOptions {
        auth: Some(Verifier::hs256(SECRET).unwrap()),
        ..AppOptions::default()
    }
}

fn bearer(role: Role, customer: &str, agent: Option<&str>) -> String {
    bearer_for(SECRET, role, customer, agent)
}

fn superadmin() -> String {
    bearer(Role::SuperAdmin, CUST_A, None)
}

struct Fixture {
    a1: String,
    a2: String,
    b1: String,
}

/// a1: customer A owned by agent 1; a2: customer A owned by agent 2; b1: customer B owned by
/// an agent with agent 1's id (so only the customer tells them apart).
async fn fixture(app: &mut TestApp) -> Fixture {
    app.as_caller(&superadmin());
    let a1 = app
        .create(json!({ "customerId": CUST_A, "ownerId": AGENT_1, "name": "a1" }))
        .await;
    let a2 = app
        .create(json!({ "customerId": CUST_A, "ownerId": AGENT_2, "name": "a2" }))
        .await;
    let b1 = app
        .create(json!({ "customerId": CUST_B, "ownerId": AGENT_1, "name": "b1" }))
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    Fixture {
        a1: id(&a1),
        a2: id(&a2),
        b1: id(&b1),
    }
}

const GET: &str = "query($id: UUID!) { conversation(id: $id) { name } }";
const LIST: &str = "query($ids: [UUID!]) { conversations(includeDeleted: true, filter: { id: { in: $ids } }) { totalCount nodes { name } } }";
const CREATE: &str =
    "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }";
const RENAME: &str =
    "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { name } }";
const REOWN: &str =
    "mutation($id: UUID!) { updateConversation(id: $id, input: { ownerId: null }) { ownerId } }";
const DELETE: &str = "mutation($id: UUID!) { deleteConversation(id: $id) { tmDelete } }";
const RESTORE: &str = "mutation($id: UUID!) { restoreConversation(id: $id) { tmDelete } }";

/// What an operation should give.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Ok,
    /// `conversation(id)` answers null.
    Null,
    Code(&'static str),
}

async fn check(app: &TestApp, doc: &str, vars: Value, expect: Expect, what: &str) {
    let before = app.snapshot().await;
    let body = app.gql(doc, vars).await;
    match expect {
        Expect::Ok => {
            assert!(body.get("errors").is_none(), "{what}: {body}");
            let data = body["data"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone();
            assert!(!data.is_null(), "{what}: {body}");
        }
        Expect::Null => {
            assert!(body.get("errors").is_none(), "{what}: {body}");
            assert_eq!(body["data"]["conversation"], json!(null), "{what}: no leak");
            assert_eq!(app.snapshot().await, before, "{what}");
        }
        Expect::Code(code) => {
            assert_eq!(
                body["errors"][0]["extensions"]["code"], code,
                "{what}: {body}"
            );
            assert_eq!(app.snapshot().await, before, "{what}: nothing changed");
        }
    }
}

fn input_for(customer: &str) -> Value {
    let mut input = default_input();
    merge(&mut input, json!({ "customerId": customer }));
    json!({ "input": input })
}

async fn role_matrix(mut app: TestApp) {
    use Expect::*;
    let f = fixture(&mut app).await;
    let nf = Code("NOT_FOUND");
    let forbidden = Code("FORBIDDEN");
    // (role token, [get a1, get a2, get b1], list count, create own, create other,
    //  [rename a1, a2, b1], reown a1, reown b1, delete/restore a1, delete/restore b1)
    type Row = (
        &'static str,
        String,
        [Expect; 3],
        i64,
        Expect,
        Expect,
        [Expect; 3],
        Expect,
        Expect,
        Expect,
        Expect,
    );
    let rows: Vec<Row> = vec![
        (
            "superadmin",
            superadmin(),
            [Ok, Ok, Ok],
            3,
            Ok,
            Ok,
            [Ok, Ok, Ok],
            Ok,
            Ok,
            Ok,
            Ok,
        ),
        (
            "admin",
            bearer(Role::Admin, CUST_A, None),
            [Ok, Ok, Null],
            2,
            Ok,
            forbidden,
            [Ok, Ok, nf],
            Ok,
            nf,
            Ok,
            nf,
        ),
        (
            "manager",
            bearer(Role::Manager, CUST_A, None),
            [Ok, Ok, Null],
            2,
            Ok,
            forbidden,
            [Ok, Ok, nf],
            Ok,
            nf,
            Ok,
            nf,
        ),
        (
            "agent",
            bearer(Role::Agent, CUST_A, Some(AGENT_1)),
            [Ok, Null, Null],
            1,
            forbidden,
            forbidden,
            [Ok, nf, nf],
            forbidden,
            forbidden,
            forbidden,
            forbidden,
        ),
    ];
    for (
        role,
        token,
        gets,
        count,
        create_own,
        create_other,
        renames,
        reown_a1,
        reown_b1,
        del_a1,
        del_b1,
    ) in rows
    {
        // Fresh rows per role: every role starts from the same state.
        app.as_caller(&superadmin());
        for id in [&f.a1, &f.a2, &f.b1] {
            app.data(RESTORE, json!({ "id": id })).await;
        }
        app.as_caller(&token);
        for (id, expect) in [&f.a1, &f.a2, &f.b1].into_iter().zip(gets) {
            check(
                &app,
                GET,
                json!({ "id": id }),
                expect,
                &format!("{role} get"),
            )
            .await;
        }
        let list = app.data(LIST, json!({ "ids": [f.a1, f.a2, f.b1] })).await;
        assert_eq!(
            list["conversations"]["totalCount"], count,
            "{role} list: {list}"
        );
        assert_eq!(
            list["conversations"]["nodes"].as_array().unwrap().len() as i64,
            count
        );
        // A filter cannot widen the scope.
        let sneaky = app
            .data(
                "query($b: UUID!, $id: UUID!, $ids: [UUID!]) { conversations(includeDeleted: true, filter: { id: { in: $ids }, or: [{ customerId: { eq: $b } }, { id: { eq: $id } }, { not: { customerId: { eq: $b } } }] }) { totalCount } }",
                json!({ "b": CUST_B, "id": f.b1, "ids": [f.a1, f.a2, f.b1] }),
            )
            .await;
        assert_eq!(
            sneaky["conversations"]["totalCount"], count,
            "{role}: filters stay in scope"
        );

        check(
            &app,
            CREATE,
            input_for(CUST_A),
            create_own,
            &format!("{role} create own"),
        )
        .await;
        check(
            &app,
            CREATE,
            input_for(CUST_B),
            create_other,
            &format!("{role} create other"),
        )
        .await;
        for (id, expect) in [&f.a1, &f.a2, &f.b1].into_iter().zip(renames) {
            check(
                &app,
                RENAME,
                json!({ "id": id }),
                expect,
                &format!("{role} rename"),
            )
            .await;
        }
        check(
            &app,
            REOWN,
            json!({ "id": f.a1 }),
            reown_a1,
            &format!("{role} reown a1"),
        )
        .await;
        check(
            &app,
            REOWN,
            json!({ "id": f.b1 }),
            reown_b1,
            &format!("{role} reown b1"),
        )
        .await;
        // Put the owners back so the agent keeps seeing a1.
        let caller = app.token.clone().expect("a caller");
        app.as_caller(&superadmin());
        for id in [&f.a1, &f.b1] {
            app.data(
                "mutation($id: UUID!, $o: UUID) { updateConversation(id: $id, input: { ownerId: $o }) { id } }",
                json!({ "id": id, "o": AGENT_1 }),
            )
            .await;
        }
        app.as_caller(&caller);
        for doc in [DELETE, RESTORE] {
            check(
                &app,
                doc,
                json!({ "id": f.a1 }),
                del_a1,
                &format!("{role} {doc} a1"),
            )
            .await;
            check(
                &app,
                doc,
                json!({ "id": f.b1 }),
                del_b1,
                &format!("{role} {doc} b1"),
            )
            .await;
        }
        // Unknown ids look exactly like other customers' ids.
        if del_b1 == nf {
            check(
                &app,
                DELETE,
                json!({ "id": Uuid::new_v4() }),
                nf,
                &format!("{role} delete unknown"),
            )
            .await;
        }
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn hs256_with(key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn assert_unauthenticated(app: &TestApp, authorization: Option<&str>, what: &str) {
    let before = app.snapshot().await;
    for body in [
        json!({ "query": "{ conversations { totalCount } }" }),
        json!({ "query": CREATE, "variables": input_for(CUST_A) }),
    ] {
        let r = app.post_as(body, None, authorization).await;
        assert_eq!(r.status.as_u16(), 401, "{what}: {}", r.body);
        let challenge = r
            .headers
            .get("www-authenticate")
            .expect("WWW-Authenticate")
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        assert_eq!(
            r.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}"
        );
        assert!(r.body.get("data").is_none());
    }
    assert_eq!(app.snapshot().await, before, "{what}: nothing written");
}

async fn bad_tokens(mut app: TestApp) {
    fixture(&mut app).await;
    let good = json!({ "customer_id": CUST_A, "role": "admin", "exp": now() + 600 });
    let rsa_public = include_bytes!("../keys/rsa_public.pem");
    let cases: Vec<(String, Option<String>)> = vec![
        ("no header".into(), None),
        ("empty".into(), Some(String::new())),
        ("garbage".into(), Some("Bearer garbage".into())),
        (
            "not bearer".into(),
            Some(format!("Basic {}", URL_SAFE_NO_PAD.encode("a:b"))),
        ),
        ("bare token".into(), Some(hs256_with(SECRET, &good))),
        (
            "wrong key".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(b"another-secret-0123456789", &good)
            )),
        ),
        (
            "expired".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": "admin", "exp": now() - 3600 })
                )
            )),
        ),
        (
            "alg none".into(),
            Some(format!(
                "Bearer {}.{}.",
                b64(&json!({ "alg": "none", "typ": "JWT" })),
                b64(&good)
            )),
        ),
        ("alg none, signature kept".into(), {
            let t = hs256_with(SECRET, &good);
            let sig = t.rsplit('.').next().unwrap().to_owned();
            Some(format!(
                "Bearer {}.{}.{sig}",
                b64(&json!({ "alg": "none" })),
                b64(&good)
            ))
        }),
        (
            "HS512 with the right secret".into(),
            Some(format!(
                "Bearer {}",
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS512),
                    &good,
                    &EncodingKey::from_secret(SECRET)
                )
                .unwrap()
            )),
        ),
        (
            "HS256 signed with the RSA public key".into(),
            Some(format!("Bearer {}", hs256_with(rsa_public, &good))),
        ),
        (
            "missing exp".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(SECRET, &json!({ "customer_id": CUST_A, "role": "admin" }))
            )),
        ),
        (
            "missing customer_id".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(SECRET, &json!({ "role": "admin", "exp": now() + 600 }))
            )),
        ),
        (
            "malformed customer_id".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": "acme", "role": "admin", "exp": now() + 600 })
                )
            )),
        ),
        (
            "missing role".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "exp": now() + 600 })
                )
            )),
        ),
        (
            "unknown role".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": "root", "exp": now() + 600 })
                )
            )),
        ),
        (
            "role not a string".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": 1, "exp": now() + 600 })
                )
            )),
        ),
        (
            "agent without agent_id".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": "agent", "exp": now() + 600 })
                )
            )),
        ),
        (
            "malformed agent_id".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": "agent", "agent_id": "bob", "exp": now() + 600 })
                )
            )),
        ),
        (
            "exp as string".into(),
            Some(format!(
                "Bearer {}",
                hs256_with(
                    SECRET,
                    &json!({ "customer_id": CUST_A, "role": "admin", "exp": "tomorrow" })
                )
            )),
        ),
        ("tampered payload".into(), {
            let t = hs256_with(SECRET, &good);
            let parts: Vec<&str> = t.split('.').collect();
            let evil = json!({ "customer_id": CUST_B, "role": "superadmin", "exp": now() + 600 });
            Some(format!("Bearer {}.{}.{}", parts[0], b64(&evil), parts[2]))
        }),
    ];
    for (what, header) in &cases {
        assert_unauthenticated(&app, header.as_deref(), what).await;
    }
    // The good token works, also with a lower-case scheme.
    let token = hs256_with(SECRET, &good);
    for scheme in ["Bearer", "bearer"] {
        let r = app
            .post_as(
                json!({ "query": "{ conversations { totalCount } }" }),
                None,
                Some(&format!("{scheme} {token}")),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["data"]["conversations"]["totalCount"], 2);
    }
}

fn rsa_options() -> AppOptions {
    AppOptions {
        auth: Some(Verifier::public_key_pem(include_bytes!("../keys/rsa_public.pem")).unwrap()),
        ..AppOptions::default()
    }
}

fn ec_options() -> AppOptions {
    AppOptions {
        auth: Some(Verifier::public_key_pem(include_bytes!("../keys/ec_public.pem")).unwrap()),
        ..AppOptions::default()
    }
}

fn claims() -> Value {
    json!({ "customer_id": CUST_A, "role": "superadmin", "exp": now() + 600 })
}

fn rs256() -> String {
    let key = EncodingKey::from_rsa_pem(include_bytes!("../keys/rsa_private.pem")).unwrap();
    format!(
        "Bearer {}",
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &key).unwrap()
    )
}

fn es256() -> String {
    let key = EncodingKey::from_ec_pem(include_bytes!("../keys/ec_private.pem")).unwrap();
    format!(
        "Bearer {}",
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(), &key).unwrap()
    )
}

async fn rs256_keys(mut app: TestApp) {
    app.as_caller(&rs256());
    app.create(json!({})).await;
    let rsa_public = include_bytes!("../keys/rsa_public.pem");
    for (what, header) in [
        (
            "HS256 signed with the RSA public key",
            format!("Bearer {}", hs256_with(rsa_public, &claims())),
        ),
        ("ES256 token on an RS256 server", es256()),
        (
            "HS256 token on an RS256 server",
            format!("Bearer {}", hs256_with(SECRET, &claims())),
        ),
    ] {
        assert_unauthenticated(&app, Some(&header), what).await;
    }
}

async fn es256_keys(mut app: TestApp) {
    app.as_caller(&es256());
    app.create(json!({})).await;
    assert_unauthenticated(&app, Some(&rs256()), "RS256 token on an ES256 server").await;
}

async fn hostile_strings_round_trip(mut app: TestApp) {
    app.as_caller(&superadmin());
    for s in [
        "'; DROP TABLE conversations; --",
        "Robert'); DELETE FROM conversations WHERE ('1'='1",
        "%_\\!' \" ` $1 ? :name",
        "\u{202E}gnp.exe\u{202C} zero\u{200B}width ﬁ ǅ e\u{0301} 😀👩‍👩‍👧",
        "<script>alert(1)</script>",
    ] {
        let c = app
            .create(json!({ "name": s, "detail": s, "dialogId": s, "peer": { "type": "NONE", "target": s, "name": s } }))
            .await;
        assert_eq!(c["name"], s);
        assert_eq!(c["detail"], s);
        assert_eq!(c["peer"]["target"], s);
        let found = app
            .data("query($s: String!) { conversations(filter: { name: { eq: $s }, dialogId: { contains: $s } }) { totalCount } }", json!({ "s": s }))
            .await;
        assert_eq!(found["conversations"]["totalCount"], 1, "{s:?}");
    }
    assert_eq!(app.snapshot().await.len(), 5, "the table is intact");
}

mod hs {
    use super::*;
    crate::backend_tests!(options = hs_options; role_matrix, bad_tokens, hostile_strings_round_trip);
}

mod rs {
    use super::*;
    crate::backend_tests!(options = rsa_options; rs256_keys);
}

mod es {
    use super::*;
    crate::backend_tests!(options = ec_options; es256_keys);
}
