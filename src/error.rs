//! The one error type of the API, with constructors for each code clients can see.
//!
//! `ApiError` deliberately has no `Display`: a resolver cannot `?` it (or a database error)
//! into a GraphQL error by accident and leak internals. The ways out are
//! [`From<ApiError> for async_graphql::Error`] (resolvers) and [`ApiError::into_server_error`]
//! (everything else: request errors, HTTP error bodies, WebSocket errors). Both give the error
//! its `extensions.code`; an internal failure becomes a bare `INTERNAL_SERVER_ERROR` after its
//! cause is logged.

use async_graphql::{ErrorExtensionValues, ServerError, Value};

use crate::db::StoreError;
use crate::domain::Invalid;

/// Every code a client can see in `extensions.code`, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The client sent something the API does not accept (`extensions.field` names it).
    BadUserInput,
    /// No such conversation, or none the caller may see.
    NotFound,
    /// No valid token.
    Unauthenticated,
    /// The caller's role may not do this.
    Forbidden,
    /// Over a size limit (depth, complexity, aliases, root fields).
    QueryTooComplex,
    /// The write conflicts with the stored state (a stale version, a reused idempotency key).
    Conflict,
    /// An event cursor older than the event log's retention.
    EventCursorExpired,
    /// A subscriber fell too far behind the events and was ended.
    SubscriberTooSlow,
    /// A WebSocket connection holds as many subscriptions as it may.
    TooManySubscriptions,
    /// Anything the client cannot fix; the cause is logged, never sent.
    InternalServerError,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::Conflict => "CONFLICT",
            Code::EventCursorExpired => "EVENT_CURSOR_EXPIRED",
            Code::SubscriberTooSlow => "SUBSCRIBER_TOO_SLOW",
            Code::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

/// An error a client will see: a code, a message for people, and extensions for programs.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: String,
    extensions: Vec<(&'static str, Value)>,
}

impl ApiError {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            extensions: Vec::new(),
        }
    }

    /// The client sent a value the API does not accept; `field` is its path in the arguments.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self::new(
            Code::BadUserInput,
            format!("Invalid {field}: {}", message.into()),
        )
        .with("field", field)
    }

    /// A request the API refuses as a whole (no single argument is at fault).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::BadUserInput, message)
    }

    /// A validation failure of an argument, with the argument's name in front of the path.
    pub fn invalid(argument: &str, invalid: Invalid) -> Self {
        let Invalid { field, message } = invalid.within(argument);
        Self::bad_input(field, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }

    pub fn too_complex(message: impl Into<String>) -> Self {
        Self::new(Code::QueryTooComplex, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Code::Conflict, message)
    }

    pub fn cursor_expired(message: impl Into<String>) -> Self {
        Self::new(Code::EventCursorExpired, message)
    }

    pub fn too_slow(missed: u64) -> Self {
        Self::new(
            Code::SubscriberTooSlow,
            format!(
                "this subscriber fell {missed} events behind and is disconnected; subscribe again \
                 with `after` set to extensions.lastCursor to lose nothing"
            ),
        )
    }

    pub fn too_many_subscriptions(limit: usize) -> Self {
        Self::new(
            Code::TooManySubscriptions,
            format!("a connection may hold at most {limit} subscriptions"),
        )
    }

    /// Anything the client cannot fix. The cause is logged here, never sent.
    pub fn internal(cause: impl std::fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "internal error");
        Self::new(Code::InternalServerError, "Internal server error")
    }

    /// The request ran out of time and was cancelled (logged where that was noticed).
    pub fn timed_out(seconds: u64) -> Self {
        Self::new(
            Code::InternalServerError,
            format!("the request took longer than {seconds} s and was cancelled"),
        )
    }

    /// The same error with one more extension (`extensions.<name>`).
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.extensions.push((name, value.into()));
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    fn extension_values(&self) -> ErrorExtensionValues {
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", self.code.as_str());
        for (name, value) in &self.extensions {
            ext.set(*name, value.clone());
        }
        ext
    }

    /// The error as GraphQL shows it outside a resolver (request errors, HTTP error bodies,
    /// WebSocket errors).
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message.clone(), None);
        error.extensions = Some(self.extension_values());
        error
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let extensions = err.extension_values();
        async_graphql::Error {
            message: err.message,
            source: None,
            extensions: Some(extensions),
        }
    }
}

/// The code an error carries, if any.
pub fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

/// An error async-graphql made itself (validation, argument coercion) carries no code: the
/// document or a value the client sent is at fault. Every error of ours has one.
pub fn coded(mut error: ServerError) -> ServerError {
    if code_of(&error).is_none() {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", Code::BadUserInput.as_str());
    }
    error
}
