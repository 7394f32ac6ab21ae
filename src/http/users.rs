//! A logged-in user's own account: profile, password, backup, resets,
//! usage. Admins may name any handle where a handle is taken.

use serde_json::json;
use warp::http::{header, HeaderValue};
use warp::reply::{Reply, Response};

use crate::error::{AppError, INCORRECT_PASSWORD};
use crate::fields;
use crate::hooks::EventKind;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::{bool_field, string_field, text_field};
use crate::permissions::connections::SECRETS_FILE;
use crate::permissions::{PermissionError, Switch};
use crate::store::users::UserRow;
use crate::userdata::{backup, snapshots, usage};

/// The picture shown for a user: the custom avatar, else the persona
/// picture, else our default. Always a URL (SPEC §6), never the picture
/// itself, so the public account list stays small.
pub fn avatar_url(u: &UserRow) -> String {
    if let Some(tag) = &u.avatar_tag {
        return format!("/avatars/{}?v={tag}", u.handle);
    }
    match &u.persona_avatar {
        Some(file) => format!(
            "/avatars/{}?v={}",
            u.handle,
            percent_encoding::utf8_percent_encode(file, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "/img/default-user.png".into(),
    }
}

/// `GET /api/users/me`.
pub fn me(ctx: &Ctx) -> Result<Response, AppError> {
    let u = ctx.require_user()?;
    Ok(reply::json(&json!({
        "handle": u.handle,
        "name": u.name,
        "avatar": avatar_url(u),
        "admin": u.admin,
        "password": u.password.is_some(),
        "created": u.created,
        "mustChangePassword": u.must_change,
        "twoFactor": u.two_factor,
        "twoFactorRequired": ctx.must_enrol_two_factor(),
    })))
}

/// Reads the body and the `handle` the caller may act on.
async fn target(ctx: &mut Ctx) -> Result<(serde_json::Value, String), AppError> {
    target_with_limit(ctx, ctx.app.config.json_limit()).await
}

async fn target_with_limit(
    ctx: &mut Ctx,
    limit: u64,
) -> Result<(serde_json::Value, String), AppError> {
    ctx.require_user()?;
    let body = ctx.req.json(limit).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.may_act_on(&handle)?;
    Ok((body, handle))
}

/// `POST /api/users/logout` → 204; the old cookie is worthless afterwards.
pub async fn logout(ctx: &mut Ctx) -> Result<Response, AppError> {
    ctx.require_user()?;
    if let Some(s) = ctx.session.take() {
        ctx.app
            .sessions
            .revoke(&s.id_hash, crate::sessions::EndReason::LoggedOut)
            .await?;
    }
    ctx.clear_cookie();
    let actor = ctx.actor();
    ctx.app
        .audit(&actor, "logout", actor.handle.as_deref(), None)
        .await;
    Ok(reply::no_content())
}

pub async fn change_name(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (body, handle) = target(ctx).await?;
    let name = string_field(&body, "name").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(AppError::missing());
    }
    ctx.app
        .accounts()
        .change_name(&ctx.actor(), &handle, &name)
        .await?;
    Ok(reply::no_content())
}

pub async fn change_avatar(ctx: &mut Ctx) -> Result<Response, AppError> {
    let limit = ctx.app.config.limits.avatar_mb * 1024 * 1024;
    let (body, handle) = target_with_limit(ctx, limit).await?;
    let avatar = match body.get("avatar") {
        Some(serde_json::Value::String(s)) if s.is_empty() => None,
        Some(serde_json::Value::String(s)) if is_image_data_url(s) => Some(s.clone()),
        _ => return Err(AppError::bad("Invalid data URL")),
    };
    if let Some(a) = &avatar {
        // base64 carries 3 bytes in 4 characters.
        let payload = a.split_once(',').map_or(0, |(_, d)| d.len()) as u64 / 4 * 3;
        if payload > MAX_AVATAR_BYTES {
            return Err(AppError::TooLarge(format!(
                "The picture is too large: at most {} KiB after cropping",
                MAX_AVATAR_BYTES / 1024
            )));
        }
    }
    ctx.app
        .accounts()
        .change_avatar(&ctx.actor(), &handle, avatar)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/users/avatar-info` {handle} → {source, persona, pictures}:
/// where the shown picture comes from (`custom`, `persona` or `default`),
/// the persona picture's file name (or null), and the pictures in the
/// user's `User Avatars/` a persona picture can be chosen from, by name.
pub async fn avatar_info(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = target(ctx).await?;
    let user = ctx.app.accounts().require_user(&handle).await?;
    let dir = ctx
        .app
        .user_dir(&user.handle)
        .ok_or_else(AppError::user_not_found)?;
    let pictures = crate::userdata::settings::blocking(move || {
        Ok(crate::userdata::layout::persona_pictures(&dir))
    })
    .await?;
    let source = if user.avatar_tag.is_some() {
        "custom"
    } else if user.persona_avatar.is_some() {
        "persona"
    } else {
        "default"
    };
    Ok(reply::json(&json!({
        "source": source,
        "persona": user.persona_avatar,
        "pictures": pictures,
    })))
}

/// `POST /api/users/choose-persona-avatar` {handle, file} → 204: makes
/// the picture `User Avatars/<file>` the persona picture (settings.json's
/// `user_avatar`, and `power_user.default_persona` when one is set, which
/// would win otherwise) and removes the custom picture, so it is the one
/// shown. 400 `Invalid file` unless it is a picture in that folder.
pub async fn choose_persona_avatar(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (body, handle) = target(ctx).await?;
    let file = string_field(&body, "file").ok_or_else(AppError::missing)?;
    ctx.app
        .settings()
        .choose_persona_avatar(&ctx.actor(), &handle, &file)
        .await?;
    Ok(reply::no_content())
}

/// A custom picture is at most this big (decoded), after the client's crop.
pub const MAX_AVATAR_BYTES: u64 = 1024 * 1024;

/// `data:image/<type>;base64,<data>` with a plain type and base64 payload.
fn is_image_data_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("data:image/") else {
        return false;
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return false;
    };
    meta.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+.-;=".contains(&b))
        && !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
}

pub async fn change_password(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (body, handle) = target(ctx).await?;
    // Someone on a temporary password changes their own first.
    if ctx
        .user
        .as_deref()
        .is_some_and(|u| u.must_change && u.handle != handle)
    {
        return Err(AppError::MustChangePassword);
    }
    let old = string_field(&body, "oldPassword");
    let new = string_field(&body, "newPassword").unwrap_or_default();
    ctx.app
        .accounts()
        .change_password(
            &ctx.actor(),
            &handle,
            old.as_deref(),
            &new,
            bool_field(&body, "temporary"),
        )
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/users/backup` {handle} → a zip of the folder, streamed.
/// The audit row and the `backup_created` hook follow the archive's last
/// byte, not the first: a download cut short made no backup.
pub async fn backup(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = target(ctx).await?;
    let caller = ctx.require_user()?.clone();
    if !ctx
        .app
        .permissions()
        .effective(&caller)
        .await?
        .profile
        .allows(Switch::BackupDownload)
    {
        let e = PermissionError::Denied(Switch::BackupDownload);
        return Err(ctx
            .app
            .permissions()
            .refused(&ctx.actor(), "/api/users/backup", e)
            .await);
    }
    let user = ctx.app.accounts().require_user(&handle).await?;
    let dir = ctx
        .app
        .user_dir(&user.handle)
        .ok_or_else(AppError::user_not_found)?;
    // Shared keys stay on the server: the archive's secrets.json is the
    // user's own keys only (a file that cannot be read as JSON is left out).
    let shared = ctx.app.permissions().shared_keys(&user.handle).await?;
    let (mut skip, mut given) = (Vec::new(), Vec::new());
    if !shared.is_empty() {
        skip.push(SECRETS_FILE.to_string());
        let path = dir.join(SECRETS_FILE);
        if let Ok(bytes) = tokio::fs::read(&path).await {
            if let Some(own) = crate::permissions::connections::without(&bytes, &shared) {
                given.push((SECRETS_FILE.to_string(), own));
            }
        }
    }
    let slot = ctx.app.backups.take()?;
    let stamp = snapshots::stamp(ctx.app.clock.now_ms());
    let file_name = format!("{}-{stamp}.zip", user.handle);
    let (app, actor, handle) = (ctx.app.clone(), ctx.actor(), user.handle);
    let plan = backup::ArchivePlan {
        dir,
        skip,
        extra: Vec::new(),
        cleanup: Vec::new(),
        given,
    };
    let stream = backup::stream(plan, slot, move || async move {
        app.audit(&actor, "user.backup", Some(&handle), None).await;
        app.hook_after(
            EventKind::BackupCreated,
            Some(&handle),
            &actor,
            fields! { "handle" => handle, "by" => actor.handle },
        )
        .await;
    });
    Ok(zip_response(stream, &file_name))
}

/// A streamed zip download.
pub fn zip_response(
    stream: impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>>
        + Send
        + Sync
        + 'static,
    file_name: &str,
) -> Response {
    let mut resp = warp::reply::stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `POST /api/users/check-password` {password} → 204, or 403 `Incorrect
/// password`: lets a page check the password a destructive action needs
/// before it asks "are you sure?". Counted like the action itself (10 wrong
/// within 15 minutes per account).
pub async fn check_password(ctx: &mut Ctx) -> Result<Response, AppError> {
    confirmed_user(ctx).await?;
    Ok(reply::no_content())
}

/// `POST /api/users/reset-settings` {password} → 204.
pub async fn reset_settings(ctx: &mut Ctx) -> Result<Response, AppError> {
    let user = confirmed_user(ctx).await?;
    ctx.app
        .settings()
        .reset(&ctx.actor(), &user.handle, &user.name)
        .await?;
    Ok(reply::no_content())
}

/// The caller, once the body's `password` is confirmed as theirs (403
/// `Incorrect password` otherwise, counted per account).
async fn confirmed_user(ctx: &mut Ctx) -> Result<UserRow, AppError> {
    let user = ctx.require_user()?.clone();
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let password = string_field(&body, "password");
    ctx.app
        .logins()
        .confirm_password(
            &user,
            password.as_deref(),
            AppError::forbidden(INCORRECT_PASSWORD),
        )
        .await?;
    Ok(user)
}

pub async fn reset_step1(ctx: &mut Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?.clone();
    ctx.app.logins().reset_step1(&ctx.actor(), &user).await?;
    Ok(reply::no_content())
}

/// `POST /api/users/reset-step2` {code, password} → 204, folder wiped.
pub async fn reset_step2(ctx: &mut Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?.clone();
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let code = match body.get("code") {
        None | Some(serde_json::Value::Null) => return Err(AppError::missing()),
        Some(serde_json::Value::String(s)) if s.is_empty() => return Err(AppError::missing()),
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    let password = string_field(&body, "password");
    ctx.app
        .logins()
        .reset_step2(&ctx.actor(), &user, code.as_deref(), password.as_deref())
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/users/usage` {handle} → files and bytes per folder.
pub async fn usage(ctx: &mut Ctx) -> Result<Response, AppError> {
    let (_, handle) = target(ctx).await?;
    let user = ctx.app.accounts().require_user(&handle).await?;
    let quota = ctx.app.quotas().quota_bytes(&user);
    let dir = ctx
        .app
        .user_dir(&handle)
        .ok_or_else(AppError::user_not_found)?;
    let u = crate::userdata::settings::blocking(move || Ok(usage::measure(&dir)?)).await?;
    Ok(reply::json(&json!({
        "handle": handle,
        "files": u.files,
        "bytes": u.bytes,
        "quotaBytes": quota,
        "folders": u.folders,
    })))
}
