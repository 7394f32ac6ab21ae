//! The session list (issue "sessions you can see"): a user sees where
//! their account is signed in and ends any session, or all but this one;
//! an admin does the same for anyone. All POST (with CSRF), so no link or
//! image can end a session.

use serde_json::json;
use warp::reply::Response;

use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::text_field;
use crate::sessions::EndReason;

/// The body and the handle it is about: the caller's own unless an admin
/// names another.
async fn about(ctx: &mut Ctx) -> Result<(serde_json::Value, String), AppError> {
    let own = ctx.require_user()?.handle.clone();
    let body = ctx.req.json(ctx.app.config.json_limit()).await?;
    let handle = text_field(&body, "handle").unwrap_or(own);
    ctx.may_act_on(&handle)?;
    let user = ctx.app.accounts().require_user(&handle).await?;
    Ok((body, user.handle.clone()))
}

fn current(ctx: &Ctx) -> Option<String> {
    ctx.session.as_ref().map(|s| s.id_hash.clone())
}

/// `POST /api/sessions/list` `{handle?}` → the live sessions, newest first.
pub async fn list(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = about(ctx).await?;
    let current = current(ctx);
    let rows = ctx.app.sessions.list(&handle, current.as_deref()).await?;
    Ok(reply::json(&json!({ "handle": handle, "sessions": rows })))
}

/// `POST /api/sessions/end` `{id, handle?}`: ends one session. Ending the
/// caller's own current session signs them out here too.
pub async fn end(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (body, handle) = about(ctx).await?;
    let id = text_field(&body, "id").ok_or_else(AppError::missing)?;
    let own_current = current(ctx).map(|h| crate::sessions::reference(&h));
    if !ctx.app.sessions.revoke_reference(&handle, &id).await? {
        return Err(AppError::NotFound("No such session".into()));
    }
    if own_current.as_deref() == Some(id.as_str()) {
        ctx.session = None;
        ctx.clear_cookie();
    }
    let actor = ctx.actor();
    ctx.app
        .audit(
            &actor,
            "session.end",
            Some(&handle),
            Some(format!("session {id}")),
        )
        .await;
    Ok(reply::no_content())
}

/// `POST /api/sessions/end-others` `{handle?}`: signs the account out
/// everywhere but here (for an admin acting on someone else: everywhere).
pub async fn end_others(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = about(ctx).await?;
    let keep = current(ctx);
    ctx.app
        .sessions
        .revoke_user(&handle, keep.as_deref(), EndReason::EndedElsewhere)
        .await?;
    let actor = ctx.actor();
    ctx.app
        .audit(&actor, "session.end_others", Some(&handle), None)
        .await;
    Ok(reply::no_content())
}
