//! Who is calling, and what they may touch.
//!
//! A caller proves who they are with `Authorization: Bearer <JWT>`, signed with the configured
//! HS256 secret or the private half of the configured RS256/ES256 public key. The accepted
//! algorithm is pinned by the key: `alg: none`, another family (HS256 signed with an RSA public
//! key) or another algorithm is refused.
//!
//! Tenancy is a [`Predicate`] every read and write is AND-ed with ([`Access::scope`]), so a
//! row of another customer behaves exactly like a row that does not exist.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::filter::{Field, Predicate, Scalar};

/// The roles a token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, every customer.
    SuperAdmin,
    /// Everything, own customer only.
    Admin,
    /// Everything, own customer only.
    Manager,
    /// Reads the conversations it owns; may change their name and detail.
    Agent,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "superadmin" => Some(Role::SuperAdmin),
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "superadmin",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub customer_id: Uuid,
    /// Set for (and only required of) agents.
    pub agent_id: Option<Uuid>,
}

/// What a request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No key is configured: the server runs open (only allowed on loopback unless
    /// `--allow-unauthenticated`).
    Open,
    Caller(Caller),
}

/// Why a mutation is refused for the caller's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub &'static str);

impl Access {
    /// The rows this caller may see and touch.
    pub fn scope(&self) -> Predicate {
        let Access::Caller(c) = self else {
            return Predicate::All;
        };
        let customer = Predicate::Eq(Field::CustomerId, Scalar::Uuid(c.customer_id));
        match c.role {
            Role::SuperAdmin => Predicate::All,
            Role::Admin | Role::Manager => customer,
            Role::Agent => match c.agent_id {
                Some(agent) => Predicate::And(vec![
                    customer,
                    Predicate::Eq(Field::OwnerId, Scalar::Uuid(agent)),
                ]),
                // Verification guarantees agents have an id; fail closed regardless.
                None => Predicate::Or(vec![]),
            },
        }
    }

    /// May this caller create a conversation for `customer_id`?
    pub fn may_create(&self, customer_id: Uuid) -> Result<(), Denied> {
        match self {
            Access::Open => Ok(()),
            Access::Caller(c) => match c.role {
                Role::SuperAdmin => Ok(()),
                Role::Admin | Role::Manager if c.customer_id == customer_id => Ok(()),
                Role::Admin | Role::Manager => Err(Denied(
                    "you may only create conversations for your own customer",
                )),
                Role::Agent => Err(Denied("agents may not create conversations")),
            },
        }
    }

    /// May this caller make an update that touches the owner (`changes_owner`)?
    pub fn may_update(&self, changes_owner: bool) -> Result<(), Denied> {
        match self {
            Access::Caller(c) if c.role == Role::Agent && changes_owner => {
                Err(Denied("agents may change only name and detail"))
            }
            _ => Ok(()),
        }
    }

    /// May this caller delete or restore conversations?
    pub fn may_delete(&self) -> Result<(), Denied> {
        match self {
            Access::Caller(c) if c.role == Role::Agent => {
                Err(Denied("agents may not delete or restore conversations"))
            }
            _ => Ok(()),
        }
    }
}

/// Why a token was refused. The message is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("this server requires `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// The claims this server reads.
#[derive(Debug, Deserialize, Serialize)]
struct Claims {
    customer_id: Option<String>,
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    exp: u64,
    /// Issued at; read to refuse tokens from the future (`nbf` is checked by `jsonwebtoken`).
    #[serde(default, skip_serializing)]
    iat: Option<f64>,
}

/// Checks bearer tokens against one key and one algorithm.
#[derive(Clone)]
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    /// Tokens whose `exp` is further ahead than this are refused.
    max_lifetime: Option<Duration>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.validation.algorithms)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// A key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl Verifier {
    fn with(key: DecodingKey, alg: Algorithm) -> Self {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = 30;
        validation.validate_exp = true;
        // `nbf`, when present, with the same leeway as `exp`.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            key,
            validation,
            max_lifetime: None,
        }
    }

    /// Refuses tokens whose `exp` is more than `max` ahead (`--max-token-lifetime`).
    pub fn with_max_lifetime(mut self, max: Option<Duration>) -> Self {
        self.max_lifetime = max;
        self
    }

    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 16 {
            return Err(KeyError("the JWT secret must be at least 16 bytes".into()));
        }
        Ok(Self::with(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
        ))
    }

    /// RS256 or ES256 (P-256), by the kind of public key in the PEM.
    pub fn public_key_pem(pem: &[u8]) -> Result<Self, KeyError> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::with(key, Algorithm::RS256));
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Ok(Self::with(key, Algorithm::ES256));
        }
        Err(KeyError(
            "the JWT public key is neither an RSA nor a P-256 EC public key in PEM".into(),
        ))
    }

    /// Reads an `Authorization` header value.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim())
    }

    /// Checks signature, algorithm, validity period (`exp`, `nbf`, `iat`, the longest
    /// lifetime) and claims.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm => AuthError::Invalid("algorithm not accepted".into()),
                ErrorKind::MissingRequiredClaim(c) => {
                    AuthError::Invalid(format!("missing claim `{c}`"))
                }
                _ => AuthError::Invalid("malformed token".into()),
            },
        )?;
        self.check_times(&data.claims)?;
        caller_from(data.claims)
    }

    /// `iat` not in the future, and `exp` no further ahead than the longest lifetime allowed
    /// (both with the leeway `exp` and `nbf` get).
    fn check_times(&self, claims: &Claims) -> Result<(), AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let latest = now.saturating_add(self.validation.leeway);
        if claims.iat.is_some_and(|iat| iat > latest as f64) {
            return Err(AuthError::Invalid(
                "the token was issued in the future".into(),
            ));
        }
        if let Some(max) = self.max_lifetime {
            if claims.exp > latest.saturating_add(max.as_secs()) {
                return Err(AuthError::Invalid(format!(
                    "the token is valid for longer than this server accepts ({} s)",
                    max.as_secs()
                )));
            }
        }
        Ok(())
    }
}

fn caller_from(claims: Claims) -> Result<Caller, AuthError> {
    let uuid_claim = |name: &str, v: Option<String>| -> Result<Option<Uuid>, AuthError> {
        v.map(|s| {
            Uuid::try_parse(&s)
                .map_err(|_| AuthError::Invalid(format!("claim `{name}` is not a UUID")))
        })
        .transpose()
    };
    let customer_id = uuid_claim("customer_id", claims.customer_id)?
        .ok_or_else(|| AuthError::Invalid("missing claim `customer_id`".into()))?;
    let role = claims
        .role
        .as_deref()
        .ok_or_else(|| AuthError::Invalid("missing claim `role`".into()))?;
    let role =
        Role::parse(role).ok_or_else(|| AuthError::Invalid(format!("unknown role `{role}`")))?;
    let agent_id = uuid_claim("agent_id", claims.agent_id)?;
    if role == Role::Agent && agent_id.is_none() {
        return Err(AuthError::Invalid("an agent token needs `agent_id`".into()));
    }
    Ok(Caller {
        role,
        customer_id,
        agent_id,
    })
}

/// Mints an HS256 token (the `token` subcommand, and tests).
pub fn mint_hs256(secret: &[u8], caller: &Caller, ttl: Duration) -> Result<String, KeyError> {
    let exp = SystemTime::now()
        .checked_add(ttl)
        .unwrap_or(SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = Claims {
        customer_id: Some(caller.customer_id.to_string()),
        role: Some(caller.role.as_str().to_owned()),
        agent_id: caller.agent_id.map(|a| a.to_string()),
        exp,
        iat: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| KeyError(format!("cannot sign the token: {e}")))
}
