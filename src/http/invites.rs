//! Invitation links: the admin's routes to make, list and withdraw them,
//! and the public page and routes where the person holding a link creates
//! their account (see accounts::invites).

use serde_json::json;
use warp::reply::Response;

use crate::accounts::invites::{Acceptance, InviteSpec};
use crate::error::AppError;
use crate::http::admin::admin_body;
use crate::http::context::Ctx;
use crate::http::request::{bool_field, string_field, text_field};
use crate::http::{assets, reply};
use crate::store::sessions::Proof;

/// The path of an invitation's page.
pub fn link(token: &str) -> String {
    format!("/invite/{token}")
}

fn number(body: &serde_json::Value, key: &str) -> Result<Option<i64>, AppError> {
    match body.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .map(Some)
            .ok_or_else(|| AppError::bad(format!("{key} must be a whole number"))),
    }
}

/// `POST /api/invites/create` {days?, uses?, admin?, handle?, name?} →
/// the invitation with its token and link, shown this once.
pub async fn create(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let spec = InviteSpec {
        days: number(&body, "days")?,
        uses: number(&body, "uses")?,
        admin: bool_field(&body, "admin"),
        handle: string_field(&body, "handle"),
        name: string_field(&body, "name"),
    };
    let (row, token) = ctx.app.invites().create(&ctx.actor(), spec).await?;
    let now = ctx.app.clock.now_ms();
    let mut invite = serde_json::to_value(&row).unwrap_or_default();
    invite["state"] = json!(row.state(now));
    Ok(reply::json(&json!({
        "invite": invite,
        "token": token,
        "link": link(&token),
    })))
}

/// `POST /api/invites/list` → every invitation with its state (no tokens:
/// only their hashes are kept).
pub async fn list(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    let now = ctx.app.clock.now_ms();
    let rows: Vec<_> = ctx
        .app
        .invites()
        .list()
        .await?
        .into_iter()
        .map(|r| {
            let state = r.state(now);
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["state"] = json!(state);
            v
        })
        .collect();
    Ok(reply::json(&json!({ "invites": rows })))
}

/// `POST /api/invites/revoke` {id} → 204.
pub async fn revoke(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let id = number(&body, "id")?.ok_or_else(AppError::missing)?;
    ctx.app.invites().revoke(&ctx.actor(), id).await?;
    Ok(reply::no_content())
}

/// `GET /invite/<token>`: the page; it asks `check` what the link allows.
pub fn page(ctx: &Ctx) -> Response {
    if !ctx.app.config.enable_user_accounts {
        return reply::redirect("/");
    }
    assets::page("invite.html")
}

/// `POST /api/invites/check` {token} → what the link creates, or why it
/// does not work (404 unknown, 410 expired / used / withdrawn).
pub async fn check(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = ctx.req.json(ctx.app.config.json_limit()).await?;
    let token = text_field(&body, "token").ok_or_else(AppError::missing)?;
    let row = ctx.app.invites().open(&ctx.actor(), &token).await?;
    Ok(reply::json(&json!({
        "handle": row.handle,
        "name": row.name,
        "admin": row.admin,
        "expires": row.expires,
        "passwordMinLength": ctx.app.config.passwords.min_length,
    })))
}

/// `POST /api/invites/accept` {token, handle?, name?, password} → the new
/// account, logged in.
pub async fn accept(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = ctx.req.json(ctx.app.config.json_limit()).await?;
    let token = text_field(&body, "token").ok_or_else(AppError::missing)?;
    let a = Acceptance {
        token,
        handle: string_field(&body, "handle"),
        name: string_field(&body, "name"),
        password: string_field(&body, "password").unwrap_or_default(),
    };
    let handle = ctx.app.invites().accept(&ctx.actor(), a).await?;
    ctx.start_session(&handle, Proof::Trusted).await?;
    Ok(reply::json(&json!({ "handle": handle })))
}
