//! Admin-only endpoints: every account, create, delete, flags, slugify,
//! limits, and the audit log.

use serde_json::json;
use warp::reply::Response;

use crate::accounts::handle;
use crate::accounts::service::{NewUser, INVALID_HANDLE};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::{bool_field, string_field, text_field};
use crate::http::users::avatar_url;
use crate::store;

/// Reads the body of an admin request.
pub(crate) async fn admin_body(ctx: &mut Ctx) -> Result<serde_json::Value, AppError> {
    ctx.require_admin()?;
    let limit = ctx.app.config.json_limit();
    ctx.req.json(limit).await
}

/// `POST /api/users/get`: every account with its flags.
pub async fn get(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    let snapshot = ctx.app.users().await?;
    let body = snapshot.admin_json.get_or_init(|| {
        let list: Vec<_> = snapshot
            .list
            .iter()
            .map(|u| {
                json!({
                    "handle": u.handle,
                    "name": u.name,
                    "avatar": avatar_url(u),
                    "admin": u.admin,
                    "enabled": u.enabled,
                    "pending": u.pending,
                    "quotaMb": u.quota_mb,
                    "password": u.password.is_some(),
                    "twoFactor": u.two_factor,
                    "created": u.created,
                })
            })
            .collect();
        reply::to_json_bytes(&list)
    });
    Ok(reply::json_bytes(body.clone()))
}

/// `POST /api/users/create` {handle, name, password?, admin?} → {handle}.
pub async fn create(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let (Some(handle), Some(name)) = (text_field(&body, "handle"), text_field(&body, "name"))
    else {
        return Err(AppError::missing());
    };
    let req = NewUser {
        handle,
        name,
        password: string_field(&body, "password"),
        admin: bool_field(&body, "admin"),
    };
    let handle = ctx.app.accounts().create_user(&ctx.actor(), req).await?;
    Ok(reply::json(&json!({ "handle": handle })))
}

/// `POST /api/users/delete` {handle, purge?} → 204.
pub async fn delete(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let target = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    if !handle::is_valid(&target) {
        return Err(AppError::bad(INVALID_HANDLE));
    }
    ctx.app
        .accounts()
        .delete_user(&ctx.actor(), &target, bool_field(&body, "purge"))
        .await?;
    Ok(reply::no_content())
}

#[derive(PartialEq, Eq, Clone, Copy)]
pub enum Flag {
    Enable,
    Disable,
    Promote,
    Demote,
}

/// `enable`, `disable`, `promote`, `demote` {handle} → 204.
pub async fn set_flag(ctx: &mut Ctx, flag: Flag) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let target = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let actor = ctx.actor();
    match flag {
        Flag::Enable => {
            ctx.app
                .accounts()
                .set_enabled(&actor, &target, true)
                .await?
        }
        Flag::Disable => {
            ctx.app
                .accounts()
                .set_enabled(&actor, &target, false)
                .await?
        }
        // Admins have the admin profile: what is shared with them follows.
        Flag::Promote | Flag::Demote => {
            ctx.app
                .accounts()
                .set_admin(&actor, &target, flag == Flag::Promote)
                .await?;
            ctx.app.permissions().place_shared(&target).await?;
        }
    }
    Ok(reply::no_content())
}

/// `POST /api/users/slugify` {text} → the handle as plain text.
pub async fn slugify(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let text = string_field(&body, "text").ok_or_else(AppError::missing)?;
    let slug = handle::slugify(&text).unwrap_or_default();
    Ok(reply::text(slug, "text/plain; charset=utf-8"))
}

/// `POST /api/users/check-handle` {text} → {handle, tooLong, taken,
/// folderExists}: what `create` would make of `text` before it is sent, so
/// the admin page can say it. `handle` is the slug cut to 64 characters
/// ("" when nothing is left); `tooLong` says the slug was longer and was
/// cut; `taken` that an account has it; `folderExists` that
/// `dataRoot/<handle>/` is there without an account (kept when an account
/// was deleted without purge), which a new account takes over.
pub async fn check_handle(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let text = string_field(&body, "text").ok_or_else(AppError::missing)?;
    let (slug, too_long) = handle::suggest(&text);
    let taken = !slug.is_empty() && ctx.app.accounts().find_user_shared(&slug).await?.is_some();
    let folder_exists = !taken
        && ctx
            .app
            .user_dir(&slug)
            .is_some_and(|dir| std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()));
    Ok(reply::json(&json!({
        "handle": slug,
        "tooLong": too_long,
        "taken": taken,
        "folderExists": folder_exists,
    })))
}

/// `POST /api/users/clear-limits` {handle} → 204.
pub async fn clear_limits(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let target = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app.accounts().require_user(&target).await?;
    ctx.app.accounts().clear_limits_of(&target).await?;
    ctx.app
        .audit(&ctx.actor(), "user.clear-limits", Some(&target), None)
        .await;
    Ok(reply::no_content())
}

/// `POST /api/audit/list` {before?, limit?} → {entries, next}, newest first.
pub async fn audit(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let before = body.get("before").and_then(|v| v.as_i64());
    let limit = body
        .get("limit")
        .and_then(|v| v.as_u64())
        .unwrap_or(50)
        .clamp(1, 500) as u32;
    let entries = ctx
        .app
        .store
        .run(move |c| store::audit::list(c, before, limit))
        .await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(reply::json(&json!({ "entries": entries, "next": next })))
}

/// `POST /api/backup/full`: a zip of the whole data root with a consistent
/// copy of the database, when `backups.allowFullDataBackup` is on. It
/// shares the server's backup places with users' own backups (taken before
/// the database is copied, so a refused request costs nothing), and is
/// audited once the archive is whole.
pub async fn full_backup(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    if !ctx.app.config.backups.allow_full_data_backup {
        return Err(AppError::forbidden(
            "Full data backups are off: set backups.allowFullDataBackup in config.yaml",
        ));
    }
    let slot = ctx.app.backups.take()?;
    let plan = ctx.app.full_backup_plan().await?;
    let stamp = crate::userdata::snapshots::stamp(ctx.app.clock.now_ms());
    let (app, actor) = (ctx.app.clone(), ctx.actor());
    let stream = crate::userdata::backup::stream(plan, slot, move || async move {
        app.audit(&actor, "backup.full", None, None).await;
    });
    Ok(crate::http::users::zip_response(
        stream,
        &format!("innkeeper-data-{stamp}.zip"),
    ))
}

/// `POST /api/users/set-quota` {handle, mb} → 204: the account's storage
/// quota in MiB (0: none), or with `mb: null` the configured default.
pub async fn set_quota(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let target = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let mb = match body.get("mb") {
        None => return Err(AppError::missing()),
        Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|n| (0..=100_000_000).contains(n))
                .ok_or_else(|| {
                    AppError::bad("mb must be a whole number from 0 to 100000000, or null")
                })?,
        ),
    };
    ctx.app.accounts().require_user(&target).await?;
    let h = target.clone();
    ctx.app
        .write_user(&target, move |c| crate::store::users::set_quota(c, &h, mb))
        .await?;
    let detail = mb.map_or_else(|| "default".to_string(), |n| format!("{n} MiB"));
    ctx.app
        .audit(&ctx.actor(), "user.quota", Some(&target), Some(detail))
        .await;
    Ok(reply::no_content())
}
