//! `/api/settings/*`: the caller's settings.json and its snapshots.

use serde_json::json;
use warp::reply::Response;

use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::string_field;
use crate::userdata::snapshots::INVALID_SNAPSHOT;

pub async fn get(ctx: &mut Ctx) -> Result<Response, AppError> {
    let u = ctx.require_user()?.clone();
    let value = ctx.app.settings().get(&u.handle, &u.name).await?;
    Ok(reply::json(&value))
}

/// `POST /api/settings/save`: the body is the settings object.
pub async fn save(ctx: &mut Ctx) -> Result<Response, AppError> {
    let u = ctx.require_user()?.clone();
    let limit = ctx.app.config.limits.settings_mb * 1024 * 1024;
    let body = ctx.req.json_strict(limit).await?;
    if !body.is_object() {
        return Err(AppError::bad("Settings must be a JSON object"));
    }
    ctx.app.quotas().check(&u.handle, 0).await?;
    ctx.app.settings().save(&u.handle, &body).await?;
    Ok(reply::json(&json!({ "result": "ok" })))
}

pub async fn list_snapshots(ctx: &mut Ctx) -> Result<Response, AppError> {
    let u = ctx.require_user()?.clone();
    // The hosted SillyTavern writes snapshots of its own into backups/.
    if ctx.app.hosting().is_some() {
        ctx.app.snapshots().reindex(&u.handle).await?;
    }
    let list: Vec<_> = ctx
        .app
        .snapshots()
        .list(&u.handle)
        .await?
        .into_iter()
        .map(|s| json!({ "date": s.created, "name": s.name, "size": s.size }))
        .collect();
    Ok(reply::json(&list))
}

/// The `name` field, or 400 `Invalid snapshot name`.
async fn snapshot_name(ctx: &mut Ctx) -> Result<(String, String), AppError> {
    let u = ctx.require_user()?.clone();
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let name = string_field(&body, "name").ok_or_else(|| AppError::bad(INVALID_SNAPSHOT))?;
    Ok((u.handle, name))
}

pub async fn load_snapshot(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (handle, name) = snapshot_name(ctx).await?;
    let text = ctx.app.snapshots().load(&handle, &name).await?;
    Ok(reply::text(text, "text/plain; charset=utf-8"))
}

pub async fn make_snapshot(ctx: &mut Ctx) -> Result<Response, AppError> {
    let u = ctx.require_user()?.clone();
    ctx.app.quotas().check(&u.handle, 0).await?;
    ctx.app.snapshots().make(&u.handle).await?;
    Ok(reply::no_content())
}

pub async fn restore_snapshot(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (handle, name) = snapshot_name(ctx).await?;
    ctx.app.quotas().check(&handle, 0).await?;
    ctx.app.snapshots().restore(&handle, &name).await?;
    Ok(reply::no_content())
}
