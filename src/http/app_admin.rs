//! Admin routes for the hosted app: every process with its state, since,
//! RSS, restarts and last error; a process's log tail; stop and restart.

use serde_json::json;
use warp::reply::Response;

use crate::error::AppError;
use crate::hosting::install;
use crate::hosting::output;
use crate::hosting::supervisor::StopReason;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::text_field;

/// Lines of log an admin sees at most.
const MAX_LOG_LINES: usize = 500;

/// The body of an admin request and its `handle`.
async fn handle_of(ctx: &mut Ctx) -> Result<(serde_json::Value, String), AppError> {
    ctx.require_admin()?;
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app.accounts().require_user(&handle).await?;
    Ok((body, handle))
}

/// `POST /api/app/status` → whether an app is hosted, its version, and
/// every process; with no app, the first-run hint when a SillyTavern
/// install stands beside config.yaml.
pub async fn status(ctx: &mut Ctx) -> Result<Response, AppError> {
    ctx.require_admin()?;
    let limit = ctx.app.config.json_limit();
    ctx.req.json(limit).await?;
    let c = &ctx.app.config;
    let Some(sup) = ctx.app.hosting() else {
        let hint = install::found_beside(&c.base_dir).map(|dir| {
            format!(
                "Found SillyTavern in {}: set app.sillytavern.dir to host it.",
                dir.display()
            )
        });
        return Ok(reply::json(&json!({
            "configured": false,
            "hint": hint,
            "processes": [],
        })));
    };
    let processes = tokio::task::spawn_blocking({
        let sup = sup.clone();
        move || sup.status()
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(reply::json(&json!({
        "configured": true,
        "version": sup.install.version,
        "node": sup.install.node_version,
        "dir": sup.install.dir,
        "maxRunning": sup.settings.max_running,
        "idleMinutes": sup.settings.idle_ms / 60_000,
        "processes": processes,
    })))
}

/// `POST /api/app/log` {handle, lines?} → {lines}: the end of that user's
/// process log.
pub async fn log(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (body, handle) = handle_of(ctx).await?;
    let n = body
        .get("lines")
        .and_then(|v| v.as_u64())
        .unwrap_or(100)
        .clamp(1, MAX_LOG_LINES as u64) as usize;
    let path = crate::hosting::view_root::ViewRoot::of(&ctx.app.data_root, &handle)
        .ok_or_else(AppError::user_not_found)?
        .log;
    let lines = tokio::task::spawn_blocking(move || output::read_tail(&path, n))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(reply::json(&json!({ "handle": handle, "lines": lines })))
}

/// `POST /api/app/stop` {handle} → 204 once the process has exited.
pub async fn stop(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = handle_of(ctx).await?;
    let sup = ctx.app.hosting().cloned().ok_or_else(not_hosted)?;
    sup.stop(&handle, StopReason::Admin).await;
    ctx.app
        .audit(&ctx.actor(), "app.stop", Some(&handle), None)
        .await;
    Ok(reply::no_content())
}

/// `POST /api/app/restart` {handle} → 204 once the process answers again
/// (also after it failed too often).
pub async fn restart(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = handle_of(ctx).await?;
    let sup = ctx.app.hosting().cloned().ok_or_else(not_hosted)?;
    ctx.app
        .audit(&ctx.actor(), "app.restart", Some(&handle), None)
        .await;
    sup.restart(&handle).await?;
    Ok(reply::no_content())
}

fn not_hosted() -> AppError {
    AppError::NotFound("No app is hosted: set app.sillytavern.dir in config.yaml".into())
}
