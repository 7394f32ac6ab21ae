//! Logins decided outside the login form: a trusted proxy's SSO header
//! (Authelia, Authentik) and per-user HTTP basic auth. Both end in an
//! ordinary session, so the rest of the server sees a normal login.

use crate::accounts::handle;
use crate::accounts::service::NewUser;
use crate::error::{AppError, USER_DISABLED};
use crate::http::context::{Ctx, Proof};
use crate::http::public::basic_credentials;

/// Applies SSO and per-user basic auth to a resolved request.
pub async fn apply(ctx: &mut Ctx) -> Result<(), AppError> {
    let c = &ctx.app.config;
    if !c.enable_user_accounts {
        return Ok(());
    }
    if c.sso.trusted_header.enabled {
        sso(ctx).await?;
    }
    let c = &ctx.app.config;
    if c.basic_auth_mode && c.per_user_basic_auth {
        // Every request of this mode passed basic auth as an account.
        ctx.vouched = true;
        if ctx.user.is_none() {
            per_user_basic(ctx).await?;
        }
    }
    Ok(())
}

/// The SSO header names the user, believed only from a trusted proxy.
async fn sso(ctx: &mut Ctx) -> Result<(), AppError> {
    let header = ctx.app.config.sso.trusted_header.header.clone();
    let Some(raw) = ctx.req.header(&header).map(str::to_string) else {
        return Ok(());
    };
    let from_proxy = ctx
        .req
        .peer
        .is_some_and(|p| ctx.app.is_trusted_proxy(crate::app::canonical_ip(p.ip())));
    if !from_proxy {
        tracing::warn!(
            "ignored the {header} header from {:?}: not a trusted proxy",
            ctx.req.peer.map(|p| p.ip())
        );
        return Ok(());
    }
    let handle =
        handle::slugify(raw.trim()).map_err(|_| AppError::forbidden("Invalid SSO user"))?;
    if ctx.user.as_ref().is_some_and(|u| u.handle == handle) {
        ctx.vouched = true;
        return Ok(());
    }
    let user = match ctx.app.accounts().find_user_shared(&handle).await? {
        Some(u) => u,
        None if ctx.app.config.sso.trusted_header.auto_create => {
            let actor = ctx.actor();
            ctx.app
                .accounts()
                .create_user(
                    &actor,
                    NewUser {
                        handle: handle.clone(),
                        name: raw.trim().to_string(),
                        password: None,
                        admin: false,
                    },
                )
                .await?;
            ctx.app
                .accounts()
                .find_user_shared(&handle)
                .await?
                .ok_or_else(AppError::user_not_found)?
        }
        None => {
            return Err(AppError::forbidden(
                "Unknown SSO user: ask your admin for an account",
            ))
        }
    };
    if !user.enabled {
        return Err(AppError::forbidden(USER_DISABLED));
    }
    ctx.start_session(&user.handle, Proof::Trusted).await?;
    ctx.vouched = true;
    let mut actor = ctx.actor();
    actor.handle = Some(user.handle.clone());
    ctx.app
        .audit(&actor, "login.sso", Some(&user.handle), None)
        .await;
    ctx.user = Some(user);
    Ok(())
}

/// Basic auth with an account's handle and password: one prompt, then a
/// session. Failures count against the login limits; accounts without a
/// password cannot log in this way.
async fn per_user_basic(ctx: &mut Ctx) -> Result<(), AppError> {
    let Some((name, password)) = basic_credentials(&ctx.req) else {
        return Err(AppError::AuthRequired);
    };
    let has_password = ctx
        .app
        .accounts()
        .find_user_fresh(&name)
        .await?
        .is_some_and(|u| u.password.is_some());
    if !has_password {
        return Err(AppError::AuthRequired);
    }
    let actor = ctx.actor();
    match ctx.app.logins().login(&actor, &name, Some(&password)).await {
        Ok((user, proof)) => {
            ctx.start_session(&user.handle, proof).await?;
            ctx.user = ctx.app.accounts().find_user_shared(&user.handle).await?;
            Ok(())
        }
        Err(AppError::Forbidden(_)) => Err(AppError::AuthRequired),
        Err(e) => Err(e),
    }
}
