//! Two-factor login on one's own account page (status, set-up, new
//! recovery codes, turning it off) and an admin's removal of someone's.
//! The login's code step is in `public` with the rest of the login.

use serde_json::json;
use warp::reply::Response;

use crate::error::{AppError, INCORRECT_PASSWORD};
use crate::http::admin::admin_body;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::{string_field, text_field};
use crate::store::users::UserRow;

/// The caller and the request body.
async fn own(ctx: &mut Ctx) -> Result<(UserRow, serde_json::Value), AppError> {
    let user = ctx.require_user()?.clone();
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    Ok((user, body))
}

/// `POST /api/users/two-factor/status` → {enabled, recoveryCodesLeft,
/// required}: `required` when the server makes the caller turn it on.
pub async fn status(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (user, _) = own(ctx).await?;
    let s = ctx.app.two_factor().status(&user.handle).await?;
    Ok(reply::json(&json!({
        "enabled": s.enabled,
        "recoveryCodesLeft": s.recovery_codes_left,
        "required": ctx.must_enrol_two_factor(),
    })))
}

/// `POST /api/users/two-factor/begin` → {secret, uri, qr}: a new secret
/// (base32 text), its `otpauth://` address and a QR code of it (an SVG
/// data URL drawn here, no outside service). Nothing changes for the login
/// until `confirm`. 409 when it is already on.
pub async fn begin(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (user, _) = own(ctx).await?;
    let e = ctx.app.two_factor().begin(&user).await?;
    Ok(reply::json(&json!({
        "secret": e.secret,
        "uri": e.uri,
        "qr": e.qr,
    })))
}

/// `POST /api/users/two-factor/confirm` {code} → {recoveryCodes}: the
/// app's first code turns two-factor login on; the ten recovery codes are
/// shown this once. Wrong → 400 `Incorrect code`.
pub async fn confirm(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (user, body) = own(ctx).await?;
    let code = text_field(&body, "code").ok_or_else(AppError::missing)?;
    let codes = ctx
        .app
        .two_factor()
        .confirm(&ctx.actor(), &user, &code)
        .await?;
    Ok(reply::json(&json!({ "recoveryCodes": codes })))
}

/// Confirms it is the account's owner: the password when the account has
/// one (403 `Incorrect password`, counted per account), else a code.
async fn confirm_owner(
    ctx: &Ctx,
    user: &UserRow,
    body: &serde_json::Value,
) -> Result<(), AppError> {
    if user.password.is_some() {
        let password = string_field(body, "password");
        ctx.app
            .logins()
            .confirm_password(
                user,
                password.as_deref(),
                AppError::forbidden(INCORRECT_PASSWORD),
            )
            .await
    } else {
        let code = text_field(body, "code").ok_or_else(AppError::missing)?;
        ctx.app.two_factor().confirm_own_code(user, &code).await
    }
}

/// `POST /api/users/two-factor/recovery-codes` {password | code} →
/// {recoveryCodes}: ten new codes; the old ones stop working.
pub async fn recovery_codes(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (user, body) = own(ctx).await?;
    confirm_owner(ctx, &user, &body).await?;
    let codes = ctx
        .app
        .two_factor()
        .new_recovery_codes(&ctx.actor(), &user)
        .await?;
    Ok(reply::json(&json!({ "recoveryCodes": codes })))
}

/// `POST /api/users/two-factor/disable` {password | code} → 204: the
/// account's own password (or, without one, a code) turns it off.
pub async fn disable(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (user, body) = own(ctx).await?;
    confirm_owner(ctx, &user, &body).await?;
    ctx.app
        .two_factor()
        .remove(&ctx.actor(), &user.handle, "2fa.disable")
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/users/two-factor/remove` {handle} → 204 (admins): removes
/// someone's second factor and recovery codes, e.g. after a lost phone.
/// Audited as `2fa.remove` when there was one.
pub async fn remove(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let target = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app.accounts().require_user(&target).await?;
    ctx.app
        .two_factor()
        .remove(&ctx.actor(), &target, "2fa.remove")
        .await?;
    Ok(reply::no_content())
}
