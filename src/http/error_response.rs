//! Every `AppError` as the HTTP answer SillyTavern's clients expect: its
//! status, `{"error": …}` (with the extra fields some carry) and the
//! headers that go with it (`Retry-After`, the basic-auth challenge).

use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::error::AppError;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_)
            | AppError::MustChangePassword
            | AppError::MustEnrolTwoFactor => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooMany { .. } | AppError::UsageLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::PayloadTooLarge { .. } | AppError::TooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::AuthRequired => StatusCode::UNAUTHORIZED,
            AppError::Storage(_) | AppError::QuotaExceeded(_) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON error response; internal details go to the log, not the client.
    pub fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            AppError::Internal(detail) => tracing::error!("internal error: {detail}"),
            AppError::Storage(detail) => tracing::error!("storage error: {detail}"),
            _ => {}
        }
        let mut body = serde_json::json!({ "error": self.to_string() });
        if matches!(self, AppError::MustChangePassword) {
            body["mustChangePassword"] = true.into();
        }
        if matches!(self, AppError::MustEnrolTwoFactor) {
            body["twoFactorRequired"] = true.into();
        }
        if let AppError::UsageLimited { resets_at, .. } = &self {
            body["resetsAt"] = resets_at.clone().into();
        }
        let mut resp = Response::new(body.to_string().into());
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match &self {
            AppError::TooMany { retry_after, .. }
            | AppError::UsageLimited { retry_after, .. }
            | AppError::Unavailable {
                retry_after: Some(retry_after),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            AppError::AuthRequired => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Innkeeper\", charset=\"UTF-8\""),
                );
            }
            _ => {}
        }
        resp
    }
}
