//! `AppError`: every failure an operation can meet, in words. Lower
//! layers' errors convert into it; `http::error_response` gives each its
//! status and JSON body, in that one place.

use crate::accounts::password::HashError;
use crate::store::StoreError;

/// SillyTavern's text for a request missing something it needs.
pub const MISSING_FIELDS: &str = "Missing required fields";
pub const USER_NOT_FOUND: &str = "User not found";
pub const UNAUTHORIZED: &str = "Unauthorized";
pub const INCORRECT_CREDENTIALS: &str = "Incorrect credentials";
pub const INCORRECT_PASSWORD: &str = "Incorrect password";
pub const INCORRECT_CODE: &str = "Incorrect code";
pub const USER_DISABLED: &str = "User is disabled";
pub const LOGIN_LIMITED: &str = "Too many attempts. Try again later or recover your password.";
pub const RECOVERY_LIMITED: &str = "Too many attempts. Try again later or contact your admin.";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Something that existed is no longer usable (an expired or used-up
    /// invitation).
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    TooMany { message: String, retry_after: u64 },
    /// A usage limit on generations: 429 with `Retry-After` and, in the
    /// body, when the window resets.
    #[error("{message}")]
    UsageLimited {
        message: String,
        retry_after: u64,
        resets_at: String,
    },
    #[error("Request body is too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    /// A value inside the body is over its own cap (413, with the reason).
    #[error("{0}")]
    TooLarge(String),
    /// The caller's password is a temporary one an admin set: 403 until
    /// they choose their own (the answer says so in `mustChangePassword`).
    #[error(
        "Choose a new password first: the one you logged in with was set by an admin for one use."
    )]
    MustChangePassword,
    /// The caller is an admin without two-factor login while
    /// `twoFactor.requireForAdmins` is on: 403 until they turn it on (the
    /// answer says so in `twoFactorRequired`).
    #[error("Turn on two-factor login first: this server requires it for admins.")]
    MustEnrolTwoFactor,
    /// Basic auth required: 401 with a `WWW-Authenticate` challenge.
    #[error("Authentication required")]
    AuthRequired,
    /// A disk write failed (full disk, read-only folder): the request fails
    /// cleanly and the old file stays.
    #[error("Could not write to the data folder: {0}")]
    Storage(String),
    /// The account is over its storage quota: 507, saying how far.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The hosted app cannot take the request now (starting, no free
    /// place, failed): 503, with `Retry-After` when a retry can help.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: Option<u64>,
    },
    /// The hosted app did not answer properly: 502.
    #[error("{0}")]
    BadGateway(String),
    #[error("Internal error")]
    Internal(String),
}

impl AppError {
    pub fn bad(msg: impl Into<String>) -> Self {
        AppError::BadRequest(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Forbidden(msg.into())
    }
    pub fn missing() -> Self {
        AppError::BadRequest(MISSING_FIELDS.into())
    }
    pub fn user_not_found() -> Self {
        AppError::NotFound(USER_NOT_FOUND.into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        // A full disk or a read-only data folder is a storage fault the
        // admin can fix, not an internal error.
        use rusqlite::ErrorCode::{CannotOpen, DiskFull, ReadOnly, SystemIoFailure};
        match &e {
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, DiskFull | ReadOnly | SystemIoFailure | CannotOpen) =>
            {
                AppError::Storage(e.to_string())
            }
            _ => AppError::Internal(e.to_string()),
        }
    }
}

impl From<crate::hosting::HostError> for AppError {
    fn from(e: crate::hosting::HostError) -> Self {
        use crate::hosting::HostError as H;
        let message = e.to_string();
        match e {
            H::TooLarge { limit } => AppError::PayloadTooLarge { limit },
            H::Upstream(_) => AppError::BadGateway(message),
            H::Starting => AppError::Unavailable {
                message,
                retry_after: Some(1),
            },
            H::Busy { .. } => AppError::Unavailable {
                message,
                retry_after: Some(crate::hosting::BUSY_RETRY_AFTER_S),
            },
            H::Held | H::ShuttingDown | H::StartFailed(_) => AppError::Unavailable {
                message,
                retry_after: Some(5),
            },
            H::Braked(_) => AppError::Unavailable {
                message,
                retry_after: None,
            },
        }
    }
}

impl From<crate::userdata::backup::Busy> for AppError {
    fn from(e: crate::userdata::backup::Busy) -> Self {
        AppError::Unavailable {
            message: e.to_string(),
            retry_after: Some(crate::userdata::backup::BUSY_RETRY_AFTER_S),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Storage(e.to_string())
    }
}

impl From<crate::permissions::PermissionError> for AppError {
    fn from(e: crate::permissions::PermissionError) -> Self {
        use crate::permissions::PermissionError as P;
        let message = e.to_string();
        match e {
            P::Denied(_)
            | P::SharedKey(_)
            | P::Connection(_)
            | P::PrivateAddress(_)
            | P::Refused(_) => AppError::Forbidden(message),
            P::Limited {
                retry_after,
                resets_at,
                ..
            } => AppError::UsageLimited {
                message,
                retry_after,
                resets_at,
            },
            P::Invalid(_) => AppError::BadRequest(message),
            P::NotFound(_) => AppError::NotFound(message),
            P::Conflict(_) => AppError::Conflict(message),
        }
    }
}
