//! The one error type of the API, with constructors for each code clients can see.
//!
//! `ApiError` deliberately has no `Display`: a resolver cannot `?` it (or a database error)
//! into a GraphQL error by accident and leak internals. The only way out is
//! [`From<ApiError> for async_graphql::Error`], which gives every error its `extensions.code`
//! and turns internal failures into a bare `INTERNAL_SERVER_ERROR` after logging the cause.

use async_graphql::ErrorExtensions;

use crate::db::StoreError;
use crate::domain::Invalid;

/// Stable error codes (`extensions.code`).
pub mod code {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// A subscription fell too far behind the events and was ended.
    pub const SUBSCRIBER_TOO_SLOW: &str = "SUBSCRIBER_TOO_SLOW";
    /// A WebSocket already holds as many subscriptions as one connection may.
    pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";
}

#[derive(Debug)]
pub enum ApiError {
    /// The client sent a value the API does not accept; `field` is its path in the arguments.
    BadInput {
        field: String,
        message: String,
    },
    /// No such conversation (or none the caller may see).
    NotFound {
        message: String,
    },
    Unauthenticated {
        message: String,
    },
    Forbidden {
        message: String,
    },
    TooComplex {
        message: String,
    },
    /// A subscriber did not keep up with the events.
    TooSlow {
        missed: u64,
    },
    /// A connection asked for more subscriptions than it may hold.
    TooManySubscriptions {
        max: usize,
    },
    /// Anything the client cannot fix. The cause is logged, never sent.
    Internal {
        cause: String,
    },
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound {
            message: format!("{what} not found"),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated {
            message: message.into(),
        }
    }

    pub fn too_complex(message: impl Into<String>) -> Self {
        Self::TooComplex {
            message: message.into(),
        }
    }

    pub fn too_slow(missed: u64) -> Self {
        Self::TooSlow { missed }
    }

    pub fn too_many_subscriptions(max: usize) -> Self {
        Self::TooManySubscriptions { max }
    }

    pub fn internal(cause: impl std::fmt::Debug) -> Self {
        Self::Internal {
            cause: format!("{cause:?}"),
        }
    }

    /// A validation failure of an argument, with the argument's name in front of the path.
    pub fn invalid(argument: &str, invalid: Invalid) -> Self {
        let Invalid { field, message } = invalid.within(argument);
        Self::BadInput { field, message }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { .. } => code::BAD_USER_INPUT,
            Self::NotFound { .. } => code::NOT_FOUND,
            Self::Unauthenticated { .. } => code::UNAUTHENTICATED,
            Self::Forbidden { .. } => code::FORBIDDEN,
            Self::TooComplex { .. } => code::QUERY_TOO_COMPLEX,
            Self::TooSlow { .. } => code::SUBSCRIBER_TOO_SLOW,
            Self::TooManySubscriptions { .. } => code::TOO_MANY_SUBSCRIPTIONS,
            Self::Internal { .. } => code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let code = err.code();
        match err {
            ApiError::BadInput { field, message } => async_graphql::Error::new(format!(
                "Invalid {field}: {message}"
            ))
            .extend_with(|_, e| {
                e.set("code", code);
                e.set("field", field.as_str());
            }),
            ApiError::NotFound { message }
            | ApiError::Unauthenticated { message }
            | ApiError::Forbidden { message }
            | ApiError::TooComplex { message } => {
                async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
            }
            ApiError::TooSlow { missed } => async_graphql::Error::new(format!(
                "this subscriber fell {missed} events behind and is disconnected; subscribe again"
            ))
            .extend_with(|_, e| e.set("code", code)),
            ApiError::TooManySubscriptions { max } => async_graphql::Error::new(format!(
                "this connection already has {max} subscriptions, the most it may hold; \
                 complete one first"
            ))
            .extend_with(|_, e| e.set("code", code)),
            ApiError::Internal { cause } => {
                tracing::error!(%cause, "internal error");
                async_graphql::Error::new("Internal server error")
                    .extend_with(|_, e| e.set("code", code))
            }
        }
    }
}
