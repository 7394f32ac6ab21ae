//! Sign-up from the login page (see accounts::signup): the page, the
//! public call, and the admin's approve and reject.

use serde_json::json;
use warp::reply::Response;

use crate::config::SignupMode;
use crate::error::AppError;
use crate::http::admin::admin_body;
use crate::http::context::Ctx;
use crate::http::request::{string_field, text_field};
use crate::http::{assets, reply};
use crate::store::sessions::Proof;

/// `GET /signup`: the form, while sign-up is on.
pub fn page(ctx: &Ctx) -> Response {
    let c = &ctx.app.config;
    if !c.enable_user_accounts || c.signup.mode == SignupMode::Off {
        return reply::redirect("/login");
    }
    assets::page("signup.html")
}

/// `POST /api/signup` {handle, name?, password} → {handle, pending}; with
/// `open` the new account is logged in at once.
pub async fn sign_up(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = ctx.req.json(ctx.app.config.json_limit()).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let name = string_field(&body, "name").unwrap_or_default();
    let password = string_field(&body, "password").unwrap_or_default();
    let made = ctx
        .app
        .signups()
        .sign_up(&ctx.actor(), &handle, name.trim(), &password)
        .await?;
    if !made.pending {
        ctx.start_session(&made.handle, Proof::Trusted).await?;
    }
    Ok(reply::json(
        &json!({ "handle": made.handle, "pending": made.pending }),
    ))
}

/// `POST /api/users/approve` {handle} → 204.
pub async fn approve(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app.signups().approve(&ctx.actor(), &handle).await?;
    Ok(reply::no_content())
}

/// `POST /api/users/reject` {handle} → 204: the account and its folder go.
pub async fn reject(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app.signups().reject(&ctx.actor(), &handle).await?;
    Ok(reply::no_content())
}
