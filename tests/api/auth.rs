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

fn hs_options() -> AppOptions {
    hs256_options(SECRET)
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
const RENAME: &str =
    "mutation($id: UUID!) { updateConversation(id: $id, input: { name: \"renamed\" }) { name } }";
const REOWN: &str =
    "mutation($id: UUID!) { updateConversation(id: $id, input: { ownerId: null }) { ownerId } }";

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
            assert!(!root_field(&body["data"]).is_null(), "{what}: {body}");
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
    create_vars(json!({ "customerId": customer }))
}

use Expect::{Null, Ok as Yes};
const NF: Expect = Expect::Code("NOT_FOUND");
const NO: Expect = Expect::Code("FORBIDDEN");

/// What one role may do with a1, a2 (customer A) and b1 (customer B).
struct Rights {
    role: &'static str,
    token: String,
    /// `conversation(id)` of a1, a2, b1.
    gets: [Expect; 3],
    /// How many of them `conversations` lists.
    listed: i64,
    /// Create in its own customer, in the other one.
    creates: [Expect; 2],
    /// Rename a1, a2, b1.
    renames: [Expect; 3],
    /// Unassign a1, b1.
    reowns: [Expect; 2],
    /// Delete (and restore) a1, b1.
    deletes: [Expect; 2],
}

/// An admin or a manager of customer A: everything inside it, nothing outside.
fn staff_of_a(role: &'static str, r: Role) -> Rights {
    Rights {
        role,
        token: bearer(r, CUST_A, None),
        gets: [Yes, Yes, Null],
        listed: 2,
        creates: [Yes, NO],
        renames: [Yes, Yes, NF],
        reowns: [Yes, NF],
        deletes: [Yes, NF],
    }
}

async fn role_matrix(mut app: TestApp) {
    let f = fixture(&mut app).await;
    let rows = [
        Rights {
            role: "superadmin",
            token: superadmin(),
            gets: [Yes; 3],
            listed: 3,
            creates: [Yes; 2],
            renames: [Yes; 3],
            reowns: [Yes; 2],
            deletes: [Yes; 2],
        },
        staff_of_a("admin", Role::Admin),
        staff_of_a("manager", Role::Manager),
        Rights {
            role: "agent",
            token: bearer(Role::Agent, CUST_A, Some(AGENT_1)),
            gets: [Yes, Null, Null],
            listed: 1,
            creates: [NO; 2],
            renames: [Yes, NF, NF],
            reowns: [NO; 2],
            deletes: [NO; 2],
        },
    ];
    for Rights {
        role,
        token,
        gets,
        listed: count,
        creates,
        renames,
        reowns,
        deletes,
    } in rows
    {
        // Fresh rows per role: every role starts from the same state.
        let (a1, a2, b1) = (&f.a1, &f.a2, &f.b1);
        app.as_caller(&superadmin());
        for id in [a1, a2, b1] {
            app.data(RESTORE, json!({ "id": id })).await;
        }
        app.as_caller(&token);
        check_each(&app, GET, &[a1, a2, b1], &gets, role).await;
        let list = app.data(LIST, json!({ "ids": [a1, a2, b1] })).await;
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
                json!({ "b": CUST_B, "id": b1, "ids": [a1, a2, b1] }),
            )
            .await;
        assert_eq!(
            sneaky["conversations"]["totalCount"], count,
            "{role}: filters stay in scope"
        );

        for (customer, expect) in [CUST_A, CUST_B].into_iter().zip(creates) {
            let what = format!("{role} create in {customer}");
            check(&app, CREATE, input_for(customer), expect, &what).await;
        }
        check_each(&app, RENAME, &[a1, a2, b1], &renames, role).await;
        check_each(&app, REOWN, &[a1, b1], &reowns, role).await;
        // Put the owners back so the agent keeps seeing a1.
        app.as_caller(&superadmin());
        for id in [a1, b1] {
            app.data(
                "mutation($id: UUID!, $o: UUID) { updateConversation(id: $id, input: { ownerId: $o }) { id } }",
                json!({ "id": id, "o": AGENT_1 }),
            )
            .await;
        }
        app.as_caller(&token);
        for doc in [DELETE, RESTORE] {
            check_each(&app, doc, &[a1, b1], &deletes, role).await;
        }
        // Unknown ids look exactly like other customers' ids.
        if deletes[1] == NF {
            let unknown = Uuid::new_v4().to_string();
            check_each(&app, DELETE, &[&unknown], &[NF], role).await;
        }
    }
}

/// `check` of `doc` on each id with the matching expectation.
async fn check_each(app: &TestApp, doc: &str, ids: &[&String], expects: &[Expect], role: &str) {
    for (id, expect) in ids.iter().zip(expects) {
        let what = format!("{role}: {doc} on {id}");
        check(app, doc, json!({ "id": id }), *expect, &what).await;
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

/// `Bearer <token>`, the token signed with the server's secret.
fn signed(claims: Value) -> Option<String> {
    Some(format!("Bearer {}", hs256_with(SECRET, &claims)))
}

/// Claims of an admin of customer A, valid for ten minutes, with `patch` merged in.
fn admin_claims(patch: Value) -> Value {
    let mut claims = json!({ "customer_id": CUST_A, "role": "admin", "exp": now() + 600 });
    merge(&mut claims, patch);
    claims
}

/// Claims without `key`.
fn without(key: &str) -> Value {
    let mut claims = admin_claims(json!({}));
    claims.as_object_mut().unwrap().remove(key);
    claims
}

async fn bad_tokens(mut app: TestApp) {
    fixture(&mut app).await;
    let good = admin_claims(json!({}));
    let rsa_public = include_bytes!("../keys/rsa_public.pem");
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let good_token = hs256_with(SECRET, &good);
    let parts: Vec<&str> = good_token.split('.').collect();
    let (header, signature) = (parts[0], parts[2]);
    let evil = json!({ "customer_id": CUST_B, "role": "superadmin", "exp": now() + 600 });
    let none = b64(&json!({ "alg": "none", "typ": "JWT" }));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty", Some(String::new())),
        ("garbage", Some("Bearer garbage".into())),
        (
            "not bearer",
            Some(format!("Basic {}", URL_SAFE_NO_PAD.encode("a:b"))),
        ),
        ("bare token", Some(good_token.clone())),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                hs256_with(b"another-secret-0123456789", &good)
            )),
        ),
        (
            "expired",
            signed(admin_claims(json!({ "exp": now() - 3600 }))),
        ),
        ("alg none", Some(format!("Bearer {none}.{}.", b64(&good)))),
        (
            "alg none, signature kept",
            Some(format!("Bearer {none}.{}.{signature}", b64(&good))),
        ),
        (
            "HS512 with the right secret",
            Some(format!("Bearer {hs512}")),
        ),
        (
            "HS256 signed with the RSA public key",
            Some(format!("Bearer {}", hs256_with(rsa_public, &good))),
        ),
        ("missing exp", signed(without("exp"))),
        ("missing customer_id", signed(without("customer_id"))),
        (
            "malformed customer_id",
            signed(admin_claims(json!({ "customer_id": "acme" }))),
        ),
        ("missing role", signed(without("role"))),
        (
            "unknown role",
            signed(admin_claims(json!({ "role": "root" }))),
        ),
        (
            "role not a string",
            signed(admin_claims(json!({ "role": 1 }))),
        ),
        (
            "agent without agent_id",
            signed(admin_claims(json!({ "role": "agent" }))),
        ),
        (
            "malformed agent_id",
            signed(admin_claims(json!({ "role": "agent", "agent_id": "bob" }))),
        ),
        (
            "exp as string",
            signed(admin_claims(json!({ "exp": "tomorrow" }))),
        ),
        (
            "tampered payload",
            Some(format!("Bearer {header}.{}.{signature}", b64(&evil))),
        ),
    ];
    for (what, header) in &cases {
        assert_unauthenticated(&app, header.as_deref(), what).await;
    }
    // The good token works, also with a lower-case scheme.
    let token = good_token;
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

crate::backend_tests! {
    mod hs(hs_options): role_matrix, bad_tokens, hostile_strings_round_trip;
    mod rs(rsa_options): rs256_keys;
    mod es(ec_options): es256_keys;
}
